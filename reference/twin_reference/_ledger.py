"""The ledger engine: a validator of the committee that orders transactions into commits.

The node's validator proposes signed blocks round by round (each referencing its own previous
block and the previous round's blocks of the other validators), runs the commit rule of the
spec core over the DAG, linearises each committed leader's history into a commit, applies the
commit's transactions, and certifies one checkpoint per commit. A committee of one is the same
code with n = 1; the consensus issue adds the block exchange between validators.

Everything a commit changes (commit, checkpoint, transactions, state) is written in one SQLite
transaction before any waiter is told, so an answered write is durable and a crash leaves
either the whole commit or none of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twin_reference._errors import ConflictError, ServiceUnavailableError
from twin_reference._store import Store
from twin_reference._transactions import Effects, apply_transaction
from twin_spec import (
    BlockRef,
    BlockRejectedError,
    Committee,
    Dag,
    Ed25519SigningKey,
    LeaderDecisionKind,
    LedgerError,
    block_digest,
    certify_checkpoint,
    checkpoint_digest,
    commit_digest,
    genesis_blocks,
    linearize,
    make_checkpoint_summary,
    make_commit,
    make_receipt,
    sign_block,
    sign_checkpoint,
    transaction_digest,
    try_commit,
    validate_block,
)

LOG = logging.getLogger("twin_reference.ledger")
ZERO_DIGEST = bytes(32)


@dataclass(frozen=True)
class Outcome:
    """A committed transaction: its digest, what applying it did, and its checkpoint."""

    digest: bytes
    effects: Effects
    checkpoint: int


def _blob(value: object) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError(f"expected a BLOB, got {type(value).__name__}")
    return value


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def rejection_code(error: LedgerError) -> str:
    """The code of the receive rule that refused a block (spec/prose/consensus.md).

    BlockRejectedError carries the rule's code; a bare LedgerError (Dag.add's own checks,
    which validate_block runs first) is "malformed".
    """
    if isinstance(error, BlockRejectedError):
        return str(error.code)
    return "malformed"


def accept_block(block: object, committee: Committee, dag: Dag) -> BlockRef:
    """Check a received block by the receive rules and add it to ``dag`` (Dag.add's rules).

    Raises LedgerError (BlockRejectedError with the rule's code) when a rule refuses the
    block; the DAG is then unchanged.
    """
    # TWIN-CONSENSUS-101 "A node MUST check a block received from a peer by the receive rules
    # (check_block, then the DAG's ancestor and timestamp rules) before it joins the DAG."
    validate_block(block, committee, dag)
    assert isinstance(block, dict)  # noqa: S101 - check_block accepts JSON objects only
    return dag.add(block)


class LedgerEngine:
    """One validator's view of the ledger: its DAG, its commits and its checkpoints."""

    def __init__(
        self,
        store: Store,
        committee: Committee,
        own_index: int,
        key: Ed25519SigningKey,
        clock_ms: Callable[[], int],
        *,
        max_block_transactions: int = 2000,
        commit_timeout_seconds: float = 30.0,
    ) -> None:
        self._store = store
        self._committee = committee
        self._own = own_index
        self._key = key
        self._clock_ms = clock_ms
        self._max_block_transactions = max_block_transactions
        self._timeout = commit_timeout_seconds
        self._dag = Dag(committee)
        self._mempool: dict[bytes, dict[str, Any]] = {}
        self._waiters: dict[bytes, list[asyncio.Future[Outcome]]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._committed_refs: set[BlockRef] = set()
        self._pending_tx_blocks: set[BlockRef] = set()
        self._in_flight: set[bytes] = set()
        self._last_round = 0
        self._last_block: BlockRef | None = None
        self._last_decided_round = 0
        self._last_commit: tuple[int, bytes, int] = (0, ZERO_DIGEST, 0)
        self._last_checkpoint: tuple[int, bytes] = (0, ZERO_DIGEST)
        self._load()

    # -- start-up -------------------------------------------------------------------------

    def _load(self) -> None:
        """Rebuild the in-memory DAG and counters from the database after a (re)start."""
        for block in genesis_blocks(self._committee):
            self._dag.add(block)
        for (body,) in self._store.all("SELECT body FROM blocks ORDER BY round, author"):
            block = json.loads(str(body))
            ref = self._dag.add(block)
            if block["author"] == self._own and block["round"] > self._last_round:
                self._last_round, self._last_block = block["round"], ref
            if block["transactions"]:
                self._pending_tx_blocks.add(ref)
        for (body,) in self._store.all("SELECT body FROM commits ORDER BY commit_index"):
            commit = json.loads(str(body))
            for ref_json in commit["blocks"]:
                ref = BlockRef.from_json(ref_json)
                self._committed_refs.add(ref)
                self._pending_tx_blocks.discard(ref)
        row = self._store.one(
            "SELECT commit_index, digest, body FROM commits ORDER BY commit_index DESC LIMIT 1"
        )
        if row is not None:
            commit = json.loads(str(row[2]))
            self._last_commit = (int(str(row[0])), _blob(row[1]), int(commit["timestampMs"]))
        row = self._store.one(
            "SELECT sequence, digest FROM checkpoints ORDER BY sequence DESC LIMIT 1"
        )
        if row is not None:
            self._last_checkpoint = (int(str(row[0])), _blob(row[1]))
        decided = self._store.get_meta("last_decided_round")
        self._last_decided_round = int(decided) if decided else 0
        if self._last_block is None:
            self._last_block = next(
                ref for ref in self._dag.blocks_at(0) if ref.author == self._own
            )

    @property
    def running(self) -> bool:
        """True while the proposer loop runs."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start proposing; uncommitted blocks left by a crash get committed."""
        self._task = asyncio.create_task(self._run(), name="twin-ledger")
        self._wake.set()

    async def stop(self) -> None:
        """Stop proposing and fail every waiter that has not been answered."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for futures in self._waiters.values():
            for future in futures:
                if not future.done():
                    future.set_exception(ServiceUnavailableError("the node is shutting down"))
        self._waiters.clear()

    # -- submitting -----------------------------------------------------------------------

    async def submit(self, transaction: dict[str, Any]) -> Outcome:
        """Queue a transaction and wait until a certified checkpoint includes it."""
        digest = transaction_digest(transaction)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(digest, []).append(future)
        self._mempool[digest] = transaction
        self._wake.set()
        try:
            return await asyncio.wait_for(asyncio.shield(future), self._timeout)
        except TimeoutError:
            raise ServiceUnavailableError(
                f"the ledger did not commit the transaction within {self._timeout:g} s"
            ) from None

    def enqueue(self, transaction: dict[str, Any]) -> bytes:
        """Queue a transaction without waiting; return its digest (no-op if already known)."""
        digest = transaction_digest(transaction)
        known = digest in self._mempool or digest in self._in_flight
        if not known and not self._is_executed(digest):
            self._mempool[digest] = transaction
            self._wake.set()
        return digest

    def receive_block(self, block: dict[str, Any]) -> tuple[BlockRef, bool]:
        """Check a peer's block, add it to the DAG and persist it; return (ref, newly added).

        Raises LedgerError when the block breaks a receive rule.
        """
        # TWIN-CONSENSUS-101: the receive rules, before the block joins the DAG.
        ref = validate_block(block, self._committee, self._dag)
        if ref in self._dag:
            return ref, False
        if ref.author == self._own:
            raise ConflictError("the node does not take blocks in its own name from peers")
        with self._store.write() as connection:
            connection.execute(
                "INSERT OR IGNORE INTO blocks (digest, round, author, body) VALUES (?, ?, ?, ?)",
                (ref.digest, ref.round, ref.author, _dump(block)),
            )
            # The DAG's own rules (ancestors present, timestamps) roll the row back if broken.
            self._dag.add(block)
        if block["transactions"]:
            self._pending_tx_blocks.add(ref)
        self._wake.set()
        return ref, True

    # -- the proposer loop ----------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while self._mempool or self._pending_tx_blocks:
                    self._propose()
                    self._commit_decided()
                    # Let request handlers run, and add to the next block, between rounds.
                    await asyncio.sleep(0)
            except Exception:
                LOG.exception("the ledger loop failed; retrying")
                await asyncio.sleep(0.1)
                self._wake.set()

    def _propose(self) -> None:
        round_ = self._last_round + 1
        previous = [ref for ref in self._dag.blocks_at(round_ - 1) if ref.author != self._own]
        assert self._last_block is not None  # noqa: S101 - set by _load
        ancestors = [self._last_block, *sorted(previous, key=lambda ref: ref.author)]
        # TWIN-CONSENSUS rules (issue 4) need a quorum at round - 1; with the blocks of the
        # other validators missing, the validator waits.
        if not self._committee.is_quorum(
            ref.author for ref in ancestors if ref.round == round_ - 1
        ):
            return
        batch = list(self._mempool.items())[: self._max_block_transactions]
        timestamp = max(self._clock_ms(), *(self._dag.get(ref)["timestampMs"] for ref in ancestors))
        unsigned = {
            "epoch": self._committee.epoch,
            "round": round_,
            "author": self._own,
            "timestampMs": timestamp,
            "ancestors": [ref.to_json() for ref in ancestors],
            "transactions": [transaction for _digest, transaction in batch],
        }
        block = sign_block(self._key, unsigned)
        digest = block_digest(block)
        with self._store.write() as connection:
            connection.execute(
                "INSERT INTO blocks (digest, round, author, body) VALUES (?, ?, ?, ?)",
                (digest, round_, self._own, _dump(block)),
            )
        ref = self._dag.add(block)
        for tx_digest, _transaction in batch:
            del self._mempool[tx_digest]
            self._in_flight.add(tx_digest)
        if batch:
            self._pending_tx_blocks.add(ref)
        self._last_round, self._last_block = round_, ref

    def _commit_decided(self) -> None:
        for decision in try_commit(self._dag, self._committee, self._last_decided_round):
            if decision.kind is LeaderDecisionKind.COMMIT:
                assert decision.block is not None  # noqa: S101 - a commit names its block
                self._commit(decision.block, decision.round)
            else:
                with self._store.write() as connection:
                    connection.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_decided_round', ?)",
                        (str(decision.round),),
                    )
            self._last_decided_round = decision.round

    def _commit(self, leader: BlockRef, leader_round: int) -> None:
        refs = linearize(self._dag, leader, self._committed_refs)
        index, previous_digest, previous_ts = self._last_commit
        leader_ts = int(self._dag.get(leader)["timestampMs"])
        commit_ts = max(leader_ts, previous_ts)
        commit = make_commit(index + 1, previous_digest, commit_ts, leader, refs)
        digest = commit_digest(commit)
        transactions: list[tuple[bytes, dict[str, Any]]] = []
        seen: set[bytes] = set()
        for ref in refs:
            for transaction in self._dag.get(ref)["transactions"]:
                tx_digest = transaction_digest(transaction)
                if tx_digest not in seen and not self._is_executed(tx_digest):
                    seen.add(tx_digest)
                    transactions.append((tx_digest, transaction))
        sequence, previous_checkpoint = self._last_checkpoint
        summary = make_checkpoint_summary(
            self._committee.epoch,
            sequence + 1,
            index + 1,
            digest,
            [tx_digest for tx_digest, _tx in transactions],
            previous_checkpoint,
            commit_ts,
        )
        certified = certify_checkpoint(summary, [sign_checkpoint(self._key, self._own, summary)])
        outcomes: list[Outcome] = []
        # TWIN-CORE-055 "A 2xx answer to a write MUST mean the write is durable": the commit,
        # its checkpoint and the state it changes are one synchronous SQLite transaction, and
        # waiters are answered only after it has committed.
        with self._store.write() as connection:
            connection.execute(
                "INSERT INTO commits (commit_index, digest, body) VALUES (?, ?, ?)",
                (index + 1, digest, _dump(commit)),
            )
            for position, (tx_digest, transaction) in enumerate(transactions):
                effects = apply_transaction(connection, transaction, tx_digest, commit_ts)
                connection.execute(
                    "INSERT INTO transactions (digest, checkpoint, position, body, status,"
                    " error_name, error_message) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        tx_digest,
                        sequence + 1,
                        position,
                        _dump(transaction),
                        effects.status,
                        effects.error_name,
                        effects.error_message,
                    ),
                )
                outcomes.append(Outcome(tx_digest, effects, sequence + 1))
            connection.execute(
                "INSERT INTO checkpoints (sequence, digest, body) VALUES (?, ?, ?)",
                (sequence + 1, checkpoint_digest(summary), _dump(certified)),
            )
            connection.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_decided_round', ?)",
                (str(leader_round),),
            )
        self._committed_refs.update(refs)
        self._pending_tx_blocks.difference_update(refs)
        self._in_flight.difference_update(tx_digest for tx_digest, _tx in transactions)
        self._last_commit = (index + 1, digest, commit_ts)
        self._last_checkpoint = (sequence + 1, checkpoint_digest(summary))
        for outcome in outcomes:
            for future in self._waiters.pop(outcome.digest, []):
                if not future.done():
                    future.set_result(outcome)

    def _is_executed(self, digest: bytes) -> bool:
        return self._store.one("SELECT 1 FROM transactions WHERE digest = ?", digest) is not None

    # -- reading --------------------------------------------------------------------------

    def receipt(self, digest: bytes) -> dict[str, Any] | None:
        """The receipt of a committed transaction, or None when it is not committed."""
        row = self._store.one("SELECT checkpoint FROM transactions WHERE digest = ?", digest)
        if row is None:
            return None
        sequence = int(str(row[0]))
        digests = [
            _blob(entry[0])
            for entry in self._store.all(
                "SELECT digest FROM transactions WHERE checkpoint = ? ORDER BY position", sequence
            )
        ]
        checkpoint = self._store.one("SELECT body FROM checkpoints WHERE sequence = ?", sequence)
        assert checkpoint is not None  # noqa: S101 - written in the same transaction
        return make_receipt(digest, digests, json.loads(str(checkpoint[0])))

    def transaction_outcome(self, digest: bytes) -> Effects | None:
        """What applying a committed transaction did, or None when it is not committed."""
        row = self._store.one(
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
