"""Serve the reference node with one fault: ``python -m tests.broken_variants FAULT [options]``.

Run it from the repository root (or with the root on PYTHONPATH), where ``tests`` imports.

The options are those of ``twin-node serve`` (host, port, data dir...); the node starts exactly
as that command starts it (same listening line, same $TWIN_NODE_PASSWORD), with the fault's
patch applied and its rules wrapped around the app.
"""

from __future__ import annotations

import sys

from starlette.applications import Starlette

from tests.broken_variants._asgi import FaultMiddleware
from tests.broken_variants._worker import patch_worker_pool
from tests.broken_variants.catalog import FAULTS, Fault, fault_named
from twin_reference._node import Node

USAGE = "usage: python -m tests.broken_variants FAULT [twin-node serve options...]"


def serve(fault: Fault, serve_arguments: list[str]) -> None:
    """Run ``twin-node serve`` with the fault in place (does not return)."""
    from twin_reference import _cli
    from twin_reference._app import create_app

    if fault.patch is not None:
        fault.patch()
        # The evaluate route runs in a worker process, which must hold the fault too.
        patch_worker_pool(fault.name)

    def variant_app(node: Node) -> FaultMiddleware | Starlette:
        return fault.wrap(create_app(node))

    # `serve` builds its app through the name it imported; pointing that name at the variant
    # keeps everything else (socket, listening line, uvicorn settings) exactly as shipped.
    setattr(_cli, "create_app", variant_app)  # noqa: B010 - the name is rebound on purpose
    print(f"twin-node variant {fault.name}: {fault.description}", file=sys.stderr, flush=True)
    _cli.serve.main(args=serve_arguments, prog_name=f"python -m tests.broken_variants {fault.name}")


def main(arguments: list[str]) -> None:
    """Pick the fault named first and serve it; list the catalog on --help."""
    if not arguments or arguments[0] in ("-h", "--help"):
        print(USAGE)
        for fault in FAULTS.values():
            print(
                f"  {fault.name:<36} {fault.profile:<10} {fault.requirement}  {fault.description}"
            )
        sys.exit(0 if arguments else 2)
    try:
        fault = fault_named(arguments[0])
    except KeyError as error:
        print(f"{USAGE}\n{error.args[0]}", file=sys.stderr)
        sys.exit(2)
    serve(fault, arguments[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
