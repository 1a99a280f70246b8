"""A TCP proxy that makes a node answer no sooner than DELAY after each request reaches it.

For measuring the harness against a slow node (the TWIN node 0.0.2 answers in about 30 ms)
with the reference node behind it. Bytes pass unchanged in both directions; what the node
sends back on a connection is held until DELAY has passed since the client's last bytes on
that connection arrived, so every response of a keep-alive connection takes at least DELAY.

    python bench/delay_proxy.py --upstream 127.0.0.1:8080 --delay 0.03   # prints its URL
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time

CHUNK = 65536


async def _pipe_up(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, last: list[float]
) -> None:
    """Client to node: note when the client last sent bytes."""
    while data := await reader.read(CHUNK):
        last[0] = time.monotonic()
        writer.write(data)
        await writer.drain()
    with contextlib.suppress(OSError):
        writer.write_eof()


async def _pipe_down(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, last: list[float], delay: float
) -> None:
    """Node to client: hold the answer until ``delay`` after the client's last bytes."""
    while data := await reader.read(CHUNK):
        wait = last[0] + delay - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        writer.write(data)
        await writer.drain()
    writer.close()


async def _serve(upstream: tuple[str, int], delay: float) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            node_r, node_w = await asyncio.open_connection(*upstream)
        except OSError:
            client_w.close()
            return
        last = [time.monotonic()]
        try:
            await asyncio.gather(
                _pipe_up(client_r, node_w, last), _pipe_down(node_r, client_w, last, delay)
            )
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for writer in (client_w, node_w):
                writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Parse the options and serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the node")
    parser.add_argument("--delay", type=float, default=0.03, help="seconds per response")
    options = parser.parse_args()
    host, _, port = options.upstream.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"--upstream {options.upstream!r} is not HOST:PORT")
    if not 0 <= options.delay <= 10:
        parser.error(f"--delay {options.delay} is not from 0 to 10 seconds")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve((host, int(port)), options.delay))


if __name__ == "__main__":
    main()
