"""Benchmark a four-validator reference cluster on loopback, and the commit rule of the spec core.

Run: ``python bench/bench_cluster.py`` (about a minute). It starts four ``twin-node serve``
processes with a genesis file (``twin-node genesis``, free ports on 127.0.0.1) and reports:

- committed transactions/s: transactions are submitted with ``POST /consensus/transactions``
  (one per request, each answered 202 at once), spread evenly over the four validators, at a
  fixed offered rate (``--rates``, open loop: a slow cluster does not slow the submitter down);
  a transaction counts once validator 0 has stored it in a *certified* checkpoint (a quorum of
  the committee's signatures), read from validator 0's database every 10 ms (goal: >= 1,000/s);
- p50 and p99 latency from submission to that certified checkpoint (goal: p99 < 2 s);
- the commit-rule evaluation rate of the spec core (``try_commit`` then ``linearize`` of every
  committed leader) on a DAG of 10,000 blocks (2,500 rounds of four validators), in blocks/s,
  next to the raw Ed25519 verification rate (libsodium through PyNaCl) measured in the same
  run, and their ratio.

The load generator and the observer share the two cores with the four validators, so the rates
are low-balled; nothing here is asserted by a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

import nacl.bindings

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_reference_node import RawClient, peak_rss_mb  # noqa: E402
from tests.cluster_process import Cluster, create_cluster  # noqa: E402
from twin_reference._ledger_codec import unpack_text  # noqa: E402
from twin_spec import (  # noqa: E402
    BlockRef,
    Committee,
    Dag,
    Ed25519SigningKey,
    LeaderDecisionKind,
    Validator,
    base64url_decode,
    block_ref,
    genesis_refs,
    linearize,
    sign_block,
    try_commit,
)

WARM_UP_SECONDS = 2.0


class Observer(threading.Thread):
    """Reads validator 0's database: when each bench transaction is in a certified checkpoint."""

    def __init__(self, database: Path, prefix: str) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.prefix = prefix
        self.seen: dict[str, float] = {}
        self.stopping = threading.Event()
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            row = connection.execute("SELECT MAX(sequence) FROM checkpoints").fetchone()
        finally:
            connection.close()
        self.last_sequence = int(row[0] or 0)

    def run(self) -> None:
        """Poll until stopped."""
        connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
        try:
            while not self.stopping.is_set():
                self._poll(connection)
                time.sleep(0.01)
        finally:
            connection.close()

    def _poll(self, connection: sqlite3.Connection) -> None:
        row = connection.execute("SELECT MAX(sequence) FROM checkpoints").fetchone()
        certified = int(row[0] or 0)
        if certified <= self.last_sequence:
            return
        now = time.perf_counter()
        rows = connection.execute(
            "SELECT body FROM transactions WHERE checkpoint > ? AND checkpoint <= ?",
            (self.last_sequence, certified),
        ).fetchall()
        for (body,) in rows:
            nonce = json.loads(unpack_text(body))["nonce"]
            if nonce.startswith(self.prefix):
                self.seen.setdefault(nonce, now)
        self.last_sequence = certified


async def offer(
    cluster: Cluster,
    tokens: dict[int, tuple[str, str]],
    rate: float,
    seconds: float,
    prefix: str,
) -> tuple[dict[str, float], int]:
    """Submit at ``rate`` transactions/s in total for ``seconds``; return nonce -> send time."""
    sent: dict[str, float] = {}
    failed = 0
    per_node = rate / cluster.size
    connections = 8

    async def node_loop(index: int) -> None:
        nonlocal failed
        token, identity = tokens[index]
        host, port = cluster.url(index).removeprefix("http://").split(":")
        clients = [
            RawClient(host, int(port), {"authorization": f"Bearer {token}"})
            for _ in range(connections)
        ]
        interval = 1.0 / per_node
        start = time.perf_counter()
        number = 0

        async def one(client: RawClient, nonce: str) -> None:
            nonlocal failed
            body = json.dumps(
                {
                    "type": "bench.note",
                    "sender": identity,
                    "nonce": nonce,
                    "timestampMs": int(time.time() * 1000),
                    "payload": {"n": nonce},
                }
            ).encode()
            sent[nonce] = time.perf_counter()
            if await client.request("POST", "/consensus/transactions", body) != 202:
                failed += 1

        free = asyncio.Queue[RawClient]()
        for client in clients:
            free.put_nowait(client)
        pending: set[asyncio.Task[None]] = set()

        async def run_one(nonce: str) -> None:
            client = await free.get()
            try:
                await one(client, nonce)
            finally:
                free.put_nowait(client)

        try:
            while time.perf_counter() - start < seconds:
                due = start + number * interval
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(run_one(f"{prefix}{index}-{number}"))
                pending.add(task)
                task.add_done_callback(pending.discard)
                number += 1
            await asyncio.gather(*pending)
        finally:
            for client in clients:
                client.close()

    await asyncio.gather(*(node_loop(index) for index in range(cluster.size)))
    return sent, failed


def identity_of(token: str) -> str:
    """The caller identity (``sub``) of a bearer token: the sender its transactions need."""
    claims = json.loads(base64url_decode(token.split(".")[1]))
    subject: str = claims["sub"]
    return subject


