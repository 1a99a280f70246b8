"""Interop, a Byzantine peer: a harness validator equivocates, and every client catches it.

The harness validator signs two different blocks for one round with the spec core and sends
one to some peers and the other to the rest, then to each peer the other one, so that every
client has received both (what obliges it to record them). Every client must store and serve the
equivocation evidence (TWIN-CONSENSUS-107), evidence the harness verifies offline with the
spec core and the genesis committee (TWIN-CONSENSUS-030), naming exactly the two blocks it
signed; and the members' commit sequences stay prefixes of one another (TWIN-CONSENSUS-113).
"""

from __future__ import annotations

from typing import Any

import pytest

from twin_conformance._failures import fail, require
from twin_conformance._interop_network import InteropNetwork
from twin_conformance.interop_checks._support import (
    create_identity,
    get_all,
    record,
    wait_until,
)
from twin_conformance.interop_checks.conftest import MemberClient
from twin_conformance.interop_checks.test_committee import require_prefixes, sequences
from twin_spec import TwinSpecError, block_digest, verify_equivocation_evidence

pytestmark = pytest.mark.twin_profile("consensus")
CAUGHT_SECONDS = 30.0


def evidence_of(member: MemberClient, author: int) -> dict[str, Any] | None:
    """The first equivocation evidence ``member`` serves against ``author``, or None."""
    found = get_all(
        member.client, "/consensus/equivocations", "equivocations", "TWIN-CONSENSUS-107"
    )
    return next((e for e in found if isinstance(e, dict) and e.get("author") == author), None)


def serves_unverifiable(member: MemberClient, committee: Any) -> bool:
    """Whether ``member`` serves a piece of equivocation evidence that does not verify."""
    path = "/consensus/equivocations"
    for entry in get_all(member.client, path, "equivocations", "TWIN-CONSENSUS-107"):
        try:
            verify_equivocation_evidence(entry, committee)
        except TwinSpecError:
            return True
    return False


@pytest.mark.twin_requirement("TWIN-CONSENSUS-107", "TWIN-CONSENSUS-030", "TWIN-CONSENSUS-113")
def test_an_equivocating_harness_validator_is_caught_by_every_client(
    members: list[MemberClient], network: InteropNetwork
) -> None:
    live = [m for m in network.harness if m.peer is not None and m.peer.validator.alive]
    if not live:
        pytest.skip("not applicable: the run has no harness validator to equivocate")
    liar = live[0]
    assert liar.peer is not None
    indices = [m.member.index for m in members]
    first = frozenset(indices[: max(1, len(indices) // 2)])
    second = frozenset(range(network.size)) - first
    liar.peer.validator.equivocate_next(first, second)
    assert network.committee is not None

    def caught() -> dict[int, dict[str, Any]] | None:
        if liar.peer is None or liar.peer.validator.equivocated is None:
            create_identity(members[0], "TWIN-CONSENSUS-107")
            return None
        found = {m.member.index: evidence_of(m, liar.index) for m in members}
        if all(found.values()) or any(serves_unverifiable(m, network.committee) for m in members):
            # Every client caught it, or one serves evidence that does not verify: the
            # verdict is known, and more writes would only lengthen the run.
            return {index: e for index, e in found.items() if e is not None}
        # Rounds move only while something waits for a commit: give them a write.
        create_identity(members[len(found) % len(members)], "TWIN-CONSENSUS-107")
        return None

    wait_until(caught, CAUGHT_SECONDS, pause=0.5)
    signed = liar.peer.validator.equivocated
    require(signed is not None, "TWIN-CONSENSUS-107", "the harness validator never proposed")
    assert signed is not None
    digests = sorted(block_digest(block).hex() for block in signed)
    failures: list[tuple[str, str]] = []
    for member in members:
        served = get_all(
            member.client, "/consensus/equivocations", "equivocations", "TWIN-CONSENSUS-107"
        )
        # Every piece of evidence a client serves must verify offline, not only the liar's.
        for position, entry in enumerate(served):
            try:
                verify_equivocation_evidence(entry, network.committee)
            except TwinSpecError as exc:
                failures.append(
                    (
                        "TWIN-CONSENSUS-030",
                        f"{member.label} serves evidence #{position + 1} that does not verify"
                        f" offline with the genesis committee: {exc.message}",
                    )
                )
        found = next(
            (e for e in served if isinstance(e, dict) and e.get("author") == liar.index), None
        )
        blocks = found.get("blocks") if found is not None else None
        named = (
            sorted(block_digest(b).hex() for b in blocks if isinstance(b, dict))
            if isinstance(blocks, list)
            else []
        )
        same = named == digests
        detail = "no evidence" if found is None else ("" if same else "other blocks")
        record(network, "equivocation-caught", "test_byzantine.py", liar.index,
               member.member.index, same, detail)  # fmt: skip
        if found is None:
            failures.append(
                ("TWIN-CONSENSUS-107", f"{member.label} serves no evidence against {liar.label}")
            )
        elif not same:
            failures.append(
                (
                    "TWIN-CONSENSUS-107",
                    f"{member.label}'s evidence against {liar.label} names other blocks than"
                    " the two it signed",
                )
            )
    if failures:
        # A served evidence that does not verify is the root cause to report first.
        failures.sort(key=lambda failure: failure[0] != "TWIN-CONSENSUS-030")
        fail(
            failures[0][0],
            f"within {CAUGHT_SECONDS:g} s of the equivocation: "
            + "; ".join(message for _, message in failures[:4]),
        )
    for member in members:
        create_identity(member, "TWIN-CONSENSUS-113")
    require_prefixes(sequences(members, network))
