"""Faults of the anchoring profile: immutable proofs and verifiable storage, and receipts.

A receipt with a flipped byte, a wrongly computed object hash, a proof that names the wrong
party or is signed too late, a storage update that answers an older transaction's receipt.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from tests.broken_variants._asgi import (
    Context,
    Handler,
    HttpRequest,
    HttpResponse,
    rule,
    with_json,
)
from tests.broken_variants._deviation_faults import signed_in_background
from tests.broken_variants._fault import fault
from tests.broken_variants._patching import rebind
from twin_spec import canonical_text, multibase_decode, multibase_encode


def flip_signature_byte(receipt: dict[str, Any]) -> None:
    """Flip the low bit of the first byte of the receipt's first checkpoint signature."""
    signature = receipt["checkpoint"]["signatures"][0]
    raw = bytearray(multibase_decode(signature["signature"]))
    raw[0] ^= 0x01
    signature["signature"] = multibase_encode(bytes(raw))


def flip_digest_byte(receipt: dict[str, Any]) -> None:
    """Flip the low bit of the first byte of the receipt's transaction digest."""
    raw = bytearray(bytes.fromhex(receipt["transactionDigest"]))
    raw[0] ^= 0x01
    receipt["transactionDigest"] = raw.hex()


def _tamper_receipt(member: str | None, flip: Callable[[dict[str, Any]], None]) -> Handler:
    """A handler that flips one byte of the receipt a 2xx answer carries."""

    async def handler(request: HttpRequest, context: Context) -> HttpResponse:
        response = await context.forward(request)
        body = response.json()
        if not 200 <= response.status < 300 or not isinstance(body, dict):
            return response
        receipt = body.get(member) if member else body
        if not isinstance(receipt, dict):
            return response
        flip(receipt)
        return with_json(response, body)

    handler.__doc__ = f"Flip one byte of the receipt ({flip.__name__})."
    return handler


def proof_object_hash_without_string_literal(document: object) -> str:
    """The proofObjectHash of a node that hashes the JCS text itself, not its JSON literal."""
    digest = hashlib.sha256(canonical_text(document).encode("utf-8")).digest()
    return "sha256:" + base64.b64encode(digest).decode("ascii")


def patch_proof_object_hash() -> None:
    """Make the node compute proofObjectHash without the JSON string literal step."""
    from twin_reference import _anchoring

    # The node signs and commits what it computes, so the fault lives in its hash function.
    setattr(  # noqa: B010 - the node's imported name is rebound on purpose
        _anchoring, "proof_object_hash", proof_object_hash_without_string_literal
    )


def patch_object_id_is_proof_id() -> None:
    """Make the node name the proof's own id as proofObjectId, not the document's id."""
    from twin_reference import _anchoring

    original = getattr(_anchoring, "sign_document")  # noqa: B009 - a name it imports

    def sign(document: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, object]:
        named = {**document, "proofObjectId": f"immutable-proof:{document.get('id')}"}
        signed: dict[str, object] = original(named, *args, **kwargs)
        return signed

    rebind(_anchoring, "sign_document", sign)


async def update_answers_create_receipt(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer a storage update with the receipt of the item's creation (an older transaction)."""
    response = await context.forward(request)
    receipts: dict[str, Any] = context.memory.setdefault("created", {})
    body = response.json()
    if request.method == "POST" and response.status == 201 and isinstance(body, dict):
        receipts[str(body.get("id"))] = body.get("receipt")
    elif request.method == "PUT" and response.status == 200:
        earlier = receipts.get(request.path.removeprefix("/verifiable/"))
        if isinstance(earlier, dict):
            return with_json(response, earlier)
    return response


IMMUTABLE_PROOF = "/immutable-proof/(?P<id>[^/]+)"
PROOF_BOUND_SECONDS = 30.0
"""How long after its 201 a proof may lack its signature and receipt (TWIN-ANCHORING-050)."""
FAULTS = (
    fault(
        "receipt-flipped-byte",
        "anchoring",
        # The flipped byte is in a checkpoint signature, which then fails to verify.
        "TWIN-ANCHORING-025",
        "GET /immutable-proof/{id} answers a receipt with one checkpoint signature byte flipped",
        rules=(
            rule("GET", IMMUTABLE_PROOF, _tamper_receipt("immutableReceipt", flip_signature_byte)),
        ),
    ),
    fault(
        "wrong-proof-object-hash",
        "anchoring",
        "TWIN-ANCHORING-001",
        "proofObjectHash hashes the JCS text itself, skipping the JSON string literal step",
        patch=patch_proof_object_hash,
    ),
    fault(
        "storage-receipt-flipped-byte",
        "anchoring",
        # The flipped byte is in the transaction digest, whose leaf then leads to another root.
        "TWIN-ANCHORING-029",
        "verifiable storage create and update answer receipts with one digest byte flipped",
        rules=(
            rule("POST", "/verifiable", _tamper_receipt("receipt", flip_digest_byte)),
            rule("PUT", "/verifiable/(?P<id>[^/]+)", _tamper_receipt(None, flip_digest_byte)),
        ),
    ),
    fault(
        "proof-object-id-is-proof-id",
        "anchoring",
        "TWIN-ANCHORING-050",
        "an immutable proof names its own id as proofObjectId, not the document's id",
        patch=patch_object_id_is_proof_id,
    ),
    fault(
        "proof-signed-after-the-bound",
        "anchoring",
        "TWIN-ANCHORING-050",
        "a new immutable proof lacks its proof and receipt for 40 s after its 201, beyond the "
        "30 s bound",
        rules=(
            rule("POST", "/immutable-proof", signed_in_background(PROOF_BOUND_SECONDS + 10)),
            rule("GET", IMMUTABLE_PROOF, signed_in_background(PROOF_BOUND_SECONDS + 10)),
        ),
    ),
    fault(
        "update-answers-create-receipt",
        "anchoring",
        "TWIN-ANCHORING-051",
        "a storage update answers the receipt of the item's creation, another transaction",
        rules=(
            rule("POST", "/verifiable", update_answers_create_receipt),
            rule("PUT", "/verifiable/[^/]+", update_answers_create_receipt),
        ),
    ),
)
