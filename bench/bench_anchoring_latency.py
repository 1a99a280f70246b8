"""Benchmark sequential anchoring against one durable SQLite commit on the same server stack.

Run: ``python bench/bench_anchoring_latency.py`` (about half a minute). It starts, as separate
processes on loopback, a one-validator reference node (``twin-node serve``) and the bare
Starlette app of ``bench/bare_starlette.py`` served by uvicorn with the same settings, whose
``POST /commit`` stores the request body in one ``synchronous=FULL`` SQLite transaction and
answers. One client (the raw HTTP/1.1 client of ``bench_reference_node.py``) sends one request
at a time, alternating short rounds between the two servers so that both see the same machine
load, and reports, side by side in this one run:

- the sequential rate of ``POST /immutable-proof`` (each answered once the proof is durably
  accepted, TWIN-ANCHORING-050) divided by the bare route's sequential rate (target >= 0.5):
  anchoring should cost about one durable commit, not timers;
- anchors/s and the p50 and p99 latency of both, and each node's CPU time per anchor
  (user and system, from ``/proc``, counted over its own rounds, so including the ledger's
  work for them: blocks, commits and certified checkpoints);
- that the 201s were not promises only: after the rounds, every proof anchored is fetched
  until it carries its receipt, and each receipt is verified offline against the committee's
  keys (the run fails otherwise); then, for ``--receipt-sample`` more anchors, the time from
  the 201 to the first GET that holds the receipt (p50 and p99; the spec's bound is 30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from bench.bench_reference_node import RawClient, start_bare  # noqa: E402
from tests.node_process import start_node  # noqa: E402
from twin_spec import Committee, verify_receipt  # noqa: E402

GOAL_RATIO = 0.5
RECEIPT_BOUND_SECONDS = 30.0
"""TWIN-ANCHORING-050: the receipt within 30 s of the 201."""


async def sequential(
    client: RawClient,
    path: str,
    count: int,
    first: int,
    latencies: list[float],
    locations: list[str] | None = None,
) -> None:
    """Send ``count`` POSTs one after another, each a 1 KiB JSON document; record latencies.

    ``locations`` collects the Location of each answer (where the proof is served).
    """
    for n in range(first, first + count):
        body = json.dumps({"document": {"n": n, "pad": "x" * 1000}}).encode()
        started = time.perf_counter()
        status = await client.request("POST", path, body)
        latencies.append(time.perf_counter() - started)
        if status != 201:
            raise RuntimeError(f"{path} answered {status}")
        if locations is not None:
            locations.append(client.location)


def check_receipts(url: str, token: str, data_dir: Path, locations: list[str]) -> int:
    """Fetch every anchored proof until it has its receipt; verify each offline. Return them."""
    committee = Committee.from_json(json.loads((data_dir / "committee.json").read_text()))
    with httpx.Client(
        base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        for location in locations:
            deadline = time.monotonic() + RECEIPT_BOUND_SECONDS
            while True:
                proof = client.get(f"/immutable-proof/{location}").json()
                if "immutableReceipt" in proof:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{location} has no receipt {RECEIPT_BOUND_SECONDS:g} s on")
                time.sleep(0.01)
            verify_receipt(proof["immutableReceipt"], committee)
    return len(locations)


def receipt_delays(url: str, token: str, count: int) -> list[float]:
    """For ``count`` anchors one at a time: seconds from the 201 to a GET holding the receipt."""
    delays = []
    with httpx.Client(
        base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        for n in range(count):
            answer = client.post("/immutable-proof", json={"document": {"delay": n}})
            answered = time.perf_counter()
            location = answer.headers["location"]
            while "immutableReceipt" not in client.get(f"/immutable-proof/{location}").json():
                if time.perf_counter() - answered > RECEIPT_BOUND_SECONDS:
                    raise RuntimeError(f"{location} has no receipt {RECEIPT_BOUND_SECONDS:g} s on")
                time.sleep(0.0005)
            delays.append(time.perf_counter() - answered)
    return delays


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    nodes: list[tuple[str, str, int]],
    bare_url: str,
    rounds: int,
    per_round: int,
    locations: list[list[str]],
) -> tuple[list[list[float]], list[float], list[float]]:
    """Alternate rounds of sequential requests between the nodes and the bare app.

    ``nodes`` are (url, token, pid); return the latencies, and each node's CPU seconds during
    its own rounds; ``locations`` gets each node's anchored proofs.
    """
    clients = []
    for url, token, _pid in nodes:
        host, port = url.removeprefix("http://").split(":")
        clients.append(RawClient(host, int(port), {"authorization": f"Bearer {token}"}))
    bare_host, bare_port = bare_url.removeprefix("http://").split(":")
    bare = RawClient(bare_host, int(bare_port), {})
    node_latencies: list[list[float]] = [[] for _ in clients]
    bare_latencies: list[float] = []
    node_cpu = [0.0 for _ in clients]
    try:
        # Warm-up: connections, code paths, the first WAL frames.
        for client in clients:
            await sequential(client, "/immutable-proof", 20, 0, [])
        await sequential(bare, "/commit", 20, 0, [])
        for round_ in range(rounds):
            first = (round_ + 1) * per_round
            for number, (client, latencies) in enumerate(zip(clients, node_latencies, strict=True)):
                before = cpu_seconds(nodes[number][2])
                await sequential(
                    client, "/immutable-proof", per_round, first, latencies, locations[number]
                )
                node_cpu[number] += cpu_seconds(nodes[number][2]) - before
            await sequential(bare, "/commit", per_round, first, bare_latencies)
    finally:
        for client in clients:
            client.close()
        bare.close()
    return node_latencies, bare_latencies, node_cpu


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
    parser.add_argument(
        "--receipt-sample", type=int, default=50, help="anchors timed from 201 to receipt"
    )
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="CHECKOUT",
        help="also measure the node of another checkout (a git worktree), in the same rounds",
    )
    args = parser.parse_args()
    checkouts = [("this checkout", None), *((path, Path(path).resolve()) for path in args.compare)]
    with tempfile.TemporaryDirectory() as folder:
        nodes = []
        bare, bare_url = start_bare(
            Path(folder) / "port", {"TWIN_BENCH_BARE_DB": str(Path(folder) / "bare.sqlite")}
        )
        try:
            for number, (_, checkout) in enumerate(checkouts):
                env = None
                if checkout is not None:
                    parts = [str(checkout / part) for part in ("spec", "reference")]
                    env = {"PYTHONPATH": os.pathsep.join(parts)}
                nodes.append(start_node(Path(folder) / f"data{number}", env=env))
            tokens = [(node.url, node.login(), node.process.pid) for node in nodes]
            locations: list[list[str]] = [[] for _ in nodes]
            node_latencies, bare_latencies, node_cpu = asyncio.run(
                measure(tokens, bare_url, args.rounds, args.per_round, locations)
            )
            verified = [
                check_receipts(url, token, node.data_dir, anchored)
                for (url, token, _pid), node, anchored in zip(tokens, nodes, locations, strict=True)
            ]
            delays = [receipt_delays(url, token, args.receipt_sample) for url, token, _ in tokens]
        finally:
            for node in nodes:
                node.stop()
            bare.send_signal(signal.SIGTERM)
            bare.wait(timeout=20)
    bare_rate, bare_p50, bare_p99 = summary(bare_latencies)
    print(f"{args.rounds} rounds of {args.per_round} sequential requests each, alternating")
    print(f"{'measurement':60} {'per s':>7} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6} {'CPU ms':>7}")
    print(
        f"{'bare Starlette POST /commit (one FULL SQLite commit)':60}"
        f" {bare_rate:7.0f} {bare_p50:7.2f} {bare_p99:7.2f}"
    )
    for (name, _), latencies, cpu in zip(checkouts, node_latencies, node_cpu, strict=True):
        rate, p50, p99 = summary(latencies)
        label = f"node POST /immutable-proof (durable), {name}"
        print(
            f"{label:60} {rate:7.0f} {p50:7.2f} {p99:7.2f} {rate / bare_rate:6.2f}"
            f" {cpu * 1000 / len(latencies):7.2f}"
        )
    print(f"ratio: sequential anchoring rate / bare durable-commit rate (target >= {GOAL_RATIO})")
    print("CPU ms: the node process's user and system CPU per anchor during its own rounds")
    for (name, _), count, waited in zip(checkouts, verified, delays, strict=True):
        ordered = sorted(waited)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(
            f"{name}: {count} receipts verified offline; 201 to receipt over"
            f" {len(waited)} anchors: p50 {statistics.median(ordered) * 1000:.1f} ms,"
            f" p99 {p99 * 1000:.1f} ms (bound {RECEIPT_BOUND_SECONDS:g} s)"
        )


if __name__ == "__main__":
    main()
