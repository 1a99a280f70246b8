"""The ledger engine: one validator of the committee, ordering transactions into commits.

The validator proposes a signed block per round (its own previous block first, then the
previous round's blocks of the others), once it holds blocks of a quorum of the previous
round and the previous round's leader block, or once the leader timeout has passed without it.
It sends each block to every peer, takes the peers' blocks through the receive rules of the
spec core, runs the commit rule over its DAG, linearises each committed leader's history into a
commit, applies the commit's transactions, and signs the commit's checkpoint summary. The
checkpoint is certified once signatures of a quorum of the committee have arrived (its own
and its peers', each verified); only then are the writes it holds answered. A committee of
one is the same code, whose own signature is already a quorum.

Everything a commit changes (commit, summary, transactions, state) is written in one SQLite
transaction, and a certified checkpoint in one more (the same one when the quorum is already
there); a crash leaves either a whole commit or none of it. The loop then syncs the database
once for all it wrote (group commit) before it answers a waiter or sends a block it proposed:
an answered write is durable, and a restarted validator never signs a second block for a
round it already signed (it never sent one it did not keep).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from twin_reference._errors import ConflictError, ServiceUnavailableError
from twin_reference._live_dag import CommittedView, LiveDag, gc_round_after
from twin_reference._peers import NetworkSettings, PeerNetwork
from twin_reference._store import Store
from twin_reference._sync import Synchronizer
from twin_reference._transactions import Effects, apply_transaction
from twin_spec import (
    MAX_BLOCK_TRANSACTIONS,
    BlockRef,
    BlockRejectedError,
    BlockRejection,
    Committee,
    Dag,
    Ed25519SigningKey,
    JSONValue,
    LeaderDecisionKind,
    LedgerError,
    MessageKind,
    SignatureError,
    TwinSpecError,
    block_digest,
    block_ref,
    canonicalize,
    certify_checkpoint,
    checkpoint_digest,
    commit_digest,
    leader_of,
    linearize,
    make_checkpoint_summary,
    make_commit,
    make_equivocation_evidence,
    make_receipt,
    read_certified_checkpoint,
    sign_block,
    sign_checkpoint,
    try_commit,
    validate_block,
    verify_certified_checkpoint,
    verify_message,
)

LOG = logging.getLogger("twin_reference.ledger")
ZERO_DIGEST = bytes(32)
SIGNATURE_WINDOW = 1024
"""Checkpoint signatures are kept for at most this many sequences beyond the last certified."""
MAX_HELD_BLOCKS = 2048
MAX_HELD_BYTES = 64 * 1024 * 1024
HELD_BLOCK_SECONDS = 60.0


@dataclass(frozen=True)
class Outcome:
    """A committed transaction: its digest, what applying it did, and its checkpoint."""

    digest: bytes
    effects: Effects
    checkpoint: int


@dataclass(frozen=True)
class ConsensusSettings:
    """How a validator paces its rounds and bounds its queues (``twin-node serve --help``)."""

    leader_timeout_seconds: float = 1.0
    min_round_interval_seconds: float = 0.005
    """A block that carries no transaction waits this long after the validator's previous one."""
    max_block_transactions: int = MAX_BLOCK_TRANSACTIONS
    max_block_bytes: int = 768 * 1024
    """Transactions of one block, in bytes of JCS: a block stays well under 1 MiB of JSON."""
    max_mempool: int = 100_000
    commit_timeout_seconds: float = 30.0


