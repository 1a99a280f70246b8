"""Faults of the identity profile's credentials: VC-JWTs issued, and the credential verifier.

Verifier faults relax one check of the spec core's VC-JWT verification, and only while the
node's credential verify route runs (``_patching.scoped``): its bearer tokens, read by the same
JWT code, keep every check. Issuing faults patch what the node's credential route builds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from tests.broken_variants._fault import fault
from tests.broken_variants._patching import mark_scope, rebind, scoped
from twin_spec import VC_CONTEXT, CanonicalizationError, JSONValue

CREDENTIAL_SCOPE = "credential-verifier"


def _in_credential_verifier(module_name: str, name: str, replacement: Callable[..., Any]) -> None:
    """Replace ``twin_spec.<module_name>.name`` while the node verifies a credential."""
    import importlib

    from twin_reference import _proofs

    if not getattr(_proofs.verify_credential, "__wrapped__", None):
        mark_scope(_proofs, "verify_credential", CREDENTIAL_SCOPE)
    scoped(importlib.import_module(f"twin_spec.{module_name}"), name, CREDENTIAL_SCOPE, replacement)


def _last_value_wins(text: bytes | str) -> object:
    """JSON parsed as lenient parsers do: a repeated member name keeps its last value."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CanonicalizationError(f"not JSON: {exc}") from None


def _check_header_without(skipped: str) -> Callable[[Mapping[str, object]], None]:
    """The spec core's JWT header check without its ``alg`` or its ``crit`` rule."""
    from twin_spec import _jws

    strict = _jws._check_header

    def check(header: Mapping[str, object]) -> None:
        relaxed = dict(header)
        if skipped == "alg":
            relaxed["alg"] = "EdDSA"
        else:
            relaxed.pop("crit", None)
        strict(relaxed)

    return check


def _times_without_expiry(
    payload: Mapping[str, object], now_seconds: int, leeway_seconds: int = 0
) -> None:
    """The spec core's JWT time check, with exp left out."""
    from twin_spec import _jws

    _jws.check_jwt_times(
        {name: value for name, value in payload.items() if name != "exp"},
        now_seconds,
        leeway_seconds,
    )


def patch_issuer_unmatched() -> None:
    """Make the credential verifier take a kid of another DID than iss (no issuerMismatch)."""
    from twin_reference import _proofs
    from twin_spec import (
        JwtError,
        JwtFailure,
        check_jwt_times,
        credential_from_jwt_claims,
        credential_status_index,
        decode_jwt,
        parse_did_url,
        verify_decoded_jwt,
    )

    def verify(
        token: str, resolve_key: Callable[[str], Any], now_seconds: int, **_: Any
    ) -> dict[str, JSONValue]:
        decoded = decode_jwt(token)
        kid = decoded.header.get("kid")
        method = parse_did_url(kid) if isinstance(kid, str) else None
        if method is None or method.fragment is None or method.path or method.query is not None:
            raise JwtError(JwtFailure.MALFORMED, "kid is not a DID URL with a fragment")
        verify_decoded_jwt(decoded, resolve_key(str(kid)))
        check_jwt_times(decoded.payload, now_seconds)
        credential = credential_from_jwt_claims(decoded.payload)
        credential_status_index(credential)
        return credential

    rebind(_proofs, "verify_credential_jwt", verify)


def _claims_without_other_sub(payload: Mapping[str, object]) -> dict[str, JSONValue]:
    """Rebuild the credential ignoring a sub that differs from credentialSubject.id."""
    from twin_spec import credential_from_jwt_claims

    vc = payload.get("vc")
    subject = vc.get("credentialSubject") if isinstance(vc, Mapping) else None
    subject_id = subject.get("id") if isinstance(subject, Mapping) else None
    if "sub" in payload and subject_id is not None and payload["sub"] != subject_id:
        payload = {name: value for name, value in payload.items() if name != "sub"}
    return credential_from_jwt_claims(payload)


def _status_index_without_zeros(credential: Mapping[str, object]) -> int | None:
    """Read revocationBitmapIndex as int() does: '007' is entry 7."""
    from twin_spec import credential_status_index

    status = credential.get("credentialStatus")
    index = status.get("revocationBitmapIndex") if isinstance(status, Mapping) else None
    if isinstance(status, dict) and isinstance(index, str) and index.isdigit():
        status["revocationBitmapIndex"] = str(int(index))  # Read as a number, kept as read.
    return credential_status_index(credential)


