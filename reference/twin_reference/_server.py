"""The HTTP server: the listening socket, the open-files limit, and the connection guard.

uvicorn holds a connection until the client closes it: one that never finishes its request
headers is held for ever, and with the common limit of 1,024 open files, 2,000 idle
connections leave ``accept()`` failing in a loop while new clients time out. So the node
(TWIN-CORE-062):

- raises its soft open-files limit to the hard limit at start;
- holds at most :attr:`ConnectionLimits.max_connections` connections, and never more than the
  open-files limit leaves after :data:`RESERVED_FILES` (the database, the worker, peers...);
  at the cap, a new connection takes the place of the connection idle the longest, and only
  when none is idle is it refused (a 503 written on it, then closed);
- closes a connection that has not sent a whole request head within
  :attr:`ConnectionLimits.header_timeout_seconds` of opening or of its last answer, and one
  whose body has not arrived :data:`BODY_GRACE_SECONDS` after the body timeout (a route that
  reads the body answers 408 at the body timeout itself, ``_http.py``).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
from dataclasses import dataclass
from typing import Any, ClassVar

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

LOG = logging.getLogger("twin_reference.server")
ACCEPT_BATCH = 32
"""Connections accepted per turn of the loop (and the listen backlog)."""
RESERVED_FILES = 64 + 4 * ACCEPT_BATCH
"""Open files kept for the node itself (database, log, worker process, listening socket) and
for the connections accepted before the cap applies to them: asyncio accepts a batch each turn
of the loop, and a connection's protocol first sees it two turns later, a closed one is let go
a turn after that."""
BODY_GRACE_SECONDS = 5.0
MAX_RAISED_FILES = 1 << 20
_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: 95\r\n\r\n"
    b'{"name":"ServiceUnavailableError","message":"the node holds as many connections as it takes"}'
)
_HEAD_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: 92\r\n\r\n"
    b'{"name":"RequestTimeoutError","message":"the request head did not arrive within the bound"}'
)


@dataclass(frozen=True)
class ConnectionLimits:
    """How many connections the node holds and how long a request may take to arrive."""

    max_connections: int = 1024
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    keep_alive_seconds: int = 5


def raise_open_files_limit() -> int:
    """Raise the soft open-files limit to the hard limit; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = MAX_RAISED_FILES if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            LOG.warning("cannot raise the open-files limit from %d to %d: %s", soft, target, exc)
    return MAX_RAISED_FILES if soft == resource.RLIM_INFINITY else soft


def connection_cap(limits: ConnectionLimits, open_files: int, peers: int) -> int:
    """The most connections to hold: the configured cap, within what the open files leave."""
    return max(16, min(limits.max_connections, open_files - RESERVED_FILES - 2 * peers))


def listen(host: str, port: int) -> socket.socket:
    """A bound TCP socket (IPv6 when the host is an IPv6 literal), ready for uvicorn."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it, a response split over two writes waits
    # for the client's delayed ACK (about 40 ms per request).
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind((host, port))
    return listener


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with the node's connection cap and head and body timers."""

    cap: ClassVar[int] = 1024
    header_timeout: ClassVar[float] = 10.0
    body_timeout: ClassVar[float] = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 - uvicorn's own
        super().__init__(*args, **kwargs)
        self._refused = False
        self._idle_since: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timed_cycle: object = None

    # -- the cap ------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Take the connection, making room at the cap, or refuse it."""
        if len(self.connections) >= self.cap and not self._make_room():
            self._refused = True
            transport.write(_REFUSAL)
            transport.close()
            return
        super().connection_made(transport)
        self._wait_for_head()

    def _make_room(self) -> bool:
        """Close the connection idle the longest; return whether there was one."""
        idle = [
            other
            for other in self.connections
            if isinstance(other, GuardedH11Protocol) and other._idle_since is not None
        ]
        if not idle:
            return False
        oldest = min(idle, key=lambda other: other._idle_since or 0.0)
        oldest._close("its place was needed by a new connection")
        return True

    # -- timers -------------------------------------------------------------------------------

    def _wait_for_head(self) -> None:
        """Start waiting for a request head: the connection is idle until its first byte."""
        self._idle_since = self.loop.time()
        self._timed_cycle = self.cycle
        self._set_timer(self.header_timeout, self._head_too_slow)

    def _set_timer(self, seconds: float, callback: Any) -> None:  # noqa: ANN401 - a callable
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(seconds, callback)

    def _head_too_slow(self) -> None:
        if self.cycle is self._timed_cycle and not self.transport.is_closing():
            self.transport.write(_HEAD_TIMEOUT)
            self._close("its request head did not arrive in time")

    def _body_too_slow(self) -> None:
        cycle = self.cycle
        if cycle is self._timed_cycle and cycle is not None and cycle.more_body:
            self._close("its request body did not arrive in time")

    def _close(self, why: str) -> None:
        LOG.debug("closing a connection from %s: %s", self.client, why)
        self._idle_since = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _check_request(self) -> None:
        """After new data: time the body of a request that has begun, or stop timing."""
        if self.cycle is not None and self.cycle is not self._timed_cycle:
            self._timed_cycle = self.cycle
            if self.cycle.more_body:
                self._set_timer(self.body_timeout + BODY_GRACE_SECONDS, self._body_too_slow)
            elif self._timer is not None:
                self._timer.cancel()
                self._timer = None
        elif (
            self.cycle is not None
            and not self.cycle.more_body
            and self._timer is not None
            and self._idle_since is None
        ):
            self._timer.cancel()
            self._timer = None

    # -- uvicorn's callbacks ------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        """Note that the connection is busy, then let uvicorn read the data."""
        if self._refused:
            return
        self._idle_since = None
        super().data_received(data)
        self._check_request()

    def on_response_complete(self) -> None:
        """After an answer, wait for the next request head (or a pipelined one has begun)."""
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle is not self._timed_cycle:
            self._check_request()
        elif self.cycle is None or self.cycle.response_complete:
            self._wait_for_head()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection (a refused one was never taken)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._idle_since = None
        if not self._refused:
            super().connection_lost(exc)


def serve(
    app: Starlette,
    listener: socket.socket,
    limits: ConnectionLimits,
    cap: int,
    log_level: str,
) -> None:
    """Serve ``app`` on ``listener`` with uvicorn and the guarded protocol, until stopped."""
    protocol = type(
        "NodeH11Protocol",
        (GuardedH11Protocol,),
        {
            "cap": cap,
            "header_timeout": limits.header_timeout_seconds,
            "body_timeout": limits.body_timeout_seconds,
        },
    )
    config = uvicorn.Config(
        app,
        http=protocol,
        log_level=log_level,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=limits.keep_alive_seconds,
        backlog=ACCEPT_BATCH,
    )
    uvicorn.Server(config).run(sockets=[listener])
