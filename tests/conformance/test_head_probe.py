"""The trickled-head probe against real loopback servers: closed, answered, held open, stopped.

The probe runs ahead of its check in a thread (``_head_probe.py``); what it reports must be
what the server did, whether it runs in its turn or ahead, and closing a run stops it at once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from twin_conformance._head_probe import HeadAnswer, HeadProbeAhead, trickle_head

BOUND = 3.0


@contextmanager
def server(handle: Callable[[socket.socket], None]) -> Iterator[str]:
    """A loopback server on port 0 handling one connection with ``handle``; its base URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        with listener:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                handle(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        listener.close()
        thread.join(timeout=BOUND + 5)


def close_after_a_second(connection: socket.socket) -> None:
    time.sleep(1.0)


def answer_408(connection: socket.socket) -> None:
    connection.recv(1024)
    connection.sendall(b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\n\r\n")


def hold_open(connection: socket.socket) -> None:
    connection.settimeout(0.5)
    deadline = time.monotonic() + BOUND + 3
    while time.monotonic() < deadline:
        try:
            if not connection.recv(1024):
                return
        except TimeoutError:
            continue
        except OSError:
            return


@pytest.mark.parametrize(
    ("handle", "expected"),
    [
        (close_after_a_second, HeadAnswer("closed")),
        (answer_408, HeadAnswer("answered", "HTTP/1.1 408 Request Timeout")),
        (hold_open, HeadAnswer("held-open")),
    ],
    ids=["closed", "answered-408", "held-open"],
)
def test_the_probe_reports_what_the_server_did_in_turn_and_ahead(
    handle: Callable[[socket.socket], None], expected: HeadAnswer
) -> None:
    with server(handle) as url:
        assert trickle_head(url, BOUND) == expected
    with server(handle) as url:
        ahead = HeadProbeAhead(url, BOUND)
        assert ahead.answer() == expected
        ahead.close()


def test_closing_a_probe_running_ahead_stops_it_within_seconds() -> None:
    with server(hold_open) as url:
        ahead = HeadProbeAhead(url, 60.0)
        time.sleep(0.2)
        started = time.monotonic()
        ahead.close()
        assert time.monotonic() - started < 3.0
        assert ahead.answer() == HeadAnswer("held-open")


def test_a_connection_that_cannot_be_made_is_an_error_not_a_pass() -> None:
    with socket.create_server(("127.0.0.1", 0)) as spare:
        port = spare.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        trickle_head(f"http://127.0.0.1:{port}", BOUND)
    ahead = HeadProbeAhead(f"http://127.0.0.1:{port}", BOUND)
    with pytest.raises(ConnectionRefusedError):
        ahead.answer()