def patch_credential_without_subject_context() -> None:
    """Make the node issue credentials whose @context is only the VC v2 context."""
    from twin_reference import _proofs

    original = getattr(_proofs, "build_credential")  # noqa: B009 - a name it imports

    def build(*args: Any, **kwargs: Any) -> dict[str, JSONValue]:
        credential = original(*args, **kwargs)
        return {**credential, "@context": [VC_CONTEXT]}

    rebind(_proofs, "build_credential", build)


def patch_jti_random() -> None:
    """Make the node's VC-JWTs carry a fresh random jti, not the credential's id."""
    from twin_reference import _proofs

    original = getattr(_proofs, "credential_jwt_claims")  # noqa: B009 - a name it imports

    def claims(*args: Any, **kwargs: Any) -> dict[str, JSONValue]:
        made: dict[str, JSONValue] = original(*args, **kwargs)
        if "jti" in made:
            made["jti"] = f"urn:uuid:{uuid.uuid4()}"
        return made

    rebind(_proofs, "credential_jwt_claims", claims)


FAULTS = (
    fault(
        "jwt-duplicate-claims",
        "identity",
        "TWIN-IDENTITY-035",
        "the credential verifier parses JWT parts leniently: a repeated member keeps its last "
        "value; that is the I-JSON rule TWIN-CORE-003 too, which its vector names",
        patch=lambda: _in_credential_verifier("_jws", "parse_json", _last_value_wins),
        also=("TWIN-CORE-003",),
    ),
    fault(
        "jwt-alg-unchecked",
        "identity",
        "TWIN-IDENTITY-036",
        "the credential verifier checks the Ed25519 signature whatever alg the header names",
        patch=lambda: _in_credential_verifier(
            "_jws", "_check_header", _check_header_without("alg")
        ),
    ),
    fault(
        "jwt-crit-ignored",
        "identity",
        "TWIN-IDENTITY-037",
        "the credential verifier ignores a crit header",
        patch=lambda: _in_credential_verifier(
            "_jws", "_check_header", _check_header_without("crit")
        ),
    ),
    fault(
        "jwt-signature-unchecked",
        "identity",
        "TWIN-IDENTITY-038",
        "the credential verifier never checks the JWT's signature; the malleated-S vector it "
        "then accepts names TWIN-CORE-011, the Ed25519 rule it exercises",
        patch=lambda: _in_credential_verifier(
            "_credentials", "verify_decoded_jwt", lambda decoded, key: None
        ),
        also=("TWIN-CORE-011",),
    ),
    fault(
        "jwt-expiry-ignored",
        "identity",
        "TWIN-IDENTITY-039",
        "the credential verifier accepts an expired VC-JWT (exp is not checked)",
        patch=lambda: _in_credential_verifier(
            "_credentials", "check_jwt_times", _times_without_expiry
        ),
    ),
    fault(
        "credential-without-subject-context",
        "identity",
        "TWIN-IDENTITY-040",
        "issued credentials drop the subject's @context values after the VC v2 context",
        patch=patch_credential_without_subject_context,
    ),
    fault(
        "jwt-jti-random",
        "identity",
        "TWIN-IDENTITY-041",
        "issued VC-JWTs carry a fresh random jti, not the credential's id",
        patch=patch_jti_random,
    ),
    fault(
        "jwt-issuer-unmatched",
        "identity",
        "TWIN-IDENTITY-042",
        "the credential verifier takes a kid naming a method of another DID than iss",
        patch=patch_issuer_unmatched,
    ),
    fault(
        "jwt-sub-unchecked",
        "identity",
        "TWIN-IDENTITY-043",
        "the credential verifier ignores a sub that differs from credentialSubject.id",
        patch=lambda: _in_credential_verifier(
            "_credentials", "credential_from_jwt_claims", _claims_without_other_sub
        ),
    ),
    fault(
        "status-index-leading-zeros",
        "identity",
        "TWIN-IDENTITY-044",
        "the credential verifier reads revocationBitmapIndex '007' as entry 7",
        patch=lambda: _in_credential_verifier(
            "_credentials", "credential_status_index", _status_index_without_zeros
        ),
    ),
)
