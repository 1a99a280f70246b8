"""The harness's HTTP client against hostile targets: every failure is bounded and named."""

from __future__ import annotations

import time

import pytest

from tests.conformance.hostile_server import HostileServer
from twin_conformance import ConformanceFailure, Exchange, TwinClient

TIMEOUT = 1.0


class Recorded(list[Exchange]):
    """An observer that keeps every exchange."""

    def before(self, method: str, url: str) -> None:
        """Let every request through."""

    def after(self, exchange: Exchange) -> None:
        """Keep the exchange."""
        self.append(exchange)


@pytest.mark.parametrize(
    ("behaviour", "named"),
    [
        ("garbage", "connection failed"),
        ("hang", "no answer within"),
        ("drop", "connection failed"),
        ("huge", "response larger than"),
        ("drip", "not complete within"),
    ],
)
def test_a_hostile_answer_becomes_a_bounded_failure_with_evidence(
    behaviour: str, named: str
) -> None:
    recorded = Recorded()
    with HostileServer(behaviour) as server:
        client = TwinClient(
            server.url,
            timeout=TIMEOUT,
            max_response_bytes=1024 * 1024,
            observer=recorded,
        )
        started = time.monotonic()
        with pytest.raises(ConformanceFailure) as caught:
            client.get("/health")
        elapsed = time.monotonic() - started
        client.close()
    assert named in caught.value.message
    assert elapsed < TIMEOUT * 3 + 2
    assert len(recorded) == 1
    evidence = recorded[0].evidence()
    assert evidence["response"] is None
    assert named in evidence["error"]


def test_a_redirect_is_not_followed_off_the_target() -> None:
    with HostileServer("redirect") as server:
        client = TwinClient(server.url, timeout=TIMEOUT)
        exchange = client.get("/health")
        client.close()
    assert exchange.status == 302
    assert exchange.url == f"{server.url}/health"


@pytest.mark.parametrize("path", ["http://203.0.113.1/x", "//203.0.113.1/x", "health"])
def test_a_check_cannot_send_a_request_off_the_target(path: str) -> None:
    client = TwinClient("http://127.0.0.1:9", timeout=TIMEOUT)
    with pytest.raises(ValueError, match="stay on the target"):
        client.get(path)
    client.close()


def test_evidence_hides_the_token_and_cuts_long_bodies() -> None:
    exchange = Exchange(
        "POST",
        "http://t/x",
        {"authorization": "Bearer secret"},
        b"a" * 10_000,
        200,
        {},
        b"\xff" * 10,
    )
    evidence = exchange.evidence()
    assert "secret" not in str(evidence)
    assert evidence["request"]["body"].endswith("[cut 5904 characters]")
    assert evidence["response"]["body"].startswith("base64:")
