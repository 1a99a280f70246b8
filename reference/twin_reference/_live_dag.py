"""A running validator's DAG: the spec core's :class:`~twin_spec.Dag`, garbage-collected.

The spec core's DAG keeps every block forever, which a validator that runs for months cannot.
Below the garbage-collection round (the spec core's ``gc_round_after`` of the last commit's
leader round, which the committer applies) no rule reads a block any more: the commit rule
decides only slots above the last decided round, and a commit leaves out every block at or below
that round (TWIN-CONSENSUS-108). The validator therefore forgets those blocks from memory (they
stay in its database, where peers that are behind still fetch them), and an ancestor at or below
the round counts as present.

Every method the commit rule, the linearizer and the receive rules call is overridden here, so
the class depends on the spec core's interface only, not on its private layout.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from twin_spec import (
    BlockRef,
    Committee,
    Dag,
    LedgerError,
    block_ref,
    genesis_blocks,
)

_DAG = "TWIN-CONSENSUS-013"


class LiveDag(Dag):
    """Accepted blocks above the garbage-collection round, plus the genesis blocks."""

    def __init__(self, committee: Committee) -> None:
        super().__init__(committee)
        self._live_committee = committee
        self._by_ref: dict[BlockRef, dict[str, Any]] = {}
        self._parents: dict[BlockRef, tuple[BlockRef, ...]] = {}
        self._by_round: dict[int, list[BlockRef]] = {}
        self._first: dict[tuple[int, int], BlockRef] = {}
        self._highest = 0
        self._gc_round = 0
        self._quorum_round = 0
        self._quorum_since: dict[int, float] = {0: 0.0}
        for block in genesis_blocks(committee):
            self._store(block_ref(block), dict(block), ())

    # -- the spec core's interface ------------------------------------------------------------

    @property
    def committee(self) -> Committee:
        """The committee whose blocks this DAG holds."""
        return self._live_committee

    @property
    def highest_round(self) -> int:
        """The highest round of any block held."""
        return self._highest

    def add(self, block: Mapping[str, object], ref: BlockRef | None = None) -> BlockRef:
        """Add a block the receive rules accepted; ``ref`` may be passed if already computed.

        Ancestors at or below the garbage-collection round count as present (their timestamps
        are no longer known, so the timestamp rule reads them as 0).
        """
        if ref is None:
            ref = block_ref(block)
        if ref in self._by_ref:
            return ref
        if ref.round == 0:
            raise LedgerError("a round-0 block must be a genesis block", field="block")
        items = block.get("ancestors")
        if not isinstance(items, list):
            raise LedgerError("block.ancestors must be an array", field="block.ancestors")
        ancestors = tuple(BlockRef.from_json(item) for item in items)
        timestamp = block.get("timestampMs")
        if not isinstance(timestamp, int):
            raise LedgerError("block.timestampMs must be an integer", field="block.timestampMs")
        for position, ancestor in enumerate(ancestors):
            # TWIN-CONSENSUS-013 "A block MUST join the DAG only once every ancestor it names is
            # in the DAG, and only if its timestamp is not below any ancestor's."
            if ancestor not in self:
                raise LedgerError(
                    f"block.ancestors[{position}] is not in the DAG yet",
                    field=f"block.ancestors[{position}]",
                    requirement=_DAG,
                )
            if timestamp < self.timestamp(ancestor):
                raise LedgerError(
                    f"block.timestampMs {timestamp} is below ancestor {position}'s",
                    field="block.timestampMs",
                    requirement=_DAG,
                )
        self._store(ref, dict(block), ancestors)
        return ref

    def __contains__(self, ref: object) -> bool:
        if ref in self._by_ref:
            return True
        # TWIN-CONSENSUS-108: an ancestor at or below the garbage-collection round is present.
        return isinstance(ref, BlockRef) and 0 < ref.round <= self._gc_round

    def __iter__(self) -> Iterator[BlockRef]:
        return iter(self._by_ref)

    def __len__(self) -> int:
        return len(self._by_ref)

    def get(self, ref: BlockRef) -> dict[str, Any]:
        """Return the block JSON for ``ref`` (not a copy: do not change it)."""
        block = self._by_ref.get(ref)
        if block is None:
            raise LedgerError(f"block {ref.to_json()} is not in the DAG", requirement=_DAG)
        return block

    def ancestors(self, ref: BlockRef) -> tuple[BlockRef, ...]:
        """Return the ancestors ``ref`` names, in its own order."""
        self.get(ref)
        return self._parents[ref]

    def timestamp(self, ref: BlockRef) -> int:
        """Return the block's timestampMs (0 for a block already garbage-collected)."""
        block = self._by_ref.get(ref)
        if block is None and ref in self:
            return 0
        timestamp: int = self.get(ref)["timestampMs"]
        return timestamp

    def blocks_at(self, round_: int) -> list[BlockRef]:
        """Return the references of the blocks at ``round_``, ordered by (author, digest)."""
        return list(self._by_round.get(round_, ()))

    # -- rounds reached ------------------------------------------------------------------------

    @property
    def quorum_round(self) -> int:
        """The highest round at which the DAG holds blocks of a quorum."""
        return self._quorum_round

    def quorum_reached_at(self, round_: int, default: float) -> float:
        """When (time.monotonic) the DAG first held a quorum at ``round_``, else ``default``."""
        return self._quorum_since.get(round_, default)

    # -- garbage collection -------------------------------------------------------------------

    @property
    def gc_round(self) -> int:
        """Blocks at or below this round (genesis aside) have been forgotten."""
        return self._gc_round

    def prune(self, gc_round: int) -> list[BlockRef]:
        """Forget the blocks of rounds 1..``gc_round``; return the references forgotten."""
        if gc_round <= self._gc_round:
            return []
        forgotten: list[BlockRef] = []
        for round_ in range(self._gc_round + 1, gc_round + 1):
            for ref in self._by_round.pop(round_, ()):
                del self._by_ref[ref]
                del self._parents[ref]
                self._first.pop((ref.round, ref.author), None)
                forgotten.append(ref)
        for round_ in [r for r in self._quorum_since if 0 < r <= gc_round]:
            del self._quorum_since[round_]
        self._gc_round = gc_round
        return forgotten

    def slot(self, round_: int, author: int) -> list[BlockRef]:
        """The blocks held of one author at one round (more than one means equivocation)."""
        return [ref for ref in self._by_round.get(round_, ()) if ref.author == author]

    def first_in_slot(self, round_: int, author: int) -> BlockRef:
        """The block of one author at one round that joined the DAG first."""
        return self._first[(round_, author)]

    def _store(self, ref: BlockRef, block: dict[str, Any], ancestors: tuple[BlockRef, ...]) -> None:
        self._by_ref[ref] = block
        self._parents[ref] = ancestors
        self._first.setdefault((ref.round, ref.author), ref)
        refs = self._by_round.setdefault(ref.round, [])
        refs.append(ref)
        refs.sort()
        self._highest = max(self._highest, ref.round)
        if ref.round > self._quorum_round and self._live_committee.is_quorum(
            other.author for other in refs
        ):
            now = time.monotonic()
            for reached in range(self._quorum_round + 1, ref.round + 1):
                self._quorum_since.setdefault(reached, now)
            self._quorum_round = ref.round


def refs_of(items: Iterable[object]) -> list[BlockRef]:
    """Block references from their JSON form."""
    return [BlockRef.from_json(item) for item in items]
