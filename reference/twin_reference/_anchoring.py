"""Anchoring: immutable proofs and verifiable storage, each backed by a ledger receipt."""

from __future__ import annotations

import base64
import json
import re
import secrets
from typing import Any, cast

from twin_reference._errors import ForbiddenError, NotFoundError, ValidationError
from twin_reference._ledger_codec import unpack_text
from twin_reference._node import Node, iso_now
from twin_reference._proofs import key_resolver
from twin_reference._transactions import (
    IMMUTABLE_PROOF_CREATE,
    STORAGE_CREATE,
    STORAGE_REMOVE,
    STORAGE_UPDATE,
)
from twin_spec import (
    DidError,
    JSONValue,
    ProofVerificationError,
    TwinSpecError,
    parse_did,
    proof_object_hash,
    sign_document,
    verify_proof,
    verify_receipt,
)

IMMUTABLE_PROOF_CONTEXT = "https://schema.twindev.org/immutable-proof/"
PROOF_CONTEXTS = [
    IMMUTABLE_PROOF_CONTEXT,
    "https://schema.twindev.org/common/",
    "https://www.w3.org/ns/credentials/v2",
]
IMMUTABLE_PROOF_ID = re.compile(r"immutable-proof:([0-9a-f]{64})\Z")
STORAGE_ID = re.compile(r"verifiable:twin:[0-9a-f]{64}\Z")
ASSERTION_FRAGMENT = "immutable-proof-assertion"
MAX_ALLOW_LIST = 100


async def create_immutable_proof(node: Node, caller: str, document: dict[str, Any]) -> str:
    """Hash the document, sign an ImmutableProof with the node's key, keep it; return its id.

    The proof is durably kept and queued for the ledger when this returns; its receipt follows
    with the commit, a few rounds later (TWIN-ANCHORING-050).
    """
    try:
        object_hash = proof_object_hash(document)
    except TwinSpecError as exc:
        raise ValidationError(
            f"body.document cannot be hashed: {exc.message}", field="body.document"
        ) from None
    proof_id = secrets.token_hex(32)
    unsigned: dict[str, JSONValue] = {
        "@context": list(PROOF_CONTEXTS),
        "id": proof_id,
        "type": "ImmutableProof",
        "nodeIdentity": node.node_did,
        "userIdentity": caller,
        "proofObjectHash": object_hash,
    }
    if isinstance(document.get("id"), str):
        unsigned["proofObjectId"] = str(document["id"])
    method = f"{node.node_did}#{ASSERTION_FRAGMENT}"
    key = node.vault.get(method)
    assert key is not None  # noqa: S101 - created with the node's identity at first start
    # TWIN-ANCHORING-050 "POST /immutable-proof MUST answer 201 ... once the ImmutableProof
    # ... is durably accepted, and within 30 seconds of that answer GET /immutable-proof/{id}
    # MUST answer it signed ... and with the receipt of the commit that holds it": it is signed
    # here, kept synced and queued; the ledger commits it within rounds.
    signed = sign_document(unsigned, key, verification_method=method, created=iso_now())
    await node.accept(IMMUTABLE_PROOF_CREATE, caller, {"proof": cast(JSONValue, signed)}, proof_id)
    return f"immutable-proof:{proof_id}"


def _proof_row(node: Node, proof_ref: str) -> tuple[dict[str, Any], bytes]:
    """The signed proof and its transaction's digest, committed or accepted (else 404)."""
    match = IMMUTABLE_PROOF_ID.match(proof_ref)
    if match is None:
        raise ValidationError(
            f"{proof_ref!r} is not an immutable proof id (immutable-proof:<64 hex>)",
            field="path.id",
        )
    # The proof is stored once, in the transaction that anchored it; until a commit applies
    # that transaction, in the transaction as it was accepted.
    row = node.store.one(
        "SELECT t.body, p.transaction_digest FROM immutable_proofs AS p"
        " JOIN transactions AS t ON t.digest = p.transaction_digest WHERE p.id = ?",
        match.group(1),
    )
    if row is not None:
        digest = row[1]
        assert isinstance(digest, bytes)  # noqa: S101 - a BLOB column
        return dict(json.loads(unpack_text(row[0]))["payload"]["proof"]), digest
    accepted = node.ledger.accepted(match.group(1))
    if accepted is None:
        raise NotFoundError(f"there is no immutable proof {proof_ref}", field="path.id")
    digest, transaction = accepted
    return dict(transaction["payload"]["proof"]), digest


def get_immutable_proof(node: Node, proof_ref: str) -> dict[str, Any]:
    """The signed ImmutableProof, with the receipt of its transaction once it is certified.

    Between the 201 and the certified checkpoint of its commit (a few rounds), the proof is
    answered without ``immutableReceipt``, as TWIN-ANCHORING-050 allows.
    """
    proof, digest = _proof_row(node, proof_ref)
    receipt = node.ledger.receipt(digest)
    return proof if receipt is None else {**proof, "immutableReceipt": receipt}


