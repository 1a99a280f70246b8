"""A committee of four reference validators, each a separate ``twin-node serve`` process.

The validators exchange blocks and checkpoint signatures over HTTP on 127.0.0.1; identity and
anchoring run on top, so a write through any validator is seen by every other. One validator
is killed with SIGKILL and restarted; the others keep committing meanwhile, and it catches up.
"""

from __future__ import annotations

import functools
import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster_process import Cluster, create_cluster, get_all, wait_for
from tests.support import proof_with_receipt
from twin_spec import (
    check_checkpoint_follows,
    check_commit_follows,
    commit_digest,
    verify_certified_checkpoint,
    verify_receipt,
)

CATCH_UP_SECONDS = 40.0
CERTIFIED_SECONDS = 30.0
"""A liveness bound on a loaded 2-core machine: signatures travel within a second or two."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = create_cluster(Path(tmp_path_factory.mktemp("cluster")), 4)
    try:
        running.start(range(4))
        yield running
    finally:
        running.stop_all()


def commits_of(cluster: Cluster, index: int) -> list[Any]:
    with cluster.client(index) as client:
        return get_all(client, "/consensus/commits", "commits")


def assert_prefixes(sequences: dict[int, list[Any]]) -> None:
    """Every sequence is a prefix of every longer one (TWIN-CONSENSUS-113)."""
    for (a, first), (b, second) in itertools.combinations(sorted(sequences.items()), 2):
        shorter, longer = sorted((first, second), key=len)
        assert longer[: len(shorter)] == shorter, (
            f"validators {a} and {b} disagree: {len(first)} and {len(second)} commits, the first"
            f" difference at index {next(i for i, (x, y) in enumerate(zip(first, second, strict=False)) if x != y) + 1}"  # noqa: E501
        )


def certified_of(cluster: Cluster, index: int) -> list[Any] | None:
    """The validator's certified checkpoints, or None while it holds none."""
    with cluster.client(index) as client:
        return get_all(client, "/consensus/checkpoints", "checkpoints") or None


def resolves(cluster: Cluster, index: int, did: str) -> dict[str, Any] | None:
    with cluster.client(index) as client:
        response = client.get(f"/identity/{did}")
    if response.status_code != 200:
        return None
    document: dict[str, Any] = response.json()
    return document


@pytest.mark.requirement("TWIN-CONSENSUS-113", "TWIN-CONSENSUS-111")
def test_a_did_created_through_one_validator_resolves_on_every_other(cluster: Cluster) -> None:
    with cluster.client(0, cluster.login(0)) as admin:
        response = admin.post("/identity")
    assert response.status_code == 200, response.text
    did = response.json()["id"]
    documents = [
        wait_for(
            lambda index=index: resolves(cluster, index, did),  # type: ignore[misc]
            15,
            lambda index=index: f"{did} does not resolve on validator {index}",  # type: ignore[misc]
        )
        for index in range(4)
    ]
    assert all(document == documents[0] for document in documents)
    # Each node has its own DID, admin and tokens; the committee and the ledger are shared.
    identities = set()
    for index in range(4):
        with cluster.client(index) as client:
            identities.add(client.get("/info").json()["nodeIdentity"])
            assert client.get("/consensus/committee").json() == cluster.genesis["committee"]
    assert len(identities) == 4
    for identity in identities:
        assert resolves(cluster, 3, identity) is not None


