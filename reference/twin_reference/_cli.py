"""The ``twin-node`` command: run a reference node, and verify receipts offline."""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import click

from twin_reference._app import create_app
from twin_reference._genesis import (
    GENESIS_FILE,
    Genesis,
    GenesisError,
    create_genesis,
    read_genesis,
    read_peer_urls,
    validator_dir,
)
from twin_reference._logging import configure_logging
from twin_reference._node import NodeSettings
from twin_reference._secret_files import SecretFileError, read_password_file, read_validator_key
from twin_reference._server import (
    ConnectionLimits,
    connection_cap,
    listen,
    raise_open_files_limit,
)
from twin_reference._server import serve as serve_app
from twin_reference._setup import SetupError, open_node
from twin_spec import Committee, TwinSpecError, parse_json, verify_receipt

LOG = logging.getLogger("twin_reference")


@click.group()
@click.version_option("0.1.0", prog_name="twin-node")
def main() -> None:
    """TWIN reference node: a minimal but real TWIN node (core to documents, every profile).

    One node is a committee of one (twin-node serve); twin-node genesis and twin-node cluster
    run several validators that order every state change together.
    """


@main.command()
@click.option(
    "--host",
    default=None,
    help="Address to listen on.  [default: the genesis URL's host, else 127.0.0.1]",
)
@click.option(
    "--port",
    default=None,
    type=click.IntRange(0, 65535),
    help="TCP port; 0 picks a free one (the chosen port is printed)."
    "  [default: the genesis URL's port, else 8080]",
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
    "--genesis",
    "genesis_file",
    default=None,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Run as a validator of the committee in this genesis file (from twin-node genesis);"
    " without it the node is a committee of one.",
)
@click.option(
    "--validator-index",
    default=None,
    type=click.IntRange(0),
    help="Which validator of the genesis committee this node is (required with --genesis).",
)
@click.option(
    "--peer-urls",
    "peer_urls_file",
    default=None,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help='With --genesis: a file {"peers": [{"index": 1, "url": "http://127.0.0.1:9201"}, ...]}'
    " (the genesis file's peers shape; the launch contract's peers.json) naming where this"
    " validator reaches those peers instead of their genesis URLs (through a relay or a"
    " proxy); peers not listed keep their genesis URLs, its own entry is ignored.",
)
@click.option(
    "--validator-key",
    "validator_key_file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding this validator's Ed25519 seed (64 hex characters, owner-only): a"
    " committee made elsewhere hands the key in (spec/prose/launch.md); kept in the vault on"
    " first start, and checked against it later. Needs --genesis.",
)
@click.option(
    "--admin-password-file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the admin password (one line, owner-only); used on first start instead"
    " of $TWIN_NODE_PASSWORD.",
)
@click.option(
    "--leader-timeout",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.01, 60.0),
    help="Seconds a validator waits for the previous round's leader block before it proposes"
    " without it.",
)
@click.option(
    "--batch-interval",
    default=0.01,
    show_default=True,
    type=click.FloatRange(0.001, 60.0),
    help="Without --genesis (a committee of one): seconds between rounds no request waits on,"
    " which carry the anchors answered on acceptance (POST /immutable-proof) and complete"
    " their commit; rounds a request waits on follow at once.",
)
@click.option(
    "--block-retention-rounds",
    default=10_000,
    show_default=True,
    type=click.IntRange(100, 10_000_000),
    help="Rounds below the garbage-collection round whose blocks stay stored for peers that lag"
    " (fetched by GET /consensus/blocks); older blocks are deleted, and a validator further"
    " behind catches up, when it starts, from its peers' certified checkpoints.",
)
@click.option(
    "--commit-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0.5, 3600.0),
    help="Seconds a write waits for its certified checkpoint; past it the answer is 202 with"
    " Location /consensus/transactions/{digest}, where the outcome is looked up (the"
    " transaction may still be committed).",
)
@click.option(
    "--max-body-bytes",
    default=1024 * 1024,
    show_default=True,
    type=click.IntRange(1024),
    help="Largest ordinary request body; larger bodies get 413 (see Limits above).",
)
@click.option(
    "--max-body-values",
    default=65_536,
    show_default=True,
    type=click.IntRange(256),
    help="Most JSON values an ordinary request body may hold, counted before it is parsed;"
    " more get 413 (parsing any body within both limits takes under about 40 ms).",
)
@click.option(
    "--body-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(1.0, 3600.0),
    help="Seconds a request body may take to arrive; slower bodies get 408.",
)
@click.option(
    "--max-connections",
    default=1024,
    show_default=True,
    type=click.IntRange(16),
    help="Most connections held at once (and never more than the open-files limit allows,"
    " which is raised to its hard limit at start); at the cap a new connection takes the place"
    " of the one idle longest, and is refused with 503 only when none is idle.",
)
@click.option(
    "--header-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(1.0, 3600.0),
    help="Seconds a connection may take to send a request's head, from its opening or its last"
    " answer; it is then closed.",
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
    host: str | None,
    port: int | None,
    data_dir: Path,
    genesis_file: Path | None,
    validator_index: int | None,
    peer_urls_file: Path | None,
    validator_key_file: Path | None,
    admin_password_file: Path | None,
    leader_timeout: float,
    batch_interval: float,
    block_retention_rounds: int,
    commit_timeout: float,
    max_body_bytes: int,
    max_body_values: int,
    body_timeout: float,
    max_connections: int,
    header_timeout: float,
    token_lifetime: int,
    log_level: str,
) -> None:
    """Serve the TWIN API over HTTP.

    On first start the data directory gets the node's identity (a did:twin with its
    #immutable-proof-assertion key), the committee (committee.json), and the admin user:
    email $TWIN_NODE_ADMIN_EMAIL (default admin@twin.example), password from
    --admin-password-file, else $TWIN_NODE_PASSWORD, else a generated one kept in
    DATA_DIR/admin-password, readable by the owner only (the console names the file, never
    the password). With $TWIN_NODE_USER_EMAIL and $TWIN_NODE_USER_PASSWORD set, any start
    also adds that ordinary user (its own did:twin identity) if it is missing: a second user,
    whom the documents profile refuses changes to another user's documents.

    Without --genesis the committee is this node alone. With --genesis FILE --validator-index I
    (the data directory made by twin-node genesis for validator I) the node is one validator of
    the genesis committee: it exchanges blocks and checkpoint signatures with the other
    validators at their genesis URLs (or the URLs --peer-urls names), and GET /health reports
    "warning" until the committee has committed the node's own DID. A harness that made the
    committee hands the validator key in with --validator-key FILE (spec/prose/launch.md)
    instead of twin-node genesis.

    \b
    Limits (every body-level fault is a 4xx; no request holds the event loop long):
    - an ordinary request body: --max-body-bytes and --max-body-values, counted before
      parsing, and --body-timeout to arrive; a body over 64 KiB is parsed when no other is;
    - POST /authentication/login: 8 KiB and 1024 values; a checkpoint signature: 8 KiB;
    - POST /consensus/blocks (peers): 2 MiB and 262,144 values; own blocks stay under half;
    - POST /consensus/evaluate (public): 16 MiB, 1,048,576 values and 20,000 blocks, parsed
      and evaluated in a separate worker process of lower priority, one body at a time and
      two waiting (more get 503 with Retry-After);
    - every transaction a write makes: 65536 bytes of JCS and 64 levels of nesting;
    - connections: --max-connections, --header-timeout, and 5 s idle between requests.
    """  # noqa: D301 - click keeps a paragraph after \b as written
    configure_logging(log_level)
    # Start-up is one pass: the genesis file (read once), the data directory and its node,
    # the listening socket, then the server.
    genesis: Genesis | None = None
    if genesis_file is not None:
        if validator_index is None:
            raise click.UsageError("--genesis needs --validator-index")
        try:
            genesis = read_genesis(genesis_file)
        except GenesisError as exc:
            raise click.UsageError(str(exc)) from None
        if validator_index >= genesis.committee.size:
            raise click.UsageError(
                f"--validator-index {validator_index} is not in the genesis committee"
                f" of {genesis.committee.size}"
            )
        address = urlsplit(genesis.peers[validator_index])
        host = host or address.hostname
        port = address.port if port is None else port
        if peer_urls_file is not None:
            try:
                overrides = read_peer_urls(peer_urls_file, genesis, validator_index)
            except GenesisError as exc:
                raise click.UsageError(f"--peer-urls: {exc}") from None
            genesis = replace(genesis, peers={**genesis.peers, **overrides})
    elif validator_index not in (None, 0):
        raise click.UsageError("--validator-index needs --genesis")
    elif peer_urls_file is not None:
        raise click.UsageError("--peer-urls needs --genesis")
    elif validator_key_file is not None:
        raise click.UsageError("--validator-key needs --genesis")
    try:
        validator_key = read_validator_key(validator_key_file) if validator_key_file else None
        admin_password = read_password_file(admin_password_file) if admin_password_file else None
    except SecretFileError as exc:
        raise click.UsageError(str(exc)) from None
    if (
        genesis is not None
        and validator_key is not None
        and validator_key.public_key != genesis.committee.validator(validator_index or 0).public_key
    ):
        # TWIN-CONSENSUS-111: checked before the data directory is touched.
        raise click.UsageError(
            f"the validator key in {validator_key_file} is not validator {validator_index}'s key"
            " in the genesis committee"
        )
    host = host or "127.0.0.1"
    port = 8080 if port is None else port
    settings = NodeSettings(
        data_dir=data_dir,
        max_body_bytes=max_body_bytes,
        max_body_values=max_body_values,
        body_timeout_seconds=body_timeout,
        token_lifetime_seconds=token_lifetime,
        validator_index=validator_index or 0,
        leader_timeout_seconds=leader_timeout,
        batch_interval_seconds=batch_interval,
        block_retention_rounds=block_retention_rounds,
        commit_timeout_seconds=commit_timeout,
        validator_key=validator_key,
        admin_password=admin_password,
    )
    # Open the data directory before serving, so that one that cannot be used (another
    # committee's, a missing key) is a one-line error rather than a start-up traceback.
    try:
        node = open_node(settings, genesis)
    except SetupError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    try:
        listener = listen(host, port)
    except OSError as exc:
        node.store.close()
        raise click.UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    # TWIN-CORE-062: the open-files limit as high as allowed, and the connections held below it.
    open_files = raise_open_files_limit()
    limits = ConnectionLimits(
        max_connections=max_connections,
        header_timeout_seconds=header_timeout,
        body_timeout_seconds=body_timeout,
    )
    cap = connection_cap(limits, open_files, len(genesis.peers) if genesis else 0)
    if cap < max_connections:
        LOG.warning("holding at most %d connections: %d open files are allowed", cap, open_files)
    literal = f"[{host}]" if ":" in host else host
    print(f"twin-node listening on http://{literal}:{listener.getsockname()[1]}", flush=True)
    serve_app(create_app(node), listener, limits, cap, log_level)


