"""Interop, a client crashes and restarts: nothing acknowledged is lost, and it catches up.

Each client in turn: the harness writes through it, kills it with SIGKILL, writes through the
others while it is down, starts it again on the same member directory and waits until it is
healthy. Its DAG must have survived: a transaction queued through it then must not make it
sign a second block for a round it had signed before the crash, which the harness validators
(the spec core's receive rules) see as equivocation (TWIN-CONSENSUS-107, "also across
restarts"). Every write it acknowledged before the crash must still be there (TWIN-CORE-055,
which no single-node run can observe: the harness does not kill a vendor's node there), every
write the others acknowledged meanwhile must reach it (TWIN-CONSENSUS-112), and its commit
sequence must be a prefix of the others' and catch up with them (TWIN-CONSENSUS-113).
"""

from __future__ import annotations

import secrets
from functools import partial
from typing import Any

import pytest

from twin_conformance._failures import fail, require
from twin_conformance._interop_network import InteropNetwork
from twin_conformance._run import TwinState
from twin_conformance.checks._support import caller_identity
from twin_conformance.interop_checks._support import (
    broken_cause,
    create_identity,
    record,
    require_commits_follow_the_rule,
    require_sound,
    wait_until,
)
from twin_conformance.interop_checks.conftest import MemberClient
from twin_conformance.interop_checks.test_committee import require_prefixes, sequences
from twin_conformance.interop_checks.test_identity_across import resolved_on
from twin_spec import transaction_digest

pytestmark = pytest.mark.twin_profile("consensus")
WRITES = 3
CATCH_UP_SECONDS = 60.0
SIGNED_SECONDS = 30.0
"""How long the harness watches a restarted client sign blocks for a queued transaction."""


def evidence_against(network: InteropNetwork, author: int) -> dict[str, Any] | None:
    """Equivocation evidence against ``author`` that a live harness validator recorded."""
    for member in network.harness:
        if member.peer is not None and member.peer.validator.alive:
            for entry in list(member.peer.validator.equivocations):
                if entry.get("author") == author:
                    return entry
    return None


def _committed(victim: MemberClient, digest: str) -> str | None:
    """``committed`` once the victim says the transaction is, else None."""
    exchange = victim.client.get(f"/consensus/transactions/{digest}")
    if exchange.status != 200:
        return None
    body = exchange.json("TWIN-CONSENSUS-132")
    return "committed" if isinstance(body, dict) and body.get("status") == "committed" else None


def require_blocks_survived(victim: MemberClient, network: InteropNetwork) -> None:
    """Fail TWIN-CONSENSUS-107 when the restarted victim signs a round it signed before.

    A transaction queued through it makes it propose; a node that lost its DAG proposes again
    from a round it had already signed, and the harness validators hold both blocks.
    """
    index = victim.member.index
    sender = caller_identity(victim.client)
    if sender is None:
        create_identity(victim, "TWIN-CONSENSUS-107")
        digest = ""
    else:
        transaction = {
            "type": "conformance.noop",
            "sender": sender,
            "nonce": secrets.token_hex(16),
            "timestampMs": 1_767_225_600_000,
            "payload": {"after": "restart"},
        }
        victim.client.post("/consensus/transactions", json_body=transaction, auth=True)
        digest = transaction_digest(transaction).hex()

    def settled() -> object:
        found = evidence_against(network, index)
        if found is not None:
            return found
        return _committed(victim, digest) if digest else "written"

    wait_until(settled, SIGNED_SECONDS, pause=0.5)
    found = evidence_against(network, index)
    record(network, "blocks-kept-after-restart", "test_restarts.py", index, index,
           found is None)  # fmt: skip
    if found is not None:
        fail(
            "TWIN-CONSENSUS-107",
            f"{victim.label} was killed and restarted, then signed a second block for round "
            f"{found.get('round')} (the harness validators hold both, signed by its committee "
            "key): its blocks did not survive the restart",
            cause=broken_cause(victim),
        )


def restart_one(
    victim: MemberClient,
    members: list[MemberClient],
    network: InteropNetwork,
) -> None:
    """Kill ``victim``, write through the others, restart it, and judge what it kept."""
    others = [m for m in members if m is not victim]
    before = [str(create_identity(victim, "TWIN-CORE-055")["id"]) for _ in range(WRITES)]
    network.kill_client(victim.member)
    try:
        during = [
            (writer, str(create_identity(writer, "TWIN-CONSENSUS-112")["id"]))
            for writer in others
            for _ in range(WRITES)
        ]
    finally:
        # Whatever the others answered, the victim comes back for the scenarios after.
        network.restart_client(victim.member)
    require_blocks_survived(victim, network)
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
        require_commits_follow_the_rule(members, network, f"after {victim.label}'s restart")
        fail(
            "TWIN-CONSENSUS-112",
            f"{victim.label} holds {len(now[victim.label])} commits {CATCH_UP_SECONDS:g} s after"
            f" its restart, the others {reference}",
        )


@pytest.mark.twin_requirement(
    "TWIN-CONSENSUS-107", "TWIN-CORE-055", "TWIN-CONSENSUS-112", "TWIN-CONSENSUS-113"
)
def test_a_killed_client_keeps_what_it_acknowledged_and_catches_up(
    members: list[MemberClient], network: InteropNetwork, run: TwinState
) -> None:
    require_sound(run, members)
    assert network.committee is not None
    restarted = 0
    for victim in members:
        others = [m for m in members if m is not victim]
        up = [m.index for m in network.members if m is not victim.member and m.peer is None] + [
            m.index for m in network.harness if m.peer is not None and m.peer.validator.alive
        ]
        if not others or not network.committee.is_quorum(up):
            continue
        restart_one(victim, members, network)
        restarted += 1
    if not restarted:
        pytest.skip(
            "not applicable: the committee has no quorum, or no client to write through,"
            " without the client the scenario kills"
        )
