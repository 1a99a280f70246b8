"""Benchmark the reference node end to end, side by side with a bare Starlette endpoint.

Run: ``python bench/bench_reference_node.py`` (about 40 seconds). It starts, as separate
processes on loopback, a reference node and a bare Starlette app served by uvicorn with the
same settings, then drives both with the same asyncio load generator, and reports:

- DID resolutions/s of ``GET /identity/{did}`` against the bare endpoint's rate (goal: >= 0.5);
- durable anchors/s of ``POST /immutable-proof`` (each answered once the proof is synced to
  disk; its receipt follows with the commit, TWIN-ANCHORING-050), with the goal of 500/s on a
  2-core machine;
- the node's peak resident memory (VmHWM; goal: under 200 MB).

The load generator shares the machine with the server, so absolute rates are low-balled; the
ratio between the two servers is the meaningful number.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.node_process import RunningNode, start_node  # noqa: E402


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams.

    httpx costs far more CPU per request than the servers measured here, so with it the load
    generator, not the server, would set the rate; this client only writes the request and
    reads the status, the headers and a Content-Length body.
    """

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.location = ""
        """The Location header of the last answer ("" when it had none)."""

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        """Send one request and return its status code."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None  # noqa: S101 - set just above
        head = f"{method} {path} HTTP/1.1\r\nhost: {self.host}\r\n{self.extra}"
        if body:
            head += f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        length = 0
        self.location = ""
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "location":
                self.location = value.strip()
        if length:
            await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        """Close the connection."""
        if self.writer is not None:
            self.writer.close()


async def drive(
    url: str,
    request: Callable[[RawClient, int], Awaitable[int]],
    *,
    seconds: float,
    concurrency: int,
    headers: dict[str, str] | None = None,
) -> tuple[int, int, float]:
    """Run ``concurrency`` request loops for ``seconds``; return (ok, failed, elapsed)."""
    host, port = url.removeprefix("http://").split(":")
    clients = [RawClient(host, int(port), headers or {}) for _ in range(concurrency)]
    ok = failed = 0
    deadline = time.perf_counter() + seconds

    async def loop(worker: int) -> None:
        nonlocal ok, failed
        sequence = 0
        while time.perf_counter() < deadline:
            sequence += 1
            status = await request(clients[worker], worker * 1_000_000 + sequence)
            if 200 <= status < 300:
                ok += 1
            else:
                failed += 1

    started = time.perf_counter()
    try:
        await asyncio.gather(*(loop(worker) for worker in range(concurrency)))
    finally:
        for client in clients:
            client.close()
    return ok, failed, time.perf_counter() - started


def start_bare(
    port_file: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the bare Starlette app with uvicorn on a free loopback port (``env`` added)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare_starlette:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/identity/x", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the bare Starlette app did not start")


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    """Measure both servers and print the table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each measurement")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        node: RunningNode = start_node(Path(folder) / "data")
        bare, bare_url = start_bare(Path(folder) / "port")
        try:
            token = node.login()
            auth = {"authorization": f"Bearer {token}"}
            did = httpx.post(f"{node.url}/identity", headers=auth, timeout=30).json()["id"]

            async def resolve(client: RawClient, _n: int) -> int:
                return await client.request("GET", f"/identity/{did}")

            async def anchor(client: RawClient, n: int) -> int:
                body = json.dumps({"document": {"n": n}}).encode()
                return await client.request("POST", "/immutable-proof", body)

            seconds, concurrency = args.seconds, args.concurrency
            bare_ok, bare_failed, bare_time = asyncio.run(
                drive(bare_url, resolve, seconds=seconds, concurrency=concurrency)
            )
            node_ok, node_failed, node_time = asyncio.run(
                drive(node.url, resolve, seconds=seconds, concurrency=concurrency)
            )
            anchors_ok, anchors_failed, anchors_time = asyncio.run(
                drive(node.url, anchor, seconds=seconds, concurrency=concurrency * 2, headers=auth)
            )
            peak = peak_rss_mb(node.process.pid)
        finally:
            node.stop()
            bare.send_signal(signal.SIGTERM)
            bare.wait(timeout=20)

    bare_rate, node_rate = bare_ok / bare_time, node_ok / node_time
    anchor_rate = anchors_ok / anchors_time
    print(
        f"machine: {os.cpu_count()} cores; {seconds:g} s per measurement, {concurrency} in flight"
    )
    print(f"{'measurement':44} {'rate/s':>10} {'failed':>7}")
    print(f"{'bare Starlette GET /identity/{did}':44} {bare_rate:10.0f} {bare_failed:7d}")
    print(f"{'reference node GET /identity/{did}':44} {node_rate:10.0f} {node_failed:7d}")
    label = "reference node POST /immutable-proof"
    print(f"{label:44} {anchor_rate:10.0f} {anchors_failed:7d}")
    print(f"resolution rate / bare rate = {node_rate / bare_rate:.2f}   (goal >= 0.50)")
    print(f"durable anchors/s           = {anchor_rate:.0f}   (goal >= 500)")
    print(f"node peak memory (VmHWM)    = {peak:.0f} MB   (goal < 200 MB)")


if __name__ == "__main__":
    main()
