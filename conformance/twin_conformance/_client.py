"""A careful HTTP client for a target that may be hostile or broken.

Every request stays on the target (absolute URLs are refused, redirects are not followed), has
connect/read/write timeouts and an overall deadline, and reads at most a fixed number of bytes
of the response. It asks for compressed answers as real clients do and decodes gzip, deflate
and brotli exactly as the target sent them, within the same size limit (SUITE-020). Each
exchange is kept as evidence with the request headers actually sent, and garbage, hangs and
dropped connections become :class:`ConformanceFailure` rather than crashing the run. A busy
answer (503) or a throttled one (429) is sent again after its ``Retry-After``, as a real client
does (SUITE-023, SUITE-024). An observer (the plugin) may refuse a request before it is sent
(an operation the target does not serve, one that stopped answering or throttles the harness)
and sees every exchange after it.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import brotli
import httpx

from twin_conformance._failures import ConformanceFailure, Throttled, fail, require
from twin_conformance._tls import client_tls

__all__ = [
    "ConformanceFailure",
    "Exchange",
    "ExchangeObserver",
    "Throttled",
    "TwinClient",
    "decode_body",
    "evidence_text",
    "fail",
    "require",
]

DEFAULT_TIMEOUT_SECONDS = 10.0
UNAVAILABLE = 503
TOO_MANY_REQUESTS = 429
BUSY_RETRIES = 2
"""A 503 or a 429 is sent again at most this many times, after the delay its Retry-After asks."""
MAX_RETRY_AFTER_SECONDS = 5.0
"""A longer Retry-After is not waited for: the answer stands (SUITE-023, SUITE-024)."""
UNAVAILABLE_CAUSE = "unavailable"
THROTTLED_CAUSE = "throttled"
NO_ANSWER_CAUSE = "no-answer"
SERVER_ERROR_CAUSE = "server-error"
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
EVIDENCE_BODY_CHARS = 4096
ACCEPT_ENCODING = "gzip, deflate, br"
CONTRACT = "TWIN-CORE-056"

_UNSET: Any = object()


class DecodingError(ValueError):
    """A response body that does not decode as its Content-Encoding says."""


def decode_body(raw: bytes, content_encoding: str, limit: int) -> bytes:
    """``raw`` decoded as ``content_encoding`` says (in reverse order of the codings).

    Each decoder is bounded: output beyond ``limit`` bytes raises :class:`DecodingError`
    rather than filling memory (a compression bomb), as does a coding the client did not ask
    for or a body that is not what its coding says.
    """
    codings = [part.strip().lower() for part in content_encoding.split(",") if part.strip()]
    body = raw
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding in ("gzip", "x-gzip"):
            body = _inflate(body, zlib.MAX_WBITS | 16, coding, limit)
        elif coding == "deflate":
            # RFC 9110 says zlib-wrapped; some servers send raw deflate, as browsers accept.
            try:
                body = _inflate(body, zlib.MAX_WBITS, coding, limit)
            except DecodingError:
                body = _inflate(body, -zlib.MAX_WBITS, coding, limit)
        elif coding == "br":
            body = _unbrotli(body, limit)
        else:
            raise DecodingError(f"Content-Encoding {coding!r}, which the request did not accept")
    return body


def _inflate(data: bytes, wbits: int, coding: str, limit: int) -> bytes:
    decoder = zlib.decompressobj(wbits)
    try:
        out = decoder.decompress(data, limit + 1)
        if len(out) > limit or decoder.unconsumed_tail:
            raise DecodingError(f"the {coding} body decodes to more than {limit} bytes")
        out += decoder.flush()
    except zlib.error as error:
        raise DecodingError(f"the body is not valid {coding}: {error}") from None
    if not decoder.eof:
        raise DecodingError(f"the {coding} body is truncated")
    if len(out) > limit:
        raise DecodingError(f"the {coding} body decodes to more than {limit} bytes")
    return out


def _unbrotli(data: bytes, limit: int) -> bytes:
    decoder = brotli.Decompressor()
    chunks: list[bytes] = []
    size = 0
    pending = data
    try:
        # Each pass yields up to 64 KiB, so the loop ends within limit / 64 KiB passes.
        for _ in range(limit // 65536 + 2):
            chunk = decoder.process(pending, output_buffer_limit=65536)
            pending = b""
            size += len(chunk)
            if size > limit:
                raise DecodingError(f"the br body decodes to more than {limit} bytes")
            chunks.append(chunk)
            if decoder.is_finished() or (not chunk and decoder.can_accept_more_data()):
                break
        else:
            raise DecodingError(f"the br body decodes to more than {limit} bytes")
    except brotli.error as error:
        raise DecodingError(f"the body is not valid br: {error}") from None
    if not decoder.is_finished():
        raise DecodingError("the br body is truncated")
    return b"".join(chunks)


def evidence_text(
    body: bytes | None,
    limit: int = EVIDENCE_BODY_CHARS,
    redact: Callable[[str], str] | None = None,
) -> str | None:
    """A body as report evidence: UTF-8 text or ``base64:...``, cut to ``limit`` characters.

    ``redact`` is applied to the whole text before it is cut, so that a secret cannot be
    left half-spelt at the cut.
    """
    if body is None:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = "base64:" + base64.b64encode(body).decode("ascii")
    if redact is not None:
        text = redact(text)
    if len(text) > limit:
        return f"{text[:limit]}…[cut {len(text) - limit} characters]"
    return text


@dataclass
class Exchange:
    """One request to the target and what came back (``status`` None: no response).

    ``body`` is the response body decoded from its Content-Encoding; ``raw_size`` is how
    many bytes came over the wire. ``request_headers`` are the headers actually sent.
    """

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None
    elapsed: float = 0.0
    set_cookies: list[str] = field(default_factory=list)
    raw_size: int = 0
    decoding_error: str | None = None
    timed_out: bool = False
    retry_in: float | None = None
    """Seconds the client waited before sending the same request again (a 503 or a 429 it
    retried, SUITE-023 and SUITE-024); None when this answer was the one it kept."""

    @property
    def where(self) -> str:
        """``METHOD path`` for messages."""
        return f"{self.method} {self.url}"

    def json(self, requirement: str | None = None) -> Any:  # noqa: ANN401 - parsed JSON
        """The body parsed as JSON; a body that is not JSON fails the check."""
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, ValueError):
            fail(requirement, f"{self.where} answered {self.status} with a body that is not JSON")

    def media_type(self) -> str:
        """The response's media type without parameters, lower-cased."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def evidence(self, redact: Callable[[str], str] | None = None) -> dict[str, Any]:
        """The exchange as report evidence (bodies decoded and cut, authorization hidden)."""
        request_headers = {
            name: ("Bearer …" if name == "authorization" else value)
            for name, value in self.request_headers.items()
        }
        response = None
        if self.status is not None:
            headers = dict(self.headers)
            if self.set_cookies:
                headers["set-cookie"] = " | ".join(self.set_cookies)
            response = {
                "status": self.status,
                "headers": headers,
                "body": evidence_text(self.body, redact=redact),
            }
        return {
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": request_headers,
                "body": evidence_text(self.request_body, redact=redact),
            },
            "response": response,
            "error": self.error or self.decoding_error,
            "elapsedSeconds": round(self.elapsed, 4),
        }


