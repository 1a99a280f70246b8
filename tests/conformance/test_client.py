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
from twin_conformance._failures import Throttled

TIMEOUT = 1.0


class Recorded(list[Exchange]):
    """An observer that keeps every exchange."""

    expecting: list[bool]

    def before(self, method: str, url: str, *, expect_throttling: bool = False) -> None:
        """Let every request through (noting whether it expected throttling)."""
        if not hasattr(self, "expecting"):
            self.expecting = []
        self.expecting.append(expect_throttling)

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
    """The server's status (503 unless told) and Retry-After for ``busy`` requests, then 200."""

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, _BusyServer)
        server.requests += 1
        busy = server.requests <= server.busy
        body = b'{"name":"ServiceUnavailableError","message":"busy"}' if busy else b'{"ok":true}'
        self.send_response(server.status if busy else 200)
        if busy and server.retry_after is not None:
            self.send_header("retry-after", server.retry_after)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _BusyServer(http.server.ThreadingHTTPServer):
    def __init__(self, busy: int, retry_after: str | None, status: int = 503) -> None:
        super().__init__(("127.0.0.1", 0), _Busy)
        self.busy, self.retry_after, self.requests = busy, retry_after, 0
        self.status = status


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


@pytest.mark.suite("SUITE-024")
@pytest.mark.parametrize(
    ("busy", "retry_after", "requests", "waited"),
    [
        (1, "1", 2, 1.0),  # throttled once: waited out, and the next answer is the one judged
        (2, None, 3, 2.0),  # no Retry-After: 1 s, as for a busy answer
    ],
)
def test_a_throttled_answer_is_waited_out_and_the_next_answer_judged(
    busy: int, retry_after: str | None, requests: int, waited: float
) -> None:
    server = _BusyServer(busy, retry_after, status=429)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorded = Recorded()
    client = TwinClient(f"http://127.0.0.1:{server.server_address[1]}", observer=recorded)
    try:
        started = time.monotonic()
        exchange = client.get("/thing")
        took = time.monotonic() - started
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert exchange.status == 200
    assert exchange.json() == {"ok": True}
    assert server.requests == requests
    assert took >= waited
    assert [e.status for e in recorded] == [429] * busy + [200], "every answer is evidence"
    assert [e.retry_in for e in recorded] == [1.0] * busy + [None]


@pytest.mark.suite("SUITE-024")
def test_a_429_still_there_after_the_retries_is_not_a_failure_of_the_target() -> None:
    server = _BusyServer(9, "1", status=429)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorded = Recorded()
    client = TwinClient(f"http://127.0.0.1:{server.server_address[1]}", observer=recorded)
    try:
        with pytest.raises(Throttled) as caught:
            client.get("/thing")
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert not isinstance(caught.value, ConformanceFailure), "a 429 fails no requirement"
    assert "answered 429 (too many requests) 3 times" in caught.value.message
    assert caught.value.cause == "throttled|GET /thing"
    assert caught.value.operation == "GET /thing"
    assert caught.value.retry_after == 1.0
    assert server.requests == 3
    assert [e.status for e in recorded] == [429, 429, 429]


@pytest.mark.suite("SUITE-024")
@pytest.mark.parametrize("asked", ["60", "Fri, 31 Dec 2027 23:59:59 GMT"])
def test_a_429_asking_longer_than_5_s_is_not_waited_for(asked: str) -> None:
    recorded = Recorded()
    body = b'{"name":"TooManyRequestsError","message":"slow down"}'
    with HostileServer(
        "fixed",
        status="429 Too Many Requests",
        answer=body,
        headers={"retry-after": asked, "connection": "close"},
    ) as server:
        client = TwinClient(server.url, timeout=TIMEOUT, observer=recorded)
        started = time.monotonic()
        with pytest.raises(Throttled) as caught:
            client.get("/authentication/login")
        took = time.monotonic() - started
        client.close()
        answered = server.answered
    assert answered == 1, "asked to wait longer than 5 s: not sent again"
    assert took < 1.0
    assert "answered 429 (too many requests) 1 time," in caught.value.message
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 5
    assert [e.retry_in for e in recorded] == [None]


@pytest.mark.suite("SUITE-024")
def test_a_check_that_judges_throttling_gets_the_429_as_it_came() -> None:
    recorded = Recorded()
    body = b'{"name":"TooManyRequestsError","message":"slow down"}'
    with HostileServer(
        "fixed",
        status="429 Too Many Requests",
        answer=body,
        headers={"retry-after": "1", "connection": "close"},
    ) as server:
        client = TwinClient(server.url, timeout=TIMEOUT, observer=recorded)
        started = time.monotonic()
        # A GET: the server answers without reading a body (a POST's would reset the line).
        exchange = client.get("/authentication/login", expect_throttling=True)
        took = time.monotonic() - started
        # The same client, without saying so, waits the Retry-After out twice.
        with pytest.raises(Throttled):
            client.get("/authentication/login")
        client.close()
        answered = server.answered
    assert exchange.status == 429
    assert exchange.headers["retry-after"] == "1"
    assert took < 1.0, "not waited out"
    assert answered == 1 + 3
    assert recorded.expecting == [True, False], "the observer is told, request by request"
