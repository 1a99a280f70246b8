"""An equivocating validator: three honest processes, and a fourth validator the test plays.

The test holds validator 3's key, signs two different blocks for one round, and sends one to
validator 0 and the other to validators 1 and 2. Each honest validator meets the second block
when a peer's block refers to it (and fetches it), records the equivocation evidence, and the
commit sequences stay prefixes of one another.
"""

from __future__ import annotations

import itertools
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster_process import Cluster, create_cluster, get_all, wait_for
from twin_spec import (
    BlockRef,
    block_digest,
    block_ref,
    sign_block,
    verify_equivocation_evidence,
)

PLAYED = 3


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = create_cluster(Path(tmp_path_factory.mktemp("equivocation")), 4)
    try:
        running.start(range(PLAYED))
        yield running
    finally:
        running.stop_all()


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


def evidence_on(cluster: Cluster, index: int) -> list[Any] | None:
    with cluster.client(index) as client:
        found = get_all(client, "/consensus/equivocations", "equivocations")
    return found or None


@pytest.mark.requirement("TWIN-CONSENSUS-107", "TWIN-CONSENSUS-113", "TWIN-CONSENSUS-112")
def test_an_equivocating_validator_is_recorded_and_breaks_no_safety(cluster: Cluster) -> None:
    key = cluster.validator_key(PLAYED)
    with cluster.client(0) as client:
        round_, previous = latest_quorum(client)
        genesis = client.get("/consensus/blocks", params={"round": 0}).json()["blocks"]
    own = block_ref(genesis[PLAYED])
    parents: dict[int, BlockRef] = {}
    for block in previous:
        parents.setdefault(block["author"], block_ref(block))
    unsigned = {
        "epoch": cluster.committee.epoch,
        "round": round_ + 1,
        "author": PLAYED,
        "timestampMs": max(block["timestampMs"] for block in previous) + 1,
        "ancestors": [own.to_json(), *(parents[author].to_json() for author in sorted(parents))],
    }
    # Without transactions the blocks give the honest validators nothing to do yet, so each
    # keeps the one it was sent as the first of the slot until the test makes them move.
    first = sign_block(key, {**unsigned, "transactions": []})
    second = sign_block(
        key, {**unsigned, "timestampMs": unsigned["timestampMs"] + 1, "transactions": []}
    )
    digests = {block_digest(first).hex(), block_digest(second).hex()}
    for index, block in ((0, first), (1, second), (2, second)):
        with cluster.client(index) as client:
            response = client.post("/consensus/blocks", json=block)
        assert response.status_code in (202, 400), response.text
        if response.status_code == 400:
            assert response.json()["properties"]["code"] == "missingAncestor"
    with cluster.client(1, cluster.login(1)) as admin:
        assert admin.post("/identity", timeout=30).status_code == 200

    for index in range(PLAYED):
        evidence = wait_for(
            lambda index=index: evidence_on(cluster, index),  # type: ignore[misc]
            20,
            lambda index=index: f"validator {index} recorded no equivocation\n{cluster.logs()}",  # type: ignore[misc]
        )
        assert len(evidence) == 1
        verify_equivocation_evidence(evidence[0], cluster.committee)
        assert evidence[0]["author"] == PLAYED
        assert evidence[0]["round"] == round_ + 1
        assert {block_digest(block).hex() for block in evidence[0]["blocks"]} == digests

    # The honest three keep committing, and agree.
    with cluster.client(1, cluster.login(1)) as admin:
        created = admin.post("/identity", timeout=30)
    assert created.status_code == 200, f"{created.text}\n{cluster.logs()}"
    sequences = {}
    for index in range(PLAYED):
        with cluster.client(index) as client:
            sequences[index] = get_all(client, "/consensus/commits", "commits")
    for first_commits, second_commits in itertools.combinations(sequences.values(), 2):
        shorter, longer = sorted((first_commits, second_commits), key=len)
        assert longer[: len(shorter)] == shorter
    # Both blocks may be committed as history (every honest validator commits the same
    # ones); what must not happen is two leaders committed for one slot.
    slots = [(commit["leader"]["round"], commit["leader"]["author"]) for commit in sequences[0]]
    assert len(slots) == len(set(slots)), "two leader blocks of one slot were committed"

    # The evidence is durable: it is still there after a crash and a restart.
    cluster.nodes.pop(0).stop(signal.SIGKILL)
    cluster.start([0])
    kept = evidence_on(cluster, 0)
    assert kept is not None
    assert len(kept) == 1
    verify_equivocation_evidence(kept[0], cluster.committee)