def same_request(one: Exchange, other: Exchange) -> bool:
    """Whether two prepared exchanges are the same request (method, URL, headers, body)."""
    return (
        one.method == other.method
        and one.url == other.url
        and one.request_headers == other.request_headers
        and one.request_body == other.request_body
    )


class ExchangeObserver(Protocol):
    """What the plugin does around every request: refuse it early, and see what came back."""

    def before(self, method: str, url: str, *, expect_throttling: bool = False) -> None:
        """Raise :class:`Blocked` or :class:`ConformanceFailure` to stop the request.

        ``expect_throttling``: the check provokes 429 to judge it (SUITE-024), so an
        operation known to throttle the harness must not stop it.
        """

    def after(self, exchange: Exchange) -> None:
        """See the exchange (evidence, secrets, timeouts) before the check does."""

    def operation_of(self, method: str, url: str) -> str:
        """The operation a request goes to (its operationId, or ``METHOD /path``)."""


def operation_cause(kind: str, operation: str) -> str:
    """The key of a root cause that is one operation's (SUITE-010): its kind and operationId."""
    return f"{kind}|{operation}"


def server_error_cause(operation: str, *, bad_input: bool) -> str:
    """The root cause of a 5xx answer: the operation, and whether it was to bad input."""
    to = "bad-input" if bad_input else "request"
    return f"{operation_cause(SERVER_ERROR_CAUSE, operation)}|{to}"


