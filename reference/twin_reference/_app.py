"""The Starlette application: routes, error handlers, and the ledger's lifetime."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twin_reference._documents import sweep_erased
from twin_reference._errors import ApiError, WritePending
from twin_reference._http import handle_api_error, handle_http_exception, handle_unexpected
from twin_reference._node import Node
from twin_reference._routes_anchoring import ROUTES as ANCHORING_ROUTES
from twin_reference._routes_consensus import ROUTES as CONSENSUS_ROUTES
from twin_reference._routes_core import ROUTES as CORE_ROUTES
from twin_reference._routes_documents import ROUTES as DOCUMENT_ROUTES
from twin_reference._routes_identity import ROUTES as IDENTITY_ROUTES
from twin_reference._routes_profiles import ROUTES as PROFILE_ROUTES
from twin_reference._setup import anchor_node_identity
from twin_reference._writes import handle_write_pending

Endpoint = Callable[[Request], Awaitable[Response]]


def one_route_per_path(routes: list[Route]) -> list[Route]:
    """Merge routes that share a path, so a 405 lists every method of the path in Allow."""
    handlers: dict[str, dict[str, Endpoint]] = {}
    for route in routes:
        for method in route.methods or ():
            if method != "HEAD":
                handlers.setdefault(route.path, {})[method] = route.endpoint
    return [
        Route(path, _dispatch(by_method), methods=list(by_method))
        for path, by_method in handlers.items()
    ]


def _dispatch(by_method: dict[str, Endpoint]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await by_method[method](request)

    return endpoint


def create_app(node: Node) -> Starlette:
    """Build the ASGI application of an opened node (``_setup.open_node``).

    Its lifespan starts the node's ledger engine and the commit of the node's own DID, and
    stops them and closes the store at shutdown.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.node = node
        node.evaluator.start()
        await node.ledger.start()
        # Erase the blobs of revisions removed while this node was down or mid-removal.
        sweep_erased(node)
        # In the background: with a committee of several, committing the node's DID needs
        # peers that may not be listening yet; /health reports the node not ready until then.
        identity = asyncio.create_task(anchor_node_identity(node), name="twin-node-identity")
        try:
            yield
        finally:
            identity.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await identity
            await node.writes.stop()
            await node.ledger.stop()
            await node.evaluator.stop()
            node.logins.close()
            node.store.close()

    return Starlette(
        # The consensus routes first: validators send each other several requests a round,
        # and Starlette tries the routes in order. The profile routes come before the DID
        # routes, whose /identity/{identity} would otherwise take /identity/profile.
        routes=one_route_per_path(
            [
                *CONSENSUS_ROUTES,
                *CORE_ROUTES,
                *PROFILE_ROUTES,
                *IDENTITY_ROUTES,
                *ANCHORING_ROUTES,
                *DOCUMENT_ROUTES,
            ]
        ),
        exception_handlers={
            WritePending: handle_write_pending,
            ApiError: handle_api_error,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
