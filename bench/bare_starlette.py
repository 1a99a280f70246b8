"""A bare Starlette app: a fixed JSON answer, an echo and a durable commit, the yardsticks.

The fixed answer measures the node's resolution rate against doing nothing; the echo carries
block-sized bodies for the peer-client benchmark; ``POST /commit`` stores the request body in
one ``synchronous=FULL`` SQLite transaction (WAL, as the node's database), the least a durable
write costs, against which the node's sequential anchoring is measured. Its database is
``$TWIN_BENCH_BARE_DB`` (a file in the temporary folder by default).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

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


_DATABASE: sqlite3.Connection | None = None


def _database() -> sqlite3.Connection:
    """The bare app's SQLite database, opened on first use, as the node opens its own."""
    global _DATABASE
    if _DATABASE is None:
        default = Path(tempfile.gettempdir()) / f"twin-bench-bare-{os.getpid()}.sqlite"
        path = os.environ.get("TWIN_BENCH_BARE_DB", str(default))
        _DATABASE = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        _DATABASE.execute("PRAGMA journal_mode=WAL")
        _DATABASE.execute("PRAGMA synchronous=FULL")
        _DATABASE.execute("CREATE TABLE IF NOT EXISTS writes (id INTEGER PRIMARY KEY, body BLOB)")
    return _DATABASE


async def commit(request: Request) -> Response:
    """Store the body in one synchronous=FULL SQLite transaction, then answer 201."""
    body = await request.body()
    database = _database()
    database.execute("BEGIN IMMEDIATE")
    database.execute("INSERT INTO writes (body) VALUES (?)", (body,))
    database.execute("COMMIT")
    return Response(status_code=201)


app = Starlette(
    routes=[
        Route("/identity/{identity}", resolve, methods=["GET"]),
        Route("/echo", echo, methods=["POST"]),
        Route("/commit", commit, methods=["POST"]),
    ]
)
