"""Interop, consensus: every member runs the genesis committee and agrees on one commit sequence.

The harness validators' commits are made by the spec core from the blocks they hold, so a
client whose sequence departs from theirs departs from the spec, not just from a peer. A
client that stays ahead of the others with the committee at rest is judged by the spec core's
commit rule replayed over the blocks it serves (one that commits without a quorum shows so).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from twin_conformance._failures import fail, require
from twin_conformance._interop_network import InteropNetwork
from twin_conformance.checks._support import (
    body_object,
    require_status,
    spec_failure_requirement,
)
from twin_conformance.interop_checks._support import (
    create_identity,
    first_divergence,
    get_all,
    harness_at_rest,
    require_commits_follow_the_rule,
    resting_harness_validator,
    wait_until,
)
from twin_conformance.interop_checks.conftest import MemberClient
from twin_spec import Committee, LedgerError, TwinSpecError, verify_certified_checkpoint

pytestmark = pytest.mark.twin_profile("consensus")
AGREEMENT_SECONDS = 30.0


@pytest.mark.twin_requirement("TWIN-CONSENSUS-111", "TWIN-CONSENSUS-001")
def test_every_member_runs_the_genesis_committee(
    members: list[MemberClient], network: InteropNetwork
) -> None:
    for member in members:
        exchange = member.client.get("/consensus/committee")
        require_status(exchange, 200, "TWIN-CONSENSUS-111", f"{member.label}'s committee")
        try:
            served = Committee.from_json(exchange.json("TWIN-CONSENSUS-111"))
        except LedgerError as exc:
            fail(
                spec_failure_requirement(exc, "TWIN-CONSENSUS-001"),
                f"{member.label} serves no valid committee: {exc.message}",
            )
        require(
            served == network.committee,
            "TWIN-CONSENSUS-111",
            f"{member.label} was started with the genesis committee but serves another one",
        )


def sequences(members: list[MemberClient], network: InteropNetwork) -> dict[str, list[Any]]:
    """Every member's commit sequence: clients as served, harness validators as they made it."""
    found = {
        member.label: get_all(member.client, "/consensus/commits", "commits", "TWIN-CONSENSUS-113")
        for member in members
    }
    for member in network.harness:
        assert member.peer is not None
        if member.peer.validator.alive:
            found[member.label] = member.peer.validator.snapshot()["commits"]
    return found


def require_prefixes(found: dict[str, list[Any]]) -> None:
    """Fail TWIN-CONSENSUS-113 at the first pair whose sequences are not prefixes."""
    for (first, one), (second, other) in itertools.combinations(found.items(), 2):
        index = first_divergence(one, other)
        if index is not None:
            fail(
                "TWIN-CONSENSUS-113",
                f"the commit sequences of {first} and {second} differ at commit {index + 1}: "
                f"{first} has leader {one[index].get('leader')}, {second} has "
                f"{other[index].get('leader')} (lengths {len(one)} and {len(other)})",
            )


@pytest.mark.twin_requirement("TWIN-CONSENSUS-113", "TWIN-CONSENSUS-105", "TWIN-CONSENSUS-024")
def test_commit_sequences_are_prefixes_of_one_another(
    members: list[MemberClient], network: InteropNetwork
) -> None:
    for member in members:
        create_identity(member, "TWIN-CONSENSUS-113")
    found = sequences(members, network)
    require_prefixes(found)
    longest = max(len(sequence) for sequence in found.values())

    def caught_up() -> dict[str, list[Any]] | None:
        now = sequences(members, network)
        return now if all(len(seq) >= longest for seq in now.values()) else None

    settled = wait_until(caught_up, AGREEMENT_SECONDS)
    if settled is None:
        now = sequences(members, network)
        require_prefixes(now)
        # The committee is at rest: a member ahead by commits its own blocks do not make is
        # the one at fault, not the others behind it.
        require_commits_follow_the_rule(members, network, "with the committee at rest")
        fail(
            "TWIN-CONSENSUS-113",
            f"not every member reached commit {longest} within {AGREEMENT_SECONDS:g} s: "
            + ", ".join(f"{label} holds {len(seq)}" for label, seq in now.items()),
        )
    require_prefixes(settled)
    # At rest the DAG stops growing, so a commit its blocks do not make stays one: a client
    # that commits without a quorum is caught here, and named broken for good.
    watched = resting_harness_validator(network)
    if watched is not None:
        harness_at_rest(watched)
    require_commits_follow_the_rule(members, network, "with the committee at rest")
    assert network.committee is not None
    for member in members:
        exchange = member.client.get("/consensus/checkpoints", params={"limit": "1000"})
        require_status(exchange, 200, "TWIN-CONSENSUS-105", f"{member.label}'s checkpoints")
        checkpoints = body_object(exchange, "TWIN-CONSENSUS-105", "checkpoints").get("checkpoints")
        require(isinstance(checkpoints, list), "TWIN-CONSENSUS-105", "no checkpoints list")
        assert isinstance(checkpoints, list)
        for checkpoint in checkpoints:
            try:
                verify_certified_checkpoint(checkpoint, network.committee)
            except TwinSpecError as exc:
                fail(
                    "TWIN-CONSENSUS-105",
                    f"{member.label} serves a checkpoint that does not verify with the genesis"
                    f" committee: {exc.message}",
                )
