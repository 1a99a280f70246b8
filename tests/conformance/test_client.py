"""The harness's HTTP client against hostile targets: every failure is bounded and named."""

from __future__ import annotations

import gzip
import json
import time
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
