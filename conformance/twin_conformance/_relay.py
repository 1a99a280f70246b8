"""A TCP relay between committee members, one listening port per directed link, for fault scenarios.

Member i reaches member j through the link (i, j): a listener on 127.0.0.1 port 0 that
forwards each connection to j's real address. Each link is in one mode, switchable at run
time: ``pass``; ``delay`` (every chunk held ``delay_ms`` before it is forwarded); ``blackhole``
(connections are accepted and held, and every byte either way is dropped, as when a network
drops packets; when the link leaves blackhole, every connection it held is closed, as TCP
connections are reset after a long partition, so what was sent meanwhile is lost);
``refuse`` (a new connection is closed at once, and the link's open connections are closed
when it is switched to refuse). ``cut(groups)`` blackholes (or refuses) every link between
two groups; ``heal()`` makes every link pass.

Everything is bounded: at most :data:`MAX_CONNECTIONS_PER_LINK` connections per link (a new
one evicts the oldest), a connect timeout towards the member, and ``stop()`` closes every
listener, connection and task. :class:`RelayThread` runs a relay on its own event loop for
code that is not asynchronous (tests driving subprocesses).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import urlsplit

MAX_CONNECTIONS_PER_LINK = 64
CONNECT_TIMEOUT_SECONDS = 2.0
CHUNK_BYTES = 64 * 1024
MAX_DELAY_MS = 60_000
CALL_TIMEOUT_SECONDS = 10.0

T = TypeVar("T")


class LinkKind(Enum):
    """What a link does with the connections and bytes given to it."""

    PASS = "pass"  # noqa: S105 - a link mode, not a password
    DELAY = "delay"
    BLACKHOLE = "blackhole"
    REFUSE = "refuse"


@dataclass(frozen=True)
class LinkMode:
    """A link's mode: its kind and, for ``delay``, the delay per chunk in milliseconds."""

    kind: LinkKind = LinkKind.PASS
    delay_ms: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.kind, LinkKind):
            raise ValueError(f"a link mode must be one of {[k.value for k in LinkKind]}")
        if isinstance(self.delay_ms, bool) or not isinstance(self.delay_ms, int):
            raise ValueError(f"delay_ms must be an integer, not {self.delay_ms!r}")
        if not 0 <= self.delay_ms <= MAX_DELAY_MS:
            raise ValueError(f"delay_ms must be from 0 to {MAX_DELAY_MS}, not {self.delay_ms}")
        if self.kind is not LinkKind.DELAY and self.delay_ms:
            raise ValueError("only a delay link has a delay_ms")

    @classmethod
    def passing(cls) -> LinkMode:
        """Forward everything at once."""
        return cls(LinkKind.PASS)

    @classmethod
    def delayed(cls, delay_ms: int) -> LinkMode:
        """Forward every chunk after ``delay_ms`` milliseconds."""
        return cls(LinkKind.DELAY, delay_ms)

    @classmethod
    def blackhole(cls) -> LinkMode:
        """Accept connections and hold them; no byte goes through."""
        return cls(LinkKind.BLACKHOLE)

    @classmethod
    def refuse(cls) -> LinkMode:
        """Close every connection at once."""
        return cls(LinkKind.REFUSE)


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.port is None:
        raise ValueError(f"a relayed member needs an http URL with a port, not {url!r}")
    return parts.hostname, parts.port


class _Link:
    """One directed link: its listener, its mode and the connections it carries."""

    def __init__(self, source: int, target: int, upstream: tuple[str, int]) -> None:
        self.source = source
        self.target = target
        self.upstream = upstream
        self.mode = LinkMode.passing()
        self.server: asyncio.Server | None = None
        self.port = 0
        self.connections: dict[asyncio.Task[None], list[asyncio.StreamWriter]] = {}

    def set_mode(self, mode: LinkMode) -> None:
        leaves_blackhole = (
            self.mode.kind is LinkKind.BLACKHOLE and mode.kind is not LinkKind.BLACKHOLE
        )
        self.mode = mode
        if mode.kind is LinkKind.REFUSE or leaves_blackhole:
            # Refused, or held through a blackhole (its bytes were dropped): closed.
            for task in list(self.connections):
                task.cancel()