class SignatureRefusedError(Exception):
    """A checkpoint signature from a peer that does not verify: its code and field."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code, self.field, self.message = code, field, message


@dataclass
class _Uncertified:
    """A checkpoint summary the validator signed, waiting for a quorum of signatures."""

    summary: dict[str, JSONValue]
    digest: bytes
    signatures: dict[int, dict[str, JSONValue]]
    outcomes: list[Outcome] = field(default_factory=list)
    created: float = field(default_factory=time.monotonic)
    sent: float = field(default_factory=time.monotonic)


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
    ref = validate_block(block, committee, dag)
    assert isinstance(block, dict)  # noqa: S101 - check_block accepts JSON objects only
    return dag.add(block, ref)


def _transaction_digests(block: Mapping[str, Any]) -> list[bytes]:
    return [hashlib.sha256(canonicalize(tx)).digest() for tx in block["transactions"]]


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
        self._store = store
        self._committee = committee
        self._own = own_index
        self._key = key
        self._clock_ms = clock_ms
        self.settings = settings or ConsensusSettings()
        self._timeout = self.settings.commit_timeout_seconds
        self._max_transactions = min(self.settings.max_block_transactions, MAX_BLOCK_TRANSACTIONS)
        self._dag = LiveDag(committee)
        self.network = PeerNetwork(
            {index: url for index, url in (peers or {}).items() if index != own_index},
            network_settings,
        )
        self._sync = Synchronizer(self, self.network)
        self._mempool: dict[bytes, tuple[dict[str, Any], int]] = {}
        self._waiters: dict[bytes, list[asyncio.Future[Outcome]]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._committed: set[BlockRef] = set()
        self._tx_digests: dict[BlockRef, list[bytes]] = {}
        self._pending_tx_blocks: set[BlockRef] = set()
        self._in_flight: set[bytes] = set()
        self._last_round = 0
        self._last_block: BlockRef | None = None
        self._last_block_ts = 0
        self._last_proposal = 0.0
        self._quorum_round = 0
        self._quorum_since: dict[int, float] = {0: 0.0}
        self._last_decided_round = 0
        self._last_commit: tuple[int, bytes, int] = (0, ZERO_DIGEST, 0)
        self._last_leader_round = 0
        self._last_summary: tuple[int, bytes] = (0, ZERO_DIGEST)
        self._last_certified = 0
        self._uncertified: dict[int, _Uncertified] = {}
        self._early_signatures: dict[int, dict[int, dict[str, JSONValue]]] = {}
        self._unsent_blocks: list[bytes] = []
        self._unanswered: list[Outcome] = []
        self._needs_sync = False
        self._held: dict[BlockRef, tuple[dict[str, Any], int, float]] = {}
        self._held_bytes = 0
        self._waiting_on: dict[BlockRef, set[BlockRef]] = {}
        self._last_peer_block = 0.0
        self.catching_up = False
        self.fault: str | None = None
        self._load()

    # -- start-up -------------------------------------------------------------------------

    def _load(self) -> None:
        """Rebuild the in-memory state from the database after a (re)start."""
        row = self._store.one(
            "SELECT commit_index, digest, body FROM commits ORDER BY commit_index DESC LIMIT 1"
        )
        if row is not None:
            commit = json.loads(str(row[2]))
            self._last_commit = (int(str(row[0])), _blob(row[1]), int(commit["timestampMs"]))
            self._last_leader_round = int(commit["leader"]["round"])
        self._dag.prune(gc_round_after(self._last_leader_round))
        gc_round = self._dag.gc_round
        for (body,) in self._store.all(
            "SELECT body FROM blocks WHERE round > ? ORDER BY round, author, digest", gc_round
        ):
            block = json.loads(str(body))
            try:
                ref = self._dag.add(block)
            except LedgerError as exc:
                # Only possible if the database lost a block others build on; it is fetched
                # again from the peers when needed.
                LOG.warning("a stored block does not join the DAG (%s); skipped", exc.message)
                continue
            self._after_add(ref, block)
        # Blocks of commits above the garbage-collection round: newest commits first.
        for (body,) in self._store.all("SELECT body FROM commits ORDER BY commit_index DESC"):
            commit = json.loads(str(body))
            if int(commit["leader"]["round"]) <= gc_round:
                break
            for ref_json in commit["blocks"]:
                ref = BlockRef.from_json(ref_json)
                if ref.round > gc_round:
                    self._committed.add(ref)
        self._pending_tx_blocks.difference_update(self._committed)
        own = self._store.one(
            "SELECT body FROM blocks WHERE author = ? ORDER BY round DESC LIMIT 1", self._own
        )
        if own is not None:
            block = json.loads(str(own[0]))
            self._last_round = int(block["round"])
            self._last_block = block_ref(block)
            self._last_block_ts = int(block["timestampMs"])
        else:
            self._last_block = next(
                ref for ref in self._dag.blocks_at(0) if ref.author == self._own
            )
        decided = self._store.get_meta("last_decided_round")
        self._last_decided_round = int(decided) if decided else 0
        row = self._store.one(
            "SELECT sequence, digest FROM checkpoints ORDER BY sequence DESC LIMIT 1"
        )
        if row is not None:
            self._last_certified = int(str(row[0]))
            self._last_summary = (self._last_certified, _blob(row[1]))
        row = self._store.one(
            "SELECT sequence, digest FROM checkpoint_summaries ORDER BY sequence DESC LIMIT 1"
        )
        if row is not None and int(str(row[0])) > self._last_summary[0]:
            self._last_summary = (int(str(row[0])), _blob(row[1]))
        for sequence, digest, summary_text in self._store.all(
            "SELECT sequence, digest, summary FROM checkpoint_summaries WHERE sequence > ?"
            " ORDER BY sequence",
            self._last_certified,
        ):
            summary = json.loads(str(summary_text))
            own_signature = sign_checkpoint(self._key, self._own, summary)
            self._uncertified[int(str(sequence))] = _Uncertified(
                summary, _blob(digest), {self._own: own_signature}, created=0.0, sent=0.0
            )

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
        return self._quorum_round

    @property
    def running(self) -> bool:
        """True while the proposer loop runs."""
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """Have the proposer loop look at the state again."""
        self._wake.set()

    @property
    def last_certified(self) -> int:
        """The sequence of the last certified checkpoint stored."""
        return self._last_certified

    async def start(self) -> None:
        """Start proposing, sending and syncing.

        Uncommitted blocks left by a crash get committed, and uncertified checkpoints get the
        validator's signature sent again.
        """
        self._task = asyncio.create_task(self._run(), name="twin-ledger")
        self.network.start()
        self._sync.start()
        self.resend_signatures(0.0)
        self._wake.set()

    async def stop(self) -> None:
        """Stop proposing and fail every waiter that has not been answered."""
        await self._sync.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.network.stop()
        for futures in self._waiters.values():
            for future in futures:
                if not future.done():
                    future.set_exception(ServiceUnavailableError("the node is shutting down"))
        self._waiters.clear()

    # -- submitting -----------------------------------------------------------------------

    def _queue(self, transaction: dict[str, Any]) -> bytes:
        """Add a transaction to the mempool (once); return its digest."""
        canonical = canonicalize(transaction)
        digest = hashlib.sha256(canonical).digest()
        if digest in self._mempool or digest in self._in_flight or self._is_executed(digest):
            return digest
        if len(self._mempool) >= self.settings.max_mempool:
            raise ServiceUnavailableError(
                f"the mempool holds {len(self._mempool)} transactions; try again later"
            )
        self._mempool[digest] = (transaction, len(canonical))
        self._wake.set()
        return digest

    async def submit(self, transaction: dict[str, Any]) -> Outcome:
        """Queue a transaction and wait until a certified checkpoint includes it."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        digest = self._queue(transaction)
        done = self._stored_outcome(digest)
        if done is not None:
            if done.checkpoint > self._last_certified:
                self._uncertified[done.checkpoint].outcomes.append(done)
            elif self._needs_sync:
                self._unanswered.append(done)
            else:
                return done
        self._waiters.setdefault(digest, []).append(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self._timeout)
        except TimeoutError:
            raise ServiceUnavailableError(
                f"the ledger did not commit the transaction within {self._timeout:g} s"
            ) from None
        finally:
            waiting = self._waiters.get(digest)
            if waiting is not None and future in waiting and not future.done():
                waiting.remove(future)
                if not waiting:
                    del self._waiters[digest]

    def enqueue(self, transaction: dict[str, Any]) -> bytes:
        """Queue a transaction without waiting; return its digest (no-op if already known)."""
        return self._queue(transaction)

    # -- blocks from peers ----------------------------------------------------------------

    def receive_block(self, block: object, size: int = 0) -> tuple[BlockRef, bool]:
        """Check a peer's block, add it to the DAG and persist it; return (ref, newly added).

        Raises LedgerError (BlockRejectedError with the rule's code) when a receive rule
        refuses the block; a block refused only because ancestors are missing is kept aside
        (bounded) while the synchronizer fetches them. Raises ConflictError for a block in the
        validator's own name, one at or below the garbage-collection round, or one more block
        of a slot already holding one per validator.
        """
        ref, added = self._receive(block, size)
        if added:
            self._release_held(ref)
        return ref, added

    def _receive(self, block: object, size: int) -> tuple[BlockRef, bool]:
        try:
            # TWIN-CONSENSUS-101: the receive rules, before the block joins the DAG.
            ref = validate_block(block, self._committee, self._dag)
        except BlockRejectedError as exc:
            if exc.code is BlockRejection.MISSING_ANCESTOR:
                assert isinstance(block, dict)  # noqa: S101 - check_block passed
                self._hold(block, size)
            raise
        assert isinstance(block, dict)  # noqa: S101 - check_block accepts JSON objects only
        self._last_peer_block = time.monotonic()
        if ref in self._dag and ref.round > self._dag.gc_round:
            return ref, False
        if ref.round <= self._dag.gc_round:
            if self._store.one("SELECT 1 FROM blocks WHERE digest = ?", ref.digest) is not None:
                return ref, False
            self._check_stored_slot(block, ref)
            raise ConflictError(
                f"round {ref.round} is at or below the garbage-collection round "
                f"{self._dag.gc_round}; the block can no longer be committed"
            )
        if ref.author == self._own:
            raise ConflictError("the node does not take blocks in its own name from peers")
        slot = self._dag.slot(ref.round, ref.author)
        if slot:
            self._record_equivocation(self._dag.get(slot[0]), block)
            if len(slot) >= self._committee.size:
                raise ConflictError(
                    f"the node already holds {len(slot)} blocks of validator {ref.author} "
                    f"at round {ref.round}"
                )
        self._tx_digests[ref] = _transaction_digests(block)
        # Not synced at once: a peer's block lost in a power cut is fetched again.
        with self._store.write(durable=False) as connection:
            connection.execute(
                "INSERT OR IGNORE INTO blocks (digest, round, author, body) VALUES (?, ?, ?, ?)",
                (ref.digest, ref.round, ref.author, _dump(block)),
            )
            # The DAG's own rules (ancestors present, timestamps) roll the row back if broken.
            self._dag.add(block, ref)
        self._drop_held(ref)
        self._after_add(ref, block)
        self._wake.set()
        return ref, True

    def _after_add(self, ref: BlockRef, block: Mapping[str, Any]) -> None:
        """Bookkeeping once a block is in the DAG: pending transactions, the quorum round."""
        if block["transactions"]:
            self._pending_tx_blocks.add(ref)
            if ref not in self._tx_digests:
                self._tx_digests[ref] = _transaction_digests(block)
        round_ = ref.round
        if round_ > self._quorum_round and self._committee.is_quorum(
            other.author for other in self._dag.blocks_at(round_)
        ):
            now = time.monotonic()
            for reached in range(self._quorum_round + 1, round_ + 1):
                self._quorum_since.setdefault(reached, now)
            self._quorum_round = round_

    def _hold(self, block: dict[str, Any], size: int) -> None:
        """Keep a block whose ancestors are missing, and ask the synchronizer for them."""
        ref = block_ref(block)
        if ref in self._held or ref.round <= self._dag.gc_round:
            return
        missing = [
            ancestor
            for ancestor in (BlockRef.from_json(item) for item in block["ancestors"])
            if ancestor not in self._dag
        ]
        size = size or len(_dump(block))
        if len(self._held) >= MAX_HELD_BLOCKS or self._held_bytes + size > MAX_HELD_BYTES:
            self._sync.behind()
            return
        self._held[ref] = (block, size, time.monotonic())
        self._held_bytes += size
        for ancestor in missing:
            self._waiting_on.setdefault(ancestor, set()).add(ref)
            self._sync.want(ancestor, ref.author)
        if ref.round > self._quorum_round + 2:
            self._sync.behind()

    def _release_held(self, arrived: BlockRef) -> None:
        """Offer again the held blocks that were waiting for ``arrived`` (iteratively)."""
        ready = [arrived]
        while ready:
            waiting = self._waiting_on.pop(ready.pop(), set())
            for ref in sorted(waiting):
                entry = self._held.get(ref)
                if entry is None or any(
                    BlockRef.from_json(item) not in self._dag for item in entry[0]["ancestors"]
                ):
                    continue
                self._drop_held(ref)
                try:
                    added, fresh = self._receive(entry[0], entry[1])
                except (LedgerError, ConflictError) as exc:
                    LOG.debug("held block %s refused: %s", ref.to_json(), exc)
                    continue
                if fresh:
                    ready.append(added)

    def _drop_held(self, ref: BlockRef) -> None:
        entry = self._held.pop(ref, None)
        if entry is not None:
            self._held_bytes -= entry[1]

    def expire_held(self) -> None:
        """Forget held blocks that waited too long or fell below the garbage-collection round."""
        now = time.monotonic()
        for ref, (_block, _size, since) in list(self._held.items()):
            if ref.round <= self._dag.gc_round or now - since > HELD_BLOCK_SECONDS:
                self._drop_held(ref)
        for missing in list(self._waiting_on):
            holders = {ref for ref in self._waiting_on[missing] if ref in self._held}
            if missing in self._dag or not holders:
                del self._waiting_on[missing]
            else:
                self._waiting_on[missing] = holders

    def wanted(self) -> list[BlockRef]:
        """Ancestors that held blocks are waiting for, lowest round first."""
        return sorted(ref for ref in self._waiting_on if ref not in self._dag)

    def held_above(self, round_: int) -> bool:
        """Whether a held block is above ``round_``."""
        return any(ref.round > round_ for ref in self._held)

    @property
    def last_peer_block(self) -> float:
        """When (time.monotonic) a peer's block last passed the receive rules."""
        return self._last_peer_block

    # -- equivocation ---------------------------------------------------------------------

    def _check_stored_slot(self, block: Mapping[str, Any], ref: BlockRef) -> None:
        row = self._store.one(
            "SELECT body FROM blocks WHERE round = ? AND author = ? AND digest != ? LIMIT 1",
            ref.round,
            ref.author,
            ref.digest,
        )
        if row is not None:
            self._record_equivocation(json.loads(str(row[0])), block)

    def _record_equivocation(self, first: Mapping[str, Any], second: Mapping[str, Any]) -> None:
        """Store the evidence of two signed blocks of one author for one round (once a slot)."""
        # TWIN-CONSENSUS-107 "A validator that receives two different validly signed blocks of
        # one author for one round MUST store their equivocation evidence durably and serve it
        # at GET /consensus/equivocations."
        evidence = make_equivocation_evidence(first, second)
        self._needs_sync = True
        self._wake.set()
        with self._store.write(durable=False) as connection:
            inserted = connection.execute(
                "INSERT OR IGNORE INTO equivocations (round, author, evidence) VALUES (?, ?, ?)",
                (evidence["round"], evidence["author"], _dump(evidence)),
            ).rowcount
        if inserted:
            LOG.warning(
                "validator %s equivocated at round %s: evidence recorded",
                evidence["author"],
                evidence["round"],
            )

    def equivocations(self, start: int, limit: int) -> list[JSONValue]:
        """Equivocation evidence in the order recorded, from position ``start`` (1-based)."""
        rows = self._store.all(
            "SELECT evidence FROM equivocations ORDER BY id LIMIT ? OFFSET ?", limit, start - 1
        )
        found: list[JSONValue] = [json.loads(str(row[0])) for row in rows]
        return found

    # -- the proposer loop ----------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = self._step()
            except Exception:
                LOG.exception("the ledger loop failed; retrying")
                delay = 0.1
            if delay == 0:
                # Let request handlers run, and add to the next block, between rounds.
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _step(self) -> float | None:
        """Commit what is decided and propose if ready.

        Return 0 to go again at once, else how long to wait at most (None: until woken).
        """
        self._commit_decided()
        delay = self._propose_when_ready(time.monotonic())
        if delay == 0:
            self._commit_decided()
        self._flush()
        return delay

    def _propose_when_ready(self, now: float) -> float | None:
        round_ = self._quorum_round + 1
        if round_ <= self._last_round or self.catching_up:
            return None
        # Rounds run while some transaction waits for a commit: in the mempool, or in a block
        # of the DAG not yet committed (a peer's transactions make every validator take part).
        if not (self._mempool or self._pending_tx_blocks):
            return None
        # TWIN-CONSENSUS-109 "A validator SHOULD propose a block of round r only once it holds
        # blocks of a quorum at round r - 1 and the leader block of round r - 1, or the leader
        # timeout has passed since the quorum was reached."
        previous = round_ - 1
        if previous > self._last_round and leader_of(previous, self._committee) == self._own:
            # The others reached round `previous` without this validator's block, but it leads
            # that round: it proposes its leader block late rather than skip it (the others wait
            # for it), then goes on to the next round.
            self._propose(previous, now)
            return 0
        if previous >= 1:
            leader = leader_of(previous, self._committee)
            has_leader = (
                leader == self._own
                or bool(self._dag.slot(previous, leader))
                or bool(self._dag.slot(round_, leader))
            )
            waited = now - self._quorum_since.get(previous, now)
            if not has_leader and waited < self.settings.leader_timeout_seconds:
                return self.settings.leader_timeout_seconds - waited
        if not self._mempool:
            paced = now - self._last_proposal
            if paced < self.settings.min_round_interval_seconds:
                return self.settings.min_round_interval_seconds - paced
        self._propose(round_, now)
        return 0

    def _propose(self, round_: int, now: float) -> None:
        assert self._last_block is not None  # noqa: S101 - set by _load
        # One ancestor per author; of an equivocating author's blocks, the first received (so
        # that every validator keeps supporting what it saw first).
        previous: dict[int, BlockRef] = {}
        for ref in self._dag.blocks_at(round_ - 1):
            if ref.author != self._own:
                previous.setdefault(ref.author, self._dag.first_in_slot(ref.round, ref.author))
        ancestors = [self._last_block, *(previous[author] for author in sorted(previous))]
        batch: list[tuple[bytes, dict[str, Any]]] = []
        size = 0
        for digest, (transaction, length) in self._mempool.items():
            if len(batch) >= self._max_transactions or (
                batch and size + length > self.settings.max_block_bytes
            ):
                break
            batch.append((digest, transaction))
            size += length
        timestamp = max(
            self._clock_ms(),
            self._last_block_ts,
            *(self._dag.timestamp(ref) for ref in ancestors[1:]),
        )
        unsigned = {
            "epoch": self._committee.epoch,
            "round": round_,
            "author": self._own,
            "timestampMs": timestamp,
            "ancestors": [ref.to_json() for ref in ancestors],
            "transactions": [transaction for _digest, transaction in batch],
        }
        block = sign_block(self._key, unsigned)
        ref = BlockRef(round_, self._own, block_digest(block))
        text = _dump(block)
        # TWIN-CONSENSUS-107 "... and MUST itself never sign two blocks for one round, also
        # across restarts": the block is stored, and sent only once synced (_flush), and after
        # a restart the validator proposes only above the last round it signed.
        with self._store.write(durable=False) as connection:
            connection.execute(
                "INSERT INTO blocks (digest, round, author, body) VALUES (?, ?, ?, ?)",
                (ref.digest, round_, self._own, text),
            )
        self._tx_digests[ref] = [digest for digest, _tx in batch]
        self._dag.add(block, ref)
        for tx_digest, _transaction in batch:
            del self._mempool[tx_digest]
            self._in_flight.add(tx_digest)
        self._last_round, self._last_block, self._last_block_ts = round_, ref, timestamp
        self._last_proposal = now
        self._after_add(ref, block)
        self._unsent_blocks.append(text.encode())
        LOG.debug("proposed round %d with %d transactions", round_, len(batch))

    # -- committing -----------------------------------------------------------------------

    def _commit_decided(self) -> None:
        if self.fault is not None:
            return
        try:
            decisions = try_commit(self._dag, self._committee, self._last_decided_round)
        except LedgerError as exc:
            # TWIN-CONSENSUS-027: two certified blocks in one slot; nothing more is committed.
            self.fault = exc.message
            LOG.error("consensus fault, the validator stops committing: %s", exc.message)
            return
        for decision in decisions:
            if decision.kind is LeaderDecisionKind.COMMIT:
                assert decision.block is not None  # noqa: S101 - a commit names its block
                self._commit(decision.block, decision.round)
            else:
                with self._store.write(durable=False) as connection:
                    connection.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_decided_round', ?)",
                        (str(decision.round),),
                    )
            self._last_decided_round = decision.round

    def _commit(self, leader: BlockRef, leader_round: int) -> None:
        # TWIN-CONSENSUS-108 "A validator MUST leave out of a commit every block at or below
        # the garbage-collection round, the previous commit's leader round minus 50."
        floor = gc_round_after(self._last_leader_round)
        refs = linearize(self._dag, leader, CommittedView(self._committed, floor))
        index, previous_digest, previous_ts = self._last_commit
        commit_ts = max(self._dag.timestamp(leader), previous_ts)
        commit = make_commit(index + 1, previous_digest, commit_ts, leader, refs)
        digest = commit_digest(commit)
        transactions: list[tuple[bytes, dict[str, Any]]] = []
        seen: set[bytes] = set()
        for ref in refs:
            block_transactions = self._dag.get(ref)["transactions"]
            digests = self._tx_digests.get(ref) or _transaction_digests(self._dag.get(ref))
            for tx_digest, transaction in zip(digests, block_transactions, strict=True):
                if tx_digest not in seen and not self._is_executed(tx_digest):
                    seen.add(tx_digest)
                    transactions.append((tx_digest, transaction))
        sequence, previous_checkpoint = self._last_summary
        summary = make_checkpoint_summary(
            self._committee.epoch,
            sequence + 1,
            index + 1,
            digest,
            [tx_digest for tx_digest, _tx in transactions],
            previous_checkpoint,
            commit_ts,
        )
        summary_digest = checkpoint_digest(summary)
        own_signature = sign_checkpoint(self._key, self._own, summary)
        pending = _Uncertified(summary, summary_digest, {self._own: own_signature})
        for signer, entry in self._early_signatures.pop(sequence + 1, {}).items():
            if self._signature_verifies(summary, signer, entry):
                pending.signatures[signer] = entry
        # TWIN-CORE-055 "A 2xx answer to a write MUST mean the write is durable": the commit,
        # its summary and the state it changes are one synchronous SQLite transaction, and
        # waiters are answered only once the certified checkpoint is stored too.
        # TWIN-CONSENSUS-113 "... every validator MUST apply each commit's transactions in
        # commit order": deterministically, with the commit's timestamp, skipping a
        # transaction an earlier commit already applied. It is synced (with whatever else the
        # loop wrote meanwhile) before any waiter of the checkpoint is answered (_flush).
        with self._store.write(durable=False) as connection:
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
                pending.outcomes.append(Outcome(tx_digest, effects, sequence + 1))
            connection.execute(
                "INSERT INTO checkpoint_summaries (sequence, digest, summary) VALUES (?, ?, ?)",
                (sequence + 1, summary_digest, _dump(summary)),
            )
            connection.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_decided_round', ?)",
                (str(leader_round),),
            )
            self._uncertified[sequence + 1] = pending
            certified = self._certify_ready(connection)
        self._committed.update(refs)
        self._pending_tx_blocks.difference_update(refs)
        self._in_flight.difference_update(tx_digest for tx_digest, _tx in transactions)
        self._last_commit = (index + 1, digest, commit_ts)
        self._last_leader_round = leader_round
        self._last_summary = (sequence + 1, summary_digest)
        self._answer(certified)
        self.network.broadcast(
            f"/consensus/checkpoints/{sequence + 1}/signatures", _dump(own_signature).encode()
        )
        LOG.debug(
            "commit %d: leader round %d, %d blocks, %d transactions",
            index + 1,
            leader_round,
            len(refs),
            len(transactions),
        )
        self._collect_garbage(gc_round_after(leader_round))

    def _collect_garbage(self, gc_round: int) -> None:
        """Forget what no rule reads any more once the garbage-collection round has moved."""
        forgotten = self._dag.prune(gc_round)
        if not forgotten:
            return
        for ref in forgotten:
            digests = self._tx_digests.pop(ref, [])
            self._committed.discard(ref)
            if ref in self._pending_tx_blocks:
                self._pending_tx_blocks.discard(ref)
                if ref.author == self._own:
                    # An own block no commit took: its transactions go back to the mempool.
                    self._requeue(ref, digests)
        for round_ in [r for r in self._quorum_since if 0 < r <= gc_round]:
            del self._quorum_since[round_]
        self.expire_held()

    def _requeue(self, ref: BlockRef, digests: list[bytes]) -> None:
        row = self._store.one("SELECT body FROM blocks WHERE digest = ?", ref.digest)
        if row is None:
            return
        transactions = json.loads(str(row[0]))["transactions"]
        for digest, transaction in zip(digests, transactions, strict=False):
            self._in_flight.discard(digest)
            if not self._is_executed(digest):
                self._mempool[digest] = (transaction, len(canonicalize(transaction)))

    # -- certifying -----------------------------------------------------------------------

    def _signature_verifies(
        self, summary: Mapping[str, JSONValue], signer: int, entry: Mapping[str, JSONValue]
    ) -> bool:
        try:
            _parsed_signer, signature = self._parse_signature(entry)
            verify_message(
                self._committee.validator(signer).public_key,
                MessageKind.CHECKPOINT,
                summary,
                signature,
            )
        except (SignatureRefusedError, TwinSpecError):
            return False
        return True

    def _parse_signature(self, entry: Mapping[str, JSONValue]) -> tuple[int, bytes]:
        """Read ``{signer, signature}`` strictly: (signer, the 64 signature bytes)."""
        probe = {"summary": _PROBE_SUMMARY, "signatures": [dict(entry)]}
        try:
            parsed = read_certified_checkpoint(probe, field="body", max_signers=1)
        except LedgerError as exc:
            field_name = (exc.field or "body").replace("body.signatures[0]", "body")
            raise SignatureRefusedError("malformed", field_name, exc.message) from None
        ((signer, signature),) = parsed.signatures
        return signer, signature

    def receive_signature(self, sequence: int, entry: Mapping[str, JSONValue]) -> str:
        """Take a peer's checkpoint signature; return counted, pending or ignored.

        Raises SignatureRefusedError (malformed, unknownSigner, badSignature) when it does not
        verify under the signer's committee key over the node's own summary.
        """
        # TWIN-CONSENSUS-105 "A node MUST verify a checkpoint signature from a peer under the
        # signer's committee key over its own summary of that sequence, refusing it with 400
        # and properties.code (malformed, unknownSigner, badSignature) otherwise, and MUST
        # store a checkpoint only once signatures of a quorum of the committee verify."
        signer, signature = self._parse_signature(entry)
        if signer >= self._committee.size:
            raise SignatureRefusedError(
                "unknownSigner", "body.signer", f"{signer} is not a committee index"
            )
        summary: Mapping[str, JSONValue] | None = None
        pending = self._uncertified.get(sequence)
        if pending is not None:
            summary = pending.summary
        elif sequence <= self._last_certified:
            row = self._store.one("SELECT body FROM checkpoints WHERE sequence = ?", sequence)
            if row is not None:
                summary = json.loads(str(row[0]))["summary"]
        if summary is None:
            if self._last_summary[0] < sequence <= self._last_certified + SIGNATURE_WINDOW:
                self._early_signatures.setdefault(sequence, {})[signer] = dict(entry)
                return "pending"
            return "ignored"
        try:
            key = self._committee.validator(signer).public_key
            verify_message(key, MessageKind.CHECKPOINT, summary, signature)
        except SignatureError as exc:
            raise SignatureRefusedError(
                "badSignature",
                "body.signature",
                f"does not verify under validator {signer} over the node's summary of "
                f"sequence {sequence}: {exc.message}",
            ) from None
        if pending is not None and signer not in pending.signatures:
            pending.signatures[signer] = dict(entry)
            self._store_certified()
        return "counted"

    def offer_certified(self, certified: object) -> bool:
        """Take a certified checkpoint fetched from a peer for a summary still uncertified here.

        It is used only when its summary is the node's own for that sequence and its
        signatures verify under the committee; return whether it was.
        """
        try:
            parsed = read_certified_checkpoint(certified, max_signers=self._committee.size)
        except LedgerError:
            return False
        pending = self._uncertified.get(parsed.fields.sequence)
        if pending is None:
            return False
        if checkpoint_digest(parsed.summary) != pending.digest:
            LOG.error(
                "a peer certified another summary for sequence %d than this node committed",
                parsed.fields.sequence,
            )
            return False
        try:
            verify_certified_checkpoint(certified, self._committee)
        except LedgerError:
            return False
        assert isinstance(certified, dict)  # noqa: S101 - read_certified_checkpoint checked it
        for entry in certified["signatures"]:
            pending.signatures.setdefault(int(entry["signer"]), dict(entry))
        self._store_certified()
        return True

    def _store_certified(self) -> None:
        """Store the checkpoints now certified (in one synced transaction) and answer."""
        pending = self._uncertified.get(self._last_certified + 1)
        if pending is None or not self._committee.is_quorum(pending.signatures):
            return
        with self._store.write(durable=False) as connection:
            answered = self._certify_ready(connection)
        self._answer(answered)

    def _certify_ready(self, connection: Any) -> list[Outcome]:  # noqa: ANN401 - sqlite3
        """Store, in sequence order, every checkpoint whose signatures reach a quorum."""
        # TWIN-CONSENSUS-106 "A validator MUST answer a write only once the checkpoint holding
        # its transaction is certified by signatures of a quorum of the committee and stored
        # durably": the outcomes returned here are answered after this transaction commits.
        outcomes: list[Outcome] = []
        while (pending := self._uncertified.get(self._last_certified + 1)) is not None:
            if not self._committee.is_quorum(pending.signatures):
                break
            certified = certify_checkpoint(pending.summary, list(pending.signatures.values()))
            sequence = self._last_certified + 1
            connection.execute(
                "INSERT INTO checkpoints (sequence, digest, body) VALUES (?, ?, ?)",
                (sequence, pending.digest, _dump(certified)),
            )
            outcomes.extend(pending.outcomes)
            LOG.debug("checkpoint %d certified", sequence)
            del self._uncertified[sequence]
            self._early_signatures.pop(sequence, None)
            self._last_certified = sequence
        return outcomes

    def _answer(self, outcomes: list[Outcome]) -> None:
        """Answer these waiters once what is written so far is synced (the loop's _flush)."""
        self._unanswered.extend(outcomes)
        self._needs_sync = True
        self._wake.set()

    def _flush(self) -> None:
        """Sync the database once for everything written since the last time (group commit).

        Then send the blocks proposed meanwhile and answer the waiters certified meanwhile.
        """
        if not self._needs_sync and not self._unsent_blocks:
            return
        # TWIN-CORE-055: one synchronous SQLite transaction; the WAL is one file, so syncing it
        # makes every transaction written before durable too.
        with self._store.write() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('synced_round', ?)",
                (str(self._last_round),),
            )
        self._needs_sync = False
        blocks, self._unsent_blocks = self._unsent_blocks, []
        for body in blocks:
            self.network.broadcast("/consensus/blocks", body)
        outcomes, self._unanswered = self._unanswered, []
        for outcome in outcomes:
            for future in self._waiters.pop(outcome.digest, []):
                if not future.done():
                    future.set_result(outcome)

    def stale_checkpoints(self, age: float) -> list[int]:
        """Sequences signed at least ``age`` seconds ago and still uncertified."""
        now = time.monotonic()
        return [seq for seq, item in self._uncertified.items() if now - item.created >= age]

    def resend_signatures(self, age: float) -> None:
        """Send the own signature again for checkpoints uncertified for ``age`` seconds."""
        now = time.monotonic()
        for sequence, pending in list(self._uncertified.items())[:256]:
            if now - pending.sent >= age:
                pending.sent = now
                self.network.broadcast(
                    f"/consensus/checkpoints/{sequence}/signatures",
                    _dump(pending.signatures[self._own]).encode(),
                )

    def _is_executed(self, digest: bytes) -> bool:
        return self._store.one("SELECT 1 FROM transactions WHERE digest = ?", digest) is not None

    # -- reading --------------------------------------------------------------------------

    @property
    def commit_index(self) -> int:
        """The index of the last commit applied."""
        return self._last_commit[0]

    def receipt(self, digest: bytes) -> dict[str, Any] | None:
        """The receipt of a transaction in a certified checkpoint, or None (not yet)."""
        row = self._store.one("SELECT checkpoint FROM transactions WHERE digest = ?", digest)
        if row is None:
            return None
        sequence = int(str(row[0]))
        checkpoint = self._store.one("SELECT body FROM checkpoints WHERE sequence = ?", sequence)
        if checkpoint is None:
            return None
        digests = [
            _blob(entry[0])
            for entry in self._store.all(
                "SELECT digest FROM transactions WHERE checkpoint = ? ORDER BY position", sequence
            )
        ]
        return make_receipt(digest, digests, json.loads(str(checkpoint[0])))

    def _stored_outcome(self, digest: bytes) -> Outcome | None:
        """The outcome of an already committed transaction (submitted again), or None."""
        row = self._store.one("SELECT checkpoint FROM transactions WHERE digest = ?", digest)
        effects = self.transaction_outcome(digest)
        if row is None or effects is None:
            return None
        return Outcome(digest, effects, int(str(row[0])))

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


_PROBE_SUMMARY: dict[str, JSONValue] = make_checkpoint_summary(1, 1, 1, bytes(32), [], bytes(32), 0)
"""A well-formed summary, so that read_certified_checkpoint reads one signature entry."""
