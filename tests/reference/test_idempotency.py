"""Idempotency-Key on a real node: a retry gets the first outcome and anchors nothing more.

Issue 13, finding 7: a client whose write got no clear answer could only send it again and
anchor twice. Writes now take an ``Idempotency-Key`` (TWIN-CORE-068).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.node_process import RunningNode, start_node
from tests.support import proof_with_receipt


@pytest.fixture(scope="module")
def keyed_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(Path(tmp_path_factory.mktemp("keyed")) / "data")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def writer(keyed_node: RunningNode) -> Iterator[httpx.Client]:
    with keyed_node.client(keyed_node.login()) as client:
        yield client


def count(node: RunningNode, table: str) -> int:
    """How many rows a table of the node's database holds (read-only)."""
    database = sqlite3.connect(f"file:{node.data_dir / 'node.sqlite'}?mode=ro", uri=True)
    try:
        (rows,) = database.execute(f"SELECT COUNT(*) FROM {table}").fetchone()  # noqa: S608
    finally:
        database.close()
    return int(rows)


def anchors(node: RunningNode) -> int:
    """How many immutable proofs the node has committed."""
    return count(node, "immutable_proofs")


def accepted(node: RunningNode) -> int:
    """How many transactions the node answered for and has not committed yet."""
    return count(node, "accepted_transactions")


@pytest.mark.requirement("TWIN-CORE-068")
def test_a_retry_with_the_same_key_gets_the_first_outcome(
    keyed_node: RunningNode, writer: httpx.Client
) -> None:
    before = anchors(keyed_node)
    body = {"document": {"invoice": "42"}}
    first = writer.post("/immutable-proof", json=body, headers={"idempotency-key": "invoice-42"})
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = writer.post("/immutable-proof", json=body, headers={"idempotency-key": "invoice-42"})
    assert again.status_code == 201
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    # The 201 says the proof is durably accepted; once its receipt is there, it is committed
    # once, and nothing else waits to be (the retry queued nothing).
    proof_with_receipt(writer, first.headers["location"])
    assert anchors(keyed_node) == before + 1
    assert accepted(keyed_node) == 0
    # Without a key, the same body is another anchor.
    other = writer.post("/immutable-proof", json=body)
    assert other.status_code == 201
    assert other.headers["location"] != first.headers["location"]


@pytest.mark.requirement("TWIN-CORE-068")
def test_a_key_belongs_to_one_request(writer: httpx.Client) -> None:
    key = {"idempotency-key": "item-1"}
    created = writer.post("/verifiable", json={"data": "aGVsbG8="}, headers=key)
    assert created.status_code == 201, created.text
    reused = writer.post("/verifiable", json={"data": "d29ybGQ="}, headers=key)
    assert reused.status_code == 409, reused.text
    assert reused.json()["properties"]["code"] == "idempotencyKeyReused"
    assert writer.post("/verifiable", json={"data": "aGVsbG8="}, headers=key).json() == (
        created.json()
    )
    malformed = writer.post(
        "/verifiable", json={"data": "aGVsbG8="}, headers={"idempotency-key": "x" * 300}
    )
    assert malformed.status_code == 400
    assert malformed.json()["properties"]["field"] == "header.idempotency-key"


@pytest.mark.requirement("TWIN-CORE-068")
def test_a_refused_write_keeps_no_key_and_a_removal_replays(writer: httpx.Client) -> None:
    key = {"idempotency-key": "bad-then-good"}
    refused = writer.post("/verifiable", json={"data": "not base64!"}, headers=key)
    assert refused.status_code == 400
    # Nothing was queued, so the key is free for the corrected request.
    created = writer.post("/verifiable", json={"data": "aGVsbG8="}, headers=key)
    assert created.status_code == 201, created.text
    item = created.json()["id"]
    removal = {"idempotency-key": f"remove-{item}"}
    assert writer.delete(f"/verifiable/{item}", headers=removal).status_code == 204
    # Without the key the item is gone (404); with it, the first outcome again.
    assert writer.delete(f"/verifiable/{item}").status_code == 404
    assert writer.delete(f"/verifiable/{item}", headers=removal).status_code == 204


@pytest.mark.requirement("TWIN-CORE-068")
def test_a_replayed_error_is_the_same_answer_content_type_included(writer: httpx.Client) -> None:
    """A keyed write the ledger refused (a second profile) replays with its media type."""
    profile = {"publicProfile": {"name": "Replay"}, "privateProfile": {"phone": "1"}}
    writer.post("/identity/profile", json=profile)
    key = {"idempotency-key": "second-profile"}
    refused = writer.post("/identity/profile", json=profile, headers=key)
    assert refused.status_code == 409, refused.text
    again = writer.post("/identity/profile", json=profile, headers=key)
    assert again.headers["idempotent-replayed"] == "true"
    assert (again.status_code, again.content) == (refused.status_code, refused.content)
    assert again.headers["content-type"] == refused.headers["content-type"] == "application/json"
