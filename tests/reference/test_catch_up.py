"""A validator cut off long enough to be left alone by its peers' outboxes catches up once back.

Four ``twin-node`` processes reach one another through the harness's relay under a light
steady write load. Validator 0 is cut off (black-holed both ways) for :data:`ISOLATED_SECONDS`,
long enough that every peer's sends to it fail and back off, and its sends to them too. Then:

- ``healed``: every link passes again;
- ``one-peer-no-pushes``: the network comes back only in part: validator 0 reaches validator 1
  alone, and no peer's pushes reach validator 0 (its links from the peers stay black-holed),
  so it can catch up only by asking, and only one of its three peers answers.

Either way validator 0 must hold, within :data:`CATCH_UP_SECONDS` of the heal, at least as
many commits as the others held at the heal (TWIN-CONSENSUS-112): a liveness bound that holds
on a loaded 2-core machine, not a speed figure. Before the fix of the catch-up pass (each round
was asked of two peers only, a peer whose outbox backed off was not asked at all, and the first
round neither had ended the pass as if caught up), the second case stalled: each pass went two
or three rounds before it asked two silent peers, and the next waited for an idle probe.
Every commit sequence must be a prefix of the others' (safety is untouched).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.cluster_process import Cluster, get_all, wait_for
from tests.reference.test_cluster import assert_prefixes
from tests.reference.test_partitions import (
    POLL_SECONDS,
    Load,
    start_relayed_cluster,
    wait_for_steady_commits,
)
from twin_conformance._relay import LinkMode, RelayThread

ISOLATED_SECONDS = 15.0
"""Longer than three attempts of 3 s at one batch: every outbox to and from it backs off."""
CATCH_UP_SECONDS = 40.0
"""Heal to holding the others' commits of the heal: a liveness bound for a loaded 2-core machine."""
VICTIM = 0
REACHED = 1
OTHERS = (1, 2, 3)


def reopen_in_part(relay: RelayThread) -> None:
    """Every link passes but those from the peers to the victim and from it to 2 and 3."""
    relay.heal()
    for peer in OTHERS:
        relay.set_mode(peer, VICTIM, LinkMode.blackhole())
        if peer != REACHED:
            relay.set_mode(VICTIM, peer, LinkMode.blackhole())


def victim_log(cluster: Cluster) -> str:
    """The victim's catch-up lines (its whole log is long under load)."""
    node = cluster.nodes.get(VICTIM)
    if node is None:
        return "(validator 0 is not running)"
    lines = [
        line
        for line in node.log().splitlines()
        if "twin_reference.sync" in line or "twin_reference.peers" in line or "ERROR" in line
    ]
    return "\n".join(lines[-40:])


@pytest.mark.slow
@pytest.mark.requirement("TWIN-CONSENSUS-112")
@pytest.mark.parametrize("heal", ["healed", "one-peer-no-pushes"])
def test_a_validator_left_alone_by_its_peers_catches_up_once_back(
    tmp_path: Path, relays: list[RelayThread], heal: str
) -> None:
    # Logging their catch-up (INFO), which a failure shows.
    cluster = start_relayed_cluster(tmp_path, relays, log_level="info")
    relay = relays[-1]
    try:
        tokens = {index: cluster.login(index) for index in range(cluster.size)}
        load = Load(cluster, tokens)
        load.start()
        try:
            wait_for_steady_commits(cluster, load)
            relay.cut([[VICTIM], list(OTHERS)], LinkMode.blackhole())
            cut_counts = {index: load.commits(index) for index in OTHERS}
            time.sleep(ISOLATED_SECONDS)
            target = max(load.commits(index) for index in OTHERS)
            assert target > max(cut_counts.values()), "the others made no commit without it"
            healed = time.monotonic()
            if heal == "healed":
                relay.heal()
            else:
                reopen_in_part(relay)
            wait_for(
                lambda: True if load.commits(VICTIM) >= target else None,
                CATCH_UP_SECONDS,
                lambda: (
                    f"validator {VICTIM} holds {load.commits(VICTIM)} commits"
                    f" {time.monotonic() - healed:.1f} s after the heal ({heal}); the others"
                    f" held {target} at the heal and hold"
                    f" {[load.commits(i) for i in OTHERS]} now\n{victim_log(cluster)}"
                ),
                every=POLL_SECONDS,
            )
            took = time.monotonic() - healed
        finally:
            load.finish()
        for index, node in cluster.nodes.items():
            assert node.process.poll() is None, f"validator {index} exited"
        sequences = {}
        for index in range(cluster.size):
            with cluster.client(index) as client:
                sequences[index] = get_all(client, "/consensus/commits", "commits")
        assert_prefixes(sequences)
        print(f"{heal}: validator {VICTIM} caught up {target} commits in {took:.1f} s")
        print(victim_log(cluster))
    finally:
        cluster.stop_all()
