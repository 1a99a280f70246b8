"""Verifiable presentations made and verified by the identity layer, with the spec core."""

from __future__ import annotations

import json
import time
from typing import Any

from twin_reference._errors import NotFoundError, ValidationError
from twin_reference._identity import method_id, owned
from twin_reference._node import Node
from twin_reference._proofs import COMPACT_JWS, verification_document
from twin_spec import (
    HOLDER_RELATIONSHIP,
    DidError,
    DidErrorCode,
    Ed25519SigningKey,
    JSONValue,
    JwtError,
    PresentationError,
    PresentationFailure,
    TwinSpecError,
    base64url_decode,
    build_presentation,
    parse_did,
    sign_presentation_jwt,
    verification_key,
    verify_presentation_jwt,
)

MAX_CREDENTIALS = 64


def holder_method(
    node: Node, caller: str, did: str, reference: str
) -> tuple[str, Ed25519SigningKey]:
    """Find an authentication method of a DID the caller controls, with its key in the vault."""
    vm_id = method_id(did, reference, "path.verificationMethodId")
    resolution = owned(node, caller, did)
    try:
        # TWIN-IDENTITY-071 "the key MUST come from ... that DID, authorized for authentication":
        # a node signs a presentation only with a key its holder may present with.
        verification_key(resolution.document, vm_id, HOLDER_RELATIONSHIP)
    except DidError as exc:
        error_class = (
            ValidationError
            if exc.code is DidErrorCode.VERIFICATION_METHOD_NOT_AUTHORIZED
            else NotFoundError
        )
        raise error_class(
            exc.message, field="path.verificationMethodId", code=exc.code.value
        ) from None
    key = node.vault.get(vm_id)
    if key is None:
        raise NotFoundError(
            f"this node holds no private key for {vm_id}", field="path.verificationMethodId"
        )
    return vm_id, key


def create_presentation(
    node: Node, caller: str, did: str, reference: str, body: dict[str, Any]
) -> dict[str, JSONValue]:
    """Make a presentation held by ``did`` and sign it as a VP-JWT with its holder key."""
    vm_id, key = holder_method(node, caller, did, reference)
    issued = int(time.time())
    expires = body.get("expiresInMinutes")
    try:
        presentation = build_presentation(
            did,
            body["verifiableCredentials"],
            presentation_id=body.get("presentationId"),
            contexts=body.get("contexts", ()),
            types=body.get("types", ()),
        )
        # TWIN-IDENTITY-070 "Its VP-JWT MUST have the header kid, typ JWT and alg EdDSA, and the
        # payload iss, nbf, jti, exp and vp."
        token = sign_presentation_jwt(
            presentation,
            key,
            verification_method=vm_id,
            issued_at_seconds=issued,
            expires_at_seconds=None if expires is None else issued + 60 * int(expires),
            challenge=body.get("challenge"),
            domain=body.get("domain"),
        )
    except TwinSpecError as exc:
        raise ValidationError(
            f"the presentation cannot be made: {exc.message}", field="body.verifiableCredentials"
        ) from None
    return {"verifiablePresentation": presentation, "jwt": token}


def verify_presentation(
    node: Node, token: str, *, challenge: str | None = None, domain: str | None = None
) -> dict[str, JSONValue]:
    """Verify a VP-JWT with the documents this node resolves; a failure is an answer.

    ``challenge`` and ``domain`` are the extension of TWIN-IDENTITY-076 (a MAY): when given,
    the presentation's nonce and aud must answer them.
    """
    # TWIN-IDENTITY-075 "GET /identity/verifiable-presentation/verify MUST answer verified true
    # only when the presentation passes TWIN-IDENTITY-071 to -074, with verifiablePresentation
    # and issuers; otherwise verified false with the failure code, and revoked true."
    if not COMPACT_JWS.match(token):
        raise ValidationError(
            "query.jwt is not a compact JWS (three base64url parts joined by '.')",
            field="query.jwt",
        )
    documents = _resolve_parties(node, token)
    try:
        verified = verify_presentation_jwt(
            token, documents, int(time.time()), challenge=challenge, domain=domain
        )
    except PresentationError as exc:
        answer: dict[str, JSONValue] = {
            "verified": False,
            "revoked": exc.reason == PresentationFailure.CREDENTIAL_REVOKED,
            "failure": exc.reason,
        }
        if exc.credential_index is not None:
            answer["credentialIndex"] = exc.credential_index
            answer["credentialFailure"] = exc.credential_failure
        return answer
    except JwtError as exc:
        return {"verified": False, "revoked": False, "failure": exc.reason.value}
    except DidError as exc:
        return {"verified": False, "revoked": False, "failure": exc.code.value}
    except TwinSpecError:
        return {"verified": False, "revoked": False, "failure": "presentationMalformed"}
    return {
        "verified": True,
        "revoked": False,
        "verifiablePresentation": verified.presentation,
        "issuers": list(verified.issuers),
    }


def _resolve_parties(node: Node, token: str) -> dict[str, dict[str, Any]]:
    """The DID documents this node resolves for the holder and the credentials' issuers.

    The token is read here only to learn which DIDs to resolve; the spec core then verifies
    everything against these documents. A DID this node cannot resolve is left out, and the
    spec core answers notFound for it.
    """
    dids: list[str] = []
    payload = _payload(token)
    dids.append(str(payload.get("iss")))
    vp = payload.get("vp")
    credentials = vp.get("verifiableCredential") if isinstance(vp, dict) else None
    for credential in credentials[:MAX_CREDENTIALS] if isinstance(credentials, list) else []:
        if isinstance(credential, str) and COMPACT_JWS.match(credential):
            dids.append(str(_payload(credential).get("iss")))
    documents: dict[str, dict[str, Any]] = {}
    for did in dict.fromkeys(dids):
        try:
            parse_did(did)
            documents[did] = verification_document(node, did)
        except TwinSpecError:
            continue
    return documents


def _payload(token: str) -> dict[str, Any]:
    try:
        value = json.loads(base64url_decode(token.split(".")[1]))
    except (TwinSpecError, ValueError, IndexError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}
