"""The limits every transaction keeps: one definition for admission, blocks and storage.

A node that accepts a transaction must be able to put it in a block, sign and hash that block,
have every peer accept it, apply it and store it. Each of those steps has a limit; they are all
here, and everything that checks a transaction checks it with :func:`check_transaction_limits`:
a node's admission of a write (TWIN-ANCHORING-061), block building, and the receive rules of a
peer's block (TWIN-CONSENSUS-004, TWIN-CONSENSUS-130). So no transaction a node accepted can
fail later in any of them.

- size: at most :data:`MAX_TRANSACTION_BYTES` of JCS (``transactionTooLarge``);
- depth: at most :data:`MAX_TRANSACTION_DEPTH` levels of nesting, the transaction object being
  level 1 (``transactionTooDeep``). A block adds two levels around each transaction and a
  request or a vector a few more, all far inside the 256 levels JCS allows;
- numbers: integers within +/-(2**53 - 1) and finite numbers only (``numberOutOfRange``);
- strings: every string and member name has a UTF-8 form, no lone surrogate
  (``invalidString``), since storage and the wire are UTF-8.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from twin_spec._errors import CanonicalizationError, LedgerError, TransactionLimitError
from twin_spec._jcs import canonicalize

MAX_TRANSACTION_BYTES = 65536
MAX_TRANSACTION_DEPTH = 64
TRANSACTION_TOO_LARGE = "transactionTooLarge"
TRANSACTION_TOO_DEEP = "transactionTooDeep"
MAX_BLOCK_TEXT_BYTES = 2 * 1024 * 1024
"""The most bytes of JSON text a validator sends as one block (TWIN-CONSENSUS-133)."""
MAX_BLOCK_VALUES = 262_144
"""The most JSON values (:func:`json_value_count`) a validator sends in one block."""
_LIMITS = "TWIN-ANCHORING-060"
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_STRUCTURE = (b"{", b"[", b",", b":")


def json_value_count(text: bytes, at_most: int | None = None) -> int:
    """How many values and member names a JSON text holds, at most; no parsing needed.

    The count is 1 plus the number of ``{``, ``[``, ``,`` and ``:`` outside strings: every value
    after the first is announced by one of them. It takes a few milliseconds a megabyte, so a
    reader can refuse a body before parsing it. When ``at_most`` is given and the quick count
    (which also counts those characters inside strings) is within it, that quick count is
    returned; only a text over the bound is counted exactly.
    """
    quick = 1 + sum(text.count(mark) for mark in _STRUCTURE)
    if at_most is not None and quick <= at_most:
        return quick
    outside = _STRING.sub(b'""', text)
    return 1 + sum(outside.count(mark) for mark in _STRUCTURE)


def json_depth(value: object) -> int:
    """Nesting depth of a JSON value: 0 for a scalar, 1 + the deepest member for a container.

    Iterative, so that a value nested deeper than Python's recursion limit is measured too.
    """
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, Mapping):
            children: Sequence[object] | None = list(item.values())
        elif isinstance(item, list | tuple):
            children = item
        else:
            children = None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def check_transaction_limits(transaction: object, field: str = "transaction") -> int:
    """Check a transaction against every limit; return its size in bytes of JCS.

    Raises :class:`TransactionLimitError` whose ``code`` names the first limit broken, in the
    order depth, numbers and strings, size.
    """
    # TWIN-ANCHORING-060 "A transaction MUST be at most 65536 bytes of JCS, MUST nest at most
    # 64 levels deep (the transaction object is level 1), and MUST hold only integers within
    # +/-(2**53 - 1), finite numbers and strings that have a UTF-8 form."
    depth = json_depth(transaction)
    if depth > MAX_TRANSACTION_DEPTH:
        raise TransactionLimitError(
            TRANSACTION_TOO_DEEP,
            f"{field} nests {depth} levels deep, more than {MAX_TRANSACTION_DEPTH}",
            maximum=MAX_TRANSACTION_DEPTH,
            field=field,
            requirement=_LIMITS,
        )
    try:
        size = len(canonicalize(transaction))
    except CanonicalizationError as exc:
        if exc.limit is None:
            # Not JSON at all (a value of another type): a malformed transaction, no limit.
            raise LedgerError(f"{field}: {exc.message}", field=field, requirement=_LIMITS) from None
        raise TransactionLimitError(
            exc.limit.value, f"{field}: {exc.message}", field=field, requirement=_LIMITS
        ) from None
    if size > MAX_TRANSACTION_BYTES:
        raise TransactionLimitError(
            TRANSACTION_TOO_LARGE,
            f"{field} is {size} bytes of JCS, over {MAX_TRANSACTION_BYTES}",
            maximum=MAX_TRANSACTION_BYTES,
            field=field,
            requirement=_LIMITS,
        )
    return size