class Relay:
    """Directed links between members; ``members`` maps a member index to its base URL."""

    def __init__(
        self, members: Mapping[int, str], *, host: str = "127.0.0.1", max_connections: int = 0
    ) -> None:
        if len(members) < 2:
            raise ValueError("a relay needs at least two members")
        self._host = host
        self._max = max_connections or MAX_CONNECTIONS_PER_LINK
        addresses = {index: _address(url) for index, url in members.items()}
        self._links = {
            (source, target): _Link(source, target, addresses[target])
            for source in sorted(addresses)
            for target in sorted(addresses)
            if source != target
        }
        self._members = sorted(addresses)

    @property
    def members(self) -> list[int]:
        """The member indices, in order."""
        return list(self._members)

    async def start(self) -> None:
        """Open one listener per link (127.0.0.1, port 0)."""
        try:
            for link in self._links.values():
                link.server = await asyncio.start_server(self._handler(link), self._host, 0)
                link.port = int(link.server.sockets[0].getsockname()[1])
        except BaseException:
            await self.stop()
            raise

    def url(self, source: int, target: int) -> str:
        """The URL member ``source`` uses to reach member ``target``."""
        return f"http://{self._host}:{self._link(source, target).port}"

    def peer_urls(self, source: int) -> dict[int, str]:
        """Every other member's URL as seen by ``source`` (for ``twin-node serve --peer-urls``)."""
        return {target: self.url(source, target) for target in self._members if target != source}

    def mode(self, source: int, target: int) -> LinkMode:
        """The mode of the link from ``source`` to ``target``."""
        return self._link(source, target).mode

    def set_mode(self, source: int, target: int, mode: LinkMode) -> None:
        """Switch one directed link to ``mode``."""
        self._link(source, target).set_mode(mode)

    def cut(self, groups: Sequence[Iterable[int]], mode: LinkMode | None = None) -> None:
        """Cut every link between two groups (blackhole unless ``mode`` says otherwise).

        Every member must be in exactly one group; links within a group pass.
        """
        mode = mode or LinkMode.blackhole()
        if mode.kind not in (LinkKind.BLACKHOLE, LinkKind.REFUSE, LinkKind.DELAY):
            raise ValueError("a cut blackholes, refuses or delays the links between groups")
        group_of: dict[int, int] = {}
        for number, group in enumerate(groups):
            for member in group:
                if member not in self._members:
                    raise ValueError(f"member {member} is not relayed")
                if member in group_of:
                    raise ValueError(f"member {member} is in two groups")
                group_of[member] = number
        missing = [member for member in self._members if member not in group_of]
        if missing:
            raise ValueError(f"members {missing} are in no group")
        for (source, target), link in self._links.items():
            link.set_mode(mode if group_of[source] != group_of[target] else LinkMode.passing())

    def heal(self) -> None:
        """Let every link pass."""
        for link in self._links.values():
            link.set_mode(LinkMode.passing())

    async def stop(self) -> None:
        """Close every listener and connection; wait for every task."""
        for link in self._links.values():
            if link.server is not None:
                link.server.close()
        tasks = [task for link in self._links.values() for task in link.connections]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for link in self._links.values():
            if link.server is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(link.server.wait_closed(), 2.0)
                link.server = None

    def _link(self, source: int, target: int) -> _Link:
        link = self._links.get((source, target))
        if link is None:
            raise ValueError(f"no link from member {source} to member {target}")
        return link

    def _handler(
        self, link: _Link
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._accept(link, reader, writer)

        return handle

    async def _accept(
        self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if link.mode.kind is LinkKind.REFUSE:
            writer.close()
            return
        while len(link.connections) >= self._max:
            oldest = next(iter(link.connections))
            oldest.cancel()
            link.connections.pop(oldest, None)
        # The connection runs in a task of its own, which a mode change or stop() cancels; the
        # server's handler task only waits for it, so it never ends cancelled (asyncio logs
        # a cancelled handler as an error).
        writers = [writer]
        task = asyncio.create_task(self._carry(link, reader, writers))
        link.connections[task] = writers
        try:
            await task
        except (OSError, asyncio.IncompleteReadError, TimeoutError, asyncio.CancelledError):
            pass
        finally:
            link.connections.pop(task, None)
            for each in writers:
                each.close()

    async def _carry(
        self, link: _Link, reader: asyncio.StreamReader, writers: list[asyncio.StreamWriter]
    ) -> None:
        """Connect to the target, then pump both ways until both end.

        A connection accepted while the link is a blackhole is held: what it sends is dropped
        until the link leaves blackhole mode, which closes it.
        """
        if link.mode.kind is LinkKind.BLACKHOLE:
            while await reader.read(CHUNK_BYTES):
                pass
            return
        upstream_reader, upstream_writer = await asyncio.wait_for(
            asyncio.open_connection(*link.upstream), CONNECT_TIMEOUT_SECONDS
        )
        writers.append(upstream_writer)
        client_writer = writers[0]
        pumps = [
            asyncio.create_task(self._pump(link, reader, upstream_writer)),
            asyncio.create_task(self._pump(link, upstream_reader, client_writer)),
        ]
        try:
            done, _pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
            await asyncio.gather(*pumps)
        finally:
            for task in pumps:
                task.cancel()
            for task in pumps:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    @staticmethod
    async def _pump(
        link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            data = await reader.read(CHUNK_BYTES)
            if not data:
                with contextlib.suppress(OSError):
                    if writer.can_write_eof():
                        writer.write_eof()
                return
            if link.mode.kind is LinkKind.DELAY and link.mode.delay_ms:
                await asyncio.sleep(link.mode.delay_ms / 1000)
            if link.mode.kind is LinkKind.BLACKHOLE:
                continue  # dropped; the connection is closed when the link leaves blackhole
            if link.mode.kind is LinkKind.REFUSE:
                raise ConnectionResetError("the link refuses")
            writer.write(data)
            await writer.drain()


class RelayThread:
    """A :class:`Relay` on its own event loop in a thread; every call waits for its effect."""

    def __init__(self, members: Mapping[int, str], *, max_connections: int = 0) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="twin-relay")
        self._relay: Relay | None = None
        self._members = dict(members)
        self._max = max_connections

    def __enter__(self) -> RelayThread:
        self._thread.start()
        try:
            self._relay = self._call(self._make())
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _make(self) -> Relay:
        relay = Relay(self._members, max_connections=self._max)
        await relay.start()
        return relay

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(CALL_TIMEOUT_SECONDS)

    def _do(self, action: Callable[[], None]) -> None:
        async def run() -> None:
            action()

        self._call(run())

    @property
    def relay(self) -> Relay:
        """The relay (read its URLs from any thread; switch modes through this object)."""
        if self._relay is None:
            raise RuntimeError("the relay is not running")
        return self._relay

    def peer_urls(self, source: int) -> dict[int, str]:
        """Every other member's URL as seen by ``source``."""
        return self.relay.peer_urls(source)

    def set_mode(self, source: int, target: int, mode: LinkMode) -> None:
        """Switch one directed link to ``mode``."""
        self._do(lambda: self.relay.set_mode(source, target, mode))

    def cut(self, groups: Sequence[Iterable[int]], mode: LinkMode | None = None) -> None:
        """Cut every link between two groups (see :meth:`Relay.cut`)."""
        lists = [list(group) for group in groups]
        self._do(lambda: self.relay.cut(lists, mode))

    def heal(self) -> None:
        """Let every link pass."""
        self._do(lambda: self.relay.heal())

    def close(self) -> None:
        """Stop the relay, then its loop and thread."""
        if self._relay is not None:
            with contextlib.suppress(Exception):
                self._call(self._relay.stop())
            self._relay = None
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(CALL_TIMEOUT_SECONDS)
        if not self._loop.is_running():
            self._loop.close()
