"""The node's key vault: Ed25519 seeds kept in the owner-only database, never in the ledger."""

from __future__ import annotations

import sqlite3

from twin_reference._store import Store
from twin_spec import Ed25519SigningKey


class Vault:
    """Private keys by id (a DID URL for identity keys, a name for the node's own keys)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[str, Ed25519SigningKey] = {}

    def create(self, connection: sqlite3.Connection, key_id: str) -> Ed25519SigningKey:
        """Generate a key and store it under ``key_id`` inside the caller's transaction."""
        key = Ed25519SigningKey.generate()
        connection.execute("INSERT INTO vault (key_id, seed) VALUES (?, ?)", (key_id, key.seed))
        self._cache[key_id] = key
        return key

    def put(self, connection: sqlite3.Connection, key_id: str, key: Ed25519SigningKey) -> None:
        """Store a handed-in key (a launcher's validator key) in the caller's transaction."""
        connection.execute("INSERT INTO vault (key_id, seed) VALUES (?, ?)", (key_id, key.seed))
        self._cache[key_id] = key

    def get(self, key_id: str) -> Ed25519SigningKey | None:
        """Return the key stored under ``key_id``, or None when the node does not hold it."""
        if key_id in self._cache:
            return self._cache[key_id]
        row = self._store.one("SELECT seed FROM vault WHERE key_id = ?", key_id)
        if row is None:
            return None
        seed = row[0]
        assert isinstance(seed, bytes)  # noqa: S101 - the column holds BLOBs only
        key = Ed25519SigningKey(seed)
        self._cache[key_id] = key
        return key
