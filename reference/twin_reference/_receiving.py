"""Receiving: peers' blocks through the receive rules, held blocks, equivocation evidence.

A peer's block is checked by the spec core's receive rules (``validate_block``) before it
joins the DAG (TWIN-CONSENSUS-101). One refused only because ancestors are missing is held
aside (bounded in count, bytes and time) while the synchronizer fetches them, and offered again
once they arrive. Two validly signed blocks of one author for one round are equivocation
evidence, stored once per slot (TWIN-CONSENSUS-107).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from twin_reference._errors import ConflictError
from twin_reference._group_commit import GroupCommit
from twin_reference._ledger_store import LedgerStore, dump_json
from twin_reference._live_dag import LiveDag
from twin_spec import (
    BlockRef,
    BlockRejectedError,
    BlockRejection,
    Committee,
    Dag,
    LedgerError,
    block_ref,
    canonicalize,
    make_equivocation_evidence,
    validate_block,
)

LOG = logging.getLogger("twin_reference.ledger")
MAX_HELD_BLOCKS = 2048
MAX_HELD_BYTES = 64 * 1024 * 1024
HELD_BLOCK_SECONDS = 60.0


class MissingBlocks(Protocol):
    """Where the receiver reports what it misses (the synchronizer, ``_sync.py``)."""

    def want(self, ref: BlockRef, referenced_by: int) -> None:
        """Fetch this block, first from the validator that referenced it."""

    def behind(self) -> None:
        """The validator is behind its peers: fetch whole rounds."""


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


def transaction_digests(block: Mapping[str, Any]) -> list[bytes]:
    """SHA-256 of the JCS form of each transaction of a block, in order."""
    return [hashlib.sha256(canonicalize(tx)).digest() for tx in block["transactions"]]


class BlockReceiver:
    """Peers' blocks: the receive rules, held blocks and equivocation evidence."""

    def __init__(
        self,
        committee: Committee,
        own_index: int,
        dag: LiveDag,
        ledger: LedgerStore,
        io: GroupCommit,
        on_added: Callable[[BlockRef, Mapping[str, Any], list[bytes]], None],
    ) -> None:
        self._committee = committee
        self._own = own_index
        self._dag = dag
        self._ledger = ledger
        self._io = io
        self._on_added = on_added
        self.missing: MissingBlocks | None = None
        self._held: dict[BlockRef, tuple[dict[str, Any], int, float]] = {}
        self._held_bytes = 0
        self._waiting_on: dict[BlockRef, set[BlockRef]] = {}
        self.last_peer_block = 0.0
        """When (time.monotonic) a peer's block last passed the receive rules."""

    def receive(self, block: object, size: int = 0) -> tuple[BlockRef, bool]:
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
        self.last_peer_block = time.monotonic()
        if ref in self._dag and ref.round > self._dag.gc_round:
            return ref, False
        if ref.round <= self._dag.gc_round:
            if self._ledger.has_block(ref.digest):
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
            self.record_equivocation(self._dag.get(slot[0]), block)
            if len(slot) >= self._committee.size:
                raise ConflictError(
                    f"the node already holds {len(slot)} blocks of validator {ref.author} "
                    f"at round {ref.round}"
                )
        digests = transaction_digests(block)
        # Not synced at once: a peer's block lost in a power cut is fetched again.
        with self._ledger.write(durable=False) as connection:
            self._ledger.insert_block(connection, ref, dump_json(block), or_ignore=True)
            # The DAG's own rules (ancestors present, timestamps) roll the row back if broken.
            self._dag.add(block, ref)
        self._drop_held(ref)
        self._on_added(ref, block, digests)
        self._io.wake()
        return ref, True

    # -- held blocks --------------------------------------------------------------------------

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
        size = size or len(dump_json(block))
        if len(self._held) >= MAX_HELD_BLOCKS or self._held_bytes + size > MAX_HELD_BYTES:
            if self.missing is not None:
                self.missing.behind()
            return
        self._held[ref] = (block, size, time.monotonic())
        self._held_bytes += size
        for ancestor in missing:
            self._waiting_on.setdefault(ancestor, set()).add(ref)
            if self.missing is not None:
                self.missing.want(ancestor, ref.author)
        if ref.round > self._dag.quorum_round + 2 and self.missing is not None:
            self.missing.behind()

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

    # -- equivocation -------------------------------------------------------------------------

    def _check_stored_slot(self, block: Mapping[str, Any], ref: BlockRef) -> None:
        stored = self._ledger.other_block_in_slot(ref)
        if stored is not None:
            self.record_equivocation(stored, block)

    def record_equivocation(self, first: Mapping[str, Any], second: Mapping[str, Any]) -> None:
        """Store the evidence of two signed blocks of one author for one round (once a slot)."""
        # TWIN-CONSENSUS-107 "A validator that receives two different validly signed blocks of
        # one author for one round MUST store their equivocation evidence durably and serve it
        # at GET /consensus/equivocations."
        evidence = make_equivocation_evidence(first, second)
        self._io.mark_unsynced()
        if self._ledger.insert_equivocation(evidence):
            LOG.warning(
                "validator %s equivocated at round %s: evidence recorded",
                evidence["author"],
                evidence["round"],
            )
