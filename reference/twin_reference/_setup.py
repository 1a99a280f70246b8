"""Start-up in one pass: data directory, store, genesis committee, node parts, ledger engine.

``twin-node serve`` reads the genesis file (if any) once, then calls :func:`open_node`, which
opens the data directory and its database, creates the node's own parts on first start, checks
them against the genesis committee, and builds the ledger engine; the application
(``_app.py``) only starts and stops what it is given.

First start creates: the validator key and a committee of one (or, with a genesis file, takes
the genesis committee and the validator key ``twin-node genesis`` put in the vault), written
also to ``committee.json``, the public file that verifies receipts offline; the key that signs
bearer tokens; the node's did:twin identity with its ``#immutable-proof-assertion`` method
(anchored through the ledger like any DID, once the committee commits); and the admin user.
The node DID, admin user and token key are the node's own; only ledger state is shared. An
ordinary second user ($TWIN_NODE_USER_EMAIL) is added at any start where it is missing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import sys
from pathlib import Path

from twin_reference._auth import TokenIssuer, hash_password
from twin_reference._checkpoint_catch_up import catch_up_past_retention
from twin_reference._errors import ApiError, WritePending
from twin_reference._files import PRIVATE_FILE, PUBLIC_FILE, private_directory, write_file
from twin_reference._genesis import VALIDATOR_KEY, Genesis
from twin_reference._identity import jwk_method, new_did_document
from twin_reference._ledger import ConsensusSettings, LedgerEngine
from twin_reference._ledger_store import LedgerStore
from twin_reference._login import LoginGuard
from twin_reference._node import Node, NodeSettings, now_ms
from twin_reference._offload import ProcessWorker
from twin_reference._store import Store, StoreFormatError
from twin_reference._transactions import DID_CREATE, new_transaction
from twin_reference._vault import Vault
from twin_reference._writes import IdempotencyKeys
from twin_spec import Committee, Validator, did_twin_from_bytes

DATABASE_FILE = "node.sqlite"
COMMITTEE_FILE = "committee.json"
DEFAULT_ADMIN_EMAIL = "admin@twin.example"
ADMIN_PASSWORD_FILE = "admin-password"  # noqa: S105 - a file name, not a password
"""Where a generated admin password is kept (mode 0600), in the data directory."""
USER_EMAIL_ENV = "TWIN_NODE_USER_EMAIL"
USER_PASSWORD_ENV = "TWIN_NODE_USER_PASSWORD"  # noqa: S105 - a variable's name, not a password
"""The ordinary second user's login, read from the environment only (never an option)."""
NODE_KEYS = ("immutable-proof-assertion", "attestation-assertion")
LOG = logging.getLogger("twin_reference")


class SetupError(RuntimeError):
    """The data directory cannot be used as asked (another committee, a missing key)."""


def open_node(settings: NodeSettings, genesis: Genesis | None = None) -> Node:
    """Open (or create) the data directory and return the node, its ledger not yet started.

    ``genesis`` is the committee the node is a validator of (read once by the caller); None
    makes, on first start, a committee of this node alone.
    """
    data_dir = settings.data_dir
    private_directory(data_dir)
    try:
        store = Store(data_dir / DATABASE_FILE)
    except StoreFormatError as exc:
        raise SetupError(str(exc)) from None
    try:
        vault = Vault(store)
        if store.get_meta("committee") is None:
            _create_node(store, vault, data_dir, genesis, settings)
        _add_second_user(store)
        committee = Committee.from_json(json.loads(store.get_meta("committee") or "null"))
        own_index = int(store.get_meta("validator_index") or "0")
        if genesis is not None:
            _check_genesis(data_dir, genesis, committee, own_index, settings.validator_index)
        validator_key = vault.get(VALIDATOR_KEY)
        handed = settings.validator_key
        if handed is not None and validator_key is not None and handed.seed != validator_key.seed:
            raise SetupError(
                f"{data_dir} holds another validator key than the one handed in"
                " (--validator-key); start with the data directory made for that key"
            )
        token_key = vault.get("auth-token")
        node_did = store.get_meta("node_did")
        if validator_key is None or token_key is None or node_did is None:
            raise SetupError(f"{data_dir} is incomplete: a key or the node identity is missing")
        if genesis is not None and committee.size > 1:
            # A validator back after its peers deleted the blocks it misses takes their
            # certified commits first; within the retention it catches up by blocks, later.
            catch_up_past_retention(LedgerStore(store), committee, own_index, genesis.peers)
    except BaseException:
        store.close()
        raise
    ledger = LedgerEngine(
        store,
        committee,
        own_index,
        validator_key,
        now_ms,
        peers=genesis.peers if genesis is not None else None,
        settings=ConsensusSettings(
            leader_timeout_seconds=settings.leader_timeout_seconds,
            batch_interval_seconds=settings.batch_interval_seconds,
            commit_timeout_seconds=settings.commit_timeout_seconds,
            block_retention_rounds=settings.block_retention_rounds,
        ),
    )
    tokens = TokenIssuer(store, token_key, settings.token_lifetime_seconds)
    # Four waiting: a harness at its default concurrency (4 connections) is never refused.
    evaluator = ProcessWorker("evaluate", max_waiting=4)
    logins = LoginGuard(store)
    writes = IdempotencyKeys(store)
    return Node(
        settings, store, vault, ledger, tokens, committee, node_did, evaluator, logins, writes
    )


