"""Storing the ledger: every SQL statement of the validator, over the node's one database.

The tables are those of ``_store.py``: blocks, commits, transactions (with what applying each
did), checkpoint summaries the validator signed, certified checkpoints and equivocation
evidence. The parts of the validator (``_proposing.py``, ``_receiving.py``, ``_committing.py``,
``_certifying.py``) read and write through this class, so that the database layout is in one
place; the writes of one commit share one SQLite transaction, which the caller opens with
:meth:`LedgerStore.write` and passes back in. Each block, transaction, commit and certified
checkpoint is stored once, in the compact forms of ``_ledger_codec.py``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from twin_reference._ledger_codec import (
    pack_commit,
    pack_text,
    unpack_checkpoint,
    unpack_commit,
    unpack_text,
)
from twin_reference._store import Store
from twin_reference._transactions import Effects, Outcome
from twin_spec import BlockRef, JSONValue, checkpoint_digest, commit_digest, make_receipt

_INSERT_BLOCK = "INSERT INTO blocks (digest, round, author, body) VALUES (?, ?, ?, ?)"
_INSERT_BLOCK_OR_IGNORE = (
    "INSERT OR IGNORE INTO blocks (digest, round, author, body) VALUES (?, ?, ?, ?)"
)


COMMIT_PAGE = 256
"""Commits read at a time when walking back from the newest."""


def dump_json(value: object) -> str:
    """Compact JSON text as the ledger stores and sends it (UTF-8, no escaping of non-ASCII)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _blob(value: object) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError(f"expected a BLOB, got {type(value).__name__}")
    return value


