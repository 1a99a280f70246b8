"""Interop, quorum lost: a write the committee cannot commit is pending, never failed.

The harness silences its own validators (for good) until the live stake is below a quorum,
then writes through a client. The client cannot commit, so after its commit timeout it must
answer 202 with the transaction's digest and a Location where the outcome is looked up, and
that lookup must say pending (TWIN-CORE-067); a failure status would make a caller retry a
write that may commit later. Its `/health` should say so meanwhile (TWIN-CORE-066, a SHOULD).
The DAG then stops growing, so a slot its blocks leave undecided stays undecided: every commit
a client serves must be one the spec core's commit rule makes from the blocks it serves
(TWIN-CONSENSUS-024; a commit on less than a quorum shows here). The committee cannot commit
again afterwards, so this module runs last of all.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import pytest

from twin_conformance._client import TwinClient
from twin_conformance._failures import require
from twin_conformance._interop_network import InteropNetwork
from twin_conformance._run import RunObserver, TwinState, contract_validator
from twin_conformance.checks._support import body_object
from twin_conformance.interop_checks._support import (
    create_identity,
    harness_at_rest,
    require_commits_follow_the_rule,
    require_sound,
    resting_harness_validator,
    wait_until,
)
from twin_conformance.interop_checks.conftest import MemberClient
from twin_spec import leader_of

pytestmark = pytest.mark.twin_profile("core")
# The longest commit timeout a client may have before it answers 202, plus slack: the spec
# lets a node choose its commit timeout; the reference node's default is 30 s.
WRITE_BOUND_SECONDS = 120.0
HEALTH_BOUND_SECONDS = 60.0
WRITE = "TWIN-CORE-067"
HEALTH = "TWIN-CORE-066"


@pytest.fixture(scope="module")
def quorum_lost(network: InteropNetwork, members: list[MemberClient]) -> list[int]:
    """Crash harness validators until the live stake is below a quorum; the ones crashed.

    Not applicable (skipped) when the clients alone hold a quorum, which no harness validator
    can take away.
    """
    committee = network.committee
    assert committee is not None
    live = {m.member.index for m in members}
    if committee.is_quorum(live):
        pytest.skip("not applicable: the clients alone hold a quorum of stake")
    live |= {m.index for m in network.harness if m.peer is not None and m.peer.validator.alive}
    rest_on_a_live_leader(network, members)
    crashed = []
    for member in reversed(network.harness):
        if not committee.is_quorum(live):
            break
        if member.peer is not None and member.peer.validator.alive:
            member.peer.crash()
            live.discard(member.index)
            crashed.append(member.index)
    return crashed


ATTEMPTS = 8
"""Writes made at most to bring the committee to rest on a slot with a live leader."""


def rest_on_a_live_leader(network: InteropNetwork, members: list[MemberClient]) -> None:
    """Bring the committee to rest where the last slot it can still certify has a live leader.

    At rest a live harness validator is at round t, the clients at t - 1; once the quorum is
    lost, the write the clients cannot commit makes them propose rounds t and t + 1, whose
    blocks certify the leader block of round t - 1 (two clients' worth: not a quorum). That
    slot is where a client that commits without a quorum shows (best effort: writes move the
    rounds on until its leader is one that did not crash).
    """
    committee = network.committee
    assert committee is not None
    watched = resting_harness_validator(network)
    if watched is None:
        return
    crashed = {
        m.index for m in network.harness if m.peer is not None and not m.peer.validator.alive
    }
    for attempt in range(ATTEMPTS):
        top = harness_at_rest(watched)
        if top >= 2 and leader_of(top - 1, committee) not in crashed:
            return
        create_identity(members[attempt % len(members)], "TWIN-CONSENSUS-113")


def _patient(member: MemberClient, run: TwinState) -> TwinClient:
    """A client of ``member`` that waits out the member's commit timeout."""
    assert run.contract is not None
    return TwinClient(
        member.client.base_url,
        token=member.client.token,
        timeout=WRITE_BOUND_SECONDS,
        observer=RunObserver(run),
        validator=contract_validator(run, run.contract),
    )


@pytest.mark.twin_requirement("TWIN-CORE-067", "TWIN-CONSENSUS-132")
def test_a_write_without_a_quorum_is_answered_pending_with_where_to_look(
    members: list[MemberClient], quorum_lost: list[int], run: TwinState
) -> None:
    require_sound(run, members)
    member = members[0]
    client = _patient(member, run)
    try:
        started = time.monotonic()
        exchange = client.post("/identity", json_body={}, auth=True)
        waited = time.monotonic() - started
        status = exchange.status
        require(
            status == 202,
            WRITE,
            f"with validators {quorum_lost} silent (no quorum), a write to {member.label} "
            f"answered {status} after {waited:.0f} s; a write it queued but cannot commit must "
            "be 202 with a Location, never a status that says it failed"
            + (" (or did it commit without a quorum?)" if status in (200, 201) else ""),
        )
        location = exchange.headers.get("location", "")
        require(
            location.startswith("/consensus/transactions/"),
            WRITE,
            f"the 202 from {member.label} names no /consensus/transactions/{{digest}} Location "
            f"(Location: {location!r})",
        )
        looked_up = client.get(location)
        require(
            looked_up.status == 200,
            WRITE,
            f"the Location {location} of a pending write answered {looked_up.status}",
        )
        outcome: dict[str, Any] = body_object(looked_up, WRITE, "the transaction's status")
        require(
            outcome.get("status") == "pending",
            WRITE,
            f"a write the committee cannot commit is {outcome.get('status')!r} at {location}, "
            "not pending",
        )
    finally:
        client.close()


def _unhealthy(member: MemberClient) -> str | None:
    """The member's health status when it is warning or error, else None."""
    exchange = member.client.get("/health")
    if exchange.status != 200:
        return None
    status = body_object(exchange, HEALTH, "the health answer").get("status")
    return str(status) if status in ("warning", "error") else None


@pytest.mark.twin_requirement("TWIN-CORE-066")
def test_health_says_the_ledger_stalls_without_a_quorum(
    members: list[MemberClient], quorum_lost: list[int], run: TwinState
) -> None:
    require_sound(run, members)
    for member in members:
        said = wait_until(partial(_unhealthy, member), HEALTH_BOUND_SECONDS, pause=1.0)
        require(
            said is not None,
            HEALTH,
            f"{member.label}'s /health still says ok {HEALTH_BOUND_SECONDS:g} s after its "
            f"committee lost its quorum (validators {quorum_lost} silent) with a write waiting",
        )


SETTLE_SECONDS = 2.0
"""How long the harness lets the last blocks made without a quorum reach every client."""


@pytest.mark.twin_profile("consensus")
@pytest.mark.twin_requirement("TWIN-CONSENSUS-024", "TWIN-CONSENSUS-003", "TWIN-CONSENSUS-022")
def test_every_commit_served_is_one_the_commit_rule_makes_from_the_blocks_served(
    members: list[MemberClient], network: InteropNetwork, quorum_lost: list[int], run: TwinState
) -> None:
    require_sound(run, members)
    assert network.committee is not None
    time.sleep(SETTLE_SECONDS)
    require_commits_follow_the_rule(members, network, f"with validators {quorum_lost} silent")