def _check_genesis(
    data_dir: Path, genesis: Genesis, committee: Committee, own_index: int, asked: int
) -> None:
    # TWIN-CONSENSUS-111: a node started with a genesis file runs in the genesis committee.
    if genesis.committee != committee:
        raise SetupError(f"{data_dir} belongs to another committee than the genesis file's")
    if own_index != asked:
        raise SetupError(f"{data_dir} is validator {own_index}'s, not validator {asked}'s")


def _create_node(
    store: Store, vault: Vault, data_dir: Path, genesis: Genesis | None, settings: NodeSettings
) -> None:
    index = settings.validator_index
    node_did = did_twin_from_bytes(secrets.token_bytes(32))
    document = new_did_document(node_did)
    with store.write() as connection:
        if genesis is None:
            validator_key = vault.create(connection, VALIDATOR_KEY)
            committee = Committee(0, (Validator(0, validator_key.public_key, 1, None),))
        else:
            # TWIN-CONSENSUS-111 "A node first started with a genesis file MUST take the
            # genesis committee, and MUST refuse to start unless its vault holds the key of the
            # validator it is started as."
            committee = genesis.committee
            held = vault.get(VALIDATOR_KEY)
            if not 0 <= index < committee.size:
                raise SetupError(f"validator {index} is not in the genesis committee")
            handed = settings.validator_key
            if held is None and handed is not None:
                # The launch contract (spec/prose/launch.md): a harness that made the committee
                # hands each member its validator key as a file; the vault keeps it from now.
                if handed.public_key != committee.validator(index).public_key:
                    raise SetupError(
                        f"the validator key handed in is not validator {index}'s key in the"
                        " genesis committee"
                    )
                vault.put(connection, VALIDATOR_KEY, handed)
                held = handed
            if held is None or held.public_key != committee.validator(index).public_key:
                raise SetupError(
                    f"the vault of {data_dir} does not hold validator {index}'s key; create "
                    "the data directories with twin-node genesis, or hand the key in with"
                    " --validator-key"
                )
        vault.create(connection, "auth-token")
        for fragment in NODE_KEYS:
            key = vault.create(connection, f"{node_did}#{fragment}")
            document.setdefault("assertionMethod", []).append(  # type: ignore[union-attr]
                jwk_method(f"{node_did}#{fragment}", node_did, key.public_key)
            )
        connection.execute(
            "INSERT INTO meta (key, value) VALUES ('committee', ?), ('node_did', ?),"
            " ('node_did_document', ?), ('validator_index', ?)",
            (json.dumps(committee.to_json()), node_did, json.dumps(document), str(index)),
        )
        email = os.environ.get("TWIN_NODE_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL)
        password = settings.admin_password or os.environ.get("TWIN_NODE_PASSWORD")
        if not password:
            # No secret on the console or in a log: the generated password goes to a file
            # only its owner can read, and the console names the file.
            password = secrets.token_urlsafe(18)
            password_file = data_dir / ADMIN_PASSWORD_FILE
            write_file(password_file, password + "\n", PRIVATE_FILE)
            print(
                f"twin-node: created admin user {email}; its generated password is in "
                f"{password_file} (readable by the owner only; set TWIN_NODE_PASSWORD to "
                "choose it)",
                file=sys.stderr,
                flush=True,
            )
        connection.execute(
            "INSERT INTO users (email, identity, password_hash) VALUES (?, ?, ?)",
            (email, node_did, hash_password(password)),
        )
    # Public: the keys that verify receipts offline. Its mode is set, not left to the umask.
    write_file(
        data_dir / COMMITTEE_FILE, json.dumps(committee.to_json(), indent=2) + "\n", PUBLIC_FILE
    )


def _add_second_user(store: Store) -> None:
    """Create the ordinary user $TWIN_NODE_USER_EMAIL names, with its own identity, if missing.

    A second user lets a harness show that one user cannot change another's documents
    (TWIN-DOCUMENTS-050). It is not the node's identity; an existing user is left as it is.
    """
    email = os.environ.get(USER_EMAIL_ENV)
    if not email:
        return
    password = os.environ.get(USER_PASSWORD_ENV)
    if not password:
        raise SetupError(f"${USER_EMAIL_ENV} is set but ${USER_PASSWORD_ENV}, its password, is not")
    if store.one("SELECT 1 FROM users WHERE email = ?", email) is not None:
        return
    # Its own did:twin, never the node's: the documents it stores name it as userIdentity.
    identity = did_twin_from_bytes(secrets.token_bytes(32))
    password_hash = hash_password(password)
    with store.write() as connection:
        connection.execute(
            "INSERT OR IGNORE INTO users (email, identity, password_hash) VALUES (?, ?, ?)",
            (email, identity, password_hash),
        )


async def anchor_node_identity(node: Node) -> None:
    """Commit the node's own DID document if it is not on the ledger yet (first start).

    It runs after the server listens: in a committee of several, the commit needs the peers,
    which may not be up yet, so it is retried until it is committed; ``GET /health`` reports
    the node as not ready meanwhile.
    """
    document = json.loads(node.store.get_meta("node_did_document") or "null")
    transaction = new_transaction(DID_CREATE, node.node_did, {"document": document}, now_ms())
    while not node.ready:
        try:
            await node.ledger.submit(transaction)
        except (ApiError, WritePending) as exc:
            LOG.info("the node's DID is not committed yet (%s); still waiting", exc)
            await asyncio.sleep(0.5)
