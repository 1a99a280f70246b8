"""The ledger engine: one validator of the committee, ordering transactions into commits.

The validator proposes a signed block per round (``_proposing.py``), takes the peers' blocks
through the receive rules of the spec core (``_receiving.py``), runs the commit rule over its
DAG, linearises each committed leader's history into a commit and applies the commit's
transactions (``_committing.py``), and signs the commit's checkpoint summary. The checkpoint
is certified once signatures of a quorum of the committee have arrived, its own and its
peers', each verified (``_certifying.py``); only then are the writes it holds answered. A
committee of one is the same code, whose own signature is already a quorum. The tables are
read and written through ``_ledger_store.py``; what is fetched from peers is ``_sync.py``'s.

Everything a commit changes (commit, summary, transactions, state) is written in one SQLite
transaction, and a certified checkpoint in one more (the same one when the quorum is already
there); a crash leaves either a whole commit or none of it. The loop then syncs the database
once for all it wrote (``_group_commit.py``) before it answers a waiter or sends a block it
proposed: an answered write is durable, and a restarted validator never signs a second block
for a round it already signed (it never sent one it did not keep). A transaction accepted
before its commit (:meth:`LedgerEngine.accept`) is synced on its own first, and queued again
at start until a commit applies it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from typing import Any

from twin_reference._certifying import Certifier
from twin_reference._committing import Committer
from twin_reference._errors import ValidationError, WritePending
from twin_reference._group_commit import GroupCommit
from twin_reference._ledger_store import LedgerStore
from twin_reference._live_dag import LiveDag
from twin_reference._peers import NetworkSettings, PeerNetwork
from twin_reference._proposing import ConsensusSettings, Mempool, Proposer
from twin_reference._receiving import BlockReceiver
from twin_reference._store import Store
from twin_reference._sync import Synchronizer
from twin_reference._transactions import Effects, Outcome
from twin_spec import (
    BlockRef,
    Committee,
    Ed25519SigningKey,
    JSONValue,
    LedgerError,
    canonicalize,
)

LOG = logging.getLogger("twin_reference.ledger")
STALL_SECONDS = 5.0
"""Seconds without a commit while transactions wait after which a committee of one stops
answering writes before their commit (:attr:`LedgerEngine.answers_on_acceptance`)."""

__all__ = ["ConsensusSettings", "LedgerEngine"]


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
        peers: Mapping[int, str] | None = None,
        settings: ConsensusSettings | None = None,
        network_settings: NetworkSettings | None = None,
    ) -> None:
        self._committee = committee
        self._own = own_index
        self.settings = settings or ConsensusSettings()
        self._timeout = self.settings.commit_timeout_seconds
        self._ledger = LedgerStore(store)
        self._dag = LiveDag(committee)
        self.network = PeerNetwork(
            {index: url for index, url in (peers or {}).items() if index != own_index},
            network_settings,
        )
        self._io = GroupCommit(self._ledger, self.network, alone=committee.size == 1)
        self._mempool = Mempool(self._ledger, self.settings.max_mempool)
        self._certifier = Certifier(committee, own_index, key, self._ledger, self.network, self._io)
        self._receiver = BlockReceiver(
            committee, own_index, self._dag, self._ledger, self._io, self._block_added
        )
        self._committer = Committer(
            committee,
            own_index,
            self._dag,
            self._ledger,
            self._mempool,
            self._certifier,
            self._io,
            self._receiver.expire_held,
            block_retention_rounds=self.settings.block_retention_rounds,
        )
        self._proposer = Proposer(
            committee,
            own_index,
            key,
            clock_ms,
            self.settings,
            self._dag,
            self._mempool,
            self._ledger,
            self._io,
            self._block_added,
            self._dropped,
            self._committer.leader_of,
            awaited=lambda: bool(self._waiters),
        )
        self._sync = Synchronizer(self, self.network)
        self._receiver.missing = self._sync
        self._waiters: dict[bytes, list[asyncio.Future[Outcome]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._clock_ms = clock_ms
        self.catching_up = False
        self.beyond_retention: int | None = None
        """The first commit its peers no longer hold the blocks of (``_sync.py``), or None."""
        self.loop_error: str | None = None
        """Why the last pass of the loop failed, or None when it succeeded."""
        self.storage_error: str | None = None
        """Why the database refused the loop's last writes, or None when they went through."""
        self._progress_at = time.monotonic()
        self._load()

    def _block_added(self, ref: BlockRef, block: Mapping[str, Any], digests: list[bytes]) -> None:
        self._committer.note_block(ref, block, digests)

    def _dropped(self, digest: bytes, reason: str) -> None:
        """A queued transaction was dropped: record why and answer whoever waits for it."""
        self._ledger.record_dropped(digest, reason, self._clock_ms())
        for future in self._waiters.pop(digest, []):
            if not future.done():
                future.set_exception(
                    ValidationError(
                        f"the ledger dropped the transaction: {reason}",
                        field="body",
                        code="transactionDropped",
                    )
                )

    # -- start-up -----------------------------------------------------------------------------

    def _load(self) -> None:
        """Rebuild the in-memory state from the database after a (re)start."""
        self._committer.load_commits()
        for block in self._ledger.blocks_above(self._dag.gc_round):
            try:
                ref = self._dag.add(block)
            except LedgerError as exc:
                # Only possible if the database lost a block others build on; it is fetched
                # again from the peers when needed.
                LOG.warning("a stored block does not join the DAG (%s); skipped", exc.message)
                continue
            self._committer.note_block(ref, block, [])
        self._committer.load_committed()
        self._proposer.load()
        self._certifier.load()
        self._requeue_accepted()

    def _requeue_accepted(self) -> None:
        """Queue again the accepted transactions a restart found uncommitted (TWIN-ANCHORING-050).

        One the validator had put in a block before it stopped may be queued twice: a commit
        applies a transaction once, whichever block carries it.
        """
        executed = []
        for digest, transaction in self._ledger.accepted():
            if self._ledger.is_executed(digest):
                executed.append(digest)
            else:
                self._mempool.queue(transaction)
        if executed:
            with self._ledger.write(durable=False) as connection:
                self._ledger.forget_accepted(connection, executed)

    async def start(self) -> None:
        """Start proposing, sending and syncing.

        Uncommitted blocks left by a crash get committed, and uncertified checkpoints get the
        validator's signature sent again.
        """
        self._task = asyncio.create_task(self._run(), name="twin-ledger")
        self.network.start()
        self._sync.start()
        self._certifier.resend(0.0)
        self._io.wake()

    async def stop(self) -> None:
        """Stop proposing and fail every waiter that has not been answered."""
        await self._sync.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.network.stop()
        for digest, futures in self._waiters.items():
            for future in futures:
                if not future.done():
                    # The node stops, not the transaction: a peer (or this node, restarted)
                    # may still commit it, so its outcome is pending, not failed.
                    future.set_exception(WritePending(digest, "the node is shutting down"))
        self._waiters.clear()

    # -- what the node and the synchronizer read ----------------------------------------------

    @property
    def committee(self) -> Committee:
        """The committee this validator belongs to."""
        return self._committee

    @property
    def own_index(self) -> int:
        """The committee index of this validator."""
        return self._own

    @property
    def dag(self) -> LiveDag:
        """The validator's DAG (read it, never change it)."""
        return self._dag

    @property
    def quorum_round(self) -> int:
        """The highest round at which the DAG holds blocks of a quorum."""
        return self._dag.quorum_round

    @property
    def last_round(self) -> int:
        """The round of the last block this validator signed."""
        return self._proposer.last_round

    @property
    def running(self) -> bool:
        """True while the proposer loop runs."""
        return self._task is not None and not self._task.done()

    @property
    def fault(self) -> str | None:
        """Why the validator stopped committing, or None."""
        return self._committer.fault

    @property
    def commit_index(self) -> int:
        """The index of the last commit applied."""
        return self._committer.commit_index

    def note_beyond_retention(self, first_missing: int | None) -> None:
        """The first commit whose blocks no peer holds any more, or None once it moved on."""
        if first_missing is not None and first_missing != self.beyond_retention:
            LOG.error(
                "the peers committed past commit %d and no longer hold its blocks: restart"
                " the node to catch up from their certified checkpoints",
                first_missing - 1,
            )
        self.beyond_retention = first_missing

    @property
    def last_certified(self) -> int:
        """The sequence of the last certified checkpoint stored."""
        return self._certifier.last_certified

    @property
    def highest_round(self) -> int:
        """The highest round of any block in the DAG."""
        return self._dag.highest_round

    @property
    def wants_progress(self) -> bool:
        """Whether something waits for a commit: a transaction here, or a block's not committed."""
        return bool(self.waiting) or self._committer.has_pending_blocks

    def own_blocks_to_resend(self, from_round: int, limit: int) -> list[bytes]:
        """The validator's own sent blocks from ``from_round`` up (JSON texts), at most ``limit``.

        Nothing while a proposed block still waits for its sync: only what was sent is sent again.
        """
        if self._io.has_unsent_blocks:
            return []
        return self._ledger.block_texts_of(self._own, from_round, limit)

    @property
    def last_peer_block(self) -> float:
        """When (time.monotonic) a peer's block last passed the receive rules."""
        return self._receiver.last_peer_block

    @property
    def committer(self) -> Committer:
        """The committing part (its in-memory sets are read by the engine tests)."""
        return self._committer

    def wake(self) -> None:
        """Have the proposer loop look at the state again."""
        self._io.wake()

    @property
    def waiting(self) -> int:
        """Transactions waiting for a commit: queued here, or awaited by a request."""
        return len(self._mempool.pending() | self._waiters.keys())

    def seconds_without_progress(self) -> float:
        """How long transactions have waited with no commit applied (0 when none waits)."""
        if not self.waiting:
            return 0.0
        return time.monotonic() - self._progress_at

    def unreachable_peers(self) -> list[int]:
        """The validators that did not answer this one's last exchange with them."""
        return self.network.unreachable()

    def quorum_reachable(self) -> bool:
        """Whether this validator and the peers that answer hold a quorum of the stake."""
        unreachable = set(self.network.unreachable())
        reachable = [index for index in range(self._committee.size) if index not in unreachable]
        return self._committee.is_quorum(reachable)

    def receipt(self, digest: bytes) -> dict[str, Any] | None:
        """The receipt of a transaction in a certified checkpoint, or None (not yet)."""
        return self._ledger.receipt(digest)

    def transaction_outcome(self, digest: bytes) -> Effects | None:
        """What applying a committed transaction did, or None when it is not committed."""
        return self._ledger.transaction_outcome(digest)

    def transaction_status(self, digest: bytes) -> dict[str, JSONValue] | None:
        """Where a transaction is: committed (with its outcome and receipt), pending, dropped.

        None when the node does not know the transaction at all.
        """
        # TWIN-CONSENSUS-132 "GET /consensus/transactions/{digest} MUST answer committed (with
        # the outcome and the receipt) once a certified checkpoint holds the transaction,
        # pending while the node holds it otherwise, dropped (with the reason) for one it
        # dropped, and 404 for one it does not know."
        status: dict[str, JSONValue] = {"digest": digest.hex()}
        outcome = self._ledger.outcome(digest)
        receipt = self._ledger.receipt(digest) if outcome is not None else None
        if outcome is not None and receipt is not None:
            effects: dict[str, JSONValue] = {"status": outcome.effects.status}
            if not outcome.effects.ok:
                effects["error"] = {
                    "name": outcome.effects.error_name or "GeneralError",
                    "message": outcome.effects.error_message or "",
                }
            status.update(
                status="committed",
                checkpoint=outcome.checkpoint,
                outcome=effects,
                receipt=receipt,
            )
            return status
        if (
            outcome is not None
            or self._mempool.holds(digest)
            or self._committer.in_pending_block(digest)
        ):
            status["status"] = "pending"
            return status
        reason = self._ledger.dropped_reason(digest)
        if reason is not None:
            status.update(status="dropped", reason=reason)
            return status
        return None

    def equivocations(self, start: int, limit: int) -> list[JSONValue]:
        """Equivocation evidence in the order recorded, from position ``start`` (1-based)."""
        return self._ledger.equivocations(start, limit)

    # -- submitting ---------------------------------------------------------------------------

    async def submit(self, transaction: dict[str, Any], timeout: float | None = None) -> Outcome:
        """Queue a transaction and wait until a certified checkpoint includes it.

        Raises :class:`WritePending` when that takes longer than ``timeout`` (by default the
        commit timeout): the transaction stays queued and may still be committed.
        """
        wait = self._timeout if timeout is None else timeout
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        digest = self.enqueue(transaction)
        done = self._ledger.outcome(digest)
        if done is not None:
            if done.checkpoint > self._certifier.last_certified and self._certifier.wait_for(done):
                pass
            elif self._io.needs_sync:
                self._io.answer_after_sync([done])
            else:
                return done
        self._waiters.setdefault(digest, []).append(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), wait)
        except TimeoutError:
            # TWIN-CORE-067: not a failure; the transaction may still be committed.
            raise WritePending(
                digest, f"the ledger has not committed the transaction within {wait:g} s"
            ) from None
        finally:
            waiting = self._waiters.get(digest)
            if waiting is not None and future in waiting and not future.done():
                waiting.remove(future)
                if not waiting:
                    del self._waiters[digest]

    def accept(self, transaction: dict[str, Any], subject: str) -> bytes:
        """Keep a transaction durably and queue it, without waiting for its commit.

        Once this returns, the transaction survives a crash and is committed (queued again at
        start if need be), so the node may answer for it at once (TWIN-ANCHORING-050); readers
        find it by ``subject`` until then. A full mempool is a 503 before anything is kept.
        """
        canonical = canonicalize(transaction)
        digest = hashlib.sha256(canonical).digest()
        if self._mempool.holds(digest) or self._ledger.is_executed(digest):
            return digest
        self._mempool.check_room()
        self._ledger.accept(digest, subject, canonical)
        self._mempool.queue(transaction, canonical)
        self._io.wake()
        return digest

    def accepted(self, subject: str) -> tuple[bytes, dict[str, Any]] | None:
        """The accepted transaction kept under ``subject`` while it is not committed, or None."""
        return self._ledger.accepted_by_subject(subject)

    @property
    def answers_on_acceptance(self) -> bool:
        """Whether a write accepted now may be answered before its commit.

        Only a committee of one decides its commits alone, so only it can promise a commit
        within seconds of accepting; even it stops promising while faulted, failing to store,
        or after :data:`STALL_SECONDS` without a commit although transactions wait. A
        committee's validator answers a write once it is committed (or 202), since its
        quorum may be gone before it can know.
        """
        return (
            self._committee.size == 1
            and self.fault is None
            and self.storage_error is None
            and self.seconds_without_progress() < STALL_SECONDS
        )

    def enqueue(self, transaction: dict[str, Any]) -> bytes:
        """Queue a transaction without waiting; return its digest (no-op if already known)."""
        waiting = len(self._mempool)
        digest = self._mempool.queue(transaction)
        if len(self._mempool) != waiting:
            self._io.wake()
        return digest

    def _answer(self, outcome: Outcome) -> None:
        for future in self._waiters.pop(outcome.digest, []):
            if not future.done():
                future.set_result(outcome)

    # -- blocks and signatures from peers -----------------------------------------------------

    def receive_block(self, block: object, size: int = 0) -> tuple[BlockRef, bool]:
        """Check a peer's block by the receive rules and keep it (see BlockReceiver.receive)."""
        return self._receiver.receive(block, size)

    def expire_held(self) -> None:
        """Forget held blocks that waited too long or fell below the garbage-collection round."""
        self._receiver.expire_held()

    def wanted(self) -> list[BlockRef]:
        """Ancestors that held blocks are waiting for, lowest round first."""
        return self._receiver.wanted()

    def held_above(self, round_: int) -> bool:
        """Whether a held block is above ``round_``."""
        return self._receiver.held_above(round_)

    def receive_signature(self, sequence: int, entry: Mapping[str, JSONValue]) -> str:
        """Take a peer's checkpoint signature (see Certifier.receive_signature)."""
        return self._certifier.receive_signature(sequence, entry)

    def offer_certified(self, certified: object) -> bool:
        """Take a certified checkpoint fetched from a peer (see Certifier.offer_certified)."""
        return self._certifier.offer_certified(certified)

    def stale_checkpoints(self, age: float) -> list[int]:
        """Sequences signed at least ``age`` seconds ago and still uncertified."""
        return self._certifier.stale(age)

    def resend_signatures(self, age: float) -> None:
        """Send the own signature again for checkpoints uncertified for ``age`` seconds."""
        self._certifier.resend(age)

    # -- the loop -----------------------------------------------------------------------------

    async def _run(self) -> None:
        wake = self._io.wake_event
        failures = 0
        while True:
            wake.clear()
            try:
                delay = self._step()
            except Exception as exc:
                # The log collapses repeated identical failures (_logging.py), and the pause
                # grows, so a failure that persists costs neither the disk nor the CPU.
                failures += 1
                self.loop_error = f"{type(exc).__name__}: {exc}"[:500]
                if isinstance(exc, sqlite3.Error):
                    self.storage_error = self.loop_error
                LOG.exception("the ledger loop failed; retrying")
                delay = min(5.0, 0.05 * 2 ** min(failures, 7))
            else:
                failures = 0
                self.loop_error = None
                self.storage_error = None
            if delay == 0:
                # Let request handlers run, and add to the next block, between rounds.
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), delay)

    def _step(self) -> float | None:
        """Commit what is decided and propose if ready.

        Return 0 to go again at once, else how long to wait at most (None: until woken).
        """
        committed = self._committer.commit_index
        self._committer.commit_decided()
        delay = self._propose_when_ready(time.monotonic())
        if delay == 0:
            self._committer.commit_decided()
        self._io.flush(self._proposer.last_round, self._answer)
        if self._committer.commit_index != committed or not self.waiting:
            self._progress_at = time.monotonic()
        return delay

    def _propose_when_ready(self, now: float) -> float | None:
        if self.catching_up:
            return None
        # Rounds run while some transaction waits for a commit: in the mempool, or in a block
        # of the DAG not yet committed (a peer's transactions make every validator take part).
        if not (self._mempool or self._committer.has_pending_blocks):
            return None
        return self._proposer.propose_when_ready(now)
