"""A bare Starlette app: one fixed JSON answer and one echo, the yardsticks of the benchmarks.

The fixed answer measures the node's resolution rate against doing nothing; the echo carries
block-sized bodies for the peer-client benchmark.
"""

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


async def echo(request: Request) -> Response:
    """Answer the request's own body, as a peer answers a block with a block."""
    return Response(await request.body(), media_type="application/json")


app = Starlette(
    routes=[
        Route("/identity/{identity}", resolve, methods=["GET"]),
        Route("/echo", echo, methods=["POST"]),
    ]
)
