"""What every route handler needs: the node's store, keys, ledger, identity and settings."""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twin_reference._auth import TokenIssuer
from twin_reference._errors import (
    ApiError,
    ConflictError,
    ForbiddenError,
    GoneError,
    NotFoundError,
    ValidationError,
    transaction_refused,
)
from twin_reference._http import BodyLimit
from twin_reference._ledger import LedgerEngine
from twin_reference._login import LoginGuard
from twin_reference._offload import ProcessWorker
from twin_reference._store import Store
from twin_reference._transactions import Outcome, new_transaction
from twin_reference._vault import Vault
from twin_reference._writes import BACKGROUND_SECONDS, CURRENT_WRITE, IdempotencyKeys
from twin_spec import (
    Committee,
    Ed25519SigningKey,
    JSONValue,
    TransactionLimitError,
    check_transaction_limits,
    transaction_digest,
)

LOG = logging.getLogger("twin_reference")

_FAILURES: dict[str, type[ApiError]] = {
    "ConflictError": ConflictError,
    "ForbiddenError": ForbiddenError,
    "GoneError": GoneError,
    "NotFoundError": NotFoundError,
    "ValidationError": ValidationError,
}


@dataclass(frozen=True)
class NodeSettings:
    """Settings a running node was started with (see ``twin-node serve --help``)."""

    data_dir: Path
    max_body_bytes: int = 1024 * 1024
    max_body_values: int = 65_536
    """JSON values an ordinary body may hold (twin_spec.json_value_count), checked unparsed."""
    body_timeout_seconds: float = 30.0
    token_lifetime_seconds: int = 3600
    commit_timeout_seconds: float = 30.0
    node_name: str = "TWIN reference node"
    validator_index: int = 0
    """This node's validator in the genesis committee."""
    leader_timeout_seconds: float = 1.0
    batch_interval_seconds: float = 0.01
    """A committee of one: seconds between rounds no request waits on (ConsensusSettings)."""
    block_retention_rounds: int = 10_000
    """Rounds below the garbage-collection round whose blocks stay stored (ConsensusSettings)."""
    validator_key: Ed25519SigningKey | None = field(default=None, repr=False)
    """The validator key handed in (``--validator-key``), else the vault's."""
    admin_password: str | None = field(default=None, repr=False)
    """The admin password handed in (``--admin-password-file``), else $TWIN_NODE_PASSWORD."""

    @property
    def body_limit(self) -> BodyLimit:
        """The limit of an ordinary request body (every route but a few, see routes)."""
        return BodyLimit(self.max_body_bytes, self.max_body_values, self.body_timeout_seconds)

    def small_body_limit(self, size: int, values: int) -> BodyLimit:
        """A tighter limit, for a route whose body is small by nature (login, signatures)."""
        return BodyLimit(size, values, self.body_timeout_seconds)


@dataclass
class Node:
    """The parts of a running node, shared by the route handlers."""

    settings: NodeSettings
    store: Store
    vault: Vault
    ledger: LedgerEngine
    tokens: TokenIssuer
    committee: Committee
    node_did: str
    evaluator: ProcessWorker
    logins: LoginGuard
    writes: IdempotencyKeys

    async def execute(self, kind: str, sender: str, payload: dict[str, JSONValue]) -> Outcome:
        """Submit a transaction, wait until it is committed, and raise if it failed to apply."""
        return await self._execute(_checked_transaction(kind, sender, payload))

    async def accept(
        self, kind: str, sender: str, payload: dict[str, JSONValue], subject: str
    ) -> bytes:
        """Submit a transaction whose applying cannot fail; return once it is durably kept.

        The ledger commits it soon after (readers find it by ``subject`` meanwhile), so the
        route may answer at once (TWIN-ANCHORING-050). Where the node cannot promise that
        commit (a committee's validator, whose quorum may go; a stalled or faulted ledger),
        this waits for the commit as :meth:`execute` does.
        """
        transaction = _checked_transaction(kind, sender, payload)
        if not self.ledger.answers_on_acceptance:
            return (await self._execute(transaction)).digest
        claim = CURRENT_WRITE.get()
        if claim is not None:
            claim.submitted(transaction_digest(transaction), transaction)
        try:
            return self.ledger.accept(transaction, subject)
        except sqlite3.Error as exc:
            # The storage refused to keep it, so nothing was kept: it is queued as any write
            # is and waited for (TWIN-CORE-067: 202 past the commit timeout, never a failure
            # for a write that may still be committed once the storage takes writes again).
            LOG.warning("a write could not be kept before its commit: %s", exc)
            return (await self._execute(transaction)).digest

    async def _execute(self, transaction: dict[str, JSONValue]) -> Outcome:
        """Queue a checked transaction and wait for its commit (TWIN-CORE-067 past the timeout)."""
        claim = CURRENT_WRITE.get()
        if claim is None:
            # TWIN-CORE-067: past the commit timeout this raises WritePending (202).
            outcome = await self.ledger.submit(transaction)
        else:
            # A keyed write keeps its transaction before queueing it, and waits on past the
            # commit timeout (its route answers 202 meanwhile), to keep the final answer.
            claim.submitted(transaction_digest(transaction), transaction)
            outcome = await self.ledger.submit(transaction, timeout=BACKGROUND_SECONDS)
        effects = outcome.effects
        if not effects.ok:
            error_class = _FAILURES.get(effects.error_name or "", ApiError)
            raise error_class(effects.error_message or "the transaction failed")
        return outcome

    @property
    def ready(self) -> bool:
        """Whether the node's own DID is committed (first start waits for the committee)."""
        return self.store.one("SELECT 1 FROM dids WHERE did = ?", self.node_did) is not None

    def receipt(self, digest: bytes) -> dict[str, Any]:
        """Return the ledger receipt of a committed transaction."""
        receipt = self.ledger.receipt(digest)
        if receipt is None:
            raise NotFoundError("the transaction has no receipt yet")
        return receipt


def _checked_transaction(
    kind: str, sender: str, payload: dict[str, JSONValue]
) -> dict[str, JSONValue]:
    """A new transaction, refused (4xx) if it breaks the limits every transaction keeps."""
    transaction = new_transaction(kind, sender, payload, now_ms())
    # TWIN-ANCHORING-061 "A node MUST check the transaction of every write ... against the
    # limits of TWIN-ANCHORING-060 before it queues it": the same check as a peer's block
    # gets, so nothing accepted here can fail in a block, at a peer or in storage.
    try:
        check_transaction_limits(transaction)
    except TransactionLimitError as exc:
        raise transaction_refused(exc, "body") from None
    return transaction


def now_ms() -> int:
    """Milliseconds since the epoch, from the wall clock."""
    return time.time_ns() // 1_000_000


def iso_now() -> str:
    """The current UTC time as XML Schema dateTime with milliseconds, as the TWIN node writes it."""
    moment = datetime.now(tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
