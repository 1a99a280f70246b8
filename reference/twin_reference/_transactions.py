"""Ledger transactions the reference node submits, and their deterministic execution.

Every state change (DID documents, immutable proofs, verifiable storage, document revisions
(``_document_transactions.py``)) is a transaction; the
committee orders transactions into commits, and each node applies them in commit order with the
commit's timestamp, so every validator reaches the same state. A transaction that cannot apply
(a duplicate id, a stale version, a caller without the right) is still ordered and recorded,
with its failure, so its submitter learns the outcome.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from twin_reference._document_transactions import (
    DOCUMENT_TRANSACTIONS,
    DocumentRefused,
    apply_document,
)
from twin_spec import JSONValue

DID_CREATE = "did.create"
DID_UPDATE = "did.update"
DID_DEACTIVATE = "did.deactivate"
IMMUTABLE_PROOF_CREATE = "immutableProof.create"
STORAGE_CREATE = "storage.create"
STORAGE_UPDATE = "storage.update"
STORAGE_REMOVE = "storage.remove"
PROFILE_CREATE = "profile.create"
PROFILE_UPDATE = "profile.update"
PROFILE_REMOVE = "profile.remove"


def new_transaction(
    kind: str, sender: str, payload: dict[str, JSONValue], now_ms: int
) -> dict[str, JSONValue]:
    """Build a transaction; the random nonce makes two identical requests two transactions."""
    return {
        "type": kind,
        "sender": sender,
        "nonce": secrets.token_hex(16),
        "timestampMs": now_ms,
        "payload": payload,
    }


@dataclass(frozen=True)
class Effects:
    """What applying one transaction did: success, or the error that stopped it."""

    status: str
    error_name: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        """True when the transaction applied."""
        return self.status == "success"


SUCCESS = Effects("success")


@dataclass(frozen=True)
class Outcome:
    """A committed transaction: its digest, what applying it did, and its checkpoint."""

    digest: bytes
    effects: Effects
    checkpoint: int


class _Refused(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def metadata_time(timestamp_ms: int) -> str:
    """DID document metadata times: UTC, no fractional seconds (DID Core 7.3.2)."""
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


_STORAGE_FAULTS = (sqlite3.OperationalError, sqlite3.InternalError, sqlite3.NotSupportedError)
"""SQLite errors that say the storage failed (locked, full, I/O), not the transaction."""


def apply_transaction(
    connection: sqlite3.Connection,
    transaction: dict[str, Any],
    digest: bytes,
    commit_timestamp_ms: int,
) -> Effects:
    """Apply one committed transaction inside the caller's SQLite transaction.

    A transaction that cannot apply fails, with its reason, and changes nothing (a savepoint
    undoes what it wrote); only a failure of the storage itself is raised, so that the commit
    is tried again rather than recorded differently on this validator than on the others.
    """
    connection.execute("SAVEPOINT apply_transaction")
    try:
        _apply(connection, transaction, digest, commit_timestamp_ms)
    except _STORAGE_FAULTS:
        connection.execute("ROLLBACK TO apply_transaction")
        connection.execute("RELEASE apply_transaction")
        raise
    except _Refused as refused:
        effects = Effects("failure", refused.name, refused.message)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        # Peers are not trusted to send well-formed payloads; a bad one fails, it never crashes.
        effects = Effects("failure", "ValidationError", f"malformed transaction: {exc!r}")
    except Exception as exc:
        # TWIN-CONSENSUS-131 "... MUST record a committed transaction that cannot be applied as
        # failed, with the reason, and MUST keep committing the other transactions": whatever
        # a payload does to the code that applies it, the same input fails the same way on
        # every validator, and the commit goes on.
        effects = Effects(
            "failure", "ValidationError", f"the transaction cannot be applied: {exc!r}"[:2000]
        )
    else:
        connection.execute("RELEASE apply_transaction")
        return SUCCESS
    connection.execute("ROLLBACK TO apply_transaction")
    connection.execute("RELEASE apply_transaction")
    return effects


def _apply(connection: sqlite3.Connection, tx: dict[str, Any], digest: bytes, now_ms: int) -> None:
    kind, sender, payload = tx["type"], str(tx["sender"]), tx["payload"]
    if kind == DID_CREATE:
        document = payload["document"]
        did = str(document["id"])
        if _did_row(connection, did) is not None:
            raise _Refused("ConflictError", f"{did} already exists")
        stamp = metadata_time(now_ms)
        connection.execute(
            "INSERT INTO dids (did, document, controller, version, created, updated)"
            " VALUES (?, ?, ?, 1, ?, ?)",
            (did, _dump(document), sender, stamp, stamp),
        )
    elif kind in (DID_UPDATE, DID_DEACTIVATE):
        did = str(payload["did"])
        row = _did_row(connection, did)
        if row is None:
            raise _Refused("NotFoundError", f"{did} does not exist")
        controller, version, deactivated = str(row[0]), int(row[1]), bool(row[2])
        if deactivated:
            raise _Refused("GoneError", f"{did} is deactivated")
        if sender != controller:
            raise _Refused("ForbiddenError", f"{sender} does not control {did}")
        if kind == DID_DEACTIVATE:
            connection.execute(
                "UPDATE dids SET deactivated = 1, version = ?, updated = ? WHERE did = ?",
                (version + 1, metadata_time(now_ms), did),
            )
            return
        if int(payload["version"]) != version:
            raise _Refused("ConflictError", f"{did} changed meanwhile (version {version})")
        document = payload["document"]
        if document.get("id") != did:
            raise _Refused("ValidationError", "the new document has a different id")
        connection.execute(
            "UPDATE dids SET document = ?, version = ?, updated = ? WHERE did = ?",
            (_dump(document), version + 1, metadata_time(now_ms), did),
        )
    elif kind == IMMUTABLE_PROOF_CREATE:
        proof = payload["proof"]
        proof_id = str(proof["id"])
        if connection.execute(
            "SELECT 1 FROM immutable_proofs WHERE id = ?", (proof_id,)
        ).fetchone():
            raise _Refused("ConflictError", f"immutable proof {proof_id} already exists")
        # The proof itself is the transaction's, stored once with it (transactions.body).
        connection.execute(
            "INSERT INTO immutable_proofs (id, transaction_digest) VALUES (?, ?)",
            (proof_id, digest),
        )
    elif kind in (STORAGE_CREATE, STORAGE_UPDATE, STORAGE_REMOVE):
        _apply_storage(connection, kind, sender, payload, digest)
    elif kind in DOCUMENT_TRANSACTIONS:
        try:
            apply_document(connection, kind, sender, payload, digest, now_ms)
        except DocumentRefused as refused:
            raise _Refused(refused.name, refused.message) from None
    elif kind in (PROFILE_CREATE, PROFILE_UPDATE, PROFILE_REMOVE):
        _apply_profile(connection, kind, sender, payload, digest)
    else:
        raise _Refused("ValidationError", f"unknown transaction type {kind!r}")


def _apply_storage(
    connection: sqlite3.Connection,
    kind: str,
    sender: str,
    payload: dict[str, Any],
    digest: bytes,
) -> None:
    item_id = str(payload["id"])
    row = connection.execute(
        "SELECT creator, allow_list FROM storage_items WHERE id = ?", (item_id,)
    ).fetchone()
    if kind == STORAGE_CREATE:
        if row is not None:
            raise _Refused("ConflictError", f"{item_id} already exists")
        data = base64.b64decode(str(payload["data"]), validate=True)
        allow_list = [str(entry) for entry in payload["allowList"]]
        connection.execute(
            "INSERT INTO storage_items (id, data, creator, allow_list, transaction_digest)"
            " VALUES (?, ?, ?, ?, ?)",
            (item_id, data, sender, _dump(allow_list), digest),
        )
        return
    if row is None:
        raise _Refused("NotFoundError", f"{item_id} does not exist")
    creator, allowed = str(row[0]), json.loads(str(row[1]))
    if kind == STORAGE_REMOVE:
        if sender != creator:
            raise _Refused("ForbiddenError", f"only {creator} may remove {item_id}")
        connection.execute("DELETE FROM storage_items WHERE id = ?", (item_id,))
        return
    if sender != creator and sender not in allowed:
        raise _Refused("ForbiddenError", f"{sender} is not on the allow list of {item_id}")
    data = base64.b64decode(str(payload["data"]), validate=True)
    if "allowList" in payload:
        allowed = [str(entry) for entry in payload["allowList"]]
    connection.execute(
        "UPDATE storage_items SET data = ?, allow_list = ?, transaction_digest = ? WHERE id = ?",
        (data, _dump(allowed), digest, item_id),
    )


def _apply_profile(
    connection: sqlite3.Connection,
    kind: str,
    sender: str,
    payload: dict[str, Any],
    digest: bytes,
) -> None:
    # TWIN-IDENTITY-083 "A node that serves its ledger's blocks MUST NOT write private profile
    # properties to its ledger": a profile transaction holds the public part and, of the private
    # part, only a salted hash (the node keeps the private part in its own storage).
    exists = connection.execute("SELECT 1 FROM profiles WHERE identity = ?", (sender,)).fetchone()
    if kind == PROFILE_CREATE and exists:
        raise _Refused("ConflictError", f"{sender} already has a profile")
    if kind != PROFILE_CREATE and not exists:
        raise _Refused("NotFoundError", f"{sender} has no profile")
    if kind == PROFILE_REMOVE:
        connection.execute("DELETE FROM profiles WHERE identity = ?", (sender,))
        return
    public = payload["publicProfile"]
    private_hash = payload["privateHash"]
    if not (public is None or isinstance(public, dict)) or not (
        private_hash is None or isinstance(private_hash, str)
    ):
        raise _Refused("ValidationError", "a profile is a public object and a private hash")
    if kind == PROFILE_CREATE:
        connection.execute(
            "INSERT INTO profiles (identity, public, private_hash, transaction_digest)"
            " VALUES (?, ?, ?, ?)",
            (sender, _dump(public), private_hash, digest),
        )
        return
    connection.execute(
        "UPDATE profiles SET public = ?, private_hash = ?, transaction_digest = ?"
        " WHERE identity = ?",
        (_dump(public), private_hash, digest, sender),
    )


def _did_row(connection: sqlite3.Connection, did: str) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = connection.execute(
        "SELECT controller, version, deactivated FROM dids WHERE did = ?", (did,)
    ).fetchone()
    return row


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
