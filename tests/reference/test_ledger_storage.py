"""What the ledger keeps on disk: each checkpoint once, blocks only for their retention.

A data directory of the storage format before the compact one is converted at start and serves
the same ledger; one of a newer format is refused with a one-line error and left unchanged.
A one-validator engine (the reference node's own ``LedgerEngine`` over a real SQLite file) is
stepped in-process through many commits, so that the garbage-collection round moves far past a
small block retention; it is then restarted on the same file and must go on committing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.node_process import ADMIN_PASSWORD, RunningNode, start_node
from tests.support import proof_with_receipt
from twin_reference._ledger import ConsensusSettings, LedgerEngine
from twin_reference._ledger_codec import (
    pack_certified,
    pack_checkpoint,
    unpack_checkpoint,
    unpack_commit,
    unpack_text,
)
from twin_reference._ledger_store import dump_json
from twin_reference._store import SCHEMA_VERSION, Store
from twin_spec import (
    COMMITS_PER_SCHEDULE,
    GC_DEPTH,
    Committee,
    Ed25519SigningKey,
    Validator,
    certify_checkpoint,
    check_commit_follows,
    checkpoint_digest,
    checkpoint_signature,
    commit_digest,
    gc_round_after,
    make_checkpoint_summary,
    sign_checkpoint,
    verify_receipt,
)

KEY = Ed25519SigningKey(bytes([7]) * 32)
COMMITTEE = Committee(0, (Validator(0, KEY.public_key, 1, None),))
RETENTION = 100


class UnsyncedStore(Store):
    """The node's store without fsync: durability is the process tests' business."""

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        with super().write(durable=False) as connection:
            yield connection


class Clock:
    """A clock of milliseconds that moves one per reading."""

    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        self.now += 1
        return self.now


def engine(store: Store, clock: Clock) -> LedgerEngine:
    # No pacing: the test steps the loop itself, and nothing waits for a commit.
    settings = ConsensusSettings(block_retention_rounds=RETENTION, batch_interval_seconds=0)
    return LedgerEngine(store, COMMITTEE, 0, KEY, clock, settings=settings)


def transaction(number: int) -> dict[str, Any]:
    return {
        "type": "example.note",
        "sender": "did:example:storage-test",
        "nonce": f"{number:08d}",
        "timestampMs": 1_700_000_000_000,
        "payload": {"n": number},
    }


def commit_all(ledger: LedgerEngine, first: int, count: int) -> None:
    """Queue transactions one at a time and step until each is committed."""
    for number in range(first, first + count):
        digest = ledger.enqueue(transaction(number))
        for _ in range(20):
            ledger._step()
            if ledger.transaction_outcome(digest) is not None:
                break
        assert ledger.transaction_outcome(digest) is not None


def rows(store: Store, sql: str) -> int:
    row = store.one(sql)
    assert row is not None
    return int(str(row[0]))


@pytest.mark.requirement("TWIN-CONSENSUS-108", "TWIN-CONSENSUS-115")
def test_blocks_older_than_the_retention_are_deleted_and_a_restart_goes_on(
    tmp_path: Path,
) -> None:
    clock = Clock()
    store = UnsyncedStore(tmp_path / "node.sqlite")
    ledger = engine(store, clock)
    # Enough commits for the leader schedule to change twice (a restart resumes from the window
    # before the current one) and for the garbage-collection round to pass the retention.
    commit_all(ledger, 0, (2 * COMMITS_PER_SCHEDULE + 3 * RETENTION) // 3 + 20)
    last_round = ledger.last_round
    lowest = rows(store, "SELECT MIN(round) FROM blocks WHERE round > 0")
    assert lowest > 1, "no stored block was deleted"
    # Nothing a peer within the retention may ask for, nor what a restart reads, is gone.
    gc_round = gc_round_after(last_round - 2, GC_DEPTH)
    assert lowest <= gc_round - RETENTION + 100
    # Each certified checkpoint is stored once: its signed summary is not kept beside it.
    assert rows(store, "SELECT COUNT(*) FROM checkpoint_summaries") == 0
    checkpoints = rows(store, "SELECT COUNT(*) FROM checkpoints")
    assert checkpoints == ledger.commit_index
    store.close()

    store = UnsyncedStore(tmp_path / "node.sqlite")
    restarted = engine(store, clock)
    assert restarted.commit_index == checkpoints
    commit_all(restarted, 10_000, 5)
    commits = [
        unpack_commit(row[0]) for row in store.all("SELECT body FROM commits ORDER BY commit_index")
    ]
    previous = None
    for commit in commits:
        check_commit_follows(previous, commit)
        previous = commit
    assert rows(store, "SELECT COUNT(*) FROM checkpoints") == len(commits)
    store.close()


def test_a_data_directory_with_certified_summaries_loses_them_at_start(tmp_path: Path) -> None:
    clock = Clock()
    store = UnsyncedStore(tmp_path / "node.sqlite")
    ledger = engine(store, clock)
    commit_all(ledger, 0, 3)
    # As a node before this change left it: every signed summary kept beside its checkpoint.
    with store.write() as connection:
        connection.execute(
            "INSERT INTO checkpoint_summaries (sequence, digest, summary)"
            " SELECT sequence, ?, ? FROM checkpoints",
            (bytes(32), "{}"),
        )
    assert rows(store, "SELECT COUNT(*) FROM checkpoint_summaries") == ledger.commit_index
    store.close()
    store = UnsyncedStore(tmp_path / "node.sqlite")
    restarted = engine(store, clock)
    assert rows(store, "SELECT COUNT(*) FROM checkpoint_summaries") == 0
    commit_all(restarted, 100, 2)
    store.close()


# -- the storage format -------------------------------------------------------------------------

FORMAT_0_TABLES = """
CREATE TABLE commits (
    commit_index INTEGER PRIMARY KEY, digest BLOB NOT NULL, body TEXT NOT NULL);
