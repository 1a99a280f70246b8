"""Poison transactions in a committee of four: three honest processes, a fourth the test plays.

Issue 13, finding 1, across a committee: a transaction too deep for a block is refused by
admission on every validator, a block carrying one from a peer is refused by the receive rule
``transactionTooDeep`` (TWIN-CONSENSUS-130), and a well-formed transaction that cannot apply
(it made the ledger loop of every validator fail for ever) is committed as a failure on all of
them (TWIN-CONSENSUS-131); the committee keeps committing, and agrees.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster_process import Cluster, create_cluster, get_all, wait_for
from twin_spec import BlockRef, block_ref, sign_block

PLAYED = 3
COMMIT_SECONDS = 45.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = create_cluster(Path(tmp_path_factory.mktemp("poison")), 4)
    try:
        running.start(range(PLAYED))
        yield running
    finally:
        running.stop_all()


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def latest_quorum(client: httpx.Client) -> tuple[int, list[dict[str, Any]]]:
    """The highest round at which the validator holds blocks of three authors, and those."""
    found: tuple[int, list[dict[str, Any]]] = (0, [])
    for round_ in range(1, 10_000):
        blocks = client.get("/consensus/blocks", params={"round": round_}).json()["blocks"]
        if not blocks:
            return found
        if len({block["author"] for block in blocks}) >= 3:
            found = (round_, blocks)
    raise AssertionError("the validator is at round 10000 already")


def committed_status(cluster: Cluster, index: int, digest: str) -> dict[str, Any] | None:
    with cluster.client(index) as client:
        answer = client.get(f"/consensus/transactions/{digest}")
    if answer.status_code != 200:
        return None
    status: dict[str, Any] = answer.json()
    return status if status["status"] == "committed" else None


@pytest.mark.requirement("TWIN-CONSENSUS-130", "TWIN-CONSENSUS-131", "TWIN-ANCHORING-061")
def test_poison_transactions_leave_a_committee_of_four_committing(cluster: Cluster) -> None:
    token = cluster.login(0)
    with cluster.client(0, token) as admin:
        identity = admin.get("/info").json()["nodeIdentity"]
        deep = {
            "type": "test.poison",
            "sender": identity,
            "nonce": "deep",
            "timestampMs": 1_767_225_600_000,
            "payload": nested(255),
        }
        refused = admin.post("/consensus/transactions", json=deep)
        assert refused.status_code == 400, refused.text
        assert refused.json()["properties"]["code"] == "transactionTooDeep"

        # A peer's block carrying a transaction beyond the depth limit (but a valid block
        # otherwise) is refused by the receive rules of every honest validator.
        round_, previous = latest_quorum(admin)
        genesis = admin.get("/consensus/blocks", params={"round": 0}).json()["blocks"]
    parents: dict[int, BlockRef] = {}
    for block in previous:
        parents.setdefault(block["author"], block_ref(block))
    carried = {**deep, "nonce": "carried", "payload": nested(70)}
    block = sign_block(
        cluster.validator_key(PLAYED),
        {
            "epoch": cluster.committee.epoch,
            "round": round_ + 1,
            "author": PLAYED,
            "timestampMs": max(item["timestampMs"] for item in previous) + 1,
            "ancestors": [
                block_ref(genesis[PLAYED]).to_json(),
                *(parents[author].to_json() for author in sorted(parents)),
            ],
            "transactions": [carried],
        },
    )
    for index in range(PLAYED):
        with cluster.client(index) as client:
            answer = client.post("/consensus/blocks", json=block)
        assert answer.status_code == 400, answer.text
        assert answer.json()["properties"]["code"] == "transactionTooDeep"

    # A transaction within every limit whose document is a string: applying it raised where
    # no error was expected, and every validator retried that commit for ever.
    with cluster.client(0, token) as admin:
        version = admin.get(
            f"/identity/{identity}", headers={"accept": "application/did-resolution"}
        ).json()["didDocumentMetadata"]["versionId"]
        poison = {
            "type": "did.update",
            "sender": identity,
            "nonce": "string-document",
            "timestampMs": 1_767_225_600_000,
            "payload": {"did": identity, "version": int(version), "document": "x"},
        }
        accepted = admin.post("/consensus/transactions", json=poison)
    assert accepted.status_code == 202, accepted.text
    digest = accepted.json()["digest"]
    for index in range(PLAYED):
        status = wait_for(
            lambda index=index: committed_status(cluster, index, digest),  # type: ignore[misc]
            COMMIT_SECONDS,
            lambda: f"the poison transaction was not committed\n{cluster.logs()}",
        )
        assert status["outcome"]["status"] == "failure"

    # Every validator keeps committing writes, and the commit sequences agree.
    for index in range(PLAYED):
        with cluster.client(index, cluster.login(index)) as admin:
            started = time.monotonic()
            created = admin.post("/identity", timeout=COMMIT_SECONDS)
        assert created.status_code == 200, f"{created.text}\n{cluster.logs()}"
        assert time.monotonic() - started < COMMIT_SECONDS
    sequences = []
    for index in range(PLAYED):
        with cluster.client(index) as client:
            sequences.append(get_all(client, "/consensus/commits", "commits"))
            assert client.get("/health").json()["status"] == "ok"
    for first, second in itertools.combinations(sequences, 2):
        shorter, longer = sorted((first, second), key=len)
        assert longer[: len(shorter)] == shorter
    for node in cluster.nodes.values():
        assert "ledger loop failed" not in node.log(), node.log()[-3000:]
