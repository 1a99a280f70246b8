"""The harness's relay: each directed link passes, delays, blackholes or refuses, switched live."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from twin_conformance._relay import LinkKind, LinkMode, Relay, RelayThread

READ_SECONDS = 2.0


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def echo_members(count: int) -> AsyncIterator[tuple[Relay, dict[int, str]]]:
    servers = [await asyncio.start_server(_echo, "127.0.0.1", 0) for _ in range(count)]
    urls = {
        index: f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        for index, server in enumerate(servers)
    }
    relay = Relay(urls)
    await relay.start()
    try:
        yield relay, urls
    finally:
        await relay.stop()
        for server in servers:
            server.close()
            await server.wait_closed()


async def _connect(
    relay: Relay, source: int, target: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    port = int(relay.url(source, target).rsplit(":", 1)[1])
    return await asyncio.open_connection("127.0.0.1", port)


async def _round_trip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"ping")
    await writer.drain()
    return await asyncio.wait_for(reader.readexactly(4), READ_SECONDS)


def test_a_passing_link_carries_bytes_both_ways() -> None:
    async def run() -> None:
        async with echo_members(2) as (relay, _urls):
            reader, writer = await _connect(relay, 0, 1)
            assert await _round_trip(reader, writer) == b"ping"
            writer.close()

    asyncio.run(run())


def test_a_delayed_link_holds_each_chunk() -> None:
    async def run() -> None:
        async with echo_members(2) as (relay, _urls):
            relay.set_mode(0, 1, LinkMode.delayed(150))
            reader, writer = await _connect(relay, 0, 1)
            started = time.monotonic()
            assert await _round_trip(reader, writer) == b"ping"
            # One delay each way; the bound is a lower one, so a loaded machine cannot break it.
            assert time.monotonic() - started >= 0.3
            writer.close()

    asyncio.run(run())


def test_a_blackholed_link_holds_connections_drops_bytes_and_resets_them_at_heal() -> None:
    async def run() -> None:
        async with echo_members(2) as (relay, _urls):
            alive_reader, alive_writer = await _connect(relay, 0, 1)
            assert await _round_trip(alive_reader, alive_writer) == b"ping"
            relay.cut([[0], [1]])
            assert relay.mode(0, 1).kind is LinkKind.BLACKHOLE
            held_reader, held_writer = await _connect(relay, 0, 1)  # accepted, then held
            for reader, writer in ((alive_reader, alive_writer), (held_reader, held_writer)):
                writer.write(b"lost")
                await writer.drain()
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(reader.read(4), 0.3)
            relay.heal()
            # Both connections held through the blackhole are closed, and nothing came through.
            for reader, _writer in ((alive_reader, alive_writer), (held_reader, held_writer)):
                assert await asyncio.wait_for(reader.read(), READ_SECONDS) == b""
            reader, writer = await _connect(relay, 0, 1)
            assert await _round_trip(reader, writer) == b"ping"
            writer.close()

    asyncio.run(run())


def test_a_refusing_link_closes_new_and_open_connections() -> None:
    async def run() -> None:
        async with echo_members(3) as (relay, _urls):
            open_reader, open_writer = await _connect(relay, 0, 1)
            assert await _round_trip(open_reader, open_writer) == b"ping"
            relay.cut([[0], [1, 2]], LinkMode.refuse())
            assert await asyncio.wait_for(open_reader.read(), READ_SECONDS) == b""
            reader, _writer = await _connect(relay, 1, 0)
            assert await asyncio.wait_for(reader.read(), READ_SECONDS) == b""
            # Links within a group still pass.
            reader, writer = await _connect(relay, 1, 2)
            assert await _round_trip(reader, writer) == b"ping"
            writer.close()

    asyncio.run(run())


def test_bad_cuts_and_modes_are_refused_with_what_is_wrong() -> None:
    async def run() -> None:
        async with echo_members(3) as (relay, _urls):
            with pytest.raises(ValueError, match="in no group"):
                relay.cut([[0], [1]])
            with pytest.raises(ValueError, match="in two groups"):
                relay.cut([[0, 1], [1, 2]])
            with pytest.raises(ValueError, match="not relayed"):
                relay.cut([[0, 1], [2, 7]])
            with pytest.raises(ValueError, match="no link"):
                relay.set_mode(0, 0, LinkMode.refuse())
            # Nothing changed.
            assert {relay.mode(0, 1).kind, relay.mode(1, 2).kind} == {LinkKind.PASS}

    asyncio.run(run())
    with pytest.raises(ValueError, match="delay_ms"):
        LinkMode.delayed(-1)
    with pytest.raises(ValueError, match="only a delay link"):
        LinkMode(LinkKind.PASS, 5)
    with pytest.raises(ValueError, match="http URL with a port"):
        Relay({0: "http://127.0.0.1", 1: "http://127.0.0.1:1"})


def test_the_threaded_relay_switches_links_and_stops_everything() -> None:
    async def serve_echo(ready: asyncio.Future[int]) -> None:
        server = await asyncio.start_server(_echo, "127.0.0.1", 0)
        ready.set_result(int(server.sockets[0].getsockname()[1]))
        async with server:
            await asyncio.sleep(3600)

    import socket
    import threading

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        ports = []
        tasks = []
        for _ in range(2):
            ready: asyncio.Future[int] = loop.create_future()
            tasks.append(asyncio.run_coroutine_threadsafe(serve_echo(ready), loop))
            ports.append(
                asyncio.run_coroutine_threadsafe(asyncio.wait_for(ready, 5), loop).result(5)
            )
        with RelayThread({i: f"http://127.0.0.1:{port}" for i, port in enumerate(ports)}) as relay:
            url = relay.peer_urls(0)[1]
            port = int(url.rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port), timeout=READ_SECONDS) as conn:
                conn.sendall(b"ping")
                assert conn.recv(4) == b"ping"
            relay.set_mode(0, 1, LinkMode.refuse())
            with socket.create_connection(("127.0.0.1", port), timeout=READ_SECONDS) as conn:
                assert conn.recv(4) == b""
            relay.heal()
        # Stopped: the listener is closed.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=READ_SECONDS).close()
        for task in tasks:
            task.cancel()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
