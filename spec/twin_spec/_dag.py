"""The DAG of accepted blocks, indexed by reference and by round, closed under ancestry.

The commit rule and the linearizer only ever read a DAG in which every block's ancestors are
present, so the questions they ask (who voted, what is in a leader's history) have one answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, cast

from twin_spec._blocks import BlockRef, block_ref, genesis_blocks
from twin_spec._committee import Committee
from twin_spec._errors import LedgerError
from twin_spec._ledger_json import ledger_fail, read_int, read_list

_DAG = "TWIN-CONSENSUS-013"


class Dag:
    """Accepted blocks of one epoch; starts holding the committee's genesis blocks."""

    def __init__(self, committee: Committee) -> None:
        self._committee = committee
        self._blocks: dict[BlockRef, dict[str, Any]] = {}
        self._ancestors: dict[BlockRef, tuple[BlockRef, ...]] = {}
        self._rounds: dict[int, list[BlockRef]] = {}
        for block in genesis_blocks(committee):
            self._insert(block_ref(block), dict(block), ())

    @property
    def committee(self) -> Committee:
        """The committee whose blocks this DAG holds."""
        return self._committee

    @property
    def highest_round(self) -> int:
        """The highest round any accepted block is at (0 for genesis only)."""
        return max(self._rounds)

    def add(self, block: Mapping[str, object], ref: BlockRef | None = None) -> BlockRef:
        """Add a block already accepted by :func:`check_block`; return its reference.

        ``ref``, when given, must be the reference :func:`validate_block` or
        :func:`check_block` returned for this very block; it saves hashing the block again.
        Adding a block twice is harmless. A genesis block is accepted only as itself.
        """
        ref = ref or block_ref(block)
        if ref in self._blocks:
            return ref
        if ref.round == 0:
            raise ledger_fail(
                "block", "a round-0 block must be a genesis block", "TWIN-CONSENSUS-007"
            )
        items = read_list(block["ancestors"], "block.ancestors", ledger_fail, _DAG, max_items=1024)
        ancestors = tuple(BlockRef.from_json(item) for item in items)
        timestamp = read_int(block["timestampMs"], "block.timestampMs", ledger_fail, _DAG)
        for position, ancestor in enumerate(ancestors):
            # TWIN-CONSENSUS-013 "A block MUST join the DAG only once every ancestor it names is
            # in the DAG, and only if its timestamp is not below any ancestor's."
            if ancestor not in self._blocks:
                raise ledger_fail(f"block.ancestors[{position}]", "is not in the DAG yet", _DAG)
            if timestamp < self.timestamp(ancestor):
                raise ledger_fail(
                    "block.timestampMs",
                    f"{timestamp} is below ancestor {position}'s {self.timestamp(ancestor)}",
                    _DAG,
                )
        self._insert(ref, dict(block), ancestors)
        return ref

    def _insert(
        self, ref: BlockRef, block: dict[str, Any], ancestors: tuple[BlockRef, ...]
    ) -> None:
        self._blocks[ref] = block
        self._ancestors[ref] = ancestors
        refs = self._rounds.setdefault(ref.round, [])
        refs.append(ref)
        refs.sort()

    def __contains__(self, ref: object) -> bool:
        return ref in self._blocks

    def __iter__(self) -> Iterator[BlockRef]:
        return iter(self._blocks)

    def __len__(self) -> int:
        return len(self._blocks)

    def get(self, ref: BlockRef) -> dict[str, Any]:
        """Return the block JSON for ``ref`` (a copy is not made: do not change it)."""
        block = self._blocks.get(ref)
        if block is None:
            raise LedgerError(f"block {ref.to_json()} is not in the DAG", requirement=_DAG)
        return block

    def ancestors(self, ref: BlockRef) -> tuple[BlockRef, ...]:
        """Return the ancestors ``ref`` names, in its own order."""
        self.get(ref)
        return self._ancestors[ref]

    def timestamp(self, ref: BlockRef) -> int:
        """Return the block's timestampMs."""
        return cast(int, self.get(ref)["timestampMs"])

    def blocks_at(self, round_: int) -> list[BlockRef]:
        """Return the references of the blocks at ``round_``, ordered by (author, digest)."""
        return list(self._rounds.get(round_, ()))
