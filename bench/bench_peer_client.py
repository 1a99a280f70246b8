"""The validator-to-validator client against maintained ones: CPU per request, side by side.

The reference node's peer client (``twin_reference._peer_http``) is hand-written for speed.
This benchmark decides whether it may stay: it may only if a maintained client costs more than
twice as much CPU per request. One bare Starlette app (``bench/bare_starlette.py``) runs in its
own uvicorn process; this process drives it sequentially over one keep-alive connection with
each client in turn, in interleaved rounds, and counts its own CPU seconds per request:

- ``PeerConnection`` (hand-written, the node's),
- ``httpx.AsyncClient`` (HTTP/1.1, keep-alive, no extras),
- ``aiohttp.ClientSession`` (when installed: ``pip install aiohttp``).

Two request kinds, as validators send them: ``GET`` of a small JSON answer, and ``POST`` of a
block-sized body (2 KiB) answered by an echo.

    python bench/bench_peer_client.py [--requests 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reference"))

from bench.bench_reference_node import start_bare
from twin_reference._peer_http import PeerConnection

BLOCK = b'{"block":"' + b"a" * 2048 + b'"}'
Send = Callable[[str, str, bytes | None], Awaitable[int]]


async def hand_written(url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    """The node's own peer client."""
    connection = PeerConnection(url)

    async def send(method: str, path: str, body: bytes | None) -> int:
        return (await connection.request(method, path, body)).status

    return send, connection.close


async def with_httpx(url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    """The httpx client over HTTP/1.1 with one keep-alive connection."""
    client = httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=1))

    async def send(method: str, path: str, body: bytes | None) -> int:
        headers = {"content-type": "application/json"} if body is not None else None
        response = await client.request(method, path, content=body, headers=headers)
        return response.status_code

    return send, client.aclose


async def with_aiohttp(url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    """The aiohttp client with one keep-alive connection."""
    import aiohttp

    session = aiohttp.ClientSession(
        base_url=url, connector=aiohttp.TCPConnector(limit=1), auto_decompress=False
    )

    async def send(method: str, path: str, body: bytes | None) -> int:
        headers = {"content-type": "application/json"} if body is not None else None
        async with session.request(method, path, data=body, headers=headers) as response:
            await response.read()
            return int(response.status)

    return send, session.close


async def measure(
    factory: Callable[[str], Awaitable[tuple[Send, Callable[[], Awaitable[None]]]]],
    url: str,
    requests: int,
) -> tuple[float, float]:
    """CPU and wall microseconds per request over ``requests`` GETs and POSTs, alternating."""
    send, close = await factory(url)
    try:
        for _ in range(50):  # warm the connection and the code paths
            await send("GET", "/identity/warm", None)
        cpu, wall = time.process_time(), time.perf_counter()
        for n in range(requests):
            status = await (
                send("GET", f"/identity/{n}", None) if n % 2 else send("POST", "/echo", BLOCK)
            )
            if status != 200:
                raise RuntimeError(f"request {n} answered {status}")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await close()
    return cpu / requests * 1e6, wall / requests * 1e6


async def run(url: str, requests: int, rounds: int) -> dict[str, list[tuple[float, float]]]:
    """Each client in turn, ``rounds`` times, so drift on the machine hits them alike."""
    clients: dict[str, Callable[[str], Awaitable[tuple[Send, Callable[[], Awaitable[None]]]]]] = {
        "hand-written": hand_written,
        "httpx": with_httpx,
    }
    if importlib.util.find_spec("aiohttp") is not None:
        clients["aiohttp"] = with_aiohttp
    else:
        print("aiohttp is not installed: pip install aiohttp to include it")
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
    for _ in range(rounds):
        for name, factory in clients.items():
            results[name].append(await measure(factory, url, requests))
    return results


def main() -> None:
    """Start the bare app, measure every client, print CPU per request and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        process, url = start_bare(Path(scratch) / "port")
        try:
            results = asyncio.run(run(url, options.requests, options.rounds))
        finally:
            process.terminate()
            process.wait(timeout=10)
    base_cpu = statistics.median(cpu for cpu, _ in results["hand-written"])
    print(f"{options.requests} requests x {options.rounds} rounds per client (median round)")
    print(f"{'client':14} {'CPU us/req':>11} {'wall us/req':>12} {'CPU ratio':>10}")
    for name, rows in results.items():
        cpu = statistics.median(row[0] for row in rows)
        wall = statistics.median(row[1] for row in rows)
        print(f"{name:14} {cpu:11.0f} {wall:12.0f} {cpu / base_cpu:10.2f}")
    cheapest = min(
        statistics.median(row[0] for row in rows)
        for name, rows in results.items()
        if name != "hand-written"
    )
    verdict = "keep the hand-written client" if cheapest > 2 * base_cpu else "use a maintained one"
    print(f"cheapest maintained client / hand-written: {cheapest / base_cpu:.2f} -> {verdict}")


if __name__ == "__main__":
    main()
