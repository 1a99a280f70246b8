"""Data Integrity proofs and verifiable credentials made and checked by the identity layer."""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable
from typing import Any

from twin_reference._errors import NotFoundError, ValidationError
from twin_reference._identity import owned, signing_method
from twin_reference._node import Node, iso_now, now_ms
from twin_reference._transactions import DID_UPDATE
from twin_spec import (
    DidError,
    DidErrorCode,
    Ed25519PublicKey,
    JSONValue,
    JwtError,
    KeyResolver,
    ProofVerificationError,
    TwinSpecError,
    build_credential,
    credential_jwt_claims,
    decode_status_list,
    did_key_document,
    encode_jwt,
    encode_status_list,
    parse_did_url,
    sign_document,
    status_bit,
    verification_key,
    verify_credential_jwt,
    verify_proof,
    with_status_bit,
)

COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\Z")


def verification_document(node: Node, did: str) -> dict[str, Any]:
    """The DID document a verifier trusts for ``did``: did:key, or this ledger's did:twin."""
    if did.startswith("did:key:"):
        return did_key_document(did)
    row = node.store.one("SELECT document, deactivated FROM dids WHERE did = ?", did)
    if row is None:
        raise DidError(DidErrorCode.NOT_FOUND, f"{did} is not on this ledger")
    if row[1]:
        raise DidError(
            DidErrorCode.VERIFICATION_METHOD_NOT_FOUND, f"{did} is deactivated; its keys are void"
        )
    stored: dict[str, Any] = json.loads(str(row[0]))
    return stored


def key_resolver(node: Node) -> KeyResolver:
    """Resolve (verificationMethod, purpose) to a key by the verifier's own resolution."""

    def resolve_key(method: str, purpose: str) -> Ed25519PublicKey:
        url = parse_did_url(method)
        return verification_key(verification_document(node, str(url.did)), method, purpose)

    return resolve_key


def create_proof(
    node: Node, caller: str, did: str, reference: str, document: dict[str, Any]
) -> dict[str, JSONValue]:
    """Sign ``document`` with an assertion method of ``did`` (caller must control it)."""
    vm_id, key = signing_method(node, caller, did, reference)
    if "proof" in document:
        raise ValidationError("body.document already carries a proof", field="body.document.proof")
    try:
        signed = sign_document(
            document, key, verification_method=vm_id, created=iso_now(), include_context=True
        )
    except TwinSpecError as exc:
        raise ValidationError(
            f"body.document cannot be signed: {exc.message}", field="body.document"
        ) from None
    proof = signed["proof"]
    assert isinstance(proof, dict)  # noqa: S101 - sign_document attaches an object
    return proof


def verify_document_proof(
    node: Node, document: dict[str, Any], proof: object
) -> dict[str, JSONValue]:
    """Verify a document and its detached proof; a failure is an answer, not an error."""
    # TWIN-IDENTITY-064 "Proof verification MUST answer verified false with the failure reason,
    # taking the key from the verifier's own resolution of verificationMethod."
    secured = {**document, "proof": proof}
    try:
        verify_proof(secured, key_resolver(node), expected_purpose=None)
    except ProofVerificationError as exc:
        return {"verified": False, "failure": exc.reason.value}
    except DidError as exc:
        return {"verified": False, "failure": exc.code.value}
    except TwinSpecError:
        return {"verified": False, "failure": "proofMalformed"}
    return {"verified": True}


def create_credential(
    node: Node,
    caller: str,
    did: str,
    reference: str,
    body: dict[str, Any],
) -> dict[str, JSONValue]:
    """Issue a credential as an EdDSA JWT signed with an assertion method of ``did``."""
    vm_id, key = signing_method(node, caller, did, reference)
    issued_ms = now_ms()
    try:
        credential = build_credential(
            did,
            body["subject"],
            credential_id=body.get("credentialId"),
            issued_at_ms=issued_ms,
            status_index=body.get("revocationIndex"),
            expiration_date=body.get("expirationDate"),
        )
        claims = credential_jwt_claims(credential, issued_ms // 1000)
    except TwinSpecError as exc:
        raise ValidationError(
            f"the credential cannot be built: {exc.message}", field="body.subject"
        ) from None
    token = encode_jwt({"kid": vm_id, "typ": "JWT", "alg": "EdDSA"}, claims, key)
    return {"verifiableCredential": credential, "jwt": token}


def verify_credential(node: Node, token: str) -> dict[str, JSONValue]:
    """Verify a credential JWT and its revocation status in the issuer's status list."""
    # TWIN-IDENTITY-065 "Credential verification MUST check the signature with the issuer's
    # assertion method as resolved by the verifier, the validity times, and the status bit."
    if not COMPACT_JWS.match(token):
        raise ValidationError(
            "query.jwt is not a compact JWS (three base64url parts joined by '.')",
            field="query.jwt",
        )
    try:
        credential = verify_credential_jwt(token, _jwt_key_resolver(node), int(time.time()))
    except JwtError as exc:
        return {"verified": False, "revoked": False, "failure": exc.reason.value}
    except DidError as exc:
        return {"verified": False, "revoked": False, "failure": exc.code.value}
    except TwinSpecError:
        return {"verified": False, "revoked": False, "failure": "credentialMalformed"}
    revoked = _is_revoked(node, credential)
    # `verified` is the signature, times and payload; `revoked` is the status bit, reported
    # beside it (the operation's "revoked" example), so a verifier sees both facts.
    return {"verified": True, "revoked": revoked, "verifiableCredential": credential}


def _jwt_key_resolver(node: Node) -> Callable[[str], Ed25519PublicKey]:
    def resolve_key(kid: str) -> Ed25519PublicKey:
        url = parse_did_url(kid)
        return verification_key(verification_document(node, str(url.did)), kid, "assertionMethod")

    return resolve_key


def _is_revoked(node: Node, credential: dict[str, Any]) -> bool:
    status = credential.get("credentialStatus")
    if not isinstance(status, dict):
        return False
    issuer = str(credential.get("issuer"))
    try:
        document = verification_document(node, issuer)
        bits = decode_status_list(_status_endpoint(document))
        return status_bit(bits, int(str(status.get("revocationBitmapIndex"))))
    except (TwinSpecError, ValueError):
        # A status the verifier cannot read is treated as revoked: fail closed.
        return True


def _status_endpoint(document: dict[str, Any]) -> str:
    for service in document.get("service", []):
        if isinstance(service, dict) and str(service.get("id", "")).endswith("#revocation"):
            return str(service.get("serviceEndpoint"))
    raise ValueError("the issuer's DID document has no revocation status list")


async def set_revocation(node: Node, caller: str, did: str, index: int, revoked: bool) -> None:
    """Set or clear one bit of the DID's BitstringStatusList, through the ledger."""
    resolution = owned(node, caller, did)
    document = copy.deepcopy(resolution.document)
    for service in document.get("service", []):
        if isinstance(service, dict) and service.get("id") == f"{did}#revocation":
            bits = decode_status_list(str(service["serviceEndpoint"]))
            service["serviceEndpoint"] = encode_status_list(with_status_bit(bits, index, revoked))
            break
    else:
        raise NotFoundError(f"{did} has no revocation status list", field="path.identity")
    await node.execute(
        DID_UPDATE, caller, {"did": did, "document": document, "version": resolution.version}
    )
