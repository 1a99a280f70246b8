"""What the ledger keeps on disk: each checkpoint once, blocks only for their retention.

A one-validator engine (the reference node's own ``LedgerEngine`` over a real SQLite file) is
stepped in-process through many commits, so that the garbage-collection round moves far past a
small block retention; it is then restarted on the same file and must go on committing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from twin_reference._ledger import ConsensusSettings, LedgerEngine
from twin_reference._store import Store
from twin_spec import (
    COMMITS_PER_SCHEDULE,
    GC_DEPTH,
    Committee,
    Ed25519SigningKey,
    Validator,
    check_commit_follows,
    gc_round_after,
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
    settings = ConsensusSettings(block_retention_rounds=RETENTION)
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
        json.loads(str(row[0]))
        for row in store.all("SELECT body FROM commits ORDER BY commit_index")
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
            " SELECT sequence, digest, json_extract(body, '$.summary') FROM checkpoints"
        )
    assert rows(store, "SELECT COUNT(*) FROM checkpoint_summaries") == ledger.commit_index
    store.close()
    store = UnsyncedStore(tmp_path / "node.sqlite")
    restarted = engine(store, clock)
    assert rows(store, "SELECT COUNT(*) FROM checkpoint_summaries") == 0
    commit_all(restarted, 100, 2)
    store.close()
