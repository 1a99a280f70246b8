"""Benchmark what anchoring costs on disk and at restart: bytes per anchor, table by table.

Run: ``python bench/bench_storage.py --anchors 10000``. It starts one reference node
(``twin-node serve`` on 127.0.0.1, port 0, its own data directory) and anchors ``--anchors``
documents of 1 KiB of JSON each, ``--concurrency`` requests in flight (1 by default), with
``POST /immutable-proof`` (answered once durably accepted; the node keeps the
document's hash, not the document) or, with ``--route verifiable``, ``POST /verifiable`` (the
node keeps the document). Side by side in this one run it reports:

- bytes on disk per anchor beyond the document the node keeps (the data directory's growth
  from the first anchor to the last, after a clean stop, divided by the anchors), and the same
  per table and index of the database (SQLite's ``dbstat``);
- the restart time (launch to ``/health`` ok) after 1,000 anchors and after all of them, and
  their ratio (target <= 2);
- every receipt issued along the way, fetched again after the last restart and verified offline
  with the spec core against the committee's keys (``--sample K`` verifies a random sample of
  K instead, seeded); those fetched right after their anchor must come back byte-identical;
- the node's peak resident memory (VmHWM) in each phase.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_reference_node import RawClient, peak_rss_mb  # noqa: E402
from tests.node_process import RunningNode, start_node  # noqa: E402
from twin_spec import Committee, verify_receipt  # noqa: E402

DOCUMENT_BYTES = 1024
FIRST_RESTART_AT = 1000
GOAL_BYTES_PER_ANCHOR = 2048
GOAL_RESTART_RATIO = 2.0
RECEIPT_BOUND_SECONDS = 30.0
"""TWIN-ANCHORING-050: an immutable proof's receipt within 30 s of its 201."""


def document(n: int) -> dict[str, Any]:
    """A JSON document of exactly ``DOCUMENT_BYTES`` bytes (compact), unique per ``n``."""
    head = {"n": n, "pad": ""}
    size = len(json.dumps(head, separators=(",", ":")))
    return {"n": n, "pad": "x" * (DOCUMENT_BYTES - size)}


def disk_bytes(data_dir: Path) -> int:
    """Bytes of every file in the data directory."""
    return sum(path.stat().st_size for path in data_dir.rglob("*") if path.is_file())


