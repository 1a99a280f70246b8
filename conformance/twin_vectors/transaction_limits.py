"""Block-validity cases at the transaction limits of ``twin_spec._limits`` (issue 13).

They are vectors of the ``consensus/block-validity`` family, kept apart from the family's other
cases (``consensus.py``) because they test the limits every transaction keeps rather than the
block's own rules: a block whose transaction nests deeper than ``MAX_TRANSACTION_DEPTH`` is
refused with ``transactionTooDeep`` (TWIN-CONSENSUS-130), one exactly at the limit is valid,
and a block breaking the size and the depth limits is refused for the size, the earlier rule.
"""

from __future__ import annotations

from typing import Any

from twin_spec import MAX_TRANSACTION_DEPTH, BlockRejection, json_depth

DEPTH_RULE = "TWIN-CONSENSUS-130"
LIMITS_RULE = "TWIN-ANCHORING-060"
ORDER_RULE = "TWIN-CONSENSUS-016"


def nested(levels: int) -> dict[str, Any]:
    """An object nesting ``levels`` levels deep (``{}`` is one level)."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def deep_payload(transaction_depth: int) -> dict[str, Any]:
    """Payload members that make a transaction nest exactly ``transaction_depth`` levels.

    The transaction object is level 1 and its payload level 2; ``data`` holds the rest.
    """
    return {"data": nested(transaction_depth - 2)}


def transaction_limit_cases() -> list[Any]:
    """The cases, as ``consensus.BlockCase`` values (imported here to avoid an import cycle)."""
    # consensus.py imports this module, so its helpers are imported when the cases are built.
    from twin_vectors.consensus import (
        BlockCase,
        _four,
        _full_round_two,
        tx,
        tx_of_size,
    )

    world, dag = _four()
    at_limit = tx(1, **deep_payload(MAX_TRANSACTION_DEPTH))
    too_deep = tx(2, **deep_payload(MAX_TRANSACTION_DEPTH + 1))
    assert json_depth(at_limit) == MAX_TRANSACTION_DEPTH  # noqa: S101 - generator self-check
    assert json_depth(too_deep) == MAX_TRANSACTION_DEPTH + 1  # noqa: S101 - generator self-check
    return [
        BlockCase(
            "transaction-too-deep",
            f"one transaction nests {MAX_TRANSACTION_DEPTH + 1} levels deep, one more than "
            "every transaction may",
            world.committee,
            dag,
            _full_round_two(world, transactions=[tx(0), too_deep]),
            BlockRejection.TRANSACTION_TOO_DEEP,
            (LIMITS_RULE,),
        ),
        BlockCase(
            "transaction-too-large-before-too-deep",
            "one transaction is too deep and a later one too large: the size rule comes first",
            world.committee,
            dag,
            _full_round_two(world, transactions=[too_deep, tx_of_size(65537)]),
            BlockRejection.TRANSACTION_TOO_LARGE,
            (ORDER_RULE, DEPTH_RULE),
        ),
        BlockCase(
            "valid-transaction-at-the-depth-limit",
            f"a transaction nesting exactly {MAX_TRANSACTION_DEPTH} levels deep",
            world.committee,
            dag,
            _full_round_two(world, transactions=[at_limit]),
            None,
            (DEPTH_RULE, LIMITS_RULE),
        ),
    ]
