"""The write routes' decorator: pending answers and ``Idempotency-Key`` (``_writes.py``)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from twin_reference._errors import ApiError, ConflictError, ValidationError, WritePending
from twin_reference._http import error_response, read_body
from twin_reference._node import Node
from twin_reference._routes_core import authenticate, node_of
from twin_reference._writes import (
    CURRENT_WRITE,
    IdempotencyKeys,
    KeptWrite,
    WriteClaim,
    pending_response,
)

_KEY = re.compile(r"[\x20-\x7e]{1,255}\Z")
Endpoint = Callable[[Request], Awaitable[Response]]


def _fingerprint(request: Request, body: bytes) -> bytes:
    head = f"{request.method} {request.url.path}?{request.url.query}\n".encode()
    return hashlib.sha256(head + body).digest()


def _with_body(request: Request, body: bytes) -> Request:
    """The same request, whose body (already read) is read again from memory."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def _kept_headers(response: Response) -> dict[str, str]:
    return {
        name: value
        for name, value in response.headers.items()
        if name in ("location", "content-type")
    }


def idempotent(handler: Endpoint) -> Endpoint:
    """Make a write route answer 202 when pending and honour ``Idempotency-Key``."""

    async def endpoint(request: Request) -> Response:
        key = request.headers.get("idempotency-key")
        if key is None:
            return await handler(request)
        # TWIN-CORE-068 "A node MUST take an Idempotency-Key header on every ledger write: a
        # retry by the same caller with the same key and request MUST get the first outcome
        # and queue nothing, and the same key with another request MUST be 409."
        if not _KEY.match(key):
            raise ValidationError(
                "the Idempotency-Key header must be 1 to 255 printable ASCII characters",
                field="header.idempotency-key",
            )
        node = node_of(request)
        caller = authenticate(request)
        body = await read_body(request, node.settings.body_limit, optional=True)
        fingerprint = _fingerprint(request, body)
        keys = node.writes
        record = keys.lookup(caller, key)
        if record is not None:
            if record.fingerprint != fingerprint:
                raise ConflictError(
                    "this Idempotency-Key was used for another request",
                    field="header.idempotency-key",
                    code="idempotencyKeyReused",
                )
            if (caller, key) in keys.running:
                raise ConflictError(
                    "a request with this Idempotency-Key is still being handled",
                    field="header.idempotency-key",
                    code="idempotencyKeyInProgress",
                )
            return _replay(node, record)
        claim = keys.claim(caller, key, fingerprint)
        task = asyncio.create_task(_serve(handler, _with_body(request, body), claim, keys))
        try:
            return await asyncio.wait_for(
                asyncio.shield(task), node.settings.commit_timeout_seconds
            )
        except TimeoutError:
            if claim.digest is None:
                return await task
            keys.keep(task)
            return pending_response(claim.digest)

    return endpoint


async def _serve(
    handler: Endpoint, request: Request, claim: WriteClaim, keys: IdempotencyKeys
) -> Response:
    """Run a keyed write and keep its final answer (or forget it when nothing was queued)."""
    token = CURRENT_WRITE.set(claim)
    try:
        response = await handler(request)
    except WritePending:
        raise
    except ApiError as exc:
        if claim.digest is None:
            keys.release(claim)
        else:
            # Kept as it was rendered, Content-Type included: a replay is the same answer.
            rendered = error_response(exc)
            headers = {**dict(exc.headers), **_kept_headers(rendered)}
            keys.finish(claim, exc.status, headers, bytes(rendered.body))
        raise
    except BaseException:
        if claim.digest is None:
            keys.release(claim)
        raise
    else:
        keys.finish(claim, response.status_code, _kept_headers(response), bytes(response.body))
        return response
    finally:
        keys.running.discard((claim.caller, claim.key))
        CURRENT_WRITE.reset(token)


def _replay(node: Node, record: KeptWrite) -> Response:
    """The first outcome of a keyed write, again."""
    replayed = {"idempotent-replayed": "true"}
    if record.status is not None:
        return Response(
            record.body, status_code=record.status, headers={**record.headers, **replayed}
        )
    if record.digest is None:
        # Nothing was queued (the node stopped first): nothing to replay.
        raise ConflictError(
            "a request with this Idempotency-Key was interrupted before it queued anything;"
            " send it with a new key",
            field="header.idempotency-key",
            code="idempotencyKeyInterrupted",
        )
    status = node.ledger.transaction_status(record.digest)
    if status is None and record.transaction is not None:
        # A restart lost the transaction before any block held it: queue it again.
        node.ledger.enqueue(json.loads(record.transaction))
    response = pending_response(record.digest)
    response.headers.update(replayed)
    return response
