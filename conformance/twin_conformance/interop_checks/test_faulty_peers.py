"""Interop, faulty peers the harness plays: a silent leader, a withholder, a false signature.

Each fault is one harness validator's behaviour for the length of one check (it is honest
again afterwards): a validator that proposes nothing in the rounds it leads (the others move
on after their leader timeout and keep committing, TWIN-CONSENSUS-113); one that sends its
blocks to some clients only (they fetch what the others' blocks name, TWIN-CONSENSUS-112);
and one that signs another summary than a checkpoint's (every client refuses the signature
as badSignature and keeps certified checkpoints that verify, TWIN-CONSENSUS-105).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from twin_conformance._failures import fail, require
from twin_conformance._interop_network import InteropNetwork, Member
from twin_conformance.checks._support import body_object, error_code, require_status
from twin_conformance.interop_checks._support import create_identity, get_all, record
from twin_conformance.interop_checks.conftest import MemberClient
from twin_conformance.interop_checks.test_committee import require_prefixes, sequences
from twin_spec import TwinSpecError, verify_certified_checkpoint

pytestmark = pytest.mark.twin_profile("consensus")
WRITES = 3


@pytest.fixture
def faulty(network: InteropNetwork) -> Iterator[Member]:
    """A live harness validator, made honest again after the check."""
    live = [m for m in network.harness if m.peer is not None and m.peer.validator.alive]
    if not live:
        pytest.skip("not applicable: the run has no harness validator to play the fault")
    member = live[0]
    yield member
    if member.peer is not None:
        member.peer.validator.be_honest()


def _writes(members: list[MemberClient]) -> None:
    for _ in range(WRITES):
        for member in members:
            create_identity(member, "TWIN-CONSENSUS-113")


@pytest.mark.twin_requirement("TWIN-CONSENSUS-113")
def test_the_committee_commits_past_a_silent_leader(
    members: list[MemberClient], network: InteropNetwork, faulty: Member
) -> None:
    assert faulty.peer is not None
    faulty.peer.validator.be_silent_leader()
    before = {label: len(seq) for label, seq in sequences(members, network).items()}
    _writes(members)
    after = sequences(members, network)
    require_prefixes(after)
    for member in members:
        require(
            len(after[member.label]) > before[member.label],
            "TWIN-CONSENSUS-113",
            f"{member.label} made no commit while {faulty.label} stayed silent as leader",
        )
        record(network, "silent-leader-passed", "test_faulty_peers.py", faulty.index,
               member.member.index, True)  # fmt: skip


@pytest.mark.twin_requirement("TWIN-CONSENSUS-112", "TWIN-CONSENSUS-113")
def test_blocks_withheld_from_a_client_are_fetched_and_committed(
    members: list[MemberClient], network: InteropNetwork, faulty: Member
) -> None:
    assert faulty.peer is not None
    victim = members[0]
    start = faulty.peer.validator.last_round
    faulty.peer.validator.withhold_from(frozenset({victim.member.index}))
    _writes(members)
    require_prefixes(sequences(members, network))
    commits = get_all(victim.client, "/consensus/commits", "commits", "TWIN-CONSENSUS-112")
    fetched = any(
        ref.get("author") == faulty.index and int(ref.get("round", 0)) > start
        for commit in commits
        for ref in commit.get("blocks", [])
        if isinstance(ref, dict)
    )
    record(network, "withheld-blocks-fetched", "test_faulty_peers.py", faulty.index,
           victim.member.index, fetched)  # fmt: skip
    require(
        fetched,
        "TWIN-CONSENSUS-112",
        f"{victim.label} committed none of the blocks {faulty.label} withheld from it since"
        f" round {start}: it did not fetch the ancestors its peers' blocks named",
    )


@pytest.mark.twin_requirement("TWIN-CONSENSUS-105")
def test_a_conflicting_checkpoint_signature_is_refused_by_every_client(
    members: list[MemberClient], network: InteropNetwork, faulty: Member
) -> None:
    assert faulty.peer is not None
    assert network.committee is not None
    signature = faulty.peer.validator.conflicting_signature(1)
    require(signature is not None, "TWIN-CONSENSUS-105", "no checkpoint 1 is committed yet")
    for member in members:
        exchange = member.client.post(
            "/consensus/checkpoints/1/signatures", json_body=signature, expect_rejection=True
        )
        refused = exchange.status == 400 and error_code(exchange) == "badSignature"
        record(network, "false-signature-refused", "test_faulty_peers.py", faulty.index,
               member.member.index, refused)  # fmt: skip
        require(
            refused,
            "TWIN-CONSENSUS-105",
            f"{member.label} answered {exchange.status} code {error_code(exchange)!r} to"
            f" {faulty.label}'s signature over another summary than checkpoint 1's",
        )
        served = member.client.get("/consensus/checkpoints/1")
        require_status(served, 200, "TWIN-CONSENSUS-105", f"{member.label}'s checkpoint 1")
        try:
            verify_certified_checkpoint(body_object(served, "TWIN-CONSENSUS-105", "checkpoint"),
                                        network.committee)  # fmt: skip
        except TwinSpecError as exc:
            fail(
                "TWIN-CONSENSUS-105",
                f"{member.label}'s checkpoint 1 no longer verifies: {exc.message}",
            )
