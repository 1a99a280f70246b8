"""A bare Starlette app with one JSON endpoint: the yardstick for the node's resolution rate."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

DOCUMENT = (
    b'{"@context":"https://www.w3.org/ns/did/v1","id":"did:twin:0x'
    + b"ab" * 32
    + b'","service":[]}'
)


async def resolve(request: Request) -> Response:
    """Answer a fixed DID document, doing nothing else."""
    return Response(DOCUMENT, media_type="application/json")


app = Starlette(routes=[Route("/identity/{identity}", resolve, methods=["GET"])])
