"""Slow and idle connections against a real node: bounded in time and number.

Issue 13, finding 5: a connection that never finished its headers was held for ever, and with
the common limit of 1,024 open files, 2,000 idle connections made ``accept()`` fail in a loop
(220,000 error lines in 20 s) while new clients timed out. A node now bounds the time headers
and bodies take and the connections it holds, and idle ones never keep a new client out
(TWIN-CORE-062).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node_process import RunningNode, start_node

BODY_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def slow_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(
        Path(tmp_path_factory.mktemp("slow")) / "data", "--body-timeout", str(BODY_TIMEOUT)
    )
    yield running
    running.stop()


def _address(node: RunningNode) -> tuple[str, int]:
    host, port = node.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _read_answer(connection: socket.socket, seconds: float) -> bytes:
    connection.settimeout(seconds)
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except TimeoutError:
        pass
    return received


@pytest.mark.requirement("TWIN-CORE-062")
def test_a_body_that_does_not_arrive_in_time_is_408(slow_node: RunningNode) -> None:
    with socket.create_connection(_address(slow_node), timeout=10) as connection:
        connection.sendall(
            b"POST /authentication/login HTTP/1.1\r\nhost: node\r\n"
            b'content-type: application/json\r\ncontent-length: 100\r\n\r\n{"email": '
        )
        started = time.monotonic()
        answer = _read_answer(connection, BODY_TIMEOUT + 10)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"RequestTimeoutError"' in answer
    assert BODY_TIMEOUT - 0.5 <= waited < BODY_TIMEOUT + 8


HEADER_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def guarded_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """A node holding at most 16 connections, with a short head timeout."""
    running = start_node(
        Path(tmp_path_factory.mktemp("guarded")) / "data",
        "--header-timeout",
        str(HEADER_TIMEOUT),
        "--max-connections",
        "16",
    )
    yield running
    running.stop()


@pytest.mark.requirement("TWIN-CORE-062")
def test_a_head_that_never_ends_is_closed_even_when_it_trickles(guarded_node: RunningNode) -> None:
    with socket.create_connection(_address(guarded_node), timeout=10) as connection:
        started = time.monotonic()
        connection.sendall(b"GET /health HTTP/1.1\r\nhost: node\r\n")
        # One more header byte every half second would reset an idle timer; not this bound.
        closed = False
        for _ in range(40):
            try:
                connection.sendall(b"x")
            except OSError:
                closed = True
                break
            connection.settimeout(0.5)
            try:
                if connection.recv(65536) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
        waited = time.monotonic() - started
    assert closed, "the node kept a connection whose head never ended"
    assert HEADER_TIMEOUT - 0.5 <= waited < HEADER_TIMEOUT + 8


@pytest.mark.requirement("TWIN-CORE-062")
def test_at_the_cap_a_busy_node_refuses_cleanly_and_idle_connections_make_room(
    guarded_node: RunningNode,
) -> None:
    address = _address(guarded_node)
    # Sixteen connections in the middle of a request head: none is idle, so the next is refused.
    busy = [socket.create_connection(address, timeout=10) for _ in range(16)]
    try:
        for connection in busy:
            connection.sendall(b"GET /health HTTP/1.1\r\n")
        time.sleep(0.3)
        with socket.create_connection(address, timeout=10) as refused:
            answer = _read_answer(refused, 5)
        assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
        assert b"ServiceUnavailableError" in answer
    finally:
        for connection in busy:
            connection.close()
    # Idle connections, however many, make room for a new client at once.
    idle = [socket.create_connection(address, timeout=10) for _ in range(64)]
    try:
        time.sleep(0.3)
        with guarded_node.client() as client:
            started = time.monotonic()
            assert client.get("/health", timeout=10).status_code == 200
            assert time.monotonic() - started < 5
    finally:
        for connection in idle:
            connection.close()


@pytest.mark.requirement("TWIN-CORE-062")
def test_two_thousand_idle_connections_under_1024_open_files_keep_nobody_out(
    tmp_path: Path,
) -> None:
    node = start_node(tmp_path / "data", prefix=["prlimit", "--nofile=1024:1024", "--"])
    sockets: list[socket.socket] = []
    try:
        host, port = _address(node)
        for _ in range(2000):
            idle = socket.socket()
            idle.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                idle.connect((host, port))
            sockets.append(idle)
        time.sleep(2)
        # Before: accept() failed in a loop and new clients timed out.
        with node.client() as client:
            for _ in range(3):
                started = time.monotonic()
                assert client.get("/health", timeout=10).status_code == 200
                assert time.monotonic() - started < 5
        time.sleep(1)
        log = node.log()
        assert "Too many open files" not in log, log[-2000:]
        assert len(log.splitlines()) < 50, log[-2000:]
    finally:
        for idle in sockets:
            idle.close()
        node.stop()
