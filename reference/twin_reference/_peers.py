"""The validator's peers: bounded outboxes that push blocks and signatures, and fetches.

Each peer gets an outbox (at most :attr:`NetworkSettings.outbox_messages` messages and
:attr:`NetworkSettings.outbox_bytes` bytes; the oldest message is dropped when either is
exceeded) drained by one sender task over one keep-alive connection, in order, so a peer
usually receives a block after its ancestors. A message is tried a bounded number of times
with short backoffs; a 4xx answer is final. A peer that keeps failing is left alone for a
while (up to :attr:`NetworkSettings.backoff_max_seconds`); whatever it misses it fetches itself
when it is back (``_sync.py``). Fetches use a second connection per peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from twin_reference._peer_http import PeerConnection, PeerError
from twin_spec import JSONValue, TwinSpecError, parse_json

LOG = logging.getLogger("twin_reference.peers")
PIPELINE_MESSAGES = 64
PIPELINE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class NetworkSettings:
    """Timeouts and bounds of the traffic between validators."""

    connect_timeout_seconds: float = 0.5
    request_timeout_seconds: float = 3.0
    attempts: int = 3
    outbox_messages: int = 512
    outbox_bytes: int = 32 * 1024 * 1024
    backoff_max_seconds: float = 2.0
    max_response_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class Fetched:
    """What a GET of a peer gave: the parsed body of a 200 answer, and how it went (for logs)."""

    body: JSONValue | None
    outcome: str
    answered: bool = False
    """Whether the peer gave an HTTP answer (of any status)."""
    asked: bool = True
    """Whether the request was made (not: a peer left alone, or not a peer)."""


def _short(exc: BaseException) -> str:
    """An exception in one line of at most 160 characters."""
    text = str(exc).replace("\n", " ")
    return text if len(text) <= 160 else text[:157] + "..."


@dataclass
class _Peer:
    index: int
    url: str
    sender: PeerConnection
    fetcher: PeerConnection
    outbox: deque[tuple[str, bytes]] = field(default_factory=deque)
    outbox_size: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    failures: int = 0
    down_until: float = 0.0
    dropped: int = 0
    answered: bool | None = None
    """Whether the peer answered the last exchange with it (None before any)."""


class PeerNetwork:
    """Outboxes to every peer, and fetches from them; an empty network for a committee of one."""

    def __init__(self, peers: Mapping[int, str], settings: NetworkSettings | None = None) -> None:
        self.settings = settings or NetworkSettings()
        self._peers = {
            index: _Peer(index, url, self._connection(url), self._connection(url))
            for index, url in sorted(peers.items())
        }
        self._tasks: list[asyncio.Task[None]] = []

    def _connection(self, url: str) -> PeerConnection:
        return PeerConnection(
            url,
            connect_timeout=self.settings.connect_timeout_seconds,
            request_timeout=self.settings.request_timeout_seconds,
            max_response_bytes=self.settings.max_response_bytes,
        )

    @property
    def indices(self) -> list[int]:
        """The committee indices of the peers, in order."""
        return list(self._peers)

    def url(self, index: int) -> str | None:
        """The URL of a peer, or None for an index that is not a peer."""
        peer = self._peers.get(index)
        return None if peer is None else peer.url

    def is_up(self, index: int) -> bool:
        """Whether the last message to the peer went through."""
        peer = self._peers.get(index)
        return peer is not None and peer.failures == 0

    def queued(self, index: int) -> int:
        """How many messages wait in the outbox of a peer (0 for an unknown index)."""
        peer = self._peers.get(index)
        return 0 if peer is None else len(peer.outbox)

    def unreachable(self) -> list[int]:
        """The peers that did not answer the last exchange with them (sends and fetches)."""
        return [index for index, peer in self._peers.items() if peer.answered is False]

    def start(self) -> None:
        """Start one sender task per peer."""
        for peer in self._peers.values():
            self._tasks.append(asyncio.create_task(self._drain(peer), name=f"peer-{peer.index}"))

    async def stop(self) -> None:
        """Stop the senders and close every connection."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for peer in self._peers.values():
            await peer.sender.close()
            await peer.fetcher.close()

    def broadcast(self, path: str, body: bytes) -> None:
        """Queue a POST of ``body`` to ``path`` on every peer."""
        for index in self._peers:
            self.send(index, path, body)

    def send(self, index: int, path: str, body: bytes) -> None:
        """Queue a POST to one peer, dropping its oldest queued messages beyond the bounds."""
        peer = self._peers.get(index)
        if peer is None:
            return
        peer.outbox.append((path, body))
        peer.outbox_size += len(body)
        while peer.outbox and (
            len(peer.outbox) > self.settings.outbox_messages
            or peer.outbox_size > self.settings.outbox_bytes
        ):
            _path, dropped = peer.outbox.popleft()
            peer.outbox_size -= len(dropped)
            peer.dropped += 1
        peer.wake.set()

    async def get_json(
        self, index: int, path: str, *, even_if_backing_off: bool = False
    ) -> JSONValue | None:
        """GET ``path`` from a peer; the parsed body of a 200 answer, else None.

        A peer left alone after failed sends is not asked, unless ``even_if_backing_off`` (a
        caller that paces its own requests, such as the stall probe of ``_sync.py``, which must
        find a healed peer at once).
        """
        return (await self.fetch_json(index, path, even_if_backing_off=even_if_backing_off)).body

    async def fetch_json(
        self, index: int, path: str, *, even_if_backing_off: bool = False
    ) -> Fetched:
        """GET ``path`` from a peer: the parsed body of a 200 answer, or why there is none."""
        peer = self._peers.get(index)
        if peer is None:
            return Fetched(None, "not a peer", asked=False)
        wait = peer.down_until - time.monotonic()
        if wait > 0 and not even_if_backing_off:
            return Fetched(None, f"not asked: backing off for {wait:.1f} s", asked=False)
        try:
            response = await peer.fetcher.request("GET", path)
        except PeerError as exc:
            LOG.debug("fetch failed: %s", exc)
            peer.answered = False
            return Fetched(None, f"unreachable: {_short(exc)}")
        peer.answered = True
        if response.status != 200:
            return Fetched(None, f"status {response.status}", answered=True)
        try:
            return Fetched(parse_json(response.body), "answered", answered=True)
        except TwinSpecError:
            LOG.debug("peer %d answered %s with malformed JSON", index, path)
            return Fetched(None, "malformed JSON", answered=True)

    async def _drain(self, peer: _Peer) -> None:
        settings = self.settings
        while True:
            await peer.wake.wait()
            peer.wake.clear()
            while peer.outbox:
                delay = peer.down_until - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                    continue
                batch: list[tuple[str, bytes]] = []
                size = 0
                while peer.outbox and len(batch) < PIPELINE_MESSAGES and size < PIPELINE_BYTES:
                    path, body = peer.outbox.popleft()
                    peer.outbox_size -= len(body)
                    batch.append((path, body))
                    size += len(body)
                if await self._post(peer, batch, settings.attempts):
                    if peer.failures:
                        LOG.info(
                            "peer %d takes messages again after %d failed sends",
                            peer.index,
                            peer.failures,
                        )
                    peer.failures = 0
                    peer.answered = True
                    continue
                peer.failures += 1
                peer.answered = False
                backoff = min(settings.backoff_max_seconds, 0.05 * 2**peer.failures)
                peer.down_until = time.monotonic() + backoff
                if peer.failures == 1:
                    LOG.info(
                        "peer %d did not take %d messages: left alone for up to %g s at a time",
                        peer.index,
                        len(batch),
                        settings.backoff_max_seconds,
                    )

    async def _post(self, peer: _Peer, batch: list[tuple[str, bytes]], attempts: int) -> bool:
        """POST a batch in order, pipelined; return whether all of it was delivered.

        What failed or got a 5xx answer is sent again, a bounded number of times; a 4xx answer
        is final.
        """
        for attempt in range(attempts):
            try:
                answers = await peer.sender.pipeline([("POST", path, body) for path, body in batch])
            except PeerError as exc:
                LOG.debug("send to peer %d failed: %s", peer.index, exc)
            else:
                retry = []
                for (path, body), answer in zip(batch, answers, strict=True):
                    if answer.status >= 500:
                        retry.append((path, body))
                    elif answer.status >= 400:
                        LOG.debug("peer %d refused %s: %s", peer.index, path, answer.body[:300])
                if not retry:
                    return True
                batch = retry
            await asyncio.sleep(0.02 * 2**attempt)
        return False