def verify_immutable_proof(node: Node, proof_ref: str) -> dict[str, JSONValue]:
    """Check the proof's signature and its receipt against the committee's keys."""
    proof, digest = _proof_row(node, proof_ref)
    result: dict[str, JSONValue] = {
        "@context": IMMUTABLE_PROOF_CONTEXT,
        "type": "ImmutableProofVerification",
        "verified": True,
    }
    try:
        verify_proof(proof, key_resolver(node), expected_purpose="assertionMethod")
    except ProofVerificationError as exc:
        return {**result, "verified": False, "failure": exc.reason.value}
    except TwinSpecError:
        return {**result, "verified": False, "failure": "signatureMismatch"}
    receipt = node.ledger.receipt(digest)
    if receipt is None:
        return {**result, "verified": False, "failure": "notIssued"}
    try:
        verify_receipt(receipt, node.committee, transaction_digest=digest)
    except TwinSpecError:
        return {**result, "verified": False, "failure": "notIssued"}
    return result


def _decode_data(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a base64 string", field=field)
    try:
        base64.b64decode(value, validate=True)
    except ValueError:
        raise ValidationError(f"{field} is not standard, padded base64", field=field) from None
    return value


async def create_item(node: Node, caller: str, body: dict[str, Any]) -> dict[str, JSONValue]:
    """Store an item in verifiable storage; answer its id and receipt."""
    # TWIN-ANCHORING-051 "Every verifiable storage write MUST be a committed ledger transaction
    # whose receipt verifies offline."
    data = _decode_data(body.get("data"), "body.data")
    allow_list = _allow_list(body.get("allowList", []))
    item_id = f"verifiable:twin:{secrets.token_hex(32)}"
    outcome = await node.execute(
        STORAGE_CREATE, caller, {"id": item_id, "data": data, "allowList": allow_list}
    )
    return {"id": item_id, "receipt": node.receipt(outcome.digest)}


def _allow_list(value: object) -> list[JSONValue]:
    """Check an allow list: at most 100 distinct DIDs (the creator need not be listed)."""
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        raise ValidationError("body.allowList must be a list of DIDs", field="body.allowList")
    if len(value) > MAX_ALLOW_LIST or len(set(value)) != len(value):
        raise ValidationError(
            f"body.allowList must hold at most {MAX_ALLOW_LIST} distinct DIDs",
            field="body.allowList",
        )
    for position, entry in enumerate(value):
        try:
            parse_did(entry)
        except DidError as exc:
            raise ValidationError(
                f"body.allowList[{position}] is not a DID: {exc.message}", field="body.allowList"
            ) from None
    return list(value)


def _item_row(node: Node, item_id: str) -> tuple[Any, ...]:
    if not STORAGE_ID.match(item_id):
        raise ValidationError(f"{item_id!r} is not a verifiable storage id", field="path.id")
    row = node.store.one(
        "SELECT data, creator, allow_list, transaction_digest FROM storage_items WHERE id = ?",
        item_id,
    )
    if row is None:
        raise NotFoundError(f"there is no item {item_id}", field="path.id")
    return row


def get_item(node: Node, item_id: str) -> dict[str, JSONValue]:
    """An item's data, its allow list and the receipt of its last change."""
    data, _creator, allow_list, digest = _item_row(node, item_id)
    assert isinstance(data, bytes)  # noqa: S101 - a BLOB column
    assert isinstance(digest, bytes)  # noqa: S101 - a BLOB column
    return {
        "data": base64.b64encode(data).decode(),
        "allowList": json.loads(str(allow_list)),
        "receipt": node.receipt(digest),
    }


async def update_item(
    node: Node, caller: str, item_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Replace an item's data (and optionally its allow list); answer the new receipt."""
    _data, creator, allow_list, _digest = _item_row(node, item_id)
    if caller != creator and caller not in json.loads(str(allow_list)):
        raise ForbiddenError(f"{caller} is not on the allow list of {item_id}", field="path.id")
    payload: dict[str, JSONValue] = {
        "id": item_id,
        "data": _decode_data(body.get("data"), "body.data"),
    }
    if "allowList" in body:
        payload["allowList"] = _allow_list(body["allowList"])
    outcome = await node.execute(STORAGE_UPDATE, caller, payload)
    return node.receipt(outcome.digest)


async def remove_item(node: Node, caller: str, item_id: str) -> None:
    """Remove an item (its creator only); its past receipts stay valid."""
    _data, creator, _allow, _digest = _item_row(node, item_id)
    if caller != creator:
        raise ForbiddenError(f"only the creator of {item_id} may remove it", field="path.id")
    await node.execute(STORAGE_REMOVE, caller, {"id": item_id})
