"""Group commit: what the validator's loop may only send or answer once the database is synced.

The parts of the validator write with ``durable=False`` (atomic, but not yet synced) and note
here what depends on those writes: blocks it proposed (sent only once stored durably, so a
restarted validator never signs a round twice) and outcomes of certified checkpoints (answered
only once durable, TWIN-CORE-055). The loop then syncs once for all of it
(:meth:`GroupCommit.flush`), however many transactions it wrote meanwhile. A committee of one
sends nothing, so it syncs only before it answers: once per answered write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from twin_reference._ledger_store import LedgerStore
from twin_reference._peers import PeerNetwork
from twin_reference._transactions import Outcome


class GroupCommit:
    """Blocks to send and outcomes to answer after the next sync; the loop's wake-up event."""

    def __init__(self, ledger: LedgerStore, network: PeerNetwork, *, alone: bool = False) -> None:
        self._ledger = ledger
        self._network = network
        self._alone = alone
        """A committee of one: no peer receives its blocks or its checkpoint signatures."""
        self.wake_event = asyncio.Event()
        self._needs_sync = False
        self._unsent_blocks: list[bytes] = []
        self._unanswered: list[Outcome] = []

    @property
    def needs_sync(self) -> bool:
        """Whether something was written that is not synced yet."""
        return self._needs_sync

    @property
    def has_unsent_blocks(self) -> bool:
        """Whether a proposed block waits for the next sync before it is sent."""
        return bool(self._unsent_blocks)

    def wake(self) -> None:
        """Have the loop look at the state again."""
        self.wake_event.set()

    def mark_unsynced(self) -> None:
        """Something was written that must be synced at the next flush."""
        self._needs_sync = True
        self.wake_event.set()

    def send_after_sync(self, block_text: bytes) -> None:
        """Broadcast a proposed block once it is stored durably.

        In a committee of one there is no one to send it to, so nothing waits for a sync: a block no
        one has seen may be lost to a power cut and signed again differently, while every block
        a commit answered depends on is made durable by the sync before the answer.
        """
        if not self._alone:
            self._unsent_blocks.append(block_text)

    def answer_after_sync(self, outcomes: list[Outcome]) -> None:
        """Answer these waiters once what is written so far is synced.

        A commit that answers no one needs no sync of its own in a committee of one (no peer
        receives its checkpoint signature, sent only after the sync): the next sync makes it
        durable.
        """
        self._unanswered.extend(outcomes)
        if outcomes or not self._alone:
            self.mark_unsynced()

    def flush(self, synced_round: int, answer: Callable[[Outcome], None]) -> None:
        """Sync the database once for everything written since the last time (group commit).

        Then send the blocks proposed meanwhile and answer the outcomes certified meanwhile.
        """
        if not self._needs_sync and not self._unsent_blocks:
            return
        # TWIN-CORE-055: one synchronous SQLite transaction makes all before it durable.
        self._ledger.sync(synced_round)
        self._needs_sync = False
        blocks, self._unsent_blocks = self._unsent_blocks, []
        for body in blocks:
            self._network.broadcast("/consensus/blocks", body)
        outcomes, self._unanswered = self._unanswered, []
        for outcome in outcomes:
            answer(outcome)
