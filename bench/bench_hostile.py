"""Benchmark the reference node under hostile load: /health latency, side by side with idle.

Run: ``python bench/bench_hostile.py`` (about 40 seconds). It starts a reference node on
loopback and measures the latency of ``GET /health`` (one probe every 20 ms on one keep-alive
connection) twice, each for ``--seconds``:

- idle;
- while, at the same time, one client posts 16 MiB bodies of 5.5 million empty objects to the
  public ``POST /consensus/evaluate`` back to back, and a login flood (new emails, wrong
  passwords) comes from four source addresses (127.0.0.2 to .5), two connections each.

It reports the p50, p99 and maximum of both, the ratio of the p99s (goal: the p99 under load
below 200 ms), the answers the hostile clients got, and the node's peak resident memory (its
worker process included). ``--pythonpath DIR`` runs the node from another checkout's ``spec``
and ``reference`` folders, to measure a version before a change side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.node_process import RunningNode, start_node  # noqa: E402

FLOOD_ADDRESSES = [f"127.0.0.{last}" for last in range(2, 6)]


def probe_health(node: RunningNode, seconds: float) -> list[float]:
    """Latencies of GET /health, one every 20 ms, for ``seconds``."""
    latencies: list[float] = []
    with httpx.Client(base_url=node.url, timeout=60) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            client.get("/health")
            latencies.append(time.perf_counter() - started)
            time.sleep(0.02)
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def evaluate_body(node: RunningNode) -> bytes:
    """16 MiB of JSON: a committee and 5.5 million empty objects as blocks."""
    committee = httpx.get(f"{node.url}/consensus/committee", timeout=30).json()
    head = b'{"committee":' + json.dumps(committee).encode() + b',"blocks":['
    count = (16 * 1024 * 1024 - len(head) - 2) // 3
    return head + b",".join([b"{}"] * count) + b"]}"


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process and its children (the node's worker)."""
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            continue
    return total


@dataclass(frozen=True)
class Measured:
    """The /health latencies idle and under load, the hostile answers, the peak memory."""

    idle: list[float]
    hostile: list[float]
    answers: dict[str, int]
    peak: int


def measure(node: RunningNode, seconds: float) -> Measured:
    """Idle, then hostile: the /health latencies and what the hostile clients got."""
    idle = probe_health(node, seconds)
    body = evaluate_body(node)
    stop = threading.Event()
    answers: Counter[str] = Counter()
    lock = threading.Lock()

    def count(kind: str, status: int | str) -> None:
        with lock:
            answers[f"{kind} {status}"] += 1

    def evaluate() -> None:
        while not stop.is_set():
            try:
                status: int | str = httpx.post(
                    f"{node.url}/consensus/evaluate",
                    content=body,
                    headers={"content-type": "application/json"},
                    timeout=120,
                ).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            count("evaluate", status)

    def flood(address: str, worker: int) -> None:
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(base_url=node.url, transport=transport, timeout=60) as client:
            number = 0
            while not stop.is_set():
                number += 1
                email = f"bench-{address}-{worker}-{number}@twin.example"
                try:
                    status: int | str = client.post(
                        "/authentication/login", json={"email": email, "password": "wrong"}
                    ).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                count("login", status)

    process = psutil.Process(node.process.pid)
    peak = tree_rss(process)
    threads = [threading.Thread(target=evaluate, daemon=True)]
    threads += [
        threading.Thread(target=flood, args=(address, worker), daemon=True)
        for address in FLOOD_ADDRESSES
        for worker in range(2)
    ]
    for thread in threads:
        thread.start()
    sampler_stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not sampler_stop.is_set():
            peak = max(peak, tree_rss(process))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        time.sleep(1.0)
        hostile = probe_health(node, seconds)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=150)
        sampler_stop.set()
        sampler.join(timeout=5)
    return Measured(idle, hostile, dict(answers), peak)


def main() -> None:
    """Start a node, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument(
        "--pythonpath", type=Path, help="run the node from this checkout's spec and reference"
    )
    args = parser.parse_args()
    env = None
    if args.pythonpath is not None:
        root = args.pythonpath.resolve()
        env = {"PYTHONPATH": os.pathsep.join([str(root / "spec"), str(root / "reference")])}
    with tempfile.TemporaryDirectory() as folder:
        node = start_node(Path(folder) / "data", env=env)
        try:
            result = measure(node, args.seconds)
        finally:
            node.stop()
    idle, hostile = result.idle, result.hostile
    rows = [("idle", idle), ("16 MiB evaluate bodies + login flood", hostile)]
    print(f"{'GET /health':<40} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, values in rows:
        print(
            f"{name:<40} {len(values):>5} {statistics.median(values) * 1000:>8.1f}"
            f" {percentile(values, 0.99) * 1000:>8.1f} {max(values) * 1000:>8.1f}"
        )
    ratio = percentile(hostile, 0.99) / percentile(idle, 0.99)
    print(f"p99 ratio hostile/idle: {ratio:.1f} (goal: hostile p99 under 200 ms)")
    print(f"hostile clients' answers: {result.answers}")
    print(f"node peak resident memory, worker included: {result.peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
