"""A request queued behind one to a silent peer fails within its own timeout, never waits on.

The node's peer client sends on one connection per peer, one exchange at a time. When a peer
stops answering, the exchange holding the connection times out; what queued behind it must
not each wait its turn to time out as well (``request`` and ``pipeline`` alike).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from twin_reference._peer_http import PeerConnection, PeerError

HELD_SECONDS = 5.0
"""How long the first exchange holds the connection (its own timeout)."""
QUEUED_SECONDS = 0.5
"""The timeout of the exchange queued behind it."""
BOUND = QUEUED_SECONDS + 2.0
"""Its timeout plus the scheduling slack of a loaded two-core machine."""


async def _queued_behind_a_silent_peer(
    queued: Callable[[PeerConnection], Awaitable[object]],
) -> tuple[BaseException | None, float]:
    """Hold the connection with a request to a peer that never answers, then run ``queued``."""
    silent = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await silent.wait()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = PeerConnection(f"http://127.0.0.1:{port}", request_timeout=HELD_SECONDS)
    holder = asyncio.create_task(connection.request("GET", "/health"))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    error: BaseException | None = None
    try:
        await queued(connection)
    except PeerError as exc:
        error = exc
    elapsed = time.monotonic() - started
    silent.set()
    holder.cancel()
    await asyncio.gather(holder, return_exceptions=True)
    server.close()
    await server.wait_closed()
    return error, elapsed


@pytest.mark.parametrize(
    "queued",
    [
        lambda connection: connection.request("GET", "/info", timeout=QUEUED_SECONDS),
        lambda connection: connection.pipeline(
            [("POST", "/consensus/blocks", b"{}")] * 3, timeout=QUEUED_SECONDS
        ),
    ],
    ids=["request", "pipeline"],
)
def test_an_exchange_queued_behind_a_silent_peer_fails_within_its_timeout(
    queued: Callable[[PeerConnection], Awaitable[object]],
) -> None:
    error, elapsed = asyncio.run(_queued_behind_a_silent_peer(queued))
    assert isinstance(error, PeerError), error
    assert "stayed busy" in str(error)
    assert elapsed < BOUND, f"waited {elapsed:.1f} s for a busy connection"
