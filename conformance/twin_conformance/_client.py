"""A careful HTTP client for a target that may be hostile or broken.

Every request stays on the target (absolute URLs are refused, redirects are not followed), has
connect/read/write timeouts and an overall deadline, and reads at most a fixed number of bytes
of the response. Each exchange is kept as evidence for the report, and garbage, hangs and
dropped connections become :class:`ConformanceFailure` rather than crashing the run.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import httpx

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
EVIDENCE_BODY_CHARS = 4096

_UNSET: Any = object()


class ConformanceFailure(AssertionError):
    """A target broke a requirement; ``requirement`` names it (None: the test's own)."""

    def __init__(self, requirement: str | None, message: str) -> None:
        super().__init__(f"{requirement}: {message}" if requirement else message)
        self.requirement = requirement
        self.message = message


def fail(requirement: str | None, message: str) -> NoReturn:
    """Fail the current check, naming the requirement the target broke."""
    raise ConformanceFailure(requirement, message)


def require(condition: object, requirement: str | None, message: str) -> None:
    """Fail the current check unless ``condition`` holds."""
    if not condition:
        raise ConformanceFailure(requirement, message)


def evidence_text(body: bytes | None, limit: int = EVIDENCE_BODY_CHARS) -> str | None:
    """A body as report evidence: UTF-8 text or ``base64:...``, cut to ``limit`` characters."""
    if body is None:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = "base64:" + base64.b64encode(body).decode("ascii")
    if len(text) > limit:
        return f"{text[:limit]}…[cut {len(text) - limit} bytes]"
    return text


@dataclass
class Exchange:
    """One request to the target and what came back (``status`` None: no response)."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None
    elapsed: float = 0.0

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

    def evidence(self) -> dict[str, Any]:
        """The exchange as report evidence (bodies cut, authorization hidden)."""
        request_headers = {
            name: ("Bearer …" if name == "authorization" else value)
            for name, value in self.request_headers.items()
        }
        response = None
        if self.status is not None:
            response = {
                "status": self.status,
                "headers": dict(self.headers),
                "body": evidence_text(self.body),
            }
        return {
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": request_headers,
                "body": evidence_text(self.request_body),
            },
            "response": response,
            "error": self.error,
            "elapsedSeconds": round(self.elapsed, 4),
        }


Recorder = Callable[[Exchange], None]
Validator = Callable[[Exchange, bool], None]


class TwinClient:
    """Requests to one target, with a bearer token when asked, recorded and validated."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        recorder: Recorder | None = None,
        validator: Validator | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.recorder = recorder
        self.validator = validator
        self._http = httpx.Client(
            follow_redirects=False,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
            headers={"user-agent": "twin-conformance"},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

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
        validate: bool = True,
    ) -> Exchange:
        """Send one request to ``path`` on the target and return the exchange.

        ``auth`` True sends the session token, a string sends that token. ``expect_rejection``
        says the request is bad input, so any 5xx answer breaks TWIN-CORE-054. A transport
        failure (timeout, dropped connection, oversized body) fails the check with evidence.
        """
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
        exchange = Exchange(method.upper(), url, request_headers, body)
        self._send(exchange)
        if self.recorder is not None:
            self.recorder(exchange)
        if exchange.status is None:
            fail(None, f"{exchange.where}: {exchange.error}")
        if exchange.status >= 500 and exchange.status not in (501, 503):
            if expect_rejection:
                fail(
                    "TWIN-CORE-054",
                    f"{exchange.where} answered {exchange.status} to bad input",
                )
            fail(None, f"{exchange.where} answered {exchange.status}, a server error")
        if validate and self.validator is not None:
            self.validator(exchange, expect_rejection)
        return exchange

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
            with self._http.stream(
                exchange.method,
                exchange.url,
                headers=exchange.request_headers,
                content=exchange.request_body,
            ) as response:
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
                        break
                    chunks.append(chunk)
                if exchange.error is None:
                    exchange.status = response.status_code
                    exchange.headers = {
                        name.lower(): value for name, value in response.headers.items()
                    }
                    exchange.body = b"".join(chunks)
        except httpx.TimeoutException:
            exchange.error = f"no answer within {self.timeout:.0f} s"
        except httpx.TransportError as error:
            exchange.error = f"connection failed: {type(error).__name__}: {error}".rstrip(": ")
        except httpx.HTTPError as error:
            exchange.error = f"invalid HTTP: {error}"
        except httpx.InvalidURL as error:
            exchange.error = f"the request could not be sent: {error}"
        exchange.elapsed = time.monotonic() - started
