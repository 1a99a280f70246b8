"""Interop, crashes: with f validators crashed the committee keeps committing, and loses nothing.

f is the most validators whose stake stays below the validity threshold, (n - 1) // 3 with
stake 1 each. The harness crashes that many of its own validators (it never kills a client
here), then writes through every client: each write must be answered as committed, seen by
every other client, and every write acknowledged during the run must still be there.
"""

from __future__ import annotations

from functools import partial

import pytest

from twin_conformance._failures import require
from twin_conformance._interop_network import InteropNetwork
from twin_conformance._run import TwinState
from twin_conformance.interop_checks._support import (
    create_identity,
    record,
    require_sound,
    wait_until,
)
from twin_conformance.interop_checks.conftest import MemberClient
from twin_conformance.interop_checks.test_committee import require_prefixes, sequences
from twin_conformance.interop_checks.test_identity_across import resolved_on

pytestmark = pytest.mark.twin_profile("consensus")
SEEN_SECONDS = 30.0


@pytest.mark.twin_requirement("TWIN-CONSENSUS-113", "TWIN-CONSENSUS-106")
def test_the_committee_keeps_committing_with_f_validators_crashed(
    members: list[MemberClient], network: InteropNetwork, run: TwinState
) -> None:
    require_sound(run, members)
    faulty = (network.size - 1) // 3
    live = [m for m in network.harness if m.peer is not None and m.peer.validator.alive]
    if faulty == 0 or not live:
        pytest.skip(
            f"not applicable: a committee of {network.size} tolerates no crash"
            if faulty == 0
            else "not applicable: the run has no harness validator to crash"
        )
    # The equivocator (if any) stays up: crash the others first.
    for member in list(reversed(live))[:faulty]:
        assert member.peer is not None
        member.peer.crash()
    written = {m.member.index: str(create_identity(m, "TWIN-CONSENSUS-113")["id"]) for m in members}
    failures = []
    for producer in members:
        did = written[producer.member.index]
        for consumer in members:
            if consumer is producer:
                continue
            seen = wait_until(partial(resolved_on, consumer, did), SEEN_SECONDS) is not None
            record(
                network,
                "write-with-f-crashed",
                "test_crashes.py",
                producer.member.index,
                consumer.member.index,
                seen,
            )
            if not seen:
                failures.append(f"{did} written on {producer.label} is not on {consumer.label}")
    require(
        not failures,
        "TWIN-CONSENSUS-113",
        f"with {faulty} validator(s) crashed: " + "; ".join(failures[:4]),
    )
    require_prefixes(sequences(members, network))
