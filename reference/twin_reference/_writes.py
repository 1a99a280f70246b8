"""Writes whose outcome is never a guess: pending answers, and retries by idempotency key.

A write waits for the certified checkpoint of its transaction. When that takes longer than
the commit timeout (a committee without a quorum, a storage that refuses writes), the answer
is not a failure, since the transaction may still be committed: it is 202 with the
transaction's digest and ``Location: /consensus/transactions/{digest}``, where its outcome can
be looked up (TWIN-CORE-067). A failure status (4xx, 5xx) is answered only when nothing was
queued.

A write may carry an ``Idempotency-Key`` header (TWIN-CORE-068). The node keeps, per caller
and key, a fingerprint of the request (method, path and body), the transaction it queued, and
the final answer once there is one, for :data:`KEEP_SECONDS`. A retry with the same key and
the same request gets the first outcome (marked ``Idempotent-Replayed: true``) and queues
nothing: the final answer if there is one, else 202 pending again (queueing the kept
transaction again if a restart lost it). The same key with another request is 409. A keyed
write whose commit takes longer than the commit timeout is answered 202 but carries on
meanwhile, so that its final answer is kept for the retry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from twin_reference._errors import WritePending
from twin_reference._http import json_bytes
from twin_reference._store import Store

LOG = logging.getLogger("twin_reference")
KEEP_SECONDS = 24 * 3600
"""How long a key's request and outcome are kept."""
BACKGROUND_SECONDS = 3600.0
"""How long a keyed write answered 202 keeps waiting for its commit to keep the answer."""


@dataclass
class WriteClaim:
    """A keyed write in progress: what the handler submits is recorded under its key."""

    caller: str
    key: str
    fingerprint: bytes
    digest: bytes | None = None
    keeper: IdempotencyKeys | None = field(default=None, repr=False)

    def submitted(self, digest: bytes, transaction: dict[str, Any]) -> None:
        """Record (durably, before it is queued) the transaction this write submits."""
        self.digest = digest
        if self.keeper is not None:
            self.keeper.submitted(self, transaction)


CURRENT_WRITE: ContextVar[WriteClaim | None] = ContextVar("twin_write", default=None)
"""The keyed write the running handler serves, if any (``Node.execute`` reads it)."""


def _blob(value: object) -> bytes | None:
    return value if isinstance(value, bytes) else None


def pending_response(digest: bytes, message: str = "") -> Response:
    """202: the transaction is held, its outcome not known yet; where to look it up."""
    body = {"digest": digest.hex(), "status": "pending"}
    return Response(
        json_bytes(body),
        status_code=202,
        media_type="application/json",
        headers={
            "location": f"/consensus/transactions/{digest.hex()}",
            "retry-after": "1",
        },
    )


async def handle_write_pending(request: Request, exc: Exception) -> Response:
    """Starlette handler: a write not committed in time is pending, not failed."""
    assert isinstance(exc, WritePending)  # noqa: S101 - registered for WritePending only
    return pending_response(exc.digest, exc.message)


@dataclass(frozen=True)
class KeptWrite:
    """What is kept of a keyed write: its fingerprint, transaction and final answer."""

    fingerprint: bytes
    digest: bytes | None
    transaction: str | None
    status: int | None
    headers: dict[str, str]
    body: bytes


class IdempotencyKeys:
    """The kept requests and outcomes of keyed writes, by caller and key."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.running: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[Response]] = set()

    def lookup(self, caller: str, key: str) -> KeptWrite | None:
        """The record of a key, or None."""
        row = self._store.one(
            "SELECT fingerprint, digest, transaction_body, status, headers, body"
            " FROM idempotency_keys WHERE caller = ? AND key = ? AND created_at >= ?",
            caller,
            key,
            int(time.time()) - KEEP_SECONDS,
        )
        if row is None:
            return None
        fingerprint, digest, transaction, status, headers, body = row
        return KeptWrite(
            _blob(fingerprint) or b"",
            _blob(digest),
            None if transaction is None else str(transaction),
            None if status is None else int(str(status)),
            json.loads(str(headers)) if headers is not None else {},
            _blob(body) or b"",
        )

    def claim(self, caller: str, key: str, fingerprint: bytes) -> WriteClaim:
        """Start a keyed write: record its fingerprint (replacing an expired record)."""
        now = int(time.time())
        with self._store.write() as connection:
            connection.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?", (now - KEEP_SECONDS,)
            )
            connection.execute(
                "INSERT OR REPLACE INTO idempotency_keys (caller, key, fingerprint, created_at)"
                " VALUES (?, ?, ?, ?)",
                (caller, key, fingerprint, now),
            )
        self.running.add((caller, key))
        return WriteClaim(caller, key, fingerprint, keeper=self)

    def submitted(self, claim: WriteClaim, transaction: dict[str, Any]) -> None:
        """Keep the transaction a keyed write queues (synced before it leaves the node)."""
        with self._store.write() as connection:
            connection.execute(
                "UPDATE idempotency_keys SET digest = ?, transaction_body = ?"
                " WHERE caller = ? AND key = ?",
                (claim.digest, json.dumps(transaction), claim.caller, claim.key),
            )

    def finish(self, claim: WriteClaim, status: int, headers: dict[str, str], body: bytes) -> None:
        """Keep a keyed write's final answer."""
        try:
            with self._store.write() as connection:
                connection.execute(
                    "UPDATE idempotency_keys SET status = ?, headers = ?, body = ?"
                    " WHERE caller = ? AND key = ?",
                    (status, json.dumps(headers), body, claim.caller, claim.key),
                )
        except sqlite3.Error as exc:
            # The answer is still given; a retry then finds the write pending and looks the
            # transaction up.
            LOG.warning("the answer of an idempotent write was not kept: %s", exc)

    def release(self, claim: WriteClaim) -> None:
        """Forget a keyed write that queued nothing: its key may be used again."""
        with self._store.write() as connection:
            connection.execute(
                "DELETE FROM idempotency_keys WHERE caller = ? AND key = ?",
                (claim.caller, claim.key),
            )

    def keep(self, task: asyncio.Task[Response]) -> None:
        """Let a keyed write answered 202 finish in the background (and keep its answer)."""
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Response]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            LOG.debug("a keyed write finished in the background: %s", task.exception())

    async def stop(self) -> None:
        """Stop the keyed writes still waiting in the background."""
        for task in list(self._tasks):
            task.cancel()
