"""Interop, a client crashes and restarts: nothing acknowledged is lost, and it catches up.

The harness writes through the last client, kills it with SIGKILL, writes through the others
while it is down, starts it again on the same member directory and waits until it is healthy.
Every write it acknowledged before the crash must still be there (TWIN-CORE-055, which no
single-node run can observe: the harness does not kill a vendor's node there), every write
the others acknowledged meanwhile must reach it (TWIN-CONSENSUS-112), and its commit sequence
must be a prefix of the others' and catch up with them (TWIN-CONSENSUS-113).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from twin_conformance._failures import fail, require
from twin_conformance._interop_network import InteropNetwork
from twin_conformance.interop_checks._support import create_identity, record, wait_until
from twin_conformance.interop_checks.conftest import MemberClient
from twin_conformance.interop_checks.test_committee import require_prefixes, sequences
from twin_conformance.interop_checks.test_identity_across import resolved_on

pytestmark = pytest.mark.twin_profile("consensus")
WRITES = 3
CATCH_UP_SECONDS = 60.0


@pytest.mark.twin_requirement("TWIN-CORE-055", "TWIN-CONSENSUS-112", "TWIN-CONSENSUS-113")
def test_a_killed_client_keeps_what_it_acknowledged_and_catches_up(
    members: list[MemberClient], network: InteropNetwork
) -> None:
    assert network.committee is not None
    victim = members[-1]
    others = [m for m in members if m is not victim]
    up = [m.index for m in network.members if m is not victim.member and m.peer is None] + [
        m.index for m in network.harness if m.peer is not None and m.peer.validator.alive
    ]
    if not others or not network.committee.is_quorum(up):
        pytest.skip(
            "not applicable: the committee has no quorum, or no client to write through,"
            " without the client the scenario kills"
        )
    before = [str(create_identity(victim, "TWIN-CORE-055")["id"]) for _ in range(WRITES)]
    network.kill_client(victim.member)
    during = [
        (writer, str(create_identity(writer, "TWIN-CONSENSUS-112")["id"]))
        for writer in others
        for _ in range(WRITES)
    ]
    network.restart_client(victim.member)
    for did in before:
        kept = wait_until(partial(resolved_on, victim, did), CATCH_UP_SECONDS)
        record(network, "kept-after-restart", "test_restarts.py", victim.member.index,
               victim.member.index, kept is not None)  # fmt: skip
        require(
            kept is not None,
            "TWIN-CORE-055",
            f"{victim.label} acknowledged the creation of {did}, was killed and restarted, and"
            " no longer resolves it",
        )
    for writer, did in during:
        seen = wait_until(partial(resolved_on, victim, did), CATCH_UP_SECONDS)
        record(network, "caught-up-after-restart", "test_restarts.py", writer.member.index,
               victim.member.index, seen is not None)  # fmt: skip
        require(
            seen is not None,
            "TWIN-CONSENSUS-112",
            f"{did}, written on {writer.label} while {victim.label} was down, has not reached"
            f" {victim.label} {CATCH_UP_SECONDS:g} s after its restart",
        )
    reference = max(len(seq) for seq in sequences(others, network).values())

    def caught_up() -> dict[str, list[Any]] | None:
        now = sequences(members, network)
        return now if len(now[victim.label]) >= reference else None

    settled = wait_until(caught_up, CATCH_UP_SECONDS)
    now = settled or sequences(members, network)
    require_prefixes(now)
    if settled is None:
        fail(
            "TWIN-CONSENSUS-112",
            f"{victim.label} holds {len(now[victim.label])} commits {CATCH_UP_SECONDS:g} s after"
            f" its restart, the others {reference}",
        )
