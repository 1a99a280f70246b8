"""Opening a node's data directory, creating it on first start.

First start creates: the validator key and the genesis committee (written also to
``committee.json``, the public file that verifies receipts offline), the key that signs bearer
tokens, the node's did:twin identity with its ``#immutable-proof-assertion`` method (anchored
through the ledger like any DID), and the admin user.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from twin_reference._auth import TokenIssuer, hash_password
from twin_reference._identity import jwk_method, new_did_document
from twin_reference._ledger import LedgerEngine
from twin_reference._node import Node, NodeSettings, now_ms
from twin_reference._store import Store
from twin_reference._transactions import DID_CREATE, new_transaction
from twin_reference._vault import Vault
from twin_spec import Committee, Validator, did_twin_from_bytes

DATABASE_FILE = "node.sqlite"
COMMITTEE_FILE = "committee.json"
DEFAULT_ADMIN_EMAIL = "admin@twin.example"
NODE_KEYS = ("immutable-proof-assertion", "attestation-assertion")


def open_node(settings: NodeSettings) -> Node:
    """Open (or create) the data directory and return the node, its ledger not yet started."""
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir.chmod(0o700)
    store = Store(data_dir / DATABASE_FILE)
    vault = Vault(store)
    if store.get_meta("committee") is None:
        _create_genesis(store, vault, data_dir)
    committee = Committee.from_json(json.loads(store.get_meta("committee") or "null"))
    validator_key = vault.get("validator")
    token_key = vault.get("auth-token")
    node_did = store.get_meta("node_did")
    if validator_key is None or token_key is None or node_did is None:
        raise RuntimeError(f"{data_dir} is incomplete: a key or the node identity is missing")
    ledger = LedgerEngine(
        store,
        committee,
        0,
        validator_key,
        now_ms,
        commit_timeout_seconds=settings.commit_timeout_seconds,
    )
    tokens = TokenIssuer(store, token_key, settings.token_lifetime_seconds)
    return Node(settings, store, vault, ledger, tokens, committee, node_did)


def _create_genesis(store: Store, vault: Vault, data_dir: Path) -> None:
    node_did = did_twin_from_bytes(secrets.token_bytes(32))
    document = new_did_document(node_did)
    with store.write() as connection:
        validator_key = vault.create(connection, "validator")
        vault.create(connection, "auth-token")
        for fragment in NODE_KEYS:
            key = vault.create(connection, f"{node_did}#{fragment}")
            document.setdefault("assertionMethod", []).append(  # type: ignore[union-attr]
                jwk_method(f"{node_did}#{fragment}", node_did, key.public_key)
            )
        committee = Committee(0, (Validator(0, validator_key.public_key, 1, None),))
        connection.execute(
            "INSERT INTO meta (key, value) VALUES ('committee', ?), ('node_did', ?),"
            " ('node_did_document', ?)",
            (json.dumps(committee.to_json()), node_did, json.dumps(document)),
        )
        email = os.environ.get("TWIN_NODE_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL)
        password = os.environ.get("TWIN_NODE_PASSWORD")
        if not password:
            password = secrets.token_urlsafe(18)
            print(
                f"twin-node: created admin user {email} with password {password} "
                "(shown once; set TWIN_NODE_PASSWORD to choose it)",
                file=sys.stderr,
                flush=True,
            )
        connection.execute(
            "INSERT INTO users (email, identity, password_hash) VALUES (?, ?, ?)",
            (email, node_did, hash_password(password)),
        )
    committee_file = data_dir / COMMITTEE_FILE
    committee_file.write_text(json.dumps(committee.to_json(), indent=2) + "\n")


async def anchor_node_identity(node: Node) -> None:
    """Commit the node's own DID document if it is not on the ledger yet (first start)."""
    if node.store.one("SELECT 1 FROM dids WHERE did = ?", node.node_did) is not None:
        return
    document = json.loads(node.store.get_meta("node_did_document") or "null")
    transaction = new_transaction(DID_CREATE, node.node_did, {"document": document}, now_ms())
    await node.ledger.submit(transaction)
