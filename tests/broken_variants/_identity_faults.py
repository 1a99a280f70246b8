"""Faults of the identity profile: resolution, deactivation, proofs, credentials, did:key."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.broken_variants._asgi import (
    Context,
    HttpRequest,
    HttpResponse,
    json_response,
    rule,
    with_json,
)
from tests.broken_variants._fault import fault
from tests.broken_variants._patching import rebind
from twin_spec import (
    VERIFICATION_RELATIONSHIPS,
    DidError,
    Ed25519PublicKey,
    Ed25519SigningKey,
    KeyResolver,
    did_key_from_public_key,
)

DID_RESOLUTION = "application/did-resolution"
IDENTITY = "/identity/(?P<did>did:[^/]+)"
METHOD_LISTS = ("verificationMethod", *VERIFICATION_RELATIONSHIPS)


def _document_of(response: HttpResponse) -> dict[str, Any] | None:
    """The DID document of a 200 resolution, plain or inside a resolution result."""
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return None
    document = body.get("didDocument", body) if "didResolutionMetadata" in body else body
    return document if isinstance(document, dict) else None


def _method_id(entry: object) -> str | None:
    """The id of a listed verification method, embedded or by reference."""
    if isinstance(entry, dict):
        return str(entry.get("id"))
    return str(entry) if isinstance(entry, str) else None


async def resolver_drops_verification_method(
    request: HttpRequest, context: Context
) -> HttpResponse:
    """Resolve a did:twin without its authentication methods (the node still holds them)."""
    response = await context.forward(request)
    document = _document_of(response)
    if document is None or not request.params["did"].startswith("did:twin:"):
        return response
    dropped = {_method_id(entry) for entry in document.get("authentication", [])}
    if not dropped:
        return response
    for name in METHOD_LISTS:
        if name in document:
            document[name] = [e for e in document[name] if _method_id(e) not in dropped]
            if not document[name]:
                del document[name]
    return with_json(response, _rebuild(response, document))


def _rebuild(response: HttpResponse, document: dict[str, Any]) -> Any:
    """The response body with ``document`` put back where it came from."""
    body = response.json()
    if isinstance(body, dict) and "didResolutionMetadata" in body:
        return {**body, "didDocument": document}
    return document


async def deactivated_did_still_resolves(request: HttpRequest, context: Context) -> HttpResponse:
    """Resolve a deactivated DID as 200 with its last document, as if it were active."""
    response = await context.forward(request)
    if response.status != 410:
        return response
    # The last document is not served by any route once the DID is deactivated, so this fault
    # reads it from the node's ledger state (the one place a variant looks inside the node).
    from twin_reference._identity import lookup

    resolution = lookup(context.app.state.node, request.params["did"])
    if DID_RESOLUTION in request.headers.get("accept", ""):
        metadata = {k: v for k, v in resolution.metadata.items() if k != "deactivated"}
        result = {
            "didDocument": resolution.document,
            "didResolutionMetadata": {"contentType": "application/did+json"},
            "didDocumentMetadata": metadata,
        }
        return json_response(result, media_type=DID_RESOLUTION)
    return json_response(resolution.document)


async def did_key_wrong_key(request: HttpRequest, context: Context) -> HttpResponse:
    """Resolve a did:key to a document whose verification method holds another key."""
    response = await context.forward(request)
    document = _document_of(response)
    did = request.params["did"]
    if document is None or not did.startswith("did:key:"):
        return response
    other = Ed25519SigningKey(hashlib.sha256(did.encode()).digest()).public_key
    wrong = did_key_from_public_key(other).removeprefix("did:key:")
    for method in document.get("verificationMethod", []):
        if isinstance(method, dict) and "publicKeyMultibase" in method:
            method["publicKeyMultibase"] = wrong
    return with_json(response, _rebuild(response, document))


async def malformed_did_is_500(request: HttpRequest, context: Context) -> HttpResponse:
    """Fail with 500 where resolution should answer 400 (a malformed DID)."""
    response = await context.forward(request)
    if response.status != 400:
        return response
    return json_response(
        {"name": "GeneralError", "message": "the node failed to handle the request"}, 500
    )


def patch_proof_verify_uses_vault_keys() -> None:
    """Make the proof verifier fall back on the keys the node holds for methods it removed."""
    from twin_reference import _proofs
    from twin_reference._identity import lookup
    from twin_spec import DidErrorCode

    original = _proofs.key_resolver

    def key_resolver(node: Any) -> KeyResolver:
        resolve = original(node)

        def resolve_key(method: str, purpose: str) -> Ed25519PublicKey:
            try:
                return resolve(method, purpose)
            except DidError as exc:
                held = node.vault.get(method)
                if exc.code is not DidErrorCode.VERIFICATION_METHOD_NOT_FOUND or held is None:
                    raise
                did = method.split("#", 1)[0]
                if did.startswith("did:key:") or lookup(node, did).deactivated:
                    raise
                return held.public_key  # type: ignore[no-any-return]

        return resolve_key

    rebind(_proofs, "key_resolver", key_resolver)


async def credential_ignores_revocation(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer a revoked credential as verified and not revoked."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict) or body.get("revoked") is not True:
        return response
    return with_json(response, {**body, "verified": True, "revoked": False})


FAULTS = (
    fault(
        "proof-verify-uses-vault-keys",
        "identity",
        "TWIN-IDENTITY-064",
        "the proof verifier falls back on the key the node still holds for a removed method",
        patch=patch_proof_verify_uses_vault_keys,
    ),
    fault(
        "resolver-drops-verification-method",
        "identity",
        # The node keeps a method its served document no longer lists.
        "TWIN-IDENTITY-013",
        "resolving a did:twin leaves out its authentication methods, which the node keeps",
        rules=(rule("GET", IDENTITY, resolver_drops_verification_method),),
    ),
    fault(
        "deactivated-did-still-resolves",
        "identity",
        "TWIN-IDENTITY-062",
        "a deactivated DID resolves 200 with its last document instead of 410",
        rules=(rule("GET", IDENTITY, deactivated_did_still_resolves),),
    ),
    fault(
        "credential-ignores-revocation",
        "identity",
        "TWIN-IDENTITY-065",
        "credential verification answers a revoked credential as verified, not revoked",
        rules=(
            rule("GET", "/identity/verifiable-credential/verify", credential_ignores_revocation),
        ),
    ),
    fault(
        "did-key-wrong-key",
        "identity",
        "TWIN-IDENTITY-002",
        "a did:key resolves to a verification method holding another public key",
        rules=(rule("GET", IDENTITY, did_key_wrong_key),),
    ),
    fault(
        "malformed-did-500",
        "core",
        "TWIN-CORE-054",
        "resolving a malformed DID answers 500 instead of 400 invalidDid: one failure, the "
        "other malformed DIDs blocked by it (SUITE-012)",
        run_profile="identity",
        rules=(rule("GET", "/identity/(?P<did>[^/]+)", malformed_did_is_500),),
        max_failures=1,
    ),
)
