"""Faults of the anchoring profile: receipts with a flipped byte, a wrongly computed hash."""

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


IMMUTABLE_PROOF = "/immutable-proof/(?P<id>[^/]+)"
RULES = {
    "receipt-flipped-byte": (
        rule("GET", IMMUTABLE_PROOF, _tamper_receipt("immutableReceipt", flip_signature_byte)),
    ),
    "storage-receipt-flipped-byte": (
        rule("POST", "/verifiable", _tamper_receipt("receipt", flip_digest_byte)),
        rule("PUT", "/verifiable/(?P<id>[^/]+)", _tamper_receipt(None, flip_digest_byte)),
    ),
}
PATCHES = {"wrong-proof-object-hash": patch_proof_object_hash}
