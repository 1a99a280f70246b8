"""Proposing: the mempool, and the validator's own block of each round.

A validator proposes a block of round r once it holds blocks of a quorum at round r - 1 and that
round's leader block, or once the leader timeout has passed without it (TWIN-CONSENSUS-109), the
leader being the one the leader schedule in force names (the committer's, TWIN-CONSENSUS-117);
its ancestors are its own previous block first, then one block per other author of round r - 1;
its transactions are taken from the mempool up to the block limits. A proposed block is stored,
then sent only once synced (``_group_commit.py``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from twin_reference._errors import ServiceUnavailableError
from twin_reference._group_commit import GroupCommit
from twin_reference._ledger_store import LedgerStore, dump_json
from twin_reference._live_dag import LiveDag
from twin_spec import (
    MAX_BLOCK_TRANSACTIONS,
    MAX_BLOCK_VALUES,
    BlockRef,
    Committee,
    Ed25519SigningKey,
    TwinSpecError,
    block_digest,
    block_ref,
    canonicalize,
    check_transaction,
    json_value_count,
    sign_block,
)

LOG = logging.getLogger("twin_reference.ledger")


@dataclass(frozen=True)
class ConsensusSettings:
    """How a validator paces its rounds and bounds its queues (``twin-node serve --help``)."""

    leader_timeout_seconds: float = 1.0
    min_round_interval_seconds: float = 0.005
    """A block that carries no transaction waits this long after the validator's previous one
    (in a committee of more than one validator)."""
    batch_interval_seconds: float = 0.01
    """In a committee of one, a round no request waits on (its transactions were answered on
    acceptance, or it completes their commit) waits this long after the previous round: one
    round, one commit and one sync carry everything accepted meanwhile."""
    max_block_transactions: int = MAX_BLOCK_TRANSACTIONS
    max_block_bytes: int = 768 * 1024
    """Transactions of one block, in bytes of JCS: a block stays well under 1 MiB of JSON."""
    max_block_values: int = MAX_BLOCK_VALUES // 2
    """JSON values of one block's transactions: half what a peer takes (TWIN-CONSENSUS-133)."""
    max_mempool: int = 100_000
    commit_timeout_seconds: float = 30.0
    block_retention_rounds: int = 10_000
    """Rounds below the garbage-collection round whose blocks stay stored, for peers that lag;
    older blocks are deleted (those a restart reads to resume the leader schedule stay)."""


class Mempool:
    """Transactions waiting for a block of this validator, and those in its blocks not committed."""

    def __init__(self, ledger: LedgerStore, limit: int) -> None:
        self._ledger = ledger
        self._limit = limit
        self._waiting: dict[bytes, tuple[dict[str, Any], int, int]] = {}
        self._in_flight: set[bytes] = set()

    def __len__(self) -> int:
        return len(self._waiting)

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def pending(self) -> set[bytes]:
        """The digests of the transactions waiting here or in this validator's blocks."""
        return self._waiting.keys() | self._in_flight

    def holds(self, digest: bytes) -> bool:
        """Whether the transaction waits here or is in a block of this validator not committed."""
        return digest in self._waiting or digest in self._in_flight

    def queue(self, transaction: dict[str, Any], canonical: bytes | None = None) -> bytes:
        """Add a transaction (once); return its digest. A full mempool is a 503.

        ``canonical`` is the transaction's JCS form when the caller already has it.
        """
        canonical = canonicalize(transaction) if canonical is None else canonical
        digest = hashlib.sha256(canonical).digest()
        if digest in self._waiting or digest in self._in_flight or self._ledger.is_executed(digest):
            return digest
        self.check_room()
        self._waiting[digest] = _entry(transaction, canonical)
        return digest

    def check_room(self) -> None:
        """Raise the 503 of a full mempool (before anything is kept for a transaction)."""
        if len(self._waiting) >= self._limit:
            raise ServiceUnavailableError(
                f"the mempool holds {len(self._waiting)} transactions; try again later"
            )

    def batch(
        self, max_count: int, max_bytes: int, max_values: int
    ) -> list[tuple[bytes, dict[str, Any]]]:
        """The oldest waiting transactions that fit a block (at least one if any waits)."""
        batch: list[tuple[bytes, dict[str, Any]]] = []
        size = values = 0
        for digest, (transaction, length, count) in self._waiting.items():
            if len(batch) >= max_count or (
                batch and (size + length > max_bytes or values + count > max_values)
            ):
                break
            batch.append((digest, transaction))
            size += length
            values += count
        return batch

    def drop(self, digest: bytes) -> None:
        """Forget a waiting transaction that cannot be put in a block."""
        self._waiting.pop(digest, None)

    def proposed(self, digests: list[bytes]) -> None:
        """These transactions are in a block the validator signed."""
        for digest in digests:
            del self._waiting[digest]
            self._in_flight.add(digest)

    def committed(self, digests: list[bytes]) -> None:
        """These transactions are committed: no longer in flight."""
        self._in_flight.difference_update(digests)

    def requeue(self, transactions: list[tuple[bytes, dict[str, Any]]]) -> None:
        """Put back transactions of an own block no commit took (garbage-collected)."""
        for digest, transaction in transactions:
            self._in_flight.discard(digest)
            if not self._ledger.is_executed(digest):
                self._waiting[digest] = _entry(transaction, canonicalize(transaction))


