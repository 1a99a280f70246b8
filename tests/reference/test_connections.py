"""Slow and idle connections against a real node: bounded in time and number.

Issue 13, finding 5: a connection that never finished its headers was held for ever, and with
the common limit of 1,024 open files, 2,000 idle connections made ``accept()`` fail in a loop
(220,000 error lines in 20 s) while new clients timed out. A node now bounds the time headers
and bodies take and the connections it holds, and idle ones never keep a new client out
(TWIN-CORE-062).
"""

from __future__ import annotations

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