def retry_after_seconds(exchange: Exchange) -> float | None:
    """How long a 503 or a 429 asks the client to wait: ``Retry-After`` in seconds (1 s without).

    None when it asks for longer than :data:`MAX_RETRY_AFTER_SECONDS` or gives a date (a node
    asking that long is unavailable, or throttles the harness, for this run: not for a moment).
    """
    return retry_delay(exchange.headers.get("retry-after"))


def retry_delay(value: str | None) -> float | None:
    """The wait a ``Retry-After`` value asks that a real client honours (see above)."""
    if value is None:
        return 1.0
    value = value.strip()
    if not value.isdigit():
        return None
    seconds = float(int(value))
    return seconds if seconds <= MAX_RETRY_AFTER_SECONDS else None


def retry_after_asked(exchange: Exchange) -> float | None:
    """Seconds from now that ``Retry-After`` names, in seconds or as a date (0 for a past date).

    None when the answer has none, or one that is neither: how long a throttled operation is
    not asked again (SUITE-024), never how long the harness waits.
    """
    return retry_after_in(exchange.headers.get("retry-after"))


def retry_after_in(value: str | None) -> float | None:
    """Seconds from now a ``Retry-After`` value names (see :func:`retry_after_asked`)."""
    value = (value or "").strip()
    if value.isdigit():
        return float(int(value))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - time.time())


def _retried(exchange: Exchange, expect_throttling: bool) -> bool:
    """Whether an answer is one a real client sends again after its Retry-After."""
    if exchange.status == UNAVAILABLE:
        return True
    return exchange.status == TOO_MANY_REQUESTS and not expect_throttling


Validator = Callable[[Exchange, bool], None]