CREATE TABLE checkpoints (
    sequence INTEGER PRIMARY KEY, digest BLOB NOT NULL, body TEXT NOT NULL);
CREATE TABLE immutable_proofs (
    id TEXT PRIMARY KEY, body TEXT NOT NULL, transaction_digest BLOB NOT NULL);
"""
"""The tables of storage format 0 that format 1 changed, as nodes before it created them."""


def to_format_0(database: Path) -> None:
    """Write a stopped node's database back as a node of storage format 0 kept it."""
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        commits = [unpack_commit(row[1]) for row in connection.execute("SELECT * FROM commits")]
        checkpoints = [
            unpack_checkpoint(row[1]) for row in connection.execute("SELECT * FROM checkpoints")
        ]
        proofs = connection.execute(
            "SELECT p.id, p.transaction_digest, t.body FROM immutable_proofs AS p"
            " JOIN transactions AS t ON t.digest = p.transaction_digest"
        ).fetchall()
        connection.execute("BEGIN")
        connection.execute("DROP TABLE commits")
        connection.execute("DROP TABLE checkpoints")
        connection.execute("DROP TABLE immutable_proofs")
        for statement in FORMAT_0_TABLES.split(";"):
            connection.execute(statement)
        for commit in commits:
            connection.execute(
                "INSERT INTO commits VALUES (?, ?, ?)",
                (commit["index"], commit_digest(commit), dump_json(commit)),
            )
        for certified in checkpoints:
            summary = certified["summary"]
            assert isinstance(summary, dict)
            connection.execute(
                "INSERT INTO checkpoints VALUES (?, ?, ?)",
                (summary["sequence"], checkpoint_digest(summary), dump_json(certified)),
            )
            # Format 0 also kept the signed summary beside its certified checkpoint.
            connection.execute(
                "INSERT INTO checkpoint_summaries VALUES (?, ?, ?)",
                (summary["sequence"], checkpoint_digest(summary), dump_json(summary)),
            )
        for proof_id, digest, transaction in proofs:
            proof = json.loads(unpack_text(transaction))["payload"]["proof"]
            connection.execute(
                "INSERT INTO immutable_proofs VALUES (?, ?, ?)",
                (proof_id, dump_json(proof), digest),
            )
        for table in ("blocks", "transactions"):
            for digest, body in connection.execute(f"SELECT digest, body FROM {table}").fetchall():  # noqa: S608 - a fixed name
                connection.execute(
                    f"UPDATE {table} SET body = ? WHERE digest = ?",  # noqa: S608 - a fixed name
                    (unpack_text(body), digest),
                )
        connection.execute("PRAGMA user_version = 0")
        connection.execute("COMMIT")
    finally:
        connection.close()