@main.command("genesis")
@click.option(
    "--validators",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Number of validators (stake 1 each).",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write genesis.json and the data directories validator-0 ... into.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Host of every URL.")
@click.option(
    "--base-port",
    default=None,
    type=click.IntRange(1, 65535),
    help="Validator I listens on BASE_PORT + I.  [default: free ports chosen now]",
)
def genesis_command(validators: int, out_dir: Path, host: str, base_port: int | None) -> None:
    """Create a committee: validator keys, their data directories and genesis.json.

    Each validator's signing key is generated in the vault of its own data directory
    (OUT/validator-I, readable by the owner only); genesis.json holds the committee's public
    keys and each validator's URL. Start validator I with:

        twin-node serve --genesis OUT/genesis.json --validator-index I --data-dir OUT/validator-I
    """
    try:
        genesis = create_genesis(out_dir, validators, host, base_port)
    except GenesisError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"wrote {out_dir / GENESIS_FILE}: {validators} validators, epoch 0")
    for index, url in sorted(genesis.peers.items()):
        click.echo(f"  validator {index}: {url}  data directory {validator_dir(out_dir, index)}")


@main.command("cluster")
@click.option(
    "--validators",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Number of validators (must match an existing genesis.json).",
)
@click.option(
    "--data-dir",
    default="./twin-cluster",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the cluster: genesis.json, validator-I/ data directories and their logs.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback host to use.")
@click.option(
    "--base-port",
    default=None,
    type=click.IntRange(1, 65535),
    help="Validator I listens on BASE_PORT + I (first run only).  [default: free ports]",
)
@click.option(
    "--leader-timeout",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.01, 60.0),
    help="Passed to every validator (see twin-node serve --help).",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def cluster_command(
    validators: int,
    data_dir: Path,
    host: str,
    base_port: int | None,
    leader_timeout: float,
    log_level: str,
) -> None:
    """Run a local committee: N validators as separate twin-node serve processes.

    The first run creates DATA_DIR/genesis.json and one data directory per validator (as
    twin-node genesis does) and an admin password shared by every node ($TWIN_NODE_PASSWORD,
    or a generated one kept in DATA_DIR/admin-password, readable by the owner only). Each run
    starts every validator, prints its URL and the admin login (naming the password's file,
    never the password), and writes each validator's log to DATA_DIR/validator-I.log. Ctrl-C
    (or SIGTERM) stops them all; a validator that exits is reported and the others keep
    running.

    Every node serves the whole API: a DID created through one resolves on all, and a receipt
    from any verifies offline against DATA_DIR/genesis.json's committee
    (twin-node verify-receipt --committee DATA_DIR/validator-0/committee.json RECEIPT).
    """
    from twin_reference._cluster import run_cluster

    sys.exit(run_cluster(data_dir, validators, host, base_port, leader_timeout, log_level))


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
