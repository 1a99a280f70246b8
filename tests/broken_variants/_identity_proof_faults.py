"""Faults of the identity profile's Data Integrity proofs: signing and the verify route.

Signing faults patch the node's proof route (``twin_reference._proofs``), never the immutable
proofs of anchoring; verifier faults either patch one check of the spec core's verifier in the
node's process or rewrite ``POST /identity/proof/verify`` around the real node.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from tests.broken_variants._asgi import Context, HttpRequest, HttpResponse, json_response, rule
from tests.broken_variants._fault import fault
from tests.broken_variants._patching import rebind
from twin_spec import (
    CRYPTOSUITE,
    DATA_INTEGRITY_PROOF_TYPE,
    Ed25519PublicKey,
    Ed25519SigningKey,
    KeyResolver,
    TwinSpecError,
    canonicalize,
    multibase_decode,
    multibase_encode,
    public_key_from_jwk,
    verify_proof,
)

VERIFY = "/identity/proof/verify"


def _sign_swapped(
    document: Mapping[str, object],
    key: Ed25519SigningKey,
    *,
    verification_method: str,
    created: str,
    proof_purpose: str = "assertionMethod",
    include_context: bool = False,
) -> dict[str, object]:
    """eddsa-jcs-2022 as a node that hashes the document first and the configuration second."""
    proof: dict[str, object] = {
        "type": DATA_INTEGRITY_PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if include_context and "@context" in document:
        proof["@context"] = document["@context"]
    config = {**proof, **({"@context": document["@context"]} if "@context" in document else {})}
    data = (
        hashlib.sha256(canonicalize(dict(document))).digest()
        + hashlib.sha256(canonicalize(config)).digest()
    )
    proof["proofValue"] = multibase_encode(key.sign(data))
    return {**document, "proof": proof}


def patch_proof_hashes_swapped() -> None:
    """Make the node's proof route sign SHA-256(document) || SHA-256(configuration)."""
    from twin_reference import _proofs

    rebind(_proofs, "sign_document", _sign_swapped)


def patch_proof_value_65_bytes() -> None:
    """Make the node's proof route answer proofValue with a stray zero byte after the 64."""
    from twin_reference import _proofs

    original = getattr(_proofs, "sign_document")  # noqa: B009 - a name it imports

    def sign(*args: Any, **kwargs: Any) -> dict[str, object]:
        signed = original(*args, **kwargs)
        proof = dict(signed["proof"])
        signature = multibase_decode(str(proof["proofValue"]), allowed="z")
        proof["proofValue"] = multibase_encode(signature + b"\x00")
        return {**signed, "proof": proof}

    rebind(_proofs, "sign_document", sign)