def served(node: RunningNode, token: str, proof_ids: list[str]) -> dict[str, Any]:
    """What a node serves of its ledger: blocks, commits, checkpoints, proofs with receipts."""
    with node.client(token) as client:
        # The proofs first: once each has its receipt, the ledger has stopped moving.
        proofs = [proof_with_receipt(client, ref) for ref in proof_ids]
        return {
            "blocks": [client.get(f"/consensus/blocks?round={r}").json() for r in range(1, 9)],
            "commits": client.get("/consensus/commits?from=1&limit=1000").json(),
            "checkpoints": client.get("/consensus/checkpoints?from=1&limit=1000").json(),
            "proofs": proofs,
            "verified": [
                client.get(f"/immutable-proof/{ref}/verify").json()["verified"] for ref in proof_ids
            ],
        }


@pytest.mark.requirement("TWIN-CONSENSUS-100", "TWIN-CORE-055")
def test_a_format_0_data_directory_is_converted_and_serves_the_same_ledger(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    node = start_node(data_dir)
    try:
        token = node.login()
        with node.client(token) as client:
            proof_ids = [
                client.post("/immutable-proof", json={"document": {"n": n}}).headers["location"]
                for n in range(3)
            ]
        before = served(node, token, proof_ids)
    finally:
        node.stop()
    to_format_0(data_dir / "node.sqlite")
    node = start_node(data_dir)
    try:
        token = node.login()
        after = served(node, token, proof_ids)
        committee = Committee.from_json(node.client().get("/consensus/committee").json())
    finally:
        node.stop()
    assert after == before
    assert after["verified"] == [True, True, True]
    for proof in after["proofs"]:
        verify_receipt(proof["immutableReceipt"], committee)
    database = sqlite3.connect(data_dir / "node.sqlite")
    try:
        assert database.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert database.execute("SELECT COUNT(*) FROM checkpoint_summaries").fetchone() == (0,)
    finally:
        database.close()


def test_a_data_directory_of_a_newer_storage_format_is_refused_unchanged(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    node = start_node(data_dir)
    node.stop()
    database = sqlite3.connect(data_dir / "node.sqlite")
    try:
        database.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        database.commit()
    finally:
        database.close()
    before = (data_dir / "node.sqlite").read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "twin_reference", "serve", "--port", "0", "--data-dir", data_dir],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TWIN_NODE_PASSWORD": ADMIN_PASSWORD},
        check=False,
    )
    assert result.returncode == 2
    assert f"storage format {SCHEMA_VERSION + 1}" in result.stderr
    assert "newer reference node" in result.stderr
    assert "Traceback" not in result.stderr
    assert (data_dir / "node.sqlite").read_bytes() == before


def test_a_checkpoint_packed_from_its_signature_bytes_is_the_certified_json_packed() -> None:
    keys = [KEY, Ed25519SigningKey(bytes([8]) * 32)]
    summary = make_checkpoint_summary(0, 3, 5, bytes(range(32)), [bytes(32)], bytes(32), 1234)
    signatures = [(index, checkpoint_signature(key, summary)) for index, key in enumerate(keys)]
    entries = [
        sign_checkpoint(key, index, summary) for index, key in reversed(list(enumerate(keys)))
    ]
    certified = certify_checkpoint(summary, entries)
    assert pack_certified(summary, signatures) == pack_checkpoint(certified)
    assert unpack_checkpoint(pack_certified(summary, signatures)) == certified
