"""A committee of one answers an anchor once it is durably accepted; the receipt follows.

Issue 16: a sequential anchor used to wait for three rounds, three commits and three certified
checkpoints before its 201. TWIN-ANCHORING-050 lets a node answer once the proof is durably
accepted and serve the receipt within 30 s: the reference node, alone in its committee, now
syncs the accepted transaction, answers, and commits it with the next paced round. These
tests hold the rounds back (``--batch-interval``) to see the state between the two, and kill
the node inside it.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from tests.node_process import RunningNode, start_node
from tests.support import proof_with_receipt
from twin_reference._ledger_codec import unpack_text
from twin_spec import Committee, verify_receipt

HELD_ROUNDS = ("--batch-interval", "30")
"""Rounds no request waits on follow each other 30 s apart: a new anchor stays uncommitted."""


def committee_of(data_dir: Path) -> Committee:
    return Committee.from_json(json.loads((data_dir / "committee.json").read_text()))


def anchor(client: httpx.Client, note: str) -> str:
    answer = client.post("/immutable-proof", json={"document": {"note": note}})
    assert answer.status_code == 201, answer.text
    location: str = answer.headers["location"]
    return location


def anchored_transactions(data_dir: Path) -> list[str]:
    """The proof ids of the committed anchoring transactions, one per commit that applied one."""
    database = sqlite3.connect(f"file:{data_dir / 'node.sqlite'}?mode=ro", uri=True)
    try:
        bodies = [
            unpack_text(body) for (body,) in database.execute("SELECT body FROM transactions")
        ]
        (accepted,) = database.execute("SELECT COUNT(*) FROM accepted_transactions").fetchone()
    finally:
        database.close()
    assert accepted == 0, f"{accepted} accepted transactions are still not committed"
    return [
        json.loads(body)["payload"]["proof"]["id"]
        for body in bodies
        if '"immutableProof.create"' in body
    ]


@pytest.mark.requirement("TWIN-ANCHORING-050")
def test_a_proof_is_served_signed_at_once_and_its_receipt_follows(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    node = start_node(data_dir, *HELD_ROUNDS)
    try:
        with node.client(node.login()) as client:
            first = anchor(client, "first")
            # The second waits in the mempool for the round held back 30 s.
            location = anchor(client, "second")
            pending = client.get(f"/immutable-proof/{location}")
            assert pending.status_code == 200, pending.text
            body = pending.json()
            assert "immutableReceipt" not in body
            assert body["proof"]["cryptosuite"] == "eddsa-jcs-2022"
            verification = client.get(f"/immutable-proof/{location}/verify").json()
            assert verification["verified"] is False
            assert verification["failure"] == "notIssued"
            assert {first, location} <= {f"immutable-proof:{pid}" for pid in pending_ids(node)}
    finally:
        node.stop()
    # Restarted with the default pacing, the node commits what it accepted.
    node = start_node(data_dir)
    try:
        with node.client(node.login()) as client:
            committee = committee_of(data_dir)
            for proof_id in (first, location):
                proof = proof_with_receipt(client, proof_id)
                verify_receipt(proof["immutableReceipt"], committee)
                assert client.get(f"/immutable-proof/{proof_id}/verify").json()["verified"]
    finally:
        node.stop()


def pending_ids(node: RunningNode) -> list[str]:
    """The subjects (proof ids) of the node's accepted, uncommitted transactions."""
    database = sqlite3.connect(f"file:{node.data_dir / 'node.sqlite'}?mode=ro", uri=True)
    try:
        return [
            str(row[0]) for row in database.execute("SELECT subject FROM accepted_transactions")
        ]
    finally:
        database.close()


@pytest.mark.requirement("TWIN-ANCHORING-050", "TWIN-CORE-055")
def test_sigkill_between_the_201_and_the_commit_loses_no_proof_and_anchors_none_twice(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    node = start_node(data_dir, *HELD_ROUNDS)
    try:
        with node.client(node.login()) as client:
            # The first goes into a block at once (the round after an idle spell is not held),
            # the others wait for the held round: killed, the node leaves one of them in an
            # uncommitted block of its own and the others in no block at all.
            locations = [anchor(client, f"note {n}") for n in range(4)]
            time.sleep(0.2)
    finally:
        node.stop(signal.SIGKILL)
    node = start_node(data_dir)
    try:
        with node.client(node.login()) as client:
            committee = committee_of(data_dir)
            for location in locations:
                verify_receipt(proof_with_receipt(client, location)["immutableReceipt"], committee)
    finally:
        node.stop()
    anchored = anchored_transactions(data_dir)
    assert sorted(anchored) == sorted(location.split(":")[1] for location in locations)