class LedgerStore:
    """The validator's tables: reads, and writes inside a transaction the caller holds."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._accepted: set[bytes] = {
            _blob(row[0]) for row in store.all("SELECT digest FROM accepted_transactions")
        }
        """The digests of the accepted transactions not committed yet (a few at a time)."""

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One SQLite transaction (see :meth:`Store.write`)."""
        with self.store.write(durable=durable) as connection:
            yield connection

    # -- blocks -------------------------------------------------------------------------------

    def has_block(self, digest: bytes) -> bool:
        """Whether a block with this digest is stored."""
        return self.store.one("SELECT 1 FROM blocks WHERE digest = ?", digest) is not None

    def block(self, digest: bytes) -> dict[str, Any] | None:
        """The stored block with this digest, or None."""
        row = self.store.one("SELECT body FROM blocks WHERE digest = ?", digest)
        return None if row is None else dict(json.loads(unpack_text(row[0])))

    def blocks_above(self, round_: int) -> Iterator[dict[str, Any]]:
        """Every stored block above ``round_``, by round, author, digest."""
        for (body,) in self.store.all(
            "SELECT body FROM blocks WHERE round > ? ORDER BY round, author, digest", round_
        ):
            yield json.loads(unpack_text(body))

    def latest_block_of(self, author: int) -> dict[str, Any] | None:
        """The highest-round block stored of one author, or None."""
        row = self.store.one(
            "SELECT body FROM blocks WHERE author = ? ORDER BY round DESC LIMIT 1", author
        )
        return None if row is None else dict(json.loads(unpack_text(row[0])))

    def block_texts_of(self, author: int, from_round: int, limit: int) -> list[bytes]:
        """The JSON texts of an author's stored blocks from ``from_round`` up, at most ``limit``."""
        rows = self.store.all(
            "SELECT body FROM blocks WHERE author = ? AND round >= ? ORDER BY round, digest"
            " LIMIT ?",
            author,
            from_round,
            limit,
        )
        return [unpack_text(body).encode() for (body,) in rows]

    def other_block_in_slot(self, ref: BlockRef) -> dict[str, Any] | None:
        """A stored block of the same author and round as ``ref`` but another digest."""
        row = self.store.one(
            "SELECT body FROM blocks WHERE round = ? AND author = ? AND digest != ? LIMIT 1",
            ref.round,
            ref.author,
            ref.digest,
        )
        return None if row is None else dict(json.loads(unpack_text(row[0])))

    @staticmethod
    def insert_block(
        connection: sqlite3.Connection, ref: BlockRef, text: str, *, or_ignore: bool = False
    ) -> None:
        """Store a block's JSON text under its reference (a peer's may be there already)."""
        connection.execute(
            _INSERT_BLOCK_OR_IGNORE if or_ignore else _INSERT_BLOCK,
            (ref.digest, ref.round, ref.author, pack_text(text)),
        )

    def prune_blocks(self, up_to_round: int) -> int:
        """Delete the stored blocks of rounds 1 to ``up_to_round``; return how many."""
        with self.store.write(durable=False) as connection:
            deleted = connection.execute(
                "DELETE FROM blocks WHERE round > 0 AND round <= ?", (up_to_round,)
            ).rowcount
        return int(deleted)

    # -- commits ------------------------------------------------------------------------------

    def last_commit(self) -> tuple[int, bytes, dict[str, Any]] | None:
        """(index, digest, commit) of the last commit stored, or None before the first."""
        row = self.store.one(
            "SELECT commit_index, body FROM commits ORDER BY commit_index DESC LIMIT 1"
        )
        if row is None:
            return None
        commit = unpack_commit(row[1])
        return int(str(row[0])), commit_digest(commit), commit

    def commit_leader_round(self, index: int) -> int | None:
        """The leader round of a stored commit, or None."""
        row = self.store.one("SELECT body FROM commits WHERE commit_index = ?", index)
        return None if row is None else BlockRef.from_json(unpack_commit(row[0])["leader"]).round

    def commits_newest_first(self) -> Iterator[dict[str, Any]]:
        """Every stored commit, the newest first, read a page at a time.

        A restart reads only the last few hundred (``Committer._resumed``): paging keeps its
        time and memory flat however long the ledger is, and leaves no statement open.
        """
        below = None
        while True:
            rows = self.store.all(
                "SELECT commit_index, body FROM commits WHERE commit_index < ?"
                " ORDER BY commit_index DESC LIMIT ?",
                below if below is not None else 2**63 - 1,
                COMMIT_PAGE,
            )
            for index, body in rows:
                below = int(str(index))
                yield unpack_commit(body)
            if len(rows) < COMMIT_PAGE:
                return

    def commits_from(self, start: int, limit: int) -> list[dict[str, Any]]:
        """Stored commits from index ``start`` up, at most ``limit``, as JSON."""
        rows = self.store.all(
            "SELECT body FROM commits WHERE commit_index >= ? ORDER BY commit_index LIMIT ?",
            start,
            limit,
        )
        return [unpack_commit(body) for (body,) in rows]

    @staticmethod
    def insert_commit(
        connection: sqlite3.Connection, index: int, digest: bytes, commit: JSONValue
    ) -> None:
        """Store a commit (its digest is computed again when read)."""
        del digest
        connection.execute(
            "INSERT INTO commits (commit_index, body) VALUES (?, ?)",
            (index, pack_commit(commit)),  # type: ignore[arg-type]
        )

    def last_decided_round(self) -> int:
        """The last leader round the commit rule decided (0 before any)."""
        decided = self.store.get_meta("last_decided_round")
        return int(decided) if decided else 0

    @staticmethod
    def set_decided_round(connection: sqlite3.Connection, round_: int) -> None:
        """Record the last leader round decided."""
        connection.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_decided_round', ?)",
            (str(round_),),
        )

    # -- transactions -------------------------------------------------------------------------

    def is_executed(self, digest: bytes) -> bool:
        """Whether a commit has applied this transaction."""
        return self.store.one("SELECT 1 FROM transactions WHERE digest = ?", digest) is not None

    @staticmethod
    def insert_transaction(
        connection: sqlite3.Connection,
        digest: bytes,
        checkpoint: int,
        position: int,
        transaction: JSONValue,
        effects: Effects,
    ) -> None:
        """Record a committed transaction and what applying it did."""
        connection.execute(
            "INSERT INTO transactions (digest, checkpoint, position, body, status,"
            " error_name, error_message) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                digest,
                checkpoint,
                position,
                pack_text(dump_json(transaction)),
                effects.status,
                effects.error_name,
                effects.error_message,
            ),
        )

    def transaction_outcome(self, digest: bytes) -> Effects | None:
        """What applying a committed transaction did, or None when it is not committed."""
        row = self.store.one(
            "SELECT status, error_name, error_message FROM transactions WHERE digest = ?", digest
        )
        if row is None:
            return None
        name, message = row[1], row[2]
        return Effects(
            str(row[0]),
            None if name is None else str(name),
            None if message is None else str(message),
        )

    def outcome(self, digest: bytes) -> Outcome | None:
        """The outcome of a committed transaction (its checkpoint too), or None."""
        row = self.store.one("SELECT checkpoint FROM transactions WHERE digest = ?", digest)
        effects = self.transaction_outcome(digest)
        if row is None or effects is None:
            return None
        return Outcome(digest, effects, int(str(row[0])))

    def receipt(self, digest: bytes) -> dict[str, Any] | None:
        """The receipt of a transaction in a certified checkpoint, or None (not yet)."""
        row = self.store.one("SELECT checkpoint FROM transactions WHERE digest = ?", digest)
        if row is None:
            return None
        sequence = int(str(row[0]))
        checkpoint = self.checkpoint(sequence)
        if checkpoint is None:
            return None
        digests = [
            _blob(entry[0])
            for entry in self.store.all(
                "SELECT digest FROM transactions WHERE checkpoint = ? ORDER BY position", sequence
            )
        ]
        return make_receipt(digest, digests, checkpoint)

    # -- accepted transactions ------------------------------------------------------------------

    def accept(self, digest: bytes, subject: str, canonical: bytes) -> None:
        """Keep a transaction the node answered for before its commit, synced to disk.

        ``subject`` is what a reader looks it up by (an immutable proof's id); the row goes
        when a commit applies the transaction (:meth:`forget_accepted`).
        """
        with self.store.write(durable=True) as connection:
            connection.execute(
                "INSERT OR IGNORE INTO accepted_transactions (digest, subject, body)"
                " VALUES (?, ?, ?)",
                (digest, subject, canonical),
            )
        self._accepted.add(digest)

    def accepted(self) -> list[tuple[bytes, dict[str, Any]]]:
        """Every accepted transaction not committed yet, as it was accepted."""
        return [
            (_blob(digest), json.loads(_blob(body)))
            for digest, body in self.store.all("SELECT digest, body FROM accepted_transactions")
        ]

    def accepted_by_subject(self, subject: str) -> tuple[bytes, dict[str, Any]] | None:
        """The accepted, not yet committed transaction kept under ``subject``, or None."""
        row = self.store.one(
            "SELECT digest, body FROM accepted_transactions WHERE subject = ?", subject
        )
        return None if row is None else (_blob(row[0]), json.loads(_blob(row[1])))

    def forget_accepted(self, connection: sqlite3.Connection, digests: list[bytes]) -> None:
        """Drop the accepted rows of these transactions (applied, or dropped), in ``connection``."""
        gone = [digest for digest in digests if digest in self._accepted]
        if gone:
            connection.executemany(
                "DELETE FROM accepted_transactions WHERE digest = ?", [(d,) for d in gone]
            )
            self._accepted.difference_update(gone)

    def record_dropped(self, digest: bytes, reason: str, at_ms: int) -> None:
        """Record a transaction dropped before any block took it, and why."""
        with self.store.write(durable=False) as connection:
            self.forget_accepted(connection, [digest])
            connection.execute(
                "INSERT OR REPLACE INTO dropped_transactions (digest, reason, dropped_at)"
                " VALUES (?, ?, ?)",
                (digest, reason, at_ms),
            )

    def dropped_reason(self, digest: bytes) -> str | None:
        """Why a transaction was dropped, or None when it was not."""
        row = self.store.one("SELECT reason FROM dropped_transactions WHERE digest = ?", digest)
        return None if row is None else str(row[0])

    # -- checkpoints --------------------------------------------------------------------------

    @staticmethod
    def insert_summary(
        connection: sqlite3.Connection, sequence: int, digest: bytes, summary: JSONValue
    ) -> None:
        """Store a checkpoint summary the validator signed."""
        connection.execute(
            "INSERT INTO checkpoint_summaries (sequence, digest, summary) VALUES (?, ?, ?)",
            (sequence, digest, dump_json(summary)),
        )

    def last_summary(self) -> tuple[int, bytes] | None:
        """(sequence, digest) of the last summary signed, or None."""
        row = self.store.one(
            "SELECT sequence, digest FROM checkpoint_summaries ORDER BY sequence DESC LIMIT 1"
        )
        return None if row is None else (int(str(row[0])), _blob(row[1]))

    def summaries_after(self, sequence: int) -> Iterator[tuple[int, bytes, dict[str, Any]]]:
        """(sequence, digest, summary) of every summary signed after ``sequence``, in order."""
        for seq, digest, text in self.store.all(
            "SELECT sequence, digest, summary FROM checkpoint_summaries WHERE sequence > ?"
            " ORDER BY sequence",
            sequence,
        ):
            yield int(str(seq)), _blob(digest), dict(json.loads(str(text)))

    def summary_of(self, sequence: int) -> dict[str, Any] | None:
        """The summary the validator signed for ``sequence`` and holds uncertified, or None."""
        row = self.store.one(
            "SELECT summary FROM checkpoint_summaries WHERE sequence = ?", sequence
        )
        return None if row is None else dict(json.loads(str(row[0])))

    def last_checkpoint(self) -> tuple[int, bytes] | None:
        """(sequence, digest) of the last certified checkpoint stored, or None."""
        row = self.store.one(
            "SELECT sequence, body FROM checkpoints ORDER BY sequence DESC LIMIT 1"
        )
        if row is None:
            return None
        summary = unpack_checkpoint(row[1])["summary"]
        return int(str(row[0])), checkpoint_digest(summary)  # type: ignore[arg-type]

    def checkpoint(self, sequence: int) -> dict[str, Any] | None:
        """A stored certified checkpoint, as JSON, or None."""
        row = self.store.one("SELECT body FROM checkpoints WHERE sequence = ?", sequence)
        return None if row is None else unpack_checkpoint(row[0])

    def checkpoints_from(self, start: int, limit: int) -> list[dict[str, Any]]:
        """Stored certified checkpoints from sequence ``start`` up, at most ``limit``, as JSON."""
        rows = self.store.all(
            "SELECT body FROM checkpoints WHERE sequence >= ? ORDER BY sequence LIMIT ?",
            start,
            limit,
        )
        return [unpack_checkpoint(body) for (body,) in rows]

    def certified_summary(self, sequence: int) -> dict[str, Any] | None:
        """The summary of a stored certified checkpoint, or None."""
        checkpoint = self.checkpoint(sequence)
        return None if checkpoint is None else dict(checkpoint["summary"])

    @staticmethod
    def insert_checkpoint(
        connection: sqlite3.Connection, sequence: int, stored: bytes, *, summary_stored: bool
    ) -> None:
        """Store a certified checkpoint in its stored form (``pack_certified``).

        It holds its summary: the signed summary's row, if it has one, goes.
        """
        connection.execute(
            "INSERT INTO checkpoints (sequence, body) VALUES (?, ?)", (sequence, stored)
        )
        if summary_stored:
            connection.execute("DELETE FROM checkpoint_summaries WHERE sequence = ?", (sequence,))

    def forget_certified_summaries(self) -> None:
        """Delete the signed summaries a certified checkpoint holds.

        A data directory written before they were deleted on certification still has them.
        """
        with self.store.write(durable=False) as connection:
            connection.execute(
                "DELETE FROM checkpoint_summaries"
                " WHERE sequence <= (SELECT COALESCE(MAX(sequence), 0) FROM checkpoints)"
            )

    # -- equivocation evidence ----------------------------------------------------------------

    def insert_equivocation(self, evidence: dict[str, JSONValue]) -> bool:
        """Store equivocation evidence once per slot; return whether it was new."""
        with self.store.write(durable=False) as connection:
            inserted = connection.execute(
                "INSERT OR IGNORE INTO equivocations (round, author, evidence) VALUES (?, ?, ?)",
                (evidence["round"], evidence["author"], dump_json(evidence)),
            ).rowcount
        return bool(inserted)

    def equivocations(self, start: int, limit: int) -> list[JSONValue]:
        """Equivocation evidence in the order recorded, from position ``start`` (1-based)."""
        rows = self.store.all(
            "SELECT evidence FROM equivocations ORDER BY id LIMIT ? OFFSET ?", limit, start - 1
        )
        found: list[JSONValue] = [json.loads(str(row[0])) for row in rows]
        return found

    # -- syncing ------------------------------------------------------------------------------

    def sync(self, synced_round: int) -> None:
        """Commit one synchronous transaction, which makes everything written before durable."""
        # TWIN-CORE-055: the WAL is one file, so syncing it makes every transaction written
        # before durable too.
        with self.store.write() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('synced_round', ?)",
                (str(synced_round),),
            )
