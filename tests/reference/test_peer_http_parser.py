"""The hand-written peer client never hangs, never over-reads, and refuses what it cannot read.

``bench/bench_peer_client.py`` keeps the node's own HTTP/1.1 client because the cheapest
maintained client costs more than twice its CPU per request; so its response parser is fuzzed
here. A real loopback server answers each request with bytes Hypothesis builds (truncated,
oversized, chunked and malformed, header bombs), then closes or holds the connection; the
client must answer a response whose body is exactly the bytes framed as the body, or raise
``PeerError``, within its request timeout, and nothing else.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from twin_reference._peer_http import MAX_HEADER_BYTES, PeerConnection, PeerError, PeerResponse

MAX_RESPONSE = 4096
TIMEOUT = 0.5
# The client's own timeout plus the scheduling slack of a loaded two-core machine.
BOUND = TIMEOUT + 2.0


@dataclass(frozen=True)
class Answer:
    """What the server writes, whether it then closes, and the body a correct reader sees."""

    raw: bytes
    close: bool
    body: bytes | None  # None: not a readable response, the client must refuse it
    # For a cut response: the whole body, the only thing it may read if the cut spared it.
    whole: bytes | None = None


async def _exchange(answer: Answer) -> tuple[PeerResponse | PeerError, float]:
    """Serve ``answer`` once on loopback and make one request to it with the peer client."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer.raw)
            await writer.drain()
            if not answer.close:
                await asyncio.sleep(BOUND + 1)
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = PeerConnection(
        f"http://127.0.0.1:{port}", request_timeout=TIMEOUT, max_response_bytes=MAX_RESPONSE
    )
    started = time.monotonic()
    try:
        result: PeerResponse | PeerError = await connection.request("GET", "/consensus/blocks")
    except PeerError as error:
        result = error
    finally:
        elapsed = time.monotonic() - started
        await connection.close()
        server.close()
        await asyncio.wait_for(server.wait_closed(), BOUND)
    return result, elapsed


def _run(answer: Answer) -> tuple[PeerResponse | PeerError, float]:
    return asyncio.run(asyncio.wait_for(_exchange(answer), BOUND * 3))


def _header_lines(headers: list[tuple[bytes, bytes]]) -> bytes:
    return b"".join(name + b": " + value + b"\r\n" for name, value in headers)


STATUS = st.sampled_from([b"HTTP/1.1 200 OK\r\n", b"HTTP/1.0 404 Not Found\r\n"])
FILLER = st.lists(
    st.tuples(st.sampled_from([b"x-filler", b"server", b"date"]), st.binary(max_size=40)).map(
        lambda pair: (pair[0], pair[1].replace(b"\r", b"").replace(b"\n", b""))
    ),
    max_size=5,
)


@st.composite
def framed_by_length(draw: st.DrawFn) -> Answer:
    """A Content-Length response, possibly followed by bytes that are not its body."""
    body = draw(st.binary(max_size=MAX_RESPONSE))
    trailing = draw(st.binary(max_size=64))
    raw = (
        draw(STATUS)
        + _header_lines([*draw(FILLER), (b"content-length", str(len(body)).encode())])
        + b"\r\n"
        + body
        + trailing
    )
    return Answer(raw, draw(st.booleans()), body)


@st.composite
def chunked(draw: st.DrawFn) -> Answer:
    """A well-formed chunked response, with chunk extensions and trailers."""
    chunks = draw(st.lists(st.binary(min_size=1, max_size=512), max_size=6))
    encoded = b"".join(
        format(len(chunk), "x").encode()
        + draw(st.sampled_from([b"", b";ext=1"]))
        + b"\r\n"
        + chunk
        + b"\r\n"
        for chunk in chunks
    )
    trailers = _header_lines(draw(FILLER))
    raw = (
        draw(STATUS)
        + _header_lines([(b"transfer-encoding", b"chunked")])
        + b"\r\n"
        + encoded
        + b"0\r\n"
        + trailers
        + b"\r\n"
    )
    body = b"".join(chunks)
    return Answer(raw, draw(st.booleans()), body if len(body) <= MAX_RESPONSE else None)


