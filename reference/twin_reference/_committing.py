"""Committing: the commit rule over the DAG, applying each commit, and garbage collection.

The spec core's :class:`~twin_spec.CommitSequencer` decides leader slots above the last decided
round under the leader schedule in force, linearises each committed leader's causal history
above the garbage-collection round, and changes the leader schedule every N commits
(TWIN-CONSENSUS-115); each commit's transactions are applied in order (TWIN-CONSENSUS-113).
After a restart the sequencer is resumed from the stored commits (``CommitSequencer.resume``),
so the schedule in force and the scores of the current window are the ones it had. The commit,
its transactions and what they changed, and the checkpoint summary the validator signs for it
are one SQLite transaction. Once the garbage-collection round moves, what no rule reads any
more leaves memory (TWIN-CONSENSUS-108); an own block no commit took gives its transactions
back to the mempool.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from twin_reference._certifying import ZERO_DIGEST, Certifier
from twin_reference._group_commit import GroupCommit
from twin_reference._ledger_store import LedgerStore
from twin_reference._live_dag import LiveDag, refs_of
from twin_reference._proposing import Mempool
from twin_reference._receiving import transaction_digests
from twin_reference._transactions import Outcome, apply_transaction
from twin_spec import (
    BlockRef,
    CommitSequencer,
    CommittedSubDag,
    Committee,
    Dag,
    LeaderDecisionKind,
    LedgerError,
    commit_digest,
    gc_round_after,
    make_checkpoint_summary,
    make_commit,
)

LOG = logging.getLogger("twin_reference.ledger")
PRUNE_STEP_ROUNDS = 100
"""Stored blocks are deleted in steps of at least this many rounds (one statement each)."""


class Committer:
    """Commits: deciding, linearising, applying, and forgetting what is collected."""

    def __init__(
        self,
        committee: Committee,
        own_index: int,
        dag: LiveDag,
        ledger: LedgerStore,
        mempool: Mempool,
        certifier: Certifier,
        io: GroupCommit,
        after_collect: Callable[[], None],
        *,
        block_retention_rounds: int = 10_000,
    ) -> None:
        self._committee = committee
        self._own = own_index
        self._dag = dag
        self._ledger = ledger
        self._mempool = mempool
        self._certifier = certifier
        self._io = io
        self._after_collect = after_collect
        self._retention = block_retention_rounds
        self._pruned_up_to = 0
        """The round up to which stored blocks were deleted (since the start)."""
        self._sequencer = CommitSequencer(committee)
        self.tx_digests: dict[BlockRef, list[bytes]] = {}
        """The digests of each block's transactions, for the blocks in the DAG."""
        self._pending_tx_blocks: set[BlockRef] = set()
        self._pending_digests: dict[bytes, int] = {}
        self._last_commit: tuple[int, bytes, int] = (0, ZERO_DIGEST, 0)
        self.fault: str | None = None
        """Why the validator stopped committing (two certified blocks in one slot), or None."""

    @property
    def committed(self) -> AbstractSet[BlockRef]:
        """Blocks above the garbage-collection round that a commit took."""
        return self._sequencer.committed

    def leader_of(self, round_: int) -> int:
        """The leader of ``round_`` under the leader schedule in force (TWIN-CONSENSUS-117)."""
        return self._sequencer.schedule.leader_of(round_)

    @property
    def commit_index(self) -> int:
        """The index of the last commit applied."""
        return self._last_commit[0]

    @property
    def has_pending_blocks(self) -> bool:
        """Whether a block in the DAG carries transactions no commit took yet."""
        return bool(self._pending_tx_blocks)

    def in_pending_block(self, digest: bytes) -> bool:
        """Whether a block in the DAG that no commit took yet carries this transaction."""
        return digest in self._pending_digests

    def _track(self, ref: BlockRef, pending: bool) -> None:
        """Count (or stop counting) the transactions of a block no commit took yet."""
        if pending == (ref in self._pending_tx_blocks):
            return
        if pending:
            self._pending_tx_blocks.add(ref)
        else:
            self._pending_tx_blocks.discard(ref)
        for digest in self.tx_digests.get(ref, ()):
            count = self._pending_digests.get(digest, 0) + (1 if pending else -1)
            if count > 0:
                self._pending_digests[digest] = count
            else:
                self._pending_digests.pop(digest, None)

    # -- start-up -----------------------------------------------------------------------------

    def load_commits(self) -> None:
        """Resume the commit sequence from the database; collect the DAG up to its GC round."""
        last = self._ledger.last_commit()
        if last is not None:
            index, digest, commit = last
            self._last_commit = (index, digest, int(commit["timestampMs"]))
        self._sequencer = self._resumed()
        self._dag.prune(self._sequencer.gc_round)

    def _resumed(self) -> CommitSequencer:
        """The sequencer as it was after the last stored commit (TWIN-CONSENSUS-115)."""
        per_schedule = self._sequencer.parameters.commits_per_schedule
        gc_depth = self._sequencer.gc_depth
        stored: list[CommittedSubDag] = []
        floor = 0
        for commit in self._ledger.commits_newest_first():
            subdag = CommittedSubDag(
                int(commit["index"]),
                BlockRef.from_json(commit["leader"]),
                tuple(refs_of(commit["blocks"])),
            )
            if not stored:
                floor = gc_round_after(subdag.leader.round, gc_depth)
                needed = max(1, (subdag.index // per_schedule - 1) * per_schedule + 1)
            stored.append(subdag)
            if subdag.index <= needed and subdag.leader.round <= floor:
                break
        stored.reverse()
        last_leader_round = stored[-1].leader.round if stored else 0
        return CommitSequencer.resume(
            self._committee,
            stored,
            _StoredDag(self._committee, self._ledger),
            max(self._ledger.last_decided_round(), last_leader_round),
            gc_depth=gc_depth,
            schedule=self._sequencer.parameters,
        )

    def load_committed(self) -> None:
        """Stop counting the transactions of the DAG's blocks that commits took."""
        for ref in self.committed:
            self._track(ref, pending=False)

    def note_block(self, ref: BlockRef, block: Mapping[str, Any], digests: list[bytes]) -> None:
        """A block joined the DAG: remember its transactions until a commit takes them."""
        if ref not in self.tx_digests:
            self.tx_digests[ref] = digests or transaction_digests(block)
        if block["transactions"]:
            self._track(ref, pending=True)

    # -- committing ---------------------------------------------------------------------------

    def commit_decided(self) -> None:
        """Run the commit rule; apply every leader it commits, in order."""
        if self.fault is not None:
            return
        try:
            # TWIN-CONSENSUS-115 "... once commit k*N is made a validator MUST make a new leader
            # swap table ... and use it for every slot above that commit's leader round":
            # the spec core's sequencer decides, linearises and changes the schedule.
            output = self._sequencer.advance(self._dag)
        except LedgerError as exc:
            # TWIN-CONSENSUS-027: two certified blocks in one slot; nothing more is committed.
            self.fault = exc.message
            LOG.error("consensus fault, the validator stops committing: %s", exc.message)
            return
        commits = iter(output.commits)
        try:
            for decision in output.decisions:
                if decision.kind is LeaderDecisionKind.COMMIT:
                    self._commit(next(commits), decision.round)
                else:
                    with self._ledger.write(durable=False) as connection:
                        self._ledger.set_decided_round(connection, decision.round)
        except BaseException:
            # The sequencer is ahead of what was stored: take it back to the database.
            self._sequencer = self._resumed()
            raise
        for table in output.schedules:
            LOG.info(
                "leader schedule after commit %d: good %s, bad %s",
                table.after_commit,
                list(table.good),
                list(table.bad),
            )

    def _commit(self, subdag: CommittedSubDag, leader_round: int) -> None:
        # TWIN-CONSENSUS-108 "A validator MUST leave out of a commit every block at or below
        # the garbage-collection round, the previous commit's leader round minus 50": the
        # sequencer's linearizer did.
        leader, refs = subdag.leader, list(subdag.blocks)
        index, previous_digest, previous_ts = self._last_commit
        if subdag.index != index + 1:
            raise LedgerError(f"commit {subdag.index} does not follow commit {index}")
        commit_ts = max(self._dag.timestamp(leader), previous_ts)
        commit = make_commit(index + 1, previous_digest, commit_ts, leader, refs)
        digest = commit_digest(commit)
        transactions: list[tuple[bytes, dict[str, Any]]] = []
        seen: set[bytes] = set()
        for ref in refs:
            block = self._dag.get(ref)
            digests = self.tx_digests.get(ref) or transaction_digests(block)
            for tx_digest, transaction in zip(digests, block["transactions"], strict=True):
                if tx_digest not in seen and not self._ledger.is_executed(tx_digest):
                    seen.add(tx_digest)
                    transactions.append((tx_digest, transaction))
        sequence, previous_checkpoint = self._certifier.last_summary
        summary = make_checkpoint_summary(
            self._committee.epoch,
            sequence + 1,
            index + 1,
            digest,
            [tx_digest for tx_digest, _tx in transactions],
            previous_checkpoint,
            commit_ts,
        )
        # TWIN-CORE-055 "A 2xx answer to a write MUST mean the write is durable": the commit,
        # its summary and the state it changes are one synchronous SQLite transaction, and
        # waiters are answered only once the certified checkpoint is stored too.
        # TWIN-CONSENSUS-113 "... every validator MUST apply each commit's transactions in
        # commit order": deterministically, with the commit's timestamp, skipping a
        # transaction an earlier commit already applied. It is synced (with whatever else the
        # loop wrote meanwhile) before any waiter of the checkpoint is answered (_group_commit).
        outcomes: list[Outcome] = []
        with self._ledger.write(durable=False) as connection:
            self._ledger.insert_commit(connection, index + 1, digest, commit)
            for position, (tx_digest, transaction) in enumerate(transactions):
                effects = apply_transaction(connection, transaction, tx_digest, commit_ts)
                self._ledger.insert_transaction(
                    connection, tx_digest, sequence + 1, position, transaction, effects
                )
                outcomes.append(Outcome(tx_digest, effects, sequence + 1))
            # The decided round is stored only for a skipped slot: a restart takes the larger
            # of it and the last commit's leader round (_resumed), which is this one.
            self._ledger.forget_accepted(connection, [tx_digest for tx_digest, _tx in transactions])
            own_signature, certified = self._certifier.sign(connection, summary, outcomes)
        for ref in refs:
            self._track(ref, pending=False)
        self._mempool.committed([tx_digest for tx_digest, _tx in transactions])
        self._last_commit = (index + 1, digest, commit_ts)
        self._io.answer_after_sync(certified)
        self._certifier.send_signature(sequence + 1, own_signature)
        LOG.debug(
            "commit %d: leader round %d, %d blocks, %d transactions",
            index + 1,
            leader_round,
            len(refs),
            len(transactions),
        )
        self._collect_garbage(gc_round_after(leader_round, self._sequencer.gc_depth))

    # -- garbage collection -------------------------------------------------------------------

    def _collect_garbage(self, gc_round: int) -> None:
        """Forget what no rule reads any more once the garbage-collection round has moved."""
        forgotten = self._dag.prune(gc_round)
        if not forgotten:
            return
        for ref in forgotten:
            was_pending = ref in self._pending_tx_blocks
            self._track(ref, pending=False)
            digests = self.tx_digests.pop(ref, [])
            if was_pending and ref.author == self._own:
                # An own block no commit took: its transactions go back to the mempool.
                self._requeue(ref, digests)
        self._after_collect()
        self._prune_stored(gc_round)

    def _prune_stored(self, gc_round: int) -> None:
        """Delete the stored blocks older than the retention that no restart reads.

        A lagging peer can fetch blocks down to ``block_retention_rounds`` below the
        garbage-collection round; below that, they take up disk for nothing a rule reads. A
        restart resumes the leader schedule from the commits of the window before the current
        one and reads their blocks' ancestors (``CommitSequencer.resume``): those stay.
        """
        floor = gc_round - self._retention
        if floor < self._pruned_up_to + PRUNE_STEP_ROUNDS:
            return
        per_schedule = self._sequencer.parameters.commits_per_schedule
        needed = (self.commit_index // per_schedule - 1) * per_schedule + 1
        leader_round = self._ledger.commit_leader_round(needed - 1) if needed > 1 else None
        if leader_round is None:
            return
        # Every block of commit `needed` and later is above this round (TWIN-CONSENSUS-108).
        floor = min(floor, gc_round_after(leader_round, self._sequencer.gc_depth))
        if floor <= self._pruned_up_to:
            return
        deleted = self._ledger.prune_blocks(floor)
        self._pruned_up_to = floor
        LOG.debug("deleted %d stored blocks up to round %d", deleted, floor)

    def _requeue(self, ref: BlockRef, digests: list[bytes]) -> None:
        block = self._ledger.block(ref.digest)
        if block is None:
            return
        self._mempool.requeue(list(zip(digests, block["transactions"], strict=False)))


class _StoredDag(Dag):
    """The ancestors of stored blocks, read from the database, to resume the sequencer's tally."""

    def __init__(self, committee: Committee, ledger: LedgerStore) -> None:
        super().__init__(committee)
        self._ledger = ledger

    def ancestors(self, ref: BlockRef) -> tuple[BlockRef, ...]:
        """Return the ancestors the stored block ``ref`` names."""
        block = self._ledger.block(ref.digest)
        if block is None:
            raise LedgerError(f"block {ref.to_json()} of a stored commit is not stored")
        return tuple(refs_of(block["ancestors"]))
