"""A small HTTP/1.1 client for validator-to-validator traffic: keep-alive, bounded, no extras.

Validators exchange several small requests per round with each peer; a general-purpose client
(httpx) costs about a millisecond of CPU per request on the development machine, ten times
what the request itself costs the server. This client keeps one connection open, writes a
request, and reads a status line, headers and a body of bounded size (Content-Length or
chunked); anything unexpected closes the connection and raises :class:`PeerError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_HEADER_BYTES = 16 * 1024
MAX_HEADERS = 64


class PeerError(Exception):
    """The peer could not be reached, timed out, or answered something unreadable."""


@dataclass(frozen=True)
class PeerResponse:
    """A peer's answer: its status and its body."""

    status: int
    body: bytes


class PeerConnection:
    """One keep-alive connection to a peer; requests on it are made one at a time."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 1.0,
        request_timeout: float = 5.0,
        max_response_bytes: int = 8 * 1024 * 1024,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http or https URL")
        self.base_url = base_url.rstrip("/")
        self._host = parts.hostname
        self._tls = parts.scheme == "https"
        self._port = parts.port or (443 if self._tls else 80)
        self._prefix = parts.path.rstrip("/")
        default_port = self._port == (443 if self._tls else 80)
        self._host_header = parts.netloc if not default_port else self._host
        self._connect_timeout = connect_timeout
        self._request_timeout = request_timeout
        self._max_response = max_response_bytes
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()

    async def request(
        self, method: str, path: str, body: bytes | None = None, *, timeout: float | None = None
    ) -> PeerResponse:
        """Send one request and read the answer, within the request timeout.

        Waiting for the connection (another request on it) is bounded by the request timeout
        too: requests queued behind one to a peer that stopped answering fail with it instead
        of each waiting its turn to time out.
        """
        async with self._exclusive(
            timeout or self._request_timeout, f"{method} {self.base_url}{path}"
        ):
            return await self._exchange(method, path, body)

    async def pipeline(
        self, requests: list[tuple[str, str, bytes | None]], *, timeout: float | None = None
    ) -> list[PeerResponse]:
        """Send several requests back to back (HTTP/1.1 pipelining) and read every answer.

        One round trip for a batch instead of one per request; the answers come in order.
        Waiting for the connection is bounded by the timeout too, as for :meth:`request`.
        """
        what = f"{len(requests)} requests to {self.base_url}"
        async with self._exclusive(timeout or self._request_timeout, what):
            await self._connect()
            assert self._writer is not None  # noqa: S101 - connected just above
            self._writer.write(b"".join(self._head(*request) for request in requests))
            await self._writer.drain()
            return [await self._read_response() for _ in requests]

    @contextlib.asynccontextmanager
    async def _exclusive(self, seconds: float, what: str) -> AsyncIterator[None]:
        """The connection alone for ``seconds`` of waiting and ``seconds`` of exchange at most.

        A failure of the exchange closes the connection and is a PeerError naming ``what``.
        """
        await self._acquire(seconds, what)
        try:
            async with asyncio.timeout(seconds):
                yield
        except (OSError, EOFError, ValueError, TimeoutError) as exc:
            self._close()
            raise PeerError(f"{what}: {exc!r}") from None
        except PeerError:
            self._close()
            raise
        finally:
            self._lock.release()

    async def _acquire(self, seconds: float, what: str) -> None:
        """Take the connection, or raise PeerError once it has stayed busy ``seconds``."""
        try:
            async with asyncio.timeout(seconds):
                await self._lock.acquire()
        except TimeoutError:
            raise PeerError(f"{what}: the connection stayed busy for {seconds:g} s") from None

    async def _connect(self) -> None:
        if self._writer is None or self._writer.is_closing():
            context = ssl.create_default_context() if self._tls else None
            async with asyncio.timeout(self._connect_timeout):
                self._reader, self._writer = await asyncio.open_connection(
                    self._host, self._port, ssl=context
                )

    def _head(self, method: str, path: str, body: bytes | None) -> bytes:
        head = f"{method} {self._prefix}{path} HTTP/1.1\r\nhost: {self._host_header}\r\n"
        if body is not None:
            head += f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
        return head.encode("latin-1") + b"\r\n" + (body or b"")

    async def _exchange(self, method: str, path: str, body: bytes | None) -> PeerResponse:
        await self._connect()
        assert self._writer is not None  # noqa: S101 - connected just above
        self._writer.write(self._head(method, path, body))
        await self._writer.drain()
        return await self._read_response()

    async def _read_response(self) -> PeerResponse:
        if self._reader is None:
            raise EOFError("the peer closed the connection before answering every request")
        status, headers = await self._read_head(self._reader)
        if headers.get("transfer-encoding", "").lower() == "chunked":
            payload = await self._read_chunked(self._reader)
        elif "content-length" in headers:
            length = _decimal(headers["content-length"])
            if length > self._max_response:
                raise PeerError(f"the answer's {length} bytes are over the limit")
            payload = await self._reader.readexactly(length)
        else:
            raise PeerError("the answer has neither Content-Length nor chunked encoding")
        if headers.get("connection", "").lower() == "close":
            self._close()
        return PeerResponse(status, payload)

    async def _read_head(self, reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
        status_line = await reader.readline()
        parts = status_line.split()
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise PeerError(f"not an HTTP/1.1 status line: {status_line[:80]!r}")
        headers: dict[str, str] = {}
        size = 0
        while True:
            line = await reader.readline()
            size += len(line)
            if size > MAX_HEADER_BYTES or len(headers) > MAX_HEADERS:
                raise PeerError("the answer's headers are too large")
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise EOFError("the peer closed the connection")
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(parts[1]), headers

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = await reader.readline()
            size = _hexadecimal(size_line.split(b";")[0].strip())
            if size == 0:
                await self._skip_trailers(reader)
                return b"".join(chunks)
            total += size
            if total > self._max_response:
                raise PeerError("the chunked answer is over the limit")
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def _skip_trailers(self, reader: asyncio.StreamReader) -> None:
        """Read the trailer section after the last chunk, bounded like the headers."""
        size = 0
        for _ in range(MAX_HEADERS + 1):
            line = await reader.readline()
            size += len(line)
            if size > MAX_HEADER_BYTES:
                break
            if line in (b"\r\n", b"\n"):
                return
            if not line:
                raise EOFError("the peer closed the connection inside the trailers")
        raise PeerError("the answer's trailers are too large")

    def _close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        self._reader = self._writer = None

    async def close(self) -> None:
        """Close the connection (waiting for pending requests to finish first)."""
        async with self._lock:
            self._close()


def _decimal(text: str) -> int:
    """A Content-Length value: ASCII digits only (``int`` would also take ``+5`` or ``1_0``)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise PeerError(f"the answer's Content-Length {text[:40]!r} is not a length")
    return int(text)


def _hexadecimal(field: bytes) -> int:
    """A chunk size: ASCII hexadecimal digits only, at most 16 of them."""
    if not field or len(field) > 16 or field.strip(b"0123456789abcdefABCDEF"):
        raise PeerError(f"the chunk size {field[:40]!r} is not hexadecimal")
    return int(field, 16)
