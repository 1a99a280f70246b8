"""The ``twin-node`` command: run a reference node, and verify receipts offline."""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path
from typing import BinaryIO

import click
import uvicorn

from twin_reference._app import create_app
from twin_reference._node import NodeSettings
from twin_spec import Committee, TwinSpecError, parse_json, verify_receipt


@click.group()
@click.version_option("0.1.0", prog_name="twin-node")
def main() -> None:
    """TWIN reference node: a minimal but real TWIN node (core, identity, anchoring)."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="TCP port; 0 picks a free one (the chosen port is printed).",
)
@click.option(
    "--data-dir",
    default="./twin-node-data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the node keeps its database, keys and committee.json (created on first start,"
    " readable by the owner only).",
)
@click.option(
    "--max-body-bytes",
    default=1024 * 1024,
    show_default=True,
    type=click.IntRange(1024),
    help="Largest request body accepted; larger bodies get 413.",
)
@click.option(
    "--token-lifetime",
    default=3600,
    show_default=True,
    type=click.IntRange(1),
    help="Seconds a bearer token from POST /authentication/login stays valid.",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def serve(
    host: str, port: int, data_dir: Path, max_body_bytes: int, token_lifetime: int, log_level: str
) -> None:
    """Serve the TWIN API over HTTP.

    On first start the data directory gets the node's identity (a did:twin with its
    #immutable-proof-assertion key), a one-validator committee (committee.json), and the admin
    user: email $TWIN_NODE_ADMIN_EMAIL (default admin@twin.example), password
    $TWIN_NODE_PASSWORD, or a generated one printed once.
    """
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    settings = NodeSettings(
        data_dir=data_dir, max_body_bytes=max_body_bytes, token_lifetime_seconds=token_lifetime
    )
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it, a response split over two writes waits
    # for the client's delayed ACK (about 40 ms per request).
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        raise click.UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    bound_port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), log_level=log_level, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    print(f"twin-node listening on http://{host}:{bound_port}", flush=True)
    server.run(sockets=[listener])


@main.command("verify-receipt")
@click.argument("receipt_file", type=click.File("rb"))
@click.option(
    "--committee",
    "committee_file",
    required=True,
    type=click.File("rb"),
    help="The committee JSON (the node's committee.json or GET /consensus/committee).",
)
@click.option("--transaction", default=None, help="Expected transaction digest (64 hex).")
def verify_receipt_command(
    receipt_file: BinaryIO,
    committee_file: BinaryIO,
    transaction: str | None,
) -> None:
    """Verify a ledger receipt offline, with nothing but the committee's public keys.

    RECEIPT_FILE holds a TwinLedgerReceipt, or any JSON object carrying one under
    "immutableReceipt" or "receipt" (a GET /immutable-proof/{id} or /verifiable/{id} answer).
    Exit 0 when it verifies, 1 when it does not (naming the part that failed), 2 on bad input.
    """
    try:
        document = parse_json(receipt_file.read())
        committee = Committee.from_json(parse_json(committee_file.read()))
        expected = bytes.fromhex(transaction) if transaction else None
    except (TwinSpecError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    receipt = document
    if isinstance(document, dict):
        receipt = document.get("immutableReceipt", document.get("receipt", document))
    try:
        summary = verify_receipt(receipt, committee, transaction_digest=expected)
    except TwinSpecError as exc:
        part = getattr(exc, "part", None)
        click.echo(f"INVALID ({getattr(part, 'value', part)}): {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"VALID: transaction {receipt['transactionDigest']} is in checkpoint "  # type: ignore[index,call-overload]
        f"{summary['sequence']} of epoch {summary['epoch']}, certified by the committee"
    )
