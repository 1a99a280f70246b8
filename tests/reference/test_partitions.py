"""A committee of four `twin-node` processes partitioned through the harness's relay, then healed.

Issue 12, item 0: after {0,1}|{2,3} for 30 s no commit followed the heal, because each side
held blocks of the top rounds the other lacked and nothing fetched them. Each validator now
reaches its peers through a :class:`~twin_conformance._relay.RelayThread` (``twin-node serve
--peer-urls``) under a light steady write load; after each heal every member commits again
within :data:`RESUME_SECONDS` (a liveness bound, measured from the heal to the first new
commit seen on each member), without a restart; every member's commit sequence is a prefix
of the others' and every write answered 201 is on every member's ledger.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.cluster_process import Cluster, create_cluster, get_all, wait_for
from tests.reference.test_cluster import assert_prefixes
from twin_conformance._relay import LinkMode, RelayThread
from twin_reference._ledger_codec import unpack_text

RESUME_SECONDS = 5.0
"""Heal to the first new commit on every member: a bound that holds on a loaded 2-core machine."""
COMMIT_TIMEOUT = 3.0
WRITE_PAUSE_SECONDS = 0.2
POLL_SECONDS = 0.05
TRIALS = 10

HALVES = ([0, 1], [2, 3])
ONE_ALONE = ([0], [1, 2, 3])
SCENARIOS = {
    "halves-blackholed-30s": (HALVES, LinkMode.blackhole(), 30.0),
    "one-alone-blackholed-20s": (ONE_ALONE, LinkMode.blackhole(), 20.0),
    "halves-refused-3s": (HALVES, LinkMode.refuse(), 3.0),
}
RESUMED: dict[str, list[float]] = {}
"""Seconds from heal to the first commit on the slowest member, per scenario (printed)."""


@dataclass
class Load:
    """Writers (one per member, one write at a time) and a watcher of every member's commits."""

    cluster: Cluster
    tokens: dict[int, str]
    stop: threading.Event = field(default_factory=threading.Event)
    acknowledged: list[str] = field(default_factory=list)
    answers: dict[int, int] = field(default_factory=dict)
    seen: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    """Per member: (commit count, time.monotonic when first seen), in order."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for index in range(self.cluster.size):
            self.seen[index] = [(0, time.monotonic())]
            self.threads.append(threading.Thread(target=self._write, args=(index,)))
            self.threads.append(threading.Thread(target=self._watch, args=(index,)))
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=COMMIT_TIMEOUT + 40)
        assert not any(thread.is_alive() for thread in self.threads), "a load thread hangs"

    def commits(self, index: int) -> int:
        with self.lock:
            return self.seen[index][-1][0]

    def first_commit_after(self, index: int, count: int, since: float) -> float | None:
        """Seconds from ``since`` until member ``index`` was seen past ``count`` commits."""
        with self.lock:
            for seen, at in self.seen[index]:
                if seen > count:
                    return max(0.0, at - since)
        return None

    def _write(self, index: int) -> None:
        number = 0
        with self.cluster.client(index, self.tokens[index]) as client:
            while not self.stop.is_set():
                number += 1
                key = f"partition-{index}-{number}-{uuid.uuid4().hex}"
                try:
                    answer = client.post(
                        "/immutable-proof",
                        json={"document": {"key": key}},
                        headers={"idempotency-key": key},
                        timeout=COMMIT_TIMEOUT + 30,
                    )
                except httpx.HTTPError:
                    continue
                with self.lock:
                    self.answers[answer.status_code] = self.answers.get(answer.status_code, 0) + 1
                    if answer.status_code == 201:
                        # The proof's id; the transaction carries it (and the document's hash).
                        self.acknowledged.append(answer.headers["location"].rsplit(":", 1)[-1])
                self.stop.wait(WRITE_PAUSE_SECONDS)

    def _watch(self, index: int) -> None:
        with self.cluster.client(index) as client:
            while not self.stop.is_set():
                count = self.commits(index)
                try:
                    page = client.get(
                        "/consensus/commits", params={"from": count + 1, "limit": 1000}, timeout=10
                    )
                    found = len(page.json()["commits"]) if page.status_code == 200 else 0
                except (httpx.HTTPError, ValueError, KeyError):
                    found = 0
                if found:
                    with self.lock:
                        self.seen[index].append((count + found, time.monotonic()))
                self.stop.wait(POLL_SECONDS)


def start_relayed_cluster(
    tmp_path: Path,
    relay_factory: list[RelayThread],
    *,
    log_level: str | None = None,
    serve_args: tuple[str, ...] = ("--commit-timeout", str(COMMIT_TIMEOUT)),
) -> Cluster:
    """Four validators, every peer link through one relay (the last of ``relay_factory``).

    ``serve_args`` are the ``twin-node serve`` options of every validator (the partition
    scenarios' short commit timeout by default).
    """
    cluster = create_cluster(tmp_path, 4)
    relay = RelayThread({index: cluster.url(index) for index in range(cluster.size)})
    relay.__enter__()
    relay_factory.append(relay)
    for index in range(cluster.size):
        path = tmp_path / f"peer-urls-{index}.json"
        peers = [{"index": k, "url": v} for k, v in sorted(relay.peer_urls(index).items())]
        path.write_text(json.dumps({"peers": peers}))
        cluster.node_args[index] = ("--peer-urls", str(path))
    cluster.serve_args = serve_args
    if log_level is not None:
        cluster.serve_args += ("--log-level", log_level)
    cluster.start(range(cluster.size))
    return cluster


def wait_for_steady_commits(cluster: Cluster, load: Load) -> None:
    """Wait (bounded) until every member has committed five writes of the load."""
    wait_for(
        lambda: True if min(load.commits(i) for i in range(cluster.size)) >= 5 else None,
        30,
        lambda: f"no commits under load before the partition\n{cluster.logs()}",
    )


def missing_proofs(cluster: Cluster, index: int, proofs: set[str]) -> set[str]:
    """The proof ids of ``proofs`` that no committed transaction on member ``index`` carries."""
    database = sqlite3.connect(f"file:{cluster.data_dir(index) / 'node.sqlite'}?mode=ro", uri=True)
    try:
        rows = database.execute("SELECT body FROM transactions").fetchall()
    finally:
        database.close()
    ledger = "\n".join(unpack_text(body) for (body,) in rows)
    return {proof for proof in proofs if f'"{proof}"' not in ledger}


def run_partition(
    tmp_path: Path,
    relays: list[RelayThread],
    groups: Sequence[Sequence[int]],
    mode: LinkMode,
    seconds: float,
) -> list[float]:
    """Partition, heal, and check; return each member's seconds from heal to a new commit."""
    cluster = start_relayed_cluster(tmp_path, relays)
    relay = relays[-1]
    try:
        tokens = {index: cluster.login(index) for index in range(cluster.size)}
        load = Load(cluster, tokens)
        load.start()
        try:
            wait_for_steady_commits(cluster, load)
            relay.cut(groups, mode)
            time.sleep(seconds)
            counts = {index: load.commits(index) for index in range(cluster.size)}
            healed = time.monotonic()
            relay.heal()
            resumed = wait_for(
                lambda: _all_resumed(load, counts, healed),
                RESUME_SECONDS + 25,
                lambda: f"commits did not resume after the heal\n{cluster.logs()}",
                every=POLL_SECONDS,
            )
            time.sleep(2.0)
        finally:
            load.finish()
        for index, node in cluster.nodes.items():
            assert node.process.poll() is None, f"validator {index} exited (no restart allowed)"
        check_safety(cluster, load)
        print(f"heal to first commit per member: {resumed}; answers {load.answers}")
        return resumed
    finally:
        cluster.stop_all()


def _all_resumed(load: Load, counts: dict[int, int], healed: float) -> list[float] | None:
    times = [load.first_commit_after(index, counts[index], healed) for index in sorted(counts)]
    return None if any(t is None for t in times) else [t for t in times if t is not None]


def check_safety(cluster: Cluster, load: Load) -> None:
    """Every sequence a prefix of the others'; every acknowledged write on every member."""
    sequences = {}
    for index in range(cluster.size):
        with cluster.client(index) as client:
            sequences[index] = get_all(client, "/consensus/commits", "commits")
    assert_prefixes(sequences)
    assert load.acknowledged, f"no write was acknowledged: {load.answers}"
    wanted = set(load.acknowledged)
    for index in range(cluster.size):
        wait_for(
            lambda index=index: (
                None  # type: ignore[misc]
                if missing_proofs(cluster, index, wanted)
                else True
            ),
            60,
            lambda index=index: (  # type: ignore[misc]
                f"validator {index} lacks {len(missing_proofs(cluster, index, wanted))}"
                f" acknowledged writes\n{cluster.logs()}"
            ),
            every=0.5,
        )


def _check(name: str, resumed: list[float]) -> None:
    RESUMED.setdefault(name, []).append(max(resumed))
    figures = RESUMED[name]
    print(
        f"{name}: heal to first commit on every member over {len(figures)} trial(s):"
        f" min {min(figures):.2f} s, median {statistics.median(figures):.2f} s,"
        f" max {max(figures):.2f} s"
    )
    assert max(resumed) <= RESUME_SECONDS, (
        f"{name}: commits resumed {resumed} s after the heal (bound {RESUME_SECONDS} s)"
    )


@pytest.mark.requirement("TWIN-CONSENSUS-112", "TWIN-CONSENSUS-118")
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_commits_resume_after_a_healed_partition(
    tmp_path: Path, relays: list[RelayThread], name: str
) -> None:
    groups, mode, seconds = SCENARIOS[name]
    _check(name, run_partition(tmp_path, relays, groups, mode, seconds))


@pytest.mark.slow
@pytest.mark.requirement("TWIN-CONSENSUS-112", "TWIN-CONSENSUS-118")
@pytest.mark.parametrize("trial", range(TRIALS))
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_commits_resume_after_a_healed_partition_in_every_trial(
    tmp_path: Path, relays: list[RelayThread], name: str, trial: int
) -> None:
    groups, mode, seconds = SCENARIOS[name]
    _check(name, run_partition(tmp_path, relays, groups, mode, seconds))
