"""ASGI plumbing of the broken variants: a middleware that rewrites chosen exchanges.

A rule names methods and a path pattern; a matching request is read whole and handed to the
rule's handler with a ``forward`` function that sends a (possibly changed) request to the real
node and returns its whole response. So one shape covers every fault: change the request and
forward it, forward and change the response, answer without forwarding, or forward twice. A
request no rule matches goes to the node untouched (streamed, as without the middleware).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.applications import Starlette

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class HttpRequest:
    """A whole request: method, path, raw query, lower-cased headers, body, path parameters."""

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)

    def with_headers(self, **changes: str | None) -> HttpRequest:
        """The request with headers set (a value) or removed (None); ``_`` spells ``-``."""
        headers = dict(self.headers)
        for name, value in changes.items():
            key = name.replace("_", "-")
            if value is None:
                headers.pop(key, None)
            else:
                headers[key] = value
        return replace(self, headers=headers)


@dataclass
class HttpResponse:
    """A whole response: status, headers (in order, repeatable), body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def json_response(
    value: object, status: int = 200, media_type: str = "application/json"
) -> HttpResponse:
    """A JSON response, serialised compactly as the reference node does."""
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return HttpResponse(status, [("content-type", media_type)], body)


def with_json(response: HttpResponse, value: object, status: int | None = None) -> HttpResponse:
    """The response with a new JSON body (and status), keeping its other headers."""
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return HttpResponse(status or response.status, list(response.headers), body)


Forward = Callable[[HttpRequest], Awaitable[HttpResponse]]


@dataclass(frozen=True)
class Context:
    """What a handler may use: the node behind the middleware, and a shared scratch space."""

    forward: Forward
    app: Starlette
    memory: dict[str, Any]


Handler = Callable[[HttpRequest, Context], Awaitable[HttpResponse]]


@dataclass(frozen=True)
class Rule:
    """Requests of ``methods`` whose path fully matches ``path`` go to ``handler``."""

    methods: frozenset[str]
    path: re.Pattern[str]
    handler: Handler


def rule(methods: str, path: str, handler: Handler) -> Rule:
    """A rule from space-separated methods and a path regular expression."""
    return Rule(frozenset(methods.split()), re.compile(path), handler)


class FaultMiddleware:
    """Wrap the reference node's ASGI app; send the exchanges the rules match through them."""

    def __init__(self, app: Starlette, rules: tuple[Rule, ...]) -> None:
        self.app = app
        self.rules = rules
        self.memory: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass lifespan and unmatched requests through; rewrite the matched ones."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for candidate in self.rules:
            match = candidate.path.fullmatch(scope["path"])
            if scope["method"] in candidate.methods and match is not None:
                await self._rewrite(candidate, match, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _rewrite(
        self, chosen: Rule, match: re.Match[str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Read the whole request, let the rule's handler answer it, send that answer."""
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # The client went away before its request was complete.
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        request = HttpRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={
                key.decode("latin-1").lower(): value.decode("latin-1")
                for key, value in scope["headers"]
            },
            body=b"".join(chunks),
            params=match.groupdict(),
        )

        async def forward(changed: HttpRequest) -> HttpResponse:
            """Send a request to the node behind the middleware."""
            return await self._call_node(scope, receive, changed)

        response = await chosen.handler(request, Context(forward, self.app, self.memory))
        headers = [
            (key.encode("latin-1"), value.encode("latin-1"))
            for key, value in response.headers
            if key != "content-length"
        ]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    async def _call_node(
        self, scope: Scope, receive: Receive, request: HttpRequest
    ) -> HttpResponse:
        """Send ``request`` to the node and collect its whole response."""
        headers = [
            (key.encode("latin-1"), value.encode("latin-1"))
            for key, value in request.headers.items()
            if key != "content-length"
        ]
        if request.body or "content-length" in request.headers:
            headers.append((b"content-length", str(len(request.body)).encode()))
        inner_scope = {
            **scope,
            "path": request.path,
            "raw_path": (
                scope.get("raw_path") if request.path == scope["path"] else request.path.encode()
            ),
            "query_string": request.query.encode("latin-1"),
            "headers": headers,
        }
        sent = False

        async def inner_receive() -> Message:
            """Give the node the whole body at once, then wait for the client to go."""
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": request.body, "more_body": False}
            return await receive()

        response = HttpResponse(500)
        body: list[bytes] = []

        async def inner_send(message: Message) -> None:
            """Collect the node's answer instead of sending it."""
            if message["type"] == "http.response.start":
                response.status = int(message["status"])
                response.headers = [
                    (key.decode("latin-1").lower(), value.decode("latin-1"))
                    for key, value in message.get("headers", [])
                ]
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        try:
            await self.app(inner_scope, inner_receive, inner_send)
        except Exception:
            # Starlette re-raises an unexpected error after its handler has answered 500; keep
            # that answer. With no answer at all, the node failed: say so as a 500.
            if not body:
                response.headers = [("content-type", "application/json")]
                body.append(b'{"name":"GeneralError","message":"the node failed"}')
        response.body = b"".join(body)
        return response
