"""Committing: the commit rule over the DAG, applying each commit, and garbage collection.

The spec core's commit rule (``try_commit``) decides leader slots above the last decided round;
each committed leader's causal history is linearised into a commit whose transactions are
applied in order (TWIN-CONSENSUS-113). The commit, its transactions and what they changed,
and the checkpoint summary the validator signs for it are one SQLite transaction. Once the
garbage-collection round moves, what no rule reads any more leaves memory
(TWIN-CONSENSUS-108); an own block no commit took gives its transactions back to the mempool.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from twin_reference._certifying import ZERO_DIGEST, Certifier
from twin_reference._group_commit import GroupCommit
from twin_reference._ledger_store import LedgerStore, dump_json
from twin_reference._live_dag import CommittedView, LiveDag, gc_round_after
from twin_reference._peers import PeerNetwork
from twin_reference._proposing import Mempool
from twin_reference._receiving import transaction_digests
from twin_reference._transactions import Outcome, apply_transaction
from twin_spec import (
    BlockRef,
    Committee,
    LeaderDecisionKind,
    LedgerError,
    commit_digest,
    linearize,
    make_checkpoint_summary,
    make_commit,
    try_commit,
)

LOG = logging.getLogger("twin_reference.ledger")


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
        network: PeerNetwork,
        io: GroupCommit,
        after_collect: Callable[[], None],
    ) -> None:
        self._committee = committee
        self._own = own_index
        self._dag = dag
        self._ledger = ledger
        self._mempool = mempool
        self._certifier = certifier
        self._network = network
        self._io = io
        self._after_collect = after_collect
        self.committed: set[BlockRef] = set()
        """Blocks above the garbage-collection round that a commit took."""
        self.tx_digests: dict[BlockRef, list[bytes]] = {}
        """The digests of each block's transactions, for the blocks in the DAG."""
        self._pending_tx_blocks: set[BlockRef] = set()
        self._pending_digests: dict[bytes, int] = {}
        self._last_commit: tuple[int, bytes, int] = (0, ZERO_DIGEST, 0)
        self._last_leader_round = 0
        self._last_decided_round = 0
        self.fault: str | None = None
        """Why the validator stopped committing (two certified blocks in one slot), or None."""

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
        """Take the last commit from the database; collect the DAG up to its round."""
        last = self._ledger.last_commit()
        if last is not None:
            index, digest, commit = last
            self._last_commit = (index, digest, int(commit["timestampMs"]))
            self._last_leader_round = int(commit["leader"]["round"])
        self._dag.prune(gc_round_after(self._last_leader_round))
        self._last_decided_round = self._ledger.last_decided_round()

    def load_committed(self) -> None:
        """Mark the DAG's blocks that commits took (newest commits first, down to the GC round)."""
        gc_round = self._dag.gc_round
        for commit in self._ledger.commits_newest_first():
            if int(commit["leader"]["round"]) <= gc_round:
                break
            for ref_json in commit["blocks"]:
                ref = BlockRef.from_json(ref_json)
                if ref.round > gc_round:
                    self.committed.add(ref)
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
                with self._ledger.write(durable=False) as connection:
                    self._ledger.set_decided_round(connection, decision.round)
            self._last_decided_round = decision.round

    def _commit(self, leader: BlockRef, leader_round: int) -> None:
        # TWIN-CONSENSUS-108 "A validator MUST leave out of a commit every block at or below
        # the garbage-collection round, the previous commit's leader round minus 50."
        floor = gc_round_after(self._last_leader_round)
        refs = linearize(self._dag, leader, CommittedView(self.committed, floor))
        index, previous_digest, previous_ts = self._last_commit
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
            self._ledger.set_decided_round(connection, leader_round)
            own_signature, certified = self._certifier.sign(connection, summary, outcomes)
        self.committed.update(refs)
        for ref in refs:
            self._track(ref, pending=False)
        self._mempool.committed([tx_digest for tx_digest, _tx in transactions])
        self._last_commit = (index + 1, digest, commit_ts)
        self._last_leader_round = leader_round
        self._io.answer_after_sync(certified)
        self._network.broadcast(
            f"/consensus/checkpoints/{sequence + 1}/signatures", dump_json(own_signature).encode()
        )
        LOG.debug(
            "commit %d: leader round %d, %d blocks, %d transactions",
            index + 1,
            leader_round,
            len(refs),
            len(transactions),
        )
        self._collect_garbage(gc_round_after(leader_round))

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
            self.committed.discard(ref)
            if was_pending and ref.author == self._own:
                # An own block no commit took: its transactions go back to the mempool.
                self._requeue(ref, digests)
        self._after_collect()

    def _requeue(self, ref: BlockRef, digests: list[bytes]) -> None:
        block = self._ledger.block(ref.digest)
        if block is None:
            return
        self._mempool.requeue(list(zip(digests, block["transactions"], strict=False)))
