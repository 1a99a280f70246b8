"""Benchmark sequential anchoring against one durable SQLite commit on the same server stack.

Run: ``python bench/bench_anchoring_latency.py`` (about half a minute). It starts, as separate
processes on loopback, a one-validator reference node (``twin-node serve``) and the bare
Starlette app of ``bench/bare_starlette.py`` served by uvicorn with the same settings, whose
``POST /commit`` stores the request body in one ``synchronous=FULL`` SQLite transaction and
answers. One client (the raw HTTP/1.1 client of ``bench_reference_node.py``) sends one request
at a time, alternating short rounds between the two servers so that both see the same machine
load, and reports, side by side in this one run:

- the sequential rate of ``POST /immutable-proof`` (each answered once its certified checkpoint
  is durable) divided by the bare route's sequential rate (target >= 0.5): anchoring should
  cost about one durable commit, not timers;
- anchors/s and the p50 and p99 latency of both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_reference_node import RawClient, start_bare  # noqa: E402
from tests.node_process import start_node  # noqa: E402

GOAL_RATIO = 0.5


async def sequential(
    client: RawClient, path: str, count: int, first: int, latencies: list[float]
) -> None:
    """Send ``count`` POSTs one after another, each a 1 KiB JSON document; record latencies."""
    for n in range(first, first + count):
        body = json.dumps({"document": {"n": n, "pad": "x" * 1000}}).encode()
        started = time.perf_counter()
        status = await client.request("POST", path, body)
        latencies.append(time.perf_counter() - started)
        if status != 201:
            raise RuntimeError(f"{path} answered {status}")


async def measure(
    node_url: str, token: str, bare_url: str, rounds: int, per_round: int
) -> tuple[list[float], list[float]]:
    """Alternate rounds of sequential requests between the node and the bare app."""
    node_host, node_port = node_url.removeprefix("http://").split(":")
    bare_host, bare_port = bare_url.removeprefix("http://").split(":")
    node = RawClient(node_host, int(node_port), {"authorization": f"Bearer {token}"})
    bare = RawClient(bare_host, int(bare_port), {})
    node_latencies: list[float] = []
    bare_latencies: list[float] = []
    try:
        # Warm-up: connections, code paths, the first WAL frames.
        await sequential(node, "/immutable-proof", 20, 0, [])
        await sequential(bare, "/commit", 20, 0, [])
        for round_ in range(rounds):
            first = (round_ + 1) * per_round
            await sequential(node, "/immutable-proof", per_round, first, node_latencies)
            await sequential(bare, "/commit", per_round, first, bare_latencies)
    finally:
        node.close()
        bare.close()
    return node_latencies, bare_latencies


def summary(latencies: list[float]) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of sequential requests."""
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return len(latencies) / sum(latencies), statistics.median(ordered) * 1000, p99 * 1000


def main() -> None:
    """Measure both servers side by side and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="alternations between servers")
    parser.add_argument("--per-round", type=int, default=100, help="requests per round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        node = start_node(Path(folder) / "data")
        bare, bare_url = start_bare(
            Path(folder) / "port", {"TWIN_BENCH_BARE_DB": str(Path(folder) / "bare.sqlite")}
        )
        try:
            token = node.login()
            node_latencies, bare_latencies = asyncio.run(
                measure(node.url, token, bare_url, args.rounds, args.per_round)
            )
        finally:
            node.stop()
            bare.send_signal(signal.SIGTERM)
            bare.wait(timeout=20)
    node_rate, node_p50, node_p99 = summary(node_latencies)
    bare_rate, bare_p50, bare_p99 = summary(bare_latencies)
    print(f"{args.rounds} rounds of {args.per_round} sequential requests each, alternating")
    print(f"{'measurement':52} {'per s':>7} {'p50 ms':>7} {'p99 ms':>7}")
    print(
        f"{'bare Starlette POST /commit (one FULL SQLite commit)':52}"
        f" {bare_rate:7.0f} {bare_p50:7.2f} {bare_p99:7.2f}"
    )
    print(
        f"{'reference node POST /immutable-proof (committed)':52}"
        f" {node_rate:7.0f} {node_p50:7.2f} {node_p99:7.2f}"
    )
    print(
        f"sequential anchoring rate / bare durable-commit rate = {node_rate / bare_rate:.2f}"
        f"   (target >= {GOAL_RATIO})"
    )


if __name__ == "__main__":
    main()