class TwinClient:
    """Requests to one target, with a bearer token when asked, observed and validated."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        observer: ExchangeObserver | None = None,
        validator: Validator | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.observer = observer
        self.validator = validator
        self._http = httpx.Client(
            verify=client_tls(),
            follow_redirects=False,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
            headers={"user-agent": "twin-conformance", "accept-encoding": ACCEPT_ENCODING},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def prepare(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = _UNSET,  # noqa: ANN401 - any JSON value
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        auth: bool | str = False,
    ) -> Exchange:
        """The exchange a request to ``path`` would make (URL, headers, body), not sent yet."""
        if not path.startswith("/") or path.startswith("//"):
            raise ValueError(f"a check asked for {path!r}: paths must stay on the target")
        request_headers = {name.lower(): value for name, value in (headers or {}).items()}
        body = content
        if json_body is not _UNSET:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            request_headers.setdefault("content-type", "application/json")
        token = self.token if auth is True else (auth or None)
        if token:
            request_headers["authorization"] = f"Bearer {token}"
        url = self.base_url + path
        if params:
            try:
                url = str(httpx.URL(url, params=dict(params)))
            except httpx.InvalidURL as error:
                raise ValueError(f"a check built a request httpx cannot send: {error}") from None
        return Exchange(method.upper(), url, request_headers, body)

    def fetch(self, prepared: Exchange) -> Exchange:
        """Send a prepared exchange and return it as it came back: no observer, no checks.

        For sending ahead of the check that will look at the answer (``_prefetch.py``); the
        check then passes the exchange to :meth:`request` as ``prefetched``.
        """
        exchange = Exchange(
            prepared.method, prepared.url, dict(prepared.request_headers), prepared.request_body
        )
        self._send(exchange)
        return exchange

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = _UNSET,  # noqa: ANN401 - any JSON value
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        auth: bool | str = False,
        expect_rejection: bool = False,
        expect_throttling: bool = False,
        validate: bool = True,
        prefetched: tuple[Exchange, Exchange] | None = None,
    ) -> Exchange:
        """Send one request to ``path`` on the target and return the exchange.

        ``auth`` True sends the session token, a string sends that token. ``expect_rejection``
        says the request is bad input, so any 5xx answer breaks TWIN-CORE-054. A transport
        failure (timeout, dropped connection, oversized body) fails the check with evidence.
        A 503 or a 429 is sent again after its Retry-After (SUITE-023, SUITE-024); a 429 still
        there raises :class:`Throttled` (the check did not run), unless ``expect_throttling``
        says the check provokes 429 to judge it: then its 429 is returned as it came, neither
        waited out nor sent again.
        ``prefetched`` is (the prepared request, what :meth:`fetch` got for it): when the
        request is that same request, its answer is used instead of sending it again, and
        everything else (observer, checks, evidence) happens as if it had been sent now.
        """
        exchange = self.prepare(
            method,
            path,
            json_body=json_body,
            content=content,
            headers=headers,
            params=params,
            auth=auth,
        )
        if self.observer is not None:
            self.observer.before(exchange.method, exchange.url, expect_throttling=expect_throttling)
        headers_asked = dict(exchange.request_headers)
        if prefetched is not None and same_request(prefetched[0], exchange):
            exchange = dataclasses.replace(prefetched[1])
        else:
            self._send(exchange)
        exchange, attempts = self._retry_while_busy(exchange, headers_asked, expect_throttling)
        if self.observer is not None:
            self.observer.after(exchange)
        if exchange.status is None:
            # SUITE-022: a timeout is keyed by its operation, so that a later timeout of the
            # same operation in another check is blocked by this one, not failed again.
            cause = (
                operation_cause(NO_ANSWER_CAUSE, self._operation(exchange))
                if exchange.timed_out
                else None
            )
            fail(None, f"{exchange.where}: {exchange.error}", cause)
        require(
            exchange.decoding_error is None,
            CONTRACT,
            f"{exchange.where} answered {exchange.status}: {exchange.decoding_error}",
        )
        if exchange.status == UNAVAILABLE:
            # SUITE-023: still unavailable after the retries a real client makes. Every later
            # check that meets the same operation unavailable is blocked by this one.
            raise ConformanceFailure(
                None,
                f"{exchange.where} answered 503 (unavailable) {attempts} "
                f"time{'s' if attempts > 1 else ''}, honouring its Retry-After up to "
                f"{MAX_RETRY_AFTER_SECONDS:g} s: the operation could not be tested",
                cause=operation_cause(UNAVAILABLE_CAUSE, self._operation(exchange)),
            )
        if exchange.status == TOO_MANY_REQUESTS and not expect_throttling:
            # SUITE-024: still throttled after the waits a real client makes. A 429 says the
            # client asked too much, which the harness cannot disprove: the check did not run,
            # and later uses of the operation are blocked by it while the node asks to wait.
            operation = self._operation(exchange)
            asked = exchange.headers.get("retry-after")
            raise Throttled(
                operation,
                f"the target throttled the harness: {exchange.where} answered 429 (too many "
                f"requests) {attempts} time{'s' if attempts > 1 else ''}, the last asking "
                + (f"Retry-After {asked.strip()[:60]!r}" if asked else "no Retry-After")
                + f", honouring its Retry-After up to {MAX_RETRY_AFTER_SECONDS:g} s: the "
                "operation could not be tested; run again once the target serves it",
                operation_cause(THROTTLED_CAUSE, operation),
                retry_after_asked(exchange),
            )
        if exchange.status >= 500 and exchange.status != 501:
            # One operation that fails with 5xx is one root cause: keyed by the operation (and
            # whether the input was bad), later checks meeting it again are blocked.
            if expect_rejection:
                fail(
                    "TWIN-CORE-054",
                    f"{exchange.where} answered {exchange.status} to bad input",
                    server_error_cause(self._operation(exchange), bad_input=True),
                )
            fail(
                None,
                f"{exchange.where} answered {exchange.status}, a server error",
                server_error_cause(self._operation(exchange), bad_input=False),
            )
        if validate and self.validator is not None:
            self.validator(exchange, expect_rejection)
        return exchange

    def _operation(self, exchange: Exchange) -> str:
        """The operation of an exchange, as the observer names it (``METHOD /path`` without)."""
        if self.observer is not None:
            return self.observer.operation_of(exchange.method, exchange.url)
        return f"{exchange.method} {httpx.URL(exchange.url).path}"

    def _retry_while_busy(
        self, exchange: Exchange, headers: dict[str, str], expect_throttling: bool = False
    ) -> tuple[Exchange, int]:
        """Send a request answered 503 or 429 again after its Retry-After, as a real client does.

        At most :data:`BUSY_RETRIES` times; each answer the node gave is kept as evidence. A 429
        is returned at once when ``expect_throttling`` (the check judges it). Returns the last
        exchange and how many times the request was sent.
        """
        attempts = 1
        for _ in range(BUSY_RETRIES):
            if not _retried(exchange, expect_throttling):
                break
            delay = retry_after_seconds(exchange)
            if delay is None:
                break
            exchange.retry_in = delay
            if self.observer is not None:
                self.observer.after(exchange)
            time.sleep(delay)
            exchange = Exchange(
                exchange.method,
                exchange.url,
                dict(headers),
                exchange.request_body,
            )
            self._send(exchange)
            attempts += 1
        return exchange, attempts

    def get(self, path: str, **kwargs: Any) -> Exchange:  # noqa: ANN401
        """A GET request (see :meth:`request`)."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Exchange:  # noqa: ANN401
        """A POST request (see :meth:`request`)."""
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Exchange:  # noqa: ANN401
        """A PUT request (see :meth:`request`)."""
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Exchange:  # noqa: ANN401
        """A DELETE request (see :meth:`request`)."""
        return self.request("DELETE", path, **kwargs)

    def _send(self, exchange: Exchange) -> None:
        """Perform the exchange, bounded in time and size; failures land in ``error``."""
        started = time.monotonic()
        deadline = started + self.timeout * 3
        try:
            request = self._http.build_request(
                exchange.method,
                exchange.url,
                headers=exchange.request_headers,
                content=exchange.request_body,
            )
            exchange.request_headers = {
                name.lower(): value for name, value in request.headers.multi_items()
            }
            response = self._http.send(request, stream=True)
            try:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_raw():
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        exchange.error = (
                            f"response larger than {self.max_response_bytes} bytes; not read"
                        )
                        break
                    if time.monotonic() > deadline:
                        exchange.error = f"response not complete within {self.timeout * 3:.0f} s"
                        exchange.timed_out = True
                        break
                    chunks.append(chunk)
            finally:
                response.close()
                # The credentials a request carries are the check's choice (a bearer token, or
                # none for a negative check): a cookie the target set is recorded in the
                # evidence, never sent back on later requests behind the check's back.
                self._http.cookies.clear()
            if exchange.error is None:
                exchange.status = response.status_code
                exchange.headers = {
                    name.lower(): value
                    for name, value in response.headers.multi_items()
                    if name.lower() != "set-cookie"
                }
                exchange.set_cookies = response.headers.get_list("set-cookie")
                raw = b"".join(chunks)
                exchange.raw_size = len(raw)
                try:
                    exchange.body = decode_body(
                        raw,
                        response.headers.get("content-encoding", ""),
                        self.max_response_bytes,
                    )
                except DecodingError as error:
                    exchange.body = raw
                    exchange.decoding_error = str(error)
        except httpx.TimeoutException:
            exchange.error = f"no answer within {self.timeout:.0f} s"
            exchange.timed_out = True
        except httpx.TransportError as error:
            exchange.error = f"connection failed: {type(error).__name__}: {error}".rstrip(": ")
        except httpx.HTTPError as error:
            exchange.error = f"invalid HTTP: {error}"
        except httpx.InvalidURL as error:
            exchange.error = f"the request could not be sent: {error}"
        exchange.elapsed = time.monotonic() - started
