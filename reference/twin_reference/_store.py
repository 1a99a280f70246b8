"""The node's SQLite database: one file, WAL, synchronous commits, owner-only permissions.

A 2xx answer is given only after the SQLite transaction holding the change, or a later one,
has committed with ``synchronous=FULL``, so an acknowledged write survives a SIGKILL or a power
cut, and a write that was cut short leaves nothing behind (SQLite rolls the partial transaction
back).

The storage format is ``PRAGMA user_version`` (:data:`SCHEMA_VERSION`): an older data directory
is converted at start in one transaction, a newer one refused with a one-line error.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from twin_reference._files import private_file, secure_if_present
from twin_reference._ledger_codec import pack_checkpoint, pack_commit, pack_text

SCHEMA_VERSION = 1
"""The storage format (``PRAGMA user_version``): 0 before commits, checkpoints, blocks and
transactions were stored in their compact forms (``_ledger_codec.py``) and immutable proofs
only in their transaction."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vault (key_id TEXT PRIMARY KEY, seed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    email TEXT PRIMARY KEY, identity TEXT NOT NULL, password_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revoked_tokens (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    digest BLOB PRIMARY KEY, round INTEGER NOT NULL, author INTEGER NOT NULL,
    body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS blocks_by_round ON blocks (round);
CREATE INDEX IF NOT EXISTS blocks_by_author ON blocks (author, round);
CREATE TABLE IF NOT EXISTS commits (commit_index INTEGER PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (sequence INTEGER PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoint_summaries (
    sequence INTEGER PRIMARY KEY, digest BLOB NOT NULL, summary TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS equivocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, round INTEGER NOT NULL, author INTEGER NOT NULL,
    evidence TEXT NOT NULL, UNIQUE (round, author));
CREATE TABLE IF NOT EXISTS transactions (
    digest BLOB PRIMARY KEY, checkpoint INTEGER NOT NULL, position INTEGER NOT NULL,
    body BLOB NOT NULL, status TEXT NOT NULL, error_name TEXT, error_message TEXT);
CREATE INDEX IF NOT EXISTS transactions_by_checkpoint ON transactions (checkpoint, position);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    caller TEXT NOT NULL, key TEXT NOT NULL, fingerprint BLOB NOT NULL, digest BLOB,
    transaction_body TEXT, status INTEGER, headers TEXT, body BLOB,
    created_at INTEGER NOT NULL, PRIMARY KEY (caller, key));
CREATE TABLE IF NOT EXISTS accepted_transactions (
    digest BLOB PRIMARY KEY, subject TEXT NOT NULL, body BLOB NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS accepted_by_subject ON accepted_transactions (subject);
CREATE TABLE IF NOT EXISTS dropped_transactions (
    digest BLOB PRIMARY KEY, reason TEXT NOT NULL, dropped_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dids (
    did TEXT PRIMARY KEY, document TEXT NOT NULL, controller TEXT NOT NULL,
    version INTEGER NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL,
    deactivated INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS immutable_proofs (
    id TEXT PRIMARY KEY, transaction_digest BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS storage_items (
    id TEXT PRIMARY KEY, data BLOB NOT NULL, creator TEXT NOT NULL, allow_list TEXT NOT NULL,
    transaction_digest BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    graph_id TEXT PRIMARY KEY, document_id TEXT NOT NULL, id_format TEXT, code TEXT NOT NULL,
    creator TEXT NOT NULL, created_ms INTEGER NOT NULL, latest INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS documents_by_document_id ON documents (document_id, created_ms);
CREATE TABLE IF NOT EXISTS document_revisions (
    graph_id TEXT NOT NULL, revision INTEGER NOT NULL, body TEXT NOT NULL,
    blob_id TEXT NOT NULL, transaction_digest BLOB NOT NULL, date_deleted TEXT,
    PRIMARY KEY (graph_id, revision));
CREATE INDEX IF NOT EXISTS document_revisions_by_blob ON document_revisions (blob_id);
CREATE TABLE IF NOT EXISTS held_blobs (blob_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS profiles (
    identity TEXT PRIMARY KEY, public TEXT NOT NULL, private_hash TEXT,
    transaction_digest BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS profile_private (
    identity TEXT NOT NULL, hash TEXT NOT NULL, salt BLOB NOT NULL, private TEXT NOT NULL,
    PRIMARY KEY (identity, hash));
"""


class Store:
    """One SQLite connection, used from the event loop thread only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # The database is readable by its owner only: the vault holds private keys. It is made
        # 0600 before SQLite opens it (and made so again if it was restored open to others);
        # SQLite gives its -wal and -shm files the database's own mode.
        private_file(path)
        for suffix in ("-wal", "-shm", "-journal"):
            secure_if_present(path.with_name(path.name + suffix))
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=FULL")
        self._durable = True
        self.connection.execute("PRAGMA foreign_keys=ON")
        # TWIN-DOCUMENTS-031 "... no copy of the erased content ... nor in free pages": deleted
        # rows are overwritten with zeros, in the database and in the WAL frames that free them.
        self.connection.execute("PRAGMA secure_delete=ON")
        self._upgrade()

    def _upgrade(self) -> None:
        """Create the tables, or bring an older data directory's to the current format.

        A format newer than this node's is refused (it would misread it); an older one is
        converted in one transaction, so a failure leaves it as it was.
        """
        (version,) = self.connection.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            self.connection.close()
            raise StoreFormatError(
                f"{self.path} is in storage format {version}, written by a newer reference node;"
                f" this one reads format {SCHEMA_VERSION} and older: run the newer node"
            )
        if version < SCHEMA_VERSION and self._has_table("commits"):
            try:
                with self.write() as connection:
                    _migrate_to_1(connection)
                    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
                self.connection.close()
                raise StoreFormatError(
                    f"{self.path} could not be converted from storage format {version} to"
                    f" {SCHEMA_VERSION} and is left unchanged: {exc}"
                ) from None
        self.connection.executescript(SCHEMA)
        self.connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _has_table(self, name: str) -> bool:
        return (
            self.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name)
            is not None
        )

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """Run a block of writes as one transaction, rolled back on any error.

        A durable transaction is synced to disk before it returns (``synchronous=FULL``), and
        so is everything written before it: the WAL is one file, appended in order. With
        ``durable=False`` (``synchronous=NORMAL``) the transaction is atomic and survives the
        process being killed, but not a power cut until the next durable one; the ledger uses
        it for what it can rebuild or fetch again (peers' blocks, commits not yet certified).
        """
        if durable != self._durable:
            self.connection.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._durable = durable
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def one(self, sql: str, *params: object) -> tuple[object, ...] | None:
        """Return the first row of a query, or None."""
        row: tuple[object, ...] | None = self.connection.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        """Return every row of a query."""
        return list(self.connection.execute(sql, params).fetchall())

    def get_meta(self, key: str) -> str | None:
        """Read a value of the meta table."""
        row = self.one("SELECT value FROM meta WHERE key = ?", key)
        return None if row is None else str(row[0])

    def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        self.connection.close()


class StoreFormatError(RuntimeError):
    """The database is in a storage format this node cannot use, or could not convert."""


def _repack(
    connection: sqlite3.Connection,
    table: str,
    key: str,
    pack: Callable[[Mapping[str, object]], bytes],
) -> None:
    """Rewrite a table of (key, JSON body) as (key, packed body), under the same name."""
    connection.execute(f"CREATE TABLE {table}_1 ({key} INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    for value, body in connection.execute(f"SELECT {key}, body FROM {table}").fetchall():  # noqa: S608 - fixed names
        connection.execute(f"INSERT INTO {table}_1 VALUES (?, ?)", (value, pack(json.loads(body))))  # noqa: S608 - fixed names
    connection.execute(f"DROP TABLE {table}")
    connection.execute(f"ALTER TABLE {table}_1 RENAME TO {table}")


def _migrate_to_1(connection: sqlite3.Connection) -> None:
    """Format 0 to 1: the ledger's compact forms, immutable proofs in their transaction."""
    _repack(connection, "commits", "commit_index", pack_commit)
    _repack(connection, "checkpoints", "sequence", pack_checkpoint)
    # An immutable proof is its transaction's payload; one that is not is refused, not lost.
    rows = connection.execute(
        "SELECT p.id, p.body, t.body FROM immutable_proofs AS p"
        " LEFT JOIN transactions AS t ON t.digest = p.transaction_digest"
    ).fetchall()
    for proof_id, proof, transaction in rows:
        if transaction is None or json.loads(transaction)["payload"]["proof"] != json.loads(proof):
            raise ValueError(f"immutable proof {proof_id} is not its transaction's payload")
    connection.execute(
        "CREATE TABLE immutable_proofs_1 ("
        " id TEXT PRIMARY KEY, transaction_digest BLOB NOT NULL) WITHOUT ROWID"
    )
    connection.execute(
        "INSERT INTO immutable_proofs_1 SELECT id, transaction_digest FROM immutable_proofs"
    )
    connection.execute("DROP TABLE immutable_proofs")
    connection.execute("ALTER TABLE immutable_proofs_1 RENAME TO immutable_proofs")
    connection.execute(
        "DELETE FROM checkpoint_summaries"
        " WHERE sequence <= (SELECT COALESCE(MAX(sequence), 0) FROM checkpoints)"
    )
    for table in ("blocks", "transactions"):
        for digest, body in connection.execute(f"SELECT digest, body FROM {table}").fetchall():  # noqa: S608 - a fixed table name
            connection.execute(
                f"UPDATE {table} SET body = ? WHERE digest = ?",  # noqa: S608 - a fixed table name
                (pack_text(str(body)), digest),
            )
