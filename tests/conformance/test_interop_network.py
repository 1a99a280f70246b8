"""An interop network of harness validators alone, over real sockets, through its relay.

Four harness validators (no client process) make a committee in this process. Each reaches
the others only through the network's relay, so a cut isolates them: split {0,2} | {1,3}
(no side holds a quorum) nobody commits; once healed, every validator commits again within
:data:`RESUME_SECONDS` without a restart (TWIN-CONSENSUS-118 on the harness's side: each
asks its peers for the rounds around its own and sends its latest blocks again), and their
commit sequences stay prefixes of one another. A validator cut off while the others commit
catches up once healed and certifies every checkpoint, although the signatures the others
sent it meanwhile were lost (it takes their certified checkpoints). Stopping the network stops
every thread and closes every socket it opened (the relay's included).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from twin_conformance._interop_network import InteropNetwork
from twin_conformance._relay import LinkMode
from twin_conformance.interop_checks._support import wait_until

RESUME_SECONDS = 5.0
"""Heal to the first new commit on every validator (the interop scenario's bound)."""
CUT_SECONDS = 4.0
CERTIFIED_SECONDS = 20.0
"""Heal to every checkpoint certified on every validator: catching up, then a few passes."""


@pytest.fixture
def network(tmp_path: Path) -> Iterator[InteropNetwork]:
    made = InteropNetwork([], 4, tmp_path / "members")
    made.start()
    try:
        yield made
    finally:
        made.stop()


def _counts(network: InteropNetwork) -> list[int]:
    return [
        len(member.peer.validator.commits) for member in network.harness if member.peer is not None
    ]


def _sequences(network: InteropNetwork) -> list[list[dict[str, object]]]:
    return [
        list(member.peer.validator.snapshot()["commits"])
        for member in network.harness
        if member.peer is not None
    ]


def _require_prefixes(sequences: list[list[dict[str, object]]]) -> None:
    for one in sequences:
        for other in sequences:
            shorter = min(len(one), len(other))
            assert one[:shorter] == other[:shorter], "commit sequences are not prefixes"


@pytest.mark.requirement("TWIN-CONSENSUS-118")
@pytest.mark.parametrize("mode", ["refuse", "blackhole"])
def test_harness_validators_split_without_a_quorum_commit_again_once_healed(
    network: InteropNetwork, mode: str
) -> None:
    # Refused, every message into the split is dropped after its last attempt; black-holed,
    # what is still queued or retried is dropped before the heal (as the split scenario does),
    # so that only the stall probes can resume the committee.
    assert network.relay is not None
    assert wait_until(lambda: True if min(_counts(network)) >= 3 else None, 30), _counts(network)
    network.cut([[0, 2], [1, 3]], LinkMode.refuse() if mode == "refuse" else LinkMode.blackhole())
    time.sleep(0.5)  # what was in flight lands
    stalled = _counts(network)
    time.sleep(CUT_SECONDS)
    during = _counts(network)
    assert during == stalled, f"a side without a quorum committed: {stalled} -> {during}"
    for member in network.harness:
        assert member.peer is not None
        member.peer.forget_unsent()
    healed = time.monotonic()
    network.heal()
    resumed = wait_until(
        lambda: True if all(a > b for a, b in zip(_counts(network), during, strict=True)) else None,
        RESUME_SECONDS + 20,
    )
    elapsed = time.monotonic() - healed
    assert resumed, f"no commit {elapsed:.1f} s after the heal: {during} -> {_counts(network)}"
    assert elapsed <= RESUME_SECONDS, f"commits resumed {elapsed:.1f} s after the heal"
    _require_prefixes(_sequences(network))


def _certified(network: InteropNetwork) -> list[int]:
    return [
        len(member.peer.validator.certified(1, 100_000))
        for member in network.harness
        if member.peer is not None
    ]


@pytest.mark.requirement("TWIN-CONSENSUS-112")
def test_a_validator_cut_off_while_the_others_commit_certifies_every_checkpoint_once_healed(
    network: InteropNetwork,
) -> None:
    assert wait_until(lambda: True if min(_counts(network)) >= 3 else None, 30), _counts(network)
    network.cut([[3], [0, 1, 2]], LinkMode.blackhole())
    cut = _counts(network)
    assert wait_until(lambda: True if min(_counts(network)[:3]) >= cut[3] + 5 else None, 30), (
        f"the three with a quorum did not commit: {cut} -> {_counts(network)}"
    )
    for member in network.harness:
        assert member.peer is not None
        member.peer.forget_unsent()
    network.heal()
    target = max(_counts(network))

    def settled() -> list[int] | None:
        certified = _certified(network)
        return certified if min(certified) >= target else None

    assert wait_until(settled, CERTIFIED_SECONDS), (
        f"not every checkpoint up to {target} certified {CERTIFIED_SECONDS:g} s after the heal:"
        f" commits {_counts(network)}, certified {_certified(network)}"
    )
    _require_prefixes(_sequences(network))


def test_stopping_the_network_stops_its_relay_and_validators(tmp_path: Path) -> None:
    before = {thread.ident for thread in threading.enumerate()}
    made = InteropNetwork([], 2, tmp_path / "members")
    made.start()
    relay = made.relay
    assert relay is not None
    ports = [int(url.rsplit(":", 1)[1]) for url in relay.peer_urls(0).values()]
    ports += [int(member.url.rsplit(":", 1)[1]) for member in made.members]
    made.stop()
    assert made.relay is None
    left = [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert not left, f"threads outlived the network: {left}"
    listening = {
        c.laddr.port
        for c in psutil.net_connections("tcp")
        if c.laddr and c.status == psutil.CONN_LISTEN
    }
    assert not listening & set(ports), "a socket of the network still listens"
