"""Equivocation evidence: two blocks one author signed for one round, proof of a fault.

Anyone holding the committee can check the evidence alone: both blocks carry the author's
signature, so no honest validator could have produced them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import cast

from twin_spec._blocks import _read_block, block_digest, verify_block_signature
from twin_spec._committee import Committee
from twin_spec._errors import LedgerError
from twin_spec._jcs import JSONValue
from twin_spec._ledger_json import ledger_fail, read_int, read_list, read_object, read_str

EVIDENCE_TYPE = "EquivocationEvidence"
_EVIDENCE = "TWIN-CONSENSUS-030"
_MEMBERS = ("type", "epoch", "round", "author", "blocks")


def make_equivocation_evidence(
    block_a: Mapping[str, object], block_b: Mapping[str, object]
) -> dict[str, JSONValue]:
    """Return the evidence that two signed blocks show their author equivocating.

    The blocks must be well formed, of one epoch, round and author, with different digests.
    Signatures are not checked here (that needs the committee):
    :func:`verify_equivocation_evidence` checks them.
    """
    bodies = [_block(block, f"block{name}") for block, name in ((block_a, "A"), (block_b, "B"))]
    header = _header(bodies[0])
    for name in ("epoch", "round", "author"):
        if bodies[1][name] != header[name]:
            raise ledger_fail(f"blockB.{name}", f"differs from blockA's {header[name]}", _EVIDENCE)
    if block_digest(bodies[0]) == block_digest(bodies[1]):
        raise ledger_fail("blockB", "is the same block as blockA", _EVIDENCE)
    ordered = sorted(bodies, key=block_digest)
    return {
        "type": EVIDENCE_TYPE,
        **header,
        "blocks": [cast(JSONValue, copy.deepcopy(dict(body))) for body in ordered],
    }


def verify_equivocation_evidence(evidence: object, committee: Committee) -> None:
    """Check equivocation evidence: its shape, both blocks and both signatures.

    Raises :class:`LedgerError` naming the member that is wrong.
    """
    # TWIN-CONSENSUS-030 "Equivocation evidence MUST be {type "EquivocationEvidence", epoch,
    # round, author, blocks} holding exactly two well-formed blocks of that epoch, round and
    # author, both signed by the author, with different digests, in ascending digest order."
    body = read_object(evidence, "evidence", ledger_fail, _EVIDENCE, _MEMBERS)
    if read_str(body["type"], "evidence.type", ledger_fail, _EVIDENCE) != EVIDENCE_TYPE:
        raise ledger_fail("evidence.type", f"must be {EVIDENCE_TYPE!r}", _EVIDENCE)
    epoch = read_int(body["epoch"], "evidence.epoch", ledger_fail, _EVIDENCE)
    round_ = read_int(body["round"], "evidence.round", ledger_fail, _EVIDENCE, minimum=1)
    author = read_int(body["author"], "evidence.author", ledger_fail, _EVIDENCE)
    if epoch != committee.epoch:
        raise ledger_fail("evidence.epoch", f"{epoch} is not the committee's", _EVIDENCE)
    if author >= committee.size:
        raise ledger_fail("evidence.author", f"{author} is not in the committee", _EVIDENCE)
    items = read_list(body["blocks"], "evidence.blocks", ledger_fail, _EVIDENCE, max_items=2)
    if len(items) != 2:
        raise ledger_fail("evidence.blocks", "must hold exactly two blocks", _EVIDENCE)
    digests = []
    for position, item in enumerate(items):
        field = f"evidence.blocks[{position}]"
        block = _block(item, field)
        for name, value in (("epoch", epoch), ("round", round_), ("author", author)):
            if block[name] != value:
                raise ledger_fail(f"{field}.{name}", f"is not the evidence's {value}", _EVIDENCE)
        try:
            verify_block_signature(block, committee)
        except LedgerError as exc:
            raise ledger_fail(field, exc.message, _EVIDENCE) from None
        digests.append(block_digest(block))
    if digests[0] == digests[1]:
        raise ledger_fail("evidence.blocks", "holds the same block twice", _EVIDENCE)
    if digests[0] > digests[1]:
        raise ledger_fail("evidence.blocks", "must be in ascending digest order", _EVIDENCE)


def _block(value: object, field: str) -> Mapping[str, object]:
    """Read a block's shape (the ``malformed`` rules), naming ``field`` in any error."""
    try:
        body, _, _ = _read_block(value)
    except LedgerError as exc:
        raise ledger_fail(field, exc.message, _EVIDENCE) from None
    return body


def _header(body: Mapping[str, object]) -> dict[str, JSONValue]:
    return {name: cast(int, body[name]) for name in ("epoch", "round", "author")}