@pytest.mark.requirement("TWIN-CONSENSUS-106", "TWIN-CONSENSUS-105")
def test_a_receipt_from_one_validator_verifies_with_the_committee_alone(
    cluster: Cluster, tmp_path: Path
) -> None:
    with cluster.client(1, cluster.login(1)) as admin:
        response = admin.post("/immutable-proof", json={"document": {"trade": "cocoa"}})
        assert response.status_code == 201, response.text
        proof_id = response.headers["location"]
        proof = proof_with_receipt(admin, proof_id)
    receipt = proof["immutableReceipt"]
    summary = verify_receipt(receipt, cluster.committee)
    signers = [entry["signer"] for entry in receipt["checkpoint"]["signatures"]]
    assert len(signers) >= 3, "a quorum of four validators of stake 1 is three"
    # Offline, with nothing but the committee of the genesis file.
    committee_file = tmp_path / "committee.json"
    committee_file.write_text(json.dumps(cluster.genesis["committee"]))
    receipt_file = tmp_path / "proof.json"
    receipt_file.write_text(json.dumps(proof))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "twin_reference",
            "verify-receipt",
            str(receipt_file),
            "--committee",
            str(committee_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("VALID")
    # Another validator holds the same proof, with a receipt of the same checkpoint summary.

    token = cluster.login(2)

    def elsewhere() -> dict[str, Any] | None:
        with cluster.client(2, token) as client:
            answer = client.get(f"/immutable-proof/{proof_id}")
        if answer.status_code != 200 or answer.json().get("immutableReceipt") is None:
            return None
        other: dict[str, Any] = answer.json()
        return other

    other = wait_for(elsewhere, 15, lambda: f"{proof_id} has no receipt on validator 2")
    assert verify_receipt(other["immutableReceipt"], cluster.committee) == summary
    assert {k: v for k, v in other.items() if k != "immutableReceipt"} == {
        k: v for k, v in proof.items() if k != "immutableReceipt"
    }


@pytest.mark.requirement("TWIN-CONSENSUS-113", "TWIN-CONSENSUS-105", "TWIN-CONSENSUS-100")
def test_commit_sequences_are_prefixes_and_every_checkpoint_is_certified(
    cluster: Cluster,
) -> None:
    sequences = {index: commits_of(cluster, index) for index in range(4)}
    assert_prefixes(sequences)
    assert min(len(commits) for commits in sequences.values()) >= 2
    for index in range(4):
        # A checkpoint is certified once a quorum's signatures reach the validator, after its
        # commit (TWIN-CONSENSUS-105): a validator that has just caught up may hold commits
        # whose checkpoints are not certified yet. A bounded wait, not an instant's snapshot;
        # the commits are read after the checkpoints, so that they cover every one of them.
        checkpoints = wait_for(
            functools.partial(certified_of, cluster, index),
            CERTIFIED_SECONDS,
            functools.partial("validator {} has no certified checkpoint".format, index),
        )
        commits = commits_of(cluster, index)
        assert_prefixes({**sequences, index: commits})
        previous_commit = previous_summary = None
        for commit in commits:
            check_commit_follows(previous_commit, commit)
            previous_commit = commit
        for certified in checkpoints:
            summary = verify_certified_checkpoint(certified, cluster.committee)
            check_checkpoint_follows(previous_summary, summary)
            previous_summary = summary
            index_of = summary["commitIndex"]
            assert isinstance(index_of, int)
            commit = commits[index_of - 1]
            assert summary["commitDigest"] == commit_digest(commit).hex()


@pytest.mark.requirement("TWIN-CONSENSUS-112", "TWIN-CONSENSUS-109")
def test_a_killed_validator_is_not_needed_and_catches_up_when_restarted(
    cluster: Cluster,
) -> None:
    before = {index: len(commits_of(cluster, index)) for index in range(4)}
    cluster.kill(3)
    with cluster.client(0, cluster.login(0)) as admin:
        created = admin.post("/identity", timeout=30)
    assert created.status_code == 200, f"{created.text}\n{cluster.logs()}"
    did = created.json()["id"]
    with cluster.client(2, cluster.login(2)) as admin:
        anchored = admin.post("/verifiable", json={"data": "aGVsbG8="}, timeout=30)
    assert anchored.status_code == 201, f"{anchored.text}\n{cluster.logs()}"
    running = {index: commits_of(cluster, index) for index in range(3)}
    assert_prefixes(running)
    assert all(len(commits) > before[index] for index, commits in running.items())

    cluster.start([3])
    target = max(len(commits) for commits in running.values())

    def caught_up() -> list[Any] | None:
        commits = commits_of(cluster, 3)
        return commits if len(commits) >= target else None

    restarted = wait_for(
        caught_up,
        CATCH_UP_SECONDS,
        lambda: (
            f"the restarted validator 3 has {len(commits_of(cluster, 3))} commits, the others"
            f" had {target} when it started\n{cluster.logs()}"
        ),
        every=0.25,
    )
    assert_prefixes({**{index: commits_of(cluster, index) for index in range(3)}, 3: restarted})
    assert resolves(cluster, 3, did) is not None
    # It signs again: a write through it is certified with the others.
    with cluster.client(3, cluster.login(3)) as admin:
        again = admin.post("/identity", timeout=30)
    assert again.status_code == 200, f"{again.text}\n{cluster.logs()}"
    with cluster.client(3) as client:
        equivocations = client.get("/consensus/equivocations").json()
    assert equivocations == {"equivocations": []}, "no honest validator equivocates"


@pytest.mark.requirement("TWIN-CONSENSUS-101", "TWIN-CONSENSUS-110")
def test_bad_blocks_from_the_network_change_nothing(cluster: Cluster) -> None:
    with cluster.client(1) as client:
        before = len(get_all(client, "/consensus/commits", "commits"))
        (block,) = [
            b for b in client.get("/consensus/blocks", params={"round": 1}).json()["blocks"][:1]
        ]
        tampered = {**block, "timestampMs": block["timestampMs"] + 1}
        foreign = {**block, "author": 9}
        garbage = client.post(
            "/consensus/blocks",
            content=b'{"epoch": 0, "round": ',
            headers={"content-type": "application/json"},
        )
        assert garbage.status_code == 400
        for bad, code in ((tampered, "badSignature"), (foreign, "unknownAuthor")):
            response = client.post("/consensus/blocks", json=bad)
            assert response.status_code == 400, response.text
            assert response.json()["properties"]["code"] == code
        huge = client.post(
            "/consensus/blocks",
            content=b'{"pad": "' + b"x" * (3 * 1024 * 1024) + b'"}',
            headers={"content-type": "application/json"},
        )
        assert huge.status_code == 413
        signature = client.post(
            "/consensus/checkpoints/1/signatures", json={"signer": 0, "signature": "z" + "1" * 80}
        )
        assert signature.status_code == 400
        assert signature.json()["properties"]["code"] in ("malformed", "badSignature")
        assert client.get("/health").json()["status"] == "ok"
        after = get_all(client, "/consensus/commits", "commits")
    assert len(after) >= before
    with httpx.Client(base_url=cluster.url(0)) as other:
        assert other.get("/health").json()["status"] == "ok"
