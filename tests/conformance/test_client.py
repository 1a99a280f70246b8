"""The harness's HTTP client against hostile targets: every failure is bounded and named."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
import time
import urllib.parse
import zlib

import brotli
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

    def operation_of(self, method: str, url: str) -> str:
        """``METHOD /path`` (no contract here)."""
        return f"{method} {urllib.parse.urlsplit(url).path}"


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


def _encoded_server(body: bytes, coding: str) -> HostileServer:
    """A server answering ``body`` as it is with the Content-Encoding ``coding``."""
    return HostileServer("fixed", answer=body, headers={"content-encoding": coding})


@pytest.mark.suite("SUITE-020")
@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "gzip, br"])
def test_compressed_answers_are_decoded_exactly_as_sent(coding: str) -> None:
    document = {"name": "Vendor Node", "note": "ünïcode ✓", "profiles": ["core"] * 50}
    plain = json.dumps(document).encode()
    body = plain
    for step in [part.strip() for part in coding.split(",")]:
        body = gzip.compress(body) if step == "gzip" else brotli.compress(body)
        if step == "deflate":
            body = zlib.compress(plain)
    recorded = Recorded()
    with _encoded_server(body, coding) as server:
        client = TwinClient(server.url, timeout=TIMEOUT, observer=recorded)
        exchange = client.get("/info", validate=False)
        client.close()
    assert exchange.json() == document
    assert exchange.raw_size == len(body)
    sent = recorded[0].request_headers
    assert sent["accept-encoding"] == "gzip, deflate, br"
    assert "host" in sent, "the evidence records the headers actually sent"
    assert exchange.evidence()["response"]["body"] == plain.decode()


@pytest.mark.suite("SUITE-020")
@pytest.mark.parametrize(
    ("body", "coding", "named"),
    [
        (gzip.compress(b"0" * 20_000_000), "gzip", "decodes to more than"),
        (brotli.compress(b"0" * 20_000_000), "br", "decodes to more than"),
        (gzip.compress(b'{"a": 1}')[:-6], "gzip", "truncated"),
        (b'{"a": 1}', "zstd", "did not accept"),
        (b"not gzip at all", "gzip", "not valid gzip"),
    ],
    ids=["gzip-bomb", "brotli-bomb", "truncated", "unasked-coding", "not-gzip"],
)
def test_a_body_that_does_not_decode_is_a_contract_failure(
    body: bytes, coding: str, named: str
) -> None:
    with _encoded_server(body, coding) as server:
        client = TwinClient(server.url, timeout=TIMEOUT, max_response_bytes=8 * 1024 * 1024)
        with pytest.raises(ConformanceFailure) as caught:
            client.get("/info")
        client.close()
    assert caught.value.requirement == "TWIN-CORE-056"
    assert named in caught.value.message


class _Busy(http.server.BaseHTTPRequestHandler):
    """503 with the server's Retry-After for its first ``busy`` requests, then 200."""

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, _BusyServer)
        server.requests += 1
        busy = server.requests <= server.busy
        body = b'{"name":"ServiceUnavailableError","message":"busy"}' if busy else b'{"ok":true}'
        self.send_response(503 if busy else 200)
        if busy and server.retry_after is not None:
            self.send_header("retry-after", server.retry_after)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _BusyServer(http.server.ThreadingHTTPServer):
    def __init__(self, busy: int, retry_after: str | None) -> None:
        super().__init__(("127.0.0.1", 0), _Busy)
        self.busy, self.retry_after, self.requests = busy, retry_after, 0


@pytest.mark.suite("SUITE-023")
@pytest.mark.parametrize(
    ("busy", "retry_after", "status", "requests"),
    [
        (2, "1", 200, 3),  # busy twice, then served: a real client's retries
        (9, "1", None, 3),  # still 503 after two retries: one unavailable failure
        (9, "3600", None, 1),  # asks for an hour: not waited for
        (9, "Fri, 31 Dec 2027 23:59:59 GMT", None, 1),  # a date: not waited for
    ],
)
def test_a_busy_answer_is_retried_after_its_retry_after_then_fails_once(
    busy: int, retry_after: str, status: int | None, requests: int
) -> None:
    server = _BusyServer(busy, retry_after)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorded = Recorded()
    client = TwinClient(f"http://127.0.0.1:{server.server_address[1]}", observer=recorded)
    try:
        if status is not None:
            assert client.get("/thing").status == status
        else:
            with pytest.raises(ConformanceFailure) as caught:
                client.get("/thing")
            assert f"answered 503 (unavailable) {requests} time" in caught.value.message
            assert caught.value.cause == "unavailable|GET /thing"
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert server.requests == requests
    assert [exchange.status for exchange in recorded][-1] == (status or 503)
    assert len(recorded) == requests, "every answer the node gave is evidence"