def _request_json(request: HttpRequest) -> dict[str, Any] | None:
    try:
        value = json.loads(request.body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def missing_proof_names_document(request: HttpRequest, context: Context) -> HttpResponse:
    """Refuse a verification without a proof as a bad document, not a missing proof."""
    body = _request_json(request)
    document = body.get("document") if body else None
    if (
        body is not None
        and isinstance(document, dict)
        and "proof" not in body
        and ("proof" not in document)
    ):
        return json_response(
            {
                "name": "ValidationError",
                "message": "body.document cannot be verified",
                "properties": {"field": "body.document"},
            },
            400,
        )
    return await context.forward(request)


def patch_proof_member_ignored(member: str, value: str) -> None:
    """Make the node's verifier read any proof ``member`` as ``value`` (type or cryptosuite)."""
    from twin_spec import _data_integrity

    original = _data_integrity._single_proof

    def single_proof(document: Mapping[str, object]) -> Mapping[str, object]:
        proof = document.get("proof")
        if isinstance(proof, Mapping) and member in proof:
            return original({**document, "proof": {**proof, member: value}})
        return original(document)

    rebind(_data_integrity, "_single_proof", single_proof)


async def verdicts_cached_by_proof(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer a proof verified before as verified again when the document's @context matches.

    The verification cache is keyed by the proof and the document's @context, not by the
    document: the same proof over a changed document is answered from the cache.
    """
    body = _request_json(request) or {}
    document, proof = body.get("document"), body.get("proof")
    if not isinstance(document, dict) or not isinstance(proof, dict):
        return await context.forward(request)
    key = json.dumps([proof, document.get("@context")], sort_keys=True)
    cache: dict[str, bytes] = context.memory.setdefault("verified", {})
    if key in cache:
        return HttpResponse(200, [("content-type", "application/json")], cache[key])
    response = await context.forward(request)
    answer = response.json()
    if isinstance(answer, dict) and answer.get("verified") is True:
        cache[key] = response.body
    return response


def _constant_key(key: Ed25519PublicKey) -> KeyResolver:
    """A key resolver that answers ``key`` for every method and purpose."""

    def resolve(method: str, purpose: str) -> Ed25519PublicKey:
        return key

    return resolve


async def key_from_the_document(request: HttpRequest, context: Context) -> HttpResponse:
    """Verify with the key the document itself carries for the proof's method, when it has one."""
    body = _request_json(request)
    document, proof = (body or {}).get("document"), (body or {}).get("proof")
    if isinstance(document, dict) and isinstance(proof, dict):
        for entry in document.get("verificationMethod", []):
            if not (isinstance(entry, dict) and entry.get("id") == proof.get("verificationMethod")):
                continue
            try:
                carried = public_key_from_jwk(entry["publicKeyJwk"])
                verify_proof({**document, "proof": proof}, _constant_key(carried))
            except (TwinSpecError, KeyError, TypeError):
                break
            return json_response({"verified": True})
    return await context.forward(request)


async def proof_context_from_document(request: HttpRequest, context: Context) -> HttpResponse:
    """Hash the proof configuration with the document's @context, whatever the proof's says."""
    body = _request_json(request)
    document, proof = (body or {}).get("document"), (body or {}).get("proof")
    shared = isinstance(proof, dict) and "@context" in proof
    if isinstance(document, dict) and isinstance(proof, dict) and shared and "@context" in document:
        proof["@context"] = document["@context"]
        changed = json.dumps({**(body or {}), "proof": proof}).encode()
        return await context.forward(
            HttpRequest(request.method, request.path, request.query, request.headers, changed)
        )
    return await context.forward(request)


def patch_created_without_zone() -> None:
    """Make the node's verifier take a created dateTime without a time zone."""
    from twin_spec import _data_integrity

    rebind(
        _data_integrity,
        "_DATETIME",
        re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?\Z"),
    )


FAULTS = (
    fault(
        "proof-hashes-swapped",
        "identity",
        "TWIN-IDENTITY-020",
        "the proof route signs SHA-256(document) || SHA-256(configuration), the wrong order",
        patch=patch_proof_hashes_swapped,
    ),
    fault(
        "proof-value-65-bytes",
        "identity",
        "TWIN-IDENTITY-021",
        "the proof route answers proofValue as 65 bytes: the signature and a stray zero byte",
        patch=patch_proof_value_65_bytes,
    ),
    fault(
        "missing-proof-names-document",
        "identity",
        "TWIN-IDENTITY-022",
        "verifying without a proof is refused 400 naming body.document; TWIN-CORE-052 asks "
        "properties.field to name the part at fault, so it breaks too",
        rules=(rule("POST", VERIFY, missing_proof_names_document),),
        also=("TWIN-CORE-052",),
    ),
    fault(
        "proof-type-ignored",
        "identity",
        "TWIN-IDENTITY-023",
        "the verifier reads any proof type as DataIntegrityProof",
        patch=lambda: patch_proof_member_ignored("type", DATA_INTEGRITY_PROOF_TYPE),
    ),
    fault(
        "cryptosuite-ignored",
        "identity",
        "TWIN-IDENTITY-024",
        "the verifier reads any cryptosuite as eddsa-jcs-2022",
        patch=lambda: patch_proof_member_ignored("cryptosuite", CRYPTOSUITE),
    ),
    fault(
        "proof-verdicts-cached",
        "identity",
        "TWIN-IDENTITY-025",
        "a proof that verified once verifies again over another document with the same "
        "@context (a verdict cache keyed by the proof, not the document)",
        rules=(rule("POST", VERIFY, verdicts_cached_by_proof),),
    ),
    fault(
        "proof-key-from-document",
        "identity",
        "TWIN-IDENTITY-026",
        "the verifier takes the key the document carries for the proof's method, if any",
        rules=(rule("POST", VERIFY, key_from_the_document),),
    ),
    fault(
        "proof-context-from-document",
        "identity",
        "TWIN-IDENTITY-027",
        "the verifier hashes the proof configuration with the document's @context",
        rules=(rule("POST", VERIFY, proof_context_from_document),),
    ),
    fault(
        "created-without-zone",
        "identity",
        "TWIN-IDENTITY-028",
        "the verifier takes a proof's created without a time zone",
        patch=patch_created_without_zone,
    ),
)
