"""The receive rules that need the DAG: a block joins only after its ancestors, never before them.

:func:`twin_spec._blocks.check_block` applies every rule a block can be checked by alone; this
module adds the two that read the ancestors themselves, with the same fixed rejection codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import cast

from twin_spec._blocks import BlockRef, _reject, check_block
from twin_spec._committee import Committee
from twin_spec._dag import Dag
from twin_spec._errors import BlockRejection, LedgerError

_DAG = "TWIN-CONSENSUS-013"


def validate_block(block: object, committee: Committee, dag: Dag) -> BlockRef:
    """Check a received block by every receive rule, against the blocks already in ``dag``.

    First the rules of :func:`check_block`, then that every ancestor is in the DAG, then that
    the block's timestamp is not below any ancestor's. The DAG is not changed: on success the
    caller adds the block with :meth:`Dag.add`. Raises
    :class:`~twin_spec._errors.BlockRejectedError` with the code of the first rule broken.
    """
    if dag.committee != committee:
        raise LedgerError("the DAG holds the blocks of another committee", field="committee")
    ref = check_block(block, committee)
    body = cast(Mapping[str, object], block)
    ancestors = [BlockRef.from_json(item) for item in cast(list[object], body["ancestors"])]
    # TWIN-CONSENSUS-013 "A block MUST join a node's DAG only once every ancestor it names is in
    # the DAG, and only if its timestampMs is not below the timestampMs of any of its ancestors."
    for position, ancestor in enumerate(ancestors):
        if ancestor not in dag:
            raise _reject(
                BlockRejection.MISSING_ANCESTOR,
                f"block.ancestors[{position}]",
                "is not in the DAG",
                _DAG,
            )
    timestamp = cast(int, body["timestampMs"])
    for position, ancestor in enumerate(ancestors):
        if timestamp < dag.timestamp(ancestor):
            raise _reject(
                BlockRejection.TIMESTAMP_BEFORE_ANCESTOR,
                "block.timestampMs",
                f"{timestamp} is below ancestor {position}'s {dag.timestamp(ancestor)}",
                _DAG,
            )
    return ref


BLOCK_REJECTION_REQUIREMENTS: Mapping[BlockRejection, str] = MappingProxyType(
    {
        BlockRejection.MALFORMED: "TWIN-CONSENSUS-004",
        BlockRejection.TOO_MANY_ANCESTORS: "TWIN-CONSENSUS-004",
        BlockRejection.TOO_MANY_TRANSACTIONS: "TWIN-CONSENSUS-004",
        BlockRejection.TRANSACTION_TOO_LARGE: "TWIN-CONSENSUS-004",
        BlockRejection.TRANSACTION_TOO_DEEP: "TWIN-CONSENSUS-130",
        BlockRejection.WRONG_EPOCH: "TWIN-CONSENSUS-008",
        BlockRejection.ROUND_ZERO: "TWIN-CONSENSUS-008",
        BlockRejection.UNKNOWN_AUTHOR: "TWIN-CONSENSUS-008",
        BlockRejection.BAD_SIGNATURE: "TWIN-CONSENSUS-005",
        BlockRejection.NO_ANCESTORS: "TWIN-CONSENSUS-009",
        BlockRejection.UNKNOWN_ANCESTOR_AUTHOR: "TWIN-CONSENSUS-014",
        BlockRejection.FIRST_ANCESTOR_NOT_OWN: "TWIN-CONSENSUS-009",
        BlockRejection.OWN_ANCESTOR_NOT_FIRST: "TWIN-CONSENSUS-015",
        BlockRejection.ANCESTOR_ROUND_NOT_BELOW: "TWIN-CONSENSUS-009",
        BlockRejection.UNKNOWN_GENESIS_ANCESTOR: "TWIN-CONSENSUS-009",
        BlockRejection.DUPLICATE_ANCESTOR_AUTHOR: "TWIN-CONSENSUS-009",
        BlockRejection.PARENT_QUORUM_MISSING: "TWIN-CONSENSUS-009",
        BlockRejection.MISSING_ANCESTOR: "TWIN-CONSENSUS-013",
        BlockRejection.TIMESTAMP_BEFORE_ANCESTOR: "TWIN-CONSENSUS-013",
    }
)
"""The requirement each rejection code enforces (a malformed transaction also breaks
TWIN-ANCHORING-020, which its error names)."""