def measure_cluster(
    cluster: Cluster, rate: float, seconds: float, drain: float
) -> dict[str, float]:
    """Offer ``rate`` tx/s for ``seconds``; the committed rate and latencies after warm-up."""
    tokens = {}
    for index in range(cluster.size):
        token = cluster.login(index)
        tokens[index] = (token, identity_of(token))
    prefix = f"bench-{time.time_ns()}-"
    observer = Observer(cluster.data_dir(0) / "node.sqlite", prefix)
    observer.start()
    try:
        started = time.perf_counter()
        sent, failed = asyncio.run(offer(cluster, tokens, rate, seconds, prefix))
        deadline = time.perf_counter() + drain
        while time.perf_counter() < deadline and len(observer.seen) < len(sent):
            time.sleep(0.05)
    finally:
        observer.stopping.set()
        observer.join(timeout=5)
    window_start, window_end = started + WARM_UP_SECONDS, started + seconds
    in_window = [nonce for nonce, at in sent.items() if window_start <= at < window_end]
    committed_in_window = [at for at in observer.seen.values() if window_start <= at < window_end]
    latencies = sorted(
        observer.seen[nonce] - sent[nonce] for nonce in in_window if nonce in observer.seen
    )
    missing = sum(1 for nonce in in_window if nonce not in observer.seen)
    window = window_end - window_start

    def percentile(fraction: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))]

    return {
        "offered": len(in_window) / window,
        "committed": len(committed_in_window) / window,
        "p50": percentile(0.50),
        "p99": percentile(0.99),
        "max": latencies[-1] if latencies else float("nan"),
        "uncommitted": missing,
        "failed": failed,
    }


def dag_of(rounds: int, committee: Committee, keys: list[Ed25519SigningKey]) -> tuple[Dag, int]:
    """A DAG of ``rounds`` full rounds (every block names every block of the round below)."""
    dag = Dag(committee)
    previous = genesis_refs(committee)
    for round_ in range(1, rounds + 1):
        current: list[BlockRef] = []
        for author, key in enumerate(keys):
            own = previous[author]
            others = [ref for ref in previous if ref.author != author]
            block = sign_block(
                key,
                {
                    "epoch": 0,
                    "round": round_,
                    "author": author,
                    "timestampMs": 1_700_000_000_000 + round_,
                    "ancestors": [ref.to_json() for ref in [own, *others]],
                    "transactions": [],
                },
            )
            dag.add(block)
            current.append(block_ref(block))
        previous = current
    return dag, len(dag) - committee.size


def commit_rule_rate(dag: Dag, committee: Committee) -> tuple[float, int]:
    """Blocks/s of try_commit from round 0 plus linearize of every committed leader (best of 3)."""
    best = float("inf")
    commits = 0
    for _ in range(3):
        started = time.perf_counter()
        committed: set[BlockRef] = set()
        commits = 0
        for decision in try_commit(dag, committee, 0):
            if decision.kind is LeaderDecisionKind.COMMIT and decision.block is not None:
                committed.update(linearize(dag, decision.block, committed))
                commits += 1
        best = min(best, time.perf_counter() - started)
    return (len(dag) - committee.size) / best, commits


def verify_rate(count: int) -> float:
    """Raw Ed25519 verifications/s with libsodium (best of 3)."""
    key = Ed25519SigningKey(bytes(range(32)))
    messages = [f"message {i}".encode() * 8 for i in range(count)]
    signed = [key.sign(message) + message for message in messages]
    public = key.public_key.raw
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for item in signed:
            nacl.bindings.crypto_sign_open(item, public)
        best = min(best, time.perf_counter() - started)
    return count / best


def main() -> None:
    """Run the cluster and the spec-core measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="1000", help="offered tx/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=12.0, help="length of each run")
    parser.add_argument("--drain", type=float, default=10.0, help="wait for stragglers")
    parser.add_argument("--skip-cluster", action="store_true", help="spec core only")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    if not args.skip_cluster:
        with tempfile.TemporaryDirectory() as folder:
            cluster = create_cluster(Path(folder), 4, leader_timeout=1.0)
            try:
                cluster.start(range(4))
                print(
                    f"{'offered tx/s':>13} {'committed tx/s':>15} {'p50 s':>7} {'p99 s':>7}"
                    f" {'max s':>7} {'uncommitted':>11} {'failed':>6}"
                )
                for rate in (float(text) for text in args.rates.split(",")):
                    result = measure_cluster(cluster, rate, args.seconds, args.drain)
                    print(
                        f"{result['offered']:13.0f} {result['committed']:15.0f}"
                        f" {result['p50']:7.3f} {result['p99']:7.3f} {result['max']:7.3f}"
                        f" {result['uncommitted']:11.0f} {result['failed']:6.0f}"
                    )
                    time.sleep(1.0)
                peaks = [peak_rss_mb(node.process.pid) for node in cluster.nodes.values()]
                print("validators' peak memory (VmHWM): " + ", ".join(f"{p:.0f} MB" for p in peaks))
            finally:
                cluster.stop_all()
    keys = [Ed25519SigningKey(bytes([index + 1]) * 32) for index in range(4)]
    committee = Committee(
        0, tuple(Validator(index, key.public_key, 1, None) for index, key in enumerate(keys))
    )
    dag, blocks = dag_of(2_500, committee, keys)
    rule, commits = commit_rule_rate(dag, committee)
    verify = verify_rate(10_000)
    print(f"commit rule on {blocks:,} blocks ({commits:,} commits)   {rule:12,.0f} blocks/s")
    print(f"raw Ed25519 verification (libsodium)         {verify:12,.0f} verifications/s")
    print(f"commit rule blocks/s / Ed25519 verifications/s = {rule / verify:.2f}")


if __name__ == "__main__":
    main()