@st.composite
def malformed(draw: st.DrawFn) -> Answer:
    """Responses no careful reader may accept: each ends refused, never hung or over-read."""
    kind = draw(
        st.sampled_from(
            [
                "bad-status",
                "bad-length",
                "no-framing",
                "oversized-length",
                "oversized-chunks",
                "bad-chunk-size",
                "header-bomb",
                "long-header-line",
                "trailer-bomb",
            ]
        )
    )
    event(kind)
    status = draw(STATUS)
    length_header = b"content-length"
    if kind == "bad-status":
        raw = draw(st.sampled_from([b"", b"HTTP/2 200\r\n", b"HTTP/1.1 OK\r\n", b"\x00\xff\r\n"]))
        raw += b"content-length: 0\r\n\r\n"
    elif kind == "bad-length":
        value = draw(st.sampled_from([b"-1", b"1_0", b"+5", b"0x10", b"", b"12abc", b"\xb2"]))
        raw = status + length_header + b": " + value + b"\r\n\r\n" + b"0123456789"
    elif kind == "no-framing":
        raw = status + b"server: x\r\n\r\nsome body"
    elif kind == "oversized-length":
        size = draw(st.integers(MAX_RESPONSE + 1, 10**30))
        raw = status + length_header + b": " + str(size).encode() + b"\r\n\r\n" + b"a" * 100
    elif kind == "oversized-chunks":
        raw = status + b"transfer-encoding: chunked\r\n\r\n"
        raw += (b"800\r\n" + b"a" * 0x800 + b"\r\n") * 3 + b"0\r\n\r\n"
    elif kind == "bad-chunk-size":
        field = draw(st.sampled_from([b"zz", b"-5", b"", b"1" * 70_000, b"ffffffffffffffffffff"]))
        raw = status + b"transfer-encoding: chunked\r\n\r\n" + field + b"\r\nabc\r\n0\r\n\r\n"
    elif kind == "header-bomb":
        count = draw(st.integers(65, 2000))
        raw = status + b"".join(b"x-%d: y\r\n" % n for n in range(count)) + b"\r\n"
    elif kind == "long-header-line":
        raw = status + b"x-long: " + b"a" * draw(st.integers(MAX_HEADER_BYTES, 100_000))
        raw += b"\r\ncontent-length: 0\r\n\r\n"
    else:
        raw = status + b"transfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
        raw += b"".join(b"x-%d: y\r\n" % n for n in range(draw(st.integers(65, 3000))))
        raw += b"\r\n"
    return Answer(raw, draw(st.booleans()), None)


@st.composite
def truncated(draw: st.DrawFn) -> Answer:
    """A readable response cut short; the client must not return a partial body as whole."""
    whole = draw(st.one_of(framed_by_length(), chunked()))
    cut = draw(st.integers(0, max(0, len(whole.raw) - 1)))
    event("truncated")
    return Answer(whole.raw[:cut], draw(st.booleans()), None, whole.body)


def _judge(answer: Answer) -> None:
    result, elapsed = _run(answer)
    assert elapsed < BOUND, f"the client took {elapsed:.1f} s (bound {BOUND} s)"
    if answer.body is None:
        # Only a cut that spared the whole body (it fell in the bytes after it) may be read,
        # and then only as that whole body.
        if isinstance(result, PeerResponse):
            assert answer.whole is not None, f"accepted a malformed answer: {answer.raw[:80]!r}"
            assert result.body == answer.whole, "a cut answer was read as a shorter body"
        return
    assert isinstance(result, PeerResponse), f"refused a readable response: {result}"
    assert result.body == answer.body, "the body read is not the body that was framed"


@settings(max_examples=200)
@given(st.one_of(framed_by_length(), chunked()))
def test_well_formed_responses_read_exactly_their_body(answer: Answer) -> None:
    """Content-Length and chunked answers give exactly their body, never the bytes after it."""
    _judge(answer)


@settings(max_examples=200)
@given(st.one_of(malformed(), truncated()))
def test_malformed_and_truncated_responses_are_refused_in_time(answer: Answer) -> None:
    """Every malformed or cut answer ends in PeerError within the timeout, never a hang."""
    _judge(answer)


@pytest.mark.slow
@settings(max_examples=2000)
@given(st.one_of(framed_by_length(), chunked(), malformed(), truncated()))
def test_peer_client_parser_explored(answer: Answer) -> None:
    """The same properties over ten times as many answers."""
    _judge(answer)
