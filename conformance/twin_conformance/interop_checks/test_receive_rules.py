"""Interop, receive rules: blocks signed by a committee key that break one rule each.

A harness validator takes its own latest block (which every member accepted), changes one
thing at a time and signs it again with its committee key (or with a key not its own); the
spec core says which rule each variant breaks first. Every client must refuse each with 400
and exactly that rule's code (TWIN-CONSENSUS-101), keeping its DAG unchanged: a refused block
is never recorded as an equivocation, and the commit sequences stay prefixes afterwards.
"""

from __future__ import annotations

import pytest

from twin_conformance._failures import fail, require
from twin_conformance._interop_network import InteropNetwork
from twin_conformance.checks._support import error_code
from twin_conformance.interop_checks._support import create_identity, get_all, record
from twin_conformance.interop_checks.conftest import MemberClient
from twin_conformance.interop_checks.test_committee import require_prefixes, sequences
from twin_spec import BLOCK_REJECTION_REQUIREMENTS, BlockRejection

pytestmark = pytest.mark.twin_profile("consensus")
RULES = (
    "TWIN-CONSENSUS-101",
    "TWIN-CONSENSUS-004",
    "TWIN-CONSENSUS-005",
    "TWIN-CONSENSUS-008",
    "TWIN-CONSENSUS-009",
    "TWIN-CONSENSUS-013",
    "TWIN-CONSENSUS-014",
    "TWIN-CONSENSUS-015",
)


@pytest.mark.twin_requirement(*RULES)
def test_blocks_breaking_a_receive_rule_are_refused_by_every_client_with_its_code(
    members: list[MemberClient], network: InteropNetwork
) -> None:
    live = [m for m in network.harness if m.peer is not None and m.peer.validator.alive]
    if not live:
        pytest.skip("not applicable: the run has no harness validator to sign blocks")
    prober = live[-1]
    assert prober.peer is not None
    if prober.peer.validator.last_round == 0:
        create_identity(members[0], "TWIN-CONSENSUS-113")
    made = prober.peer.validator.rule_breaking_blocks()
    require(made, "TWIN-CONSENSUS-101", "the harness validator has no block to vary yet")
    before = {
        m.member.index: len(
            get_all(m.client, "/consensus/equivocations", "equivocations", "TWIN-CONSENSUS-107")
        )
        for m in members
    }
    failures: list[tuple[str, str]] = []
    for member in members:
        refused_all = True
        for name, block, code in made:
            exchange = member.client.post(
                "/consensus/blocks", json_body=block, expect_rejection=True
            )
            answered = error_code(exchange)
            if exchange.status == 400 and answered == code:
                continue
            refused_all = False
            # A refused block answered otherwise than 400 breaks the route's rule; a 400
            # with another code breaks the receive rule itself.
            requirement = (
                BLOCK_REJECTION_REQUIREMENTS.get(BlockRejection(code), RULES[0])
                if exchange.status == 400
                else RULES[0]
            )
            failures.append(
                (
                    requirement,
                    f"{member.label} answered {exchange.status} code {answered!r} to a block"
                    f" by {prober.label} with {name}; the spec core refuses it as {code}",
                )
            )
        record(network, "receive-rule-refused", "test_receive_rules.py", prober.index,
               member.member.index, refused_all)  # fmt: skip
    if failures:
        fail(failures[0][0], "; ".join(message for _, message in failures[:4]))
    for member in members:
        after = get_all(
            member.client, "/consensus/equivocations", "equivocations", "TWIN-CONSENSUS-107"
        )
        require(
            len(after) == before[member.member.index],
            "TWIN-CONSENSUS-101",
            f"{member.label} recorded refused blocks as equivocation evidence",
        )
        create_identity(member, "TWIN-CONSENSUS-113")
    require_prefixes(sequences(members, network))