def table_bytes(database: Path) -> dict[str, int]:
    """Bytes of pages per table and index of a stopped node's database (dbstat)."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
    finally:
        connection.close()
    return {str(name): int(size) for name, size in rows}


class Anchoring:
    """Anchors documents through one node and keeps what it needs to check the receipts."""

    def __init__(self, route: str, concurrency: int, keep_every: int) -> None:
        self.route = route
        self.concurrency = concurrency
        self.keep_every = keep_every
        self.ids: list[str] = []
        self.receipts_then: dict[str, object] = {}
        """Receipts fetched right after their anchor, by id (every ``keep_every``-th)."""

    async def run(self, node: RunningNode, token: str, first: int, count: int) -> float:
        """Anchor documents ``first`` .. ``first + count - 1``; return the seconds it took."""
        host, port = node.url.removeprefix("http://").split(":")
        auth = {"authorization": f"Bearer {token}"}
        next_n = first
        end = first + count

        async def worker() -> None:
            nonlocal next_n
            client = RawClient(host, int(port), auth)
            try:
                while next_n < end:
                    n = next_n
                    next_n += 1
                    await self._anchor(client, node, token, n)
            finally:
                client.close()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return time.perf_counter() - started

    async def _anchor(self, client: RawClient, node: RunningNode, token: str, n: int) -> None:
        text = json.dumps(document(n), separators=(",", ":")).encode()
        if self.route == "verifiable":
            body = json.dumps({"data": base64.b64encode(text).decode()}).encode()
            status, headers, answer = await _request(client, "POST", "/verifiable", body)
            item_id = json.loads(answer)["id"] if status == 201 else ""
        else:
            body = b'{"document":' + text + b"}"
            status, headers, answer = await _request(client, "POST", "/immutable-proof", body)
            item_id = headers.get("location", "")
        if status != 201:
            raise RuntimeError(f"anchor {n} answered {status}: {answer[:300]!r}")
        self.ids.append(item_id)
        if n % self.keep_every == 0:
            # An immutable proof's receipt follows its 201 by a few rounds (TWIN-ANCHORING-050).
            deadline = time.monotonic() + RECEIPT_BOUND_SECONDS
            while (receipt := receipt_of(json.loads(await self._get(client, item_id)))) is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{item_id} has no receipt {RECEIPT_BOUND_SECONDS:g} s on")
                await asyncio.sleep(0.005)
            self.receipts_then[item_id] = receipt

    async def _get(self, client: RawClient, item_id: str) -> bytes:
        status, _headers, answer = await _request(client, "GET", self.path(item_id))
        if status != 200:
            raise RuntimeError(f"GET {self.path(item_id)} answered {status}: {answer[:300]!r}")
        return answer

    def path(self, item_id: str) -> str:
        """Where the node serves an anchored item and its receipt."""
        return f"/{'verifiable' if self.route == 'verifiable' else 'immutable-proof'}/{item_id}"


def receipt_of(answer: dict[str, Any]) -> object:
    """The receipt in a GET answer of either route."""
    return answer.get("receipt", answer.get("immutableReceipt"))


async def _request(
    client: RawClient, method: str, path: str, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """One request on the raw client, with its headers and body (RawClient keeps only status)."""
    if client.writer is None:
        client.reader, client.writer = await asyncio.open_connection(client.host, client.port)
    assert client.reader is not None  # noqa: S101 - set just above
    head = f"{method} {path} HTTP/1.1\r\nhost: {client.host}\r\n{client.extra}"
    if body:
        head += f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
    client.writer.write(head.encode() + b"\r\n" + body)
    status_line = await client.reader.readline()
    headers: dict[str, str] = {}
    while (line := await client.reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    answer = await client.reader.readexactly(length) if length else b""
    return int(status_line.split()[1]), headers, answer


def restart(node: RunningNode) -> tuple[RunningNode, float]:
    """Stop a node cleanly and start it again on its data directory; return the launch time."""
    node.stop()
    started = time.perf_counter()
    again = start_node(node.data_dir)
    return again, time.perf_counter() - started


def verify_all(
    node: RunningNode, token: str, anchoring: Anchoring, sample: int, seed: int
) -> tuple[int, int]:
    """Fetch receipts again and verify them offline; return (verified, identical to before)."""
    with node.client(token) as client:
        committee = Committee.from_json(client.get("/consensus/committee").json())
        ids = list(anchoring.ids)
        if sample and sample < len(ids):
            ids = random.Random(seed).sample(ids, sample)  # noqa: S311 - a benchmark sample
        ids = sorted(set(ids) | anchoring.receipts_then.keys())
        identical = 0

        for item_id in ids:
            response = client.get(anchoring.path(item_id))
            response.raise_for_status()
            receipt = receipt_of(response.json())
            verify_receipt(receipt, committee)
            if item_id in anchoring.receipts_then:
                if receipt != anchoring.receipts_then[item_id]:
                    raise RuntimeError(f"the receipt of {item_id} changed across the restart")
                identical += 1
    return len(ids), identical


def main() -> None:
    """Anchor, restart, measure, verify; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchors", type=int, default=1000, help="documents anchored (N)")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight")
    parser.add_argument("--route", choices=["proof", "verifiable"], default="proof")
    parser.add_argument("--sample", type=int, default=0, help="receipts verified (0: all)")
    parser.add_argument("--seed", type=int, default=16, help="seed of the receipt sample")
    args = parser.parse_args()
    first_phase = min(FIRST_RESTART_AT, args.anchors)
    anchoring = Anchoring(args.route, args.concurrency, keep_every=max(1, args.anchors // 200))
    bench_started = time.perf_counter()

    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        node = start_node(data_dir)
        try:
            token = node.login()
            node.stop()
            base_bytes, base_tables = disk_bytes(data_dir), table_bytes(data_dir / "node.sqlite")
            node = start_node(data_dir)
            token = node.login()
            seconds = asyncio.run(anchoring.run(node, token, 0, first_phase))
            peak_first = peak_rss_mb(node.process.pid)
            node, restart_first = restart(node)
            token = node.login()
            rest = args.anchors - first_phase
            if rest:
                seconds += asyncio.run(anchoring.run(node, token, first_phase, rest))
            peak_last = peak_rss_mb(node.process.pid)
            node.stop()
            end_bytes, end_tables = disk_bytes(data_dir), table_bytes(data_dir / "node.sqlite")
            node, restart_last = restart(node)
            token = node.login()
            verified, identical = verify_all(node, token, anchoring, args.sample, args.seed)
            peak_restarted = peak_rss_mb(node.process.pid)
        finally:
            node.stop()

    n = args.anchors
    kept = DOCUMENT_BYTES if args.route == "verifiable" else 0
    per_anchor = (end_bytes - base_bytes) / n - kept
    print(f"{n} anchors of a {DOCUMENT_BYTES} B JSON document via {args.route!r}, ", end="")
    print(f"{args.concurrency} in flight: {seconds:.1f} s anchoring ({n / seconds:.0f}/s)")
    print(f"{'table or index':34} {'bytes/anchor':>13} {'total at N':>12}")
    for name in sorted(end_tables, key=lambda k: -(end_tables[k] - base_tables.get(k, 0))):
        grown = end_tables[name] - base_tables.get(name, 0)
        if grown:
            print(f"{name:34} {grown / n:13.0f} {end_tables[name]:12d}")
    print(f"{'data directory, all files':34} {(end_bytes - base_bytes) / n:13.0f} {end_bytes:12d}")
    print(
        f"bytes on disk per anchor beyond the document kept ({kept} B) = {per_anchor:.0f}"
        f"   (target <= {GOAL_BYTES_PER_ANCHOR} at 100,000)"
    )
    print(
        f"restart: {restart_first:.2f} s at {first_phase}, {restart_last:.2f} s at {n};"
        f" ratio {restart_last / restart_first:.2f}   (target <= {GOAL_RESTART_RATIO:g})"
    )
    whole = not args.sample or args.sample >= n
    sampled = "all" if whole else f"a random sample (seed {args.seed})"
    print(
        f"receipts verified offline after the last restart: {verified} ({sampled}, plus every"
        f" one fetched along the way), {identical} byte-identical to when first fetched"
    )
    print(
        f"node peak memory (VmHWM): {peak_first:.0f} MB anchoring the first {first_phase},"
        f" {peak_last:.0f} MB after {n}, {peak_restarted:.0f} MB restarted and verifying"
    )
    print(f"bench wall time: {time.perf_counter() - bench_started:.0f} s")


if __name__ == "__main__":
    main()
