"""The trickled-head probe against real loopback servers: closed, answered, held open, stopped.

The probe runs ahead of its check in a thread (``_head_probe.py``); what it reports must be
what the server did, whether it runs in its turn or ahead, and closing a run stops it at once.
The servers are the suite's misbehaving loopback server (``hostile_server.py``).
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.conformance.hostile_server import HostileServer
from twin_conformance._head_probe import HeadAnswer, HeadProbeAhead, trickle_head

BOUND = 3.0


def server(behaviour: str) -> HostileServer:
    """``drop`` closes, ``fixed`` answers 408 at once, ``hang`` holds the connection open."""
    return HostileServer(behaviour, status="408 Request Timeout")


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        ("drop", HeadAnswer("closed")),
        ("fixed", HeadAnswer("answered", "HTTP/1.1 408 Request Timeout")),
        ("hang", HeadAnswer("held-open")),
    ],
    ids=["closed", "answered-408", "held-open"],
)
def test_the_probe_reports_what_the_server_did_in_turn_and_ahead(
    behaviour: str, expected: HeadAnswer
) -> None:
    with server(behaviour) as hostile:
        assert trickle_head(hostile.url, BOUND) == expected
        ahead = HeadProbeAhead(hostile.url, BOUND)
        assert ahead.answer() == expected
        ahead.close()


def test_closing_a_probe_running_ahead_stops_it_within_seconds() -> None:
    with server("hang") as hostile:
        ahead = HeadProbeAhead(hostile.url, 60.0)
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