def _entry(transaction: dict[str, Any], canonical: bytes) -> tuple[dict[str, Any], int, int]:
    """A mempool entry: the transaction, its size in bytes of JCS and its JSON values."""
    return transaction, len(canonical), json_value_count(canonical, MAX_BLOCK_VALUES)


class Proposer:
    """The validator's own blocks: when to propose the next, and proposing it."""

    def __init__(
        self,
        committee: Committee,
        own_index: int,
        key: Ed25519SigningKey,
        clock_ms: Callable[[], int],
        settings: ConsensusSettings,
        dag: LiveDag,
        mempool: Mempool,
        ledger: LedgerStore,
        io: GroupCommit,
        on_added: Callable[[BlockRef, Mapping[str, Any], list[bytes]], None],
        on_dropped: Callable[[bytes, str], None],
        leader_of: Callable[[int], int],
        awaited: Callable[[], bool] = lambda: True,
    ) -> None:
        self._committee = committee
        self._awaited = awaited
        """Whether a request waits for a commit (a committee of one then does not pace)."""
        self._leader_of = leader_of
        """The leader of a round under the schedule in force (the committer's)."""
        self._own = own_index
        self._key = key
        self._clock_ms = clock_ms
        self._settings = settings
        self._max_transactions = min(settings.max_block_transactions, MAX_BLOCK_TRANSACTIONS)
        self._dag = dag
        self._mempool = mempool
        self._ledger = ledger
        self._io = io
        self._on_added = on_added
        self._on_dropped = on_dropped
        self.last_round = 0
        self._last_block: BlockRef | None = None
        self._last_block_ts = 0
        self._last_proposal = 0.0

    def load(self) -> None:
        """Continue above the last block the validator signed (never a round twice)."""
        own = self._ledger.latest_block_of(self._own)
        if own is not None:
            self.last_round = int(own["round"])
            self._last_block = block_ref(own)
            self._last_block_ts = int(own["timestampMs"])
        else:
            self._last_block = next(
                ref for ref in self._dag.blocks_at(0) if ref.author == self._own
            )

    def propose_when_ready(self, now: float) -> float | None:
        """Propose if the round is ready; return 0 to go again, a delay, or None (wait).

        The caller calls this only while some transaction waits for a commit.
        """
        round_ = self._dag.quorum_round + 1
        if round_ <= self.last_round:
            return None
        # TWIN-CONSENSUS-109 "A validator SHOULD propose a block of round r only once it holds
        # blocks of a quorum at round r - 1 and the leader block of round r - 1, or the leader
        # timeout has passed since the quorum was reached."
        previous = round_ - 1
        if previous > self.last_round and self._leader_of(previous) == self._own:
            # The others reached round `previous` without this validator's block, but it leads
            # that round: it proposes its leader block late rather than skip it (the others wait
            # for it), then goes on to the next round.
            self.propose(previous, now)
            return 0
        if previous >= 1:
            leader = self._leader_of(previous)
            has_leader = (
                leader == self._own
                or bool(self._dag.slot(previous, leader))
                or bool(self._dag.slot(round_, leader))
            )
            waited = now - self._dag.quorum_reached_at(previous, now)
            if not has_leader and waited < self._settings.leader_timeout_seconds:
                return self._settings.leader_timeout_seconds - waited
        # A committee of one has no peer to wait for: while a request waits for a commit, its
        # rounds follow one another at once; transactions answered before their commit
        # (accepted, TWIN-ANCHORING-050) wait for the paced round, so that one round carries
        # many of them. A committee paces the rounds whose blocks carry no transaction.
        if self._committee.size > 1:
            waits, interval = bool(self._mempool), self._settings.min_round_interval_seconds
        else:
            waits, interval = self._awaited(), self._settings.batch_interval_seconds
        if not waits:
            paced = now - self._last_proposal
            if paced < interval:
                return interval - paced
        self.propose(round_, now)
        return 0

    def propose(self, round_: int, now: float) -> None:
        """Sign, store and (after the next sync) send the validator's block of ``round_``."""
        assert self._last_block is not None  # noqa: S101 - set by load
        # One ancestor per author; of an equivocating author's blocks, the first received (so
        # that every validator keeps supporting what it saw first).
        previous: dict[int, BlockRef] = {}
        for ref in self._dag.blocks_at(round_ - 1):
            if ref.author != self._own:
                previous.setdefault(ref.author, self._dag.first_in_slot(ref.round, ref.author))
        ancestors = [self._last_block, *(previous[author] for author in sorted(previous))]
        # TWIN-CONSENSUS-133 "A validator MUST NOT send a block whose JSON text is over 2 MiB or
        # holds more than 262144 JSON values": the batch keeps well inside both.
        batch = self._mempool.batch(
            self._max_transactions,
            self._settings.max_block_bytes,
            self._settings.max_block_values,
        )
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
        try:
            block = sign_block(self._key, unsigned)
            ref = BlockRef(round_, self._own, block_digest(block))
            text = dump_json(block)
        except (TwinSpecError, ValueError, RecursionError):
            if not self._drop_unfit(batch):
                raise
            return

        # TWIN-CONSENSUS-107 "... and MUST itself never sign two blocks for one round, also
        # across restarts": the block is stored, and sent only once synced (_group_commit), and
        # after a restart the validator proposes only above the last round it signed.
        with self._ledger.write(durable=False) as connection:
            self._ledger.insert_block(connection, ref, text)
        digests = [digest for digest, _tx in batch]
        self._dag.add(block, ref)
        self._mempool.proposed(digests)
        self.last_round, self._last_block, self._last_block_ts = round_, ref, timestamp
        self._last_proposal = now
        self._on_added(ref, block, digests)
        self._io.send_after_sync(text.encode())
        LOG.debug("proposed round %d with %d transactions", round_, len(batch))

    def _drop_unfit(self, batch: list[tuple[bytes, dict[str, Any]]]) -> bool:
        """Drop the transactions of a batch that no block can carry; return whether any was.

        Admission checks every transaction against the limits (TWIN-ANCHORING-061), so this
        finds nothing unless a transaction reached the mempool another way.
        """
        # TWIN-CONSENSUS-131 "A validator MUST NOT retry forever a transaction it cannot put in
        # a block ...: it MUST drop a queued transaction that cannot be proposed and record
        # why": it is dropped once, with the limit it breaks, and the round goes on.
        dropped = False
        for digest, transaction in batch:
            try:
                check_transaction(transaction)
                canonicalize({"transactions": [transaction]})
            except (TwinSpecError, ValueError, RecursionError) as exc:
                reason = getattr(exc, "message", None) or repr(exc)
                LOG.error(
                    "transaction %s cannot be put in a block and is dropped: %s",
                    digest.hex(),
                    reason,
                )
                self._mempool.drop(digest)
                self._on_dropped(digest, str(reason)[:2000])
                dropped = True
        return dropped
