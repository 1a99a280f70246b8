"""A request head trickled a byte a second, and what the node did with it (TWIN-CORE-062).

Seeing a node cut such a head off takes as long as the node's header timeout (10 s for the
reference node; :data:`HEAD_BOUND_SECONDS` at most is allowed), while the probe itself only
holds one connection and sends a byte a second. So once the run has seen the node serve a new
client beside many idle connections, and the run may use more than one connection at a time,
the probe runs in a thread of its own while the other checks go on; its check, which runs
late, judges what the probe saw. Otherwise the check runs the probe in its turn. Either way the
judgement is the same: closed, or answered 408 (or 400), within the bound.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from urllib.parse import urlsplit

HEAD_BOUND_SECONDS = 30.0
"""How long a node may hold a request head that arrives one byte a second."""
CONNECT_SECONDS = 5.0
WAIT_MARGIN_SECONDS = 10.0
"""How much longer than the bound a check waits for a probe running ahead."""


@dataclass(frozen=True)
class HeadAnswer:
    """What the node did with the trickled head: closed it, answered it, or held it open."""

    outcome: str
    """``closed``, ``answered`` or ``held-open``."""
    status_line: str = ""


def address(base_url: str) -> tuple[str, int, bool]:
    """The target's host, port and whether it speaks TLS."""
    parts = urlsplit(base_url)
    secure = parts.scheme == "https"
    return parts.hostname or "127.0.0.1", parts.port or (443 if secure else 80), secure


@contextlib.contextmanager
def raw_connection(base_url: str, timeout: float) -> Iterator[socket.socket]:
    """A socket to the target (TLS when it is https), closed on leaving."""
    host, port, secure = address(base_url)
    raw = socket.create_connection((host, port), timeout=timeout)
    connection: socket.socket = raw
    try:
        if secure:
            connection = ssl.create_default_context().wrap_socket(raw, server_hostname=host)
        yield connection
    finally:
        connection.close()


def trickle_head(
    base_url: str, bound: float = HEAD_BOUND_SECONDS, stop: threading.Event | None = None
) -> HeadAnswer:
    """Send a request head that never ends, a byte a second, for ``bound`` seconds at most."""
    host, _port, _secure = address(base_url)
    head = f"GET /health HTTP/1.1\r\nHost: {host}\r\nX-Conformance-Trickle: ".encode()
    started = time.monotonic()
    # A connection that cannot be made is not a head cut off: that error reaches the check.
    with raw_connection(base_url, CONNECT_SECONDS) as connection:
        connection.settimeout(1.0)
        try:
            connection.sendall(head)
            while time.monotonic() - started < bound:
                if stop is not None and stop.is_set():
                    break
                try:
                    answer = connection.recv(64)
                except TimeoutError:
                    connection.sendall(b"a")
                    continue
                if not answer:
                    return HeadAnswer("closed")
                return HeadAnswer("answered", answer.split(b"\r\n", 1)[0].decode("latin-1"))
        except OSError:
            return HeadAnswer("closed")  # Reset or broken pipe: closed.
    return HeadAnswer("held-open")


class HeadProbeAhead:
    """:func:`trickle_head` in a daemon thread, started now; :meth:`answer` waits for it."""

    def __init__(self, base_url: str, bound: float = HEAD_BOUND_SECONDS) -> None:
        self.bound = bound
        self._stop = threading.Event()
        self._future: Future[HeadAnswer] = Future()
        self._thread = threading.Thread(
            target=self._probe, args=(base_url,), name="twin-head-probe", daemon=True
        )
        self._thread.start()

    def _probe(self, base_url: str) -> None:
        try:
            self._future.set_result(trickle_head(base_url, self.bound, self._stop))
        except Exception as error:  # handed to the check that waits for it
            self._future.set_exception(error)

    def answer(self) -> HeadAnswer:
        """What the probe saw (it ends within the bound; waiting is bounded too)."""
        return self._future.result(timeout=self.bound + CONNECT_SECONDS + WAIT_MARGIN_SECONDS)

    def close(self) -> None:
        """Stop the probe (the run is ending) within a second."""
        self._stop.set()
        self._thread.join(timeout=CONNECT_SECONDS + 2.0)
