"""Interop, an equivocator's blocks toward a quorum: its stake counts once, however many blocks.

With one harness validator left live (the others crashed, ``test_crashes.py``), the committee
rests with the clients at round r and the harness validator alone at r + 1. That validator
then signs more blocks of round r + 1 and sends them to every client: each names the same
ancestors, so each certifies the leader block of round r - 1, but they are one validator's,
whose stake the commit rule counts once (TWIN-CONSENSUS-003); the slot stays undecided. A
client that counts each block commits it: the harness replays the spec core's commit rule
over the blocks the client serves and finds a commit it does not make. Then a write lets the
committee certify the slot for real, and the run goes on.
"""

from __future__ import annotations

import time

import pytest

from twin_conformance._commit_replay import first_commit_mismatch
from twin_conformance._failures import fail
from twin_conformance._interop_network import InteropNetwork
from twin_conformance._run import TwinState
from twin_conformance.interop_checks._support import (
    create_identity,
    get_all,
    harness_at_rest,
    record,
    require_sound,
    served_blocks,
)
from twin_conformance.interop_checks.conftest import MemberClient
from twin_spec import leader_of

pytestmark = pytest.mark.twin_profile("consensus")
ATTEMPTS = 8
"""Writes made at most to bring the committee to rest on a slot with a live leader."""
SETTLE_SECONDS = 2.0
"""How long the extra blocks take to reach every client and be decided on."""


@pytest.mark.twin_requirement("TWIN-CONSENSUS-003", "TWIN-CONSENSUS-024")
def test_an_equivocators_blocks_of_one_round_count_once_toward_a_quorum(
    members: list[MemberClient], network: InteropNetwork, run: TwinState
) -> None:
    require_sound(run, members)
    committee = network.committee
    assert committee is not None
    live = [m for m in network.harness if m.peer is not None and m.peer.validator.alive]
    if len(live) != 1:
        pytest.skip("not applicable: needs exactly one live harness validator, the others crashed")
    liar = live[0]
    assert liar.peer is not None
    stake = committee.validator(liar.index).stake
    if stake >= committee.validity_threshold:
        pytest.skip("not applicable: the harness validator alone holds a third of the stake")
    crashed = {m.index for m in network.harness if m is not liar}
    # The slot judged is two rounds below the validator's resting round; its leader must be
    # live, so that its block is there and voted for. Writes move the rounds on until it is.
    top = 0
    for attempt in range(ATTEMPTS):
        create_identity(members[attempt % len(members)], "TWIN-CONSENSUS-113")
        top = harness_at_rest(liar)
        if top >= 3 and leader_of(top - 2, committee) not in crashed:
            break
    else:
        pytest.skip("not applicable: the committee never rested on a slot with a live leader")
    extra = -(-committee.quorum_threshold // stake) - 1
    liar.peer.validator.sign_again(extra)
    time.sleep(SETTLE_SECONDS)
    found = []
    for member in members:
        commits = get_all(member.client, "/consensus/commits", "commits", "TWIN-CONSENSUS-100")
        blocks = served_blocks(member.client, "TWIN-CONSENSUS-100")
        mismatch = first_commit_mismatch(committee, blocks, commits)
        record(network, "equivocator-counted-once", "test_equivocation_quorum.py",
               liar.index, member.member.index, mismatch is None)  # fmt: skip
        if mismatch is not None:
            found.append((member, mismatch))
    # A write brings the clients' own blocks of that round: the slot is certified for real
    # and the committee commits again.
    create_identity(members[0], "TWIN-CONSENSUS-113")
    if found:
        member, mismatch = found[0]
        fail(
            mismatch.requirement,
            f"{liar.label} signed {extra + 1} blocks of round {top}, certifying the slot of "
            f"round {top - 2} with the stake of one validator; {member.label}'s "
            f"{mismatch.message}",
        )
