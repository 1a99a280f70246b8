"""The Starlette application: routes, error handlers, and the ledger's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from twin_reference._errors import ApiError
from twin_reference._http import handle_api_error, handle_http_exception, handle_unexpected
from twin_reference._node import NodeSettings
from twin_reference._routes_anchoring import ROUTES as ANCHORING_ROUTES
from twin_reference._routes_core import ROUTES as CORE_ROUTES
from twin_reference._routes_identity import ROUTES as IDENTITY_ROUTES
from twin_reference._setup import anchor_node_identity, open_node


def create_app(settings: NodeSettings) -> Starlette:
    """Build the node's ASGI application; the data directory is opened at start-up."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        node = open_node(settings)
        app.state.node = node
        await node.ledger.start()
        try:
            await anchor_node_identity(node)
            yield
        finally:
            await node.ledger.stop()
            node.store.close()

    return Starlette(
        routes=[*CORE_ROUTES, *IDENTITY_ROUTES, *ANCHORING_ROUTES],
        exception_handlers={
            ApiError: handle_api_error,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
