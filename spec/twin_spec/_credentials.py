"""Verifiable credentials as VC-JWTs, in the shape the TWIN node issues them.

The credential's id, issuer, issuance and expiration dates travel as the JWT claims jti, iss,
nbf and exp; the rest of it is the ``vc`` claim. The header names the signing method as kid.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import TypeAlias, cast

from twin_spec._dids import parse_did, parse_did_url
from twin_spec._ed25519 import Ed25519PublicKey, Ed25519SigningKey
from twin_spec._errors import JwtError, JwtFailure, TwinSpecError
from twin_spec._jcs import JSONValue, canonicalize
from twin_spec._jws import (
    JWT_ALGORITHM,
    check_jwt_times,
    decode_jwt,
    encode_jwt,
    verify_decoded_jwt,
)
from twin_spec._status_list import STATUS_LIST_BITS, STATUS_LIST_FRAGMENT, STATUS_LIST_TYPE
from twin_spec._timestamps import iso_from_ms, seconds_from_iso

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
VC_TYPE = "VerifiableCredential"
# Credential members that are JWT claims in a VC-JWT, never members of the vc claim.
_CLAIMED_MEMBERS = ("id", "issuer", "issuanceDate", "expirationDate")
_DECIMAL_INDEX = re.compile(r"(?:0|[1-9][0-9]{0,5})\Z")

CredentialKeyResolver: TypeAlias = Callable[[str], Ed25519PublicKey]
"""Maps a VC-JWT's kid to the key the verifier's own resolution of the issuer found."""


def build_credential(
    issuer: str,
    subject: Mapping[str, object],
    *,
    credential_id: str | None = None,
    issued_at_ms: int,
    status_index: int | None = None,
    expiration_date: str | None = None,
) -> dict[str, JSONValue]:
    """Make the credential a TWIN node issues for ``subject`` (before it is signed as a JWT)."""
    # TWIN-IDENTITY-040 "A credential MUST have @context the VC v2 context then the subject's,
    # type VerifiableCredential then the subject's @type, credentialSubject the subject without
    # @context and @type, the issuer DID, and issuanceDate as ISO-8601 with milliseconds and Z."
    parse_did(issuer)
    if not isinstance(subject, Mapping):
        raise _malformed(
            f"a credential subject is a JSON object, got {type(subject).__name__}",
            requirement="TWIN-IDENTITY-040",
        )
    contexts: list[JSONValue] = [VC_CONTEXT]
    _append_new(contexts, subject.get("@context"))
    types: list[JSONValue] = [VC_TYPE]
    _append_new(types, subject["@type"] if "@type" in subject else subject.get("type"))
    credential: dict[str, JSONValue] = {"@context": contexts}
    if credential_id is not None:
        credential["id"] = _string(credential_id, "credential id")
    credential["type"] = types
    credential["credentialSubject"] = _json_copy(
        {name: value for name, value in subject.items() if name not in ("@context", "@type")}
    )
    credential["issuer"] = issuer
    credential["issuanceDate"] = _iso(issued_at_ms, "issued_at_ms")
    if expiration_date is not None:
        credential["expirationDate"] = _iso(_seconds(expiration_date) * 1000, "expirationDate")
    if status_index is not None:
        credential["credentialStatus"] = credential_status(issuer, status_index)
    return _json_copy(credential)


def credential_status(issuer: str, index: int) -> dict[str, JSONValue]:
    """Return the credentialStatus pointing at entry ``index`` of the issuer's status list."""
    # TWIN-IDENTITY-044 "credentialStatus MUST have id the issuer's DID#revocation, type
    # BitstringStatusList, and revocationBitmapIndex the entry as a decimal string from 0 to
    # 131071."
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < STATUS_LIST_BITS:
        raise _malformed(
            f"revocation index {index!r} is not an integer from 0 to {STATUS_LIST_BITS - 1}",
            requirement="TWIN-IDENTITY-044",
        )
    return {
        "id": f"{issuer}#{STATUS_LIST_FRAGMENT}",
        "type": STATUS_LIST_TYPE,
        "revocationBitmapIndex": str(index),
    }


def credential_status_index(credential: Mapping[str, object]) -> int | None:
    """Return the status list entry a credential names, or None when it has no credentialStatus."""
    status = credential.get("credentialStatus")
    if status is None:
        return None
    index = status.get("revocationBitmapIndex") if isinstance(status, Mapping) else None
    if not (isinstance(index, str) and _DECIMAL_INDEX.match(index)):
        raise _malformed(
            f"credentialStatus revocationBitmapIndex {index!r} is not a decimal string",
            requirement="TWIN-IDENTITY-044",
        )
    expected = credential_status(str(credential.get("issuer")), int(index))
    if status != expected:  # TWIN-IDENTITY-044
        raise _malformed(
            f"credentialStatus must be exactly {expected}", requirement="TWIN-IDENTITY-044"
        )
    return int(index)


def credential_jwt_claims(
    credential: Mapping[str, object], issued_at_seconds: int
) -> dict[str, JSONValue]:
    """Return the VC-JWT payload of a credential: iss, nbf, jti, sub, exp and vc."""
    # TWIN-IDENTITY-041 "The VC-JWT payload MUST carry iss the issuer, nbf the issuance in
    # seconds, jti the credential id and sub the subject id when they exist, exp the expiration
    # in seconds when there is one, and vc the credential without id, issuer and both dates."
    issuer = credential.get("issuer")
    if not isinstance(issuer, str):
        raise _malformed(f"credential issuer {issuer!r} is not a DID string")
    claims: dict[str, JSONValue] = {"iss": issuer, "nbf": issued_at_seconds}
    if "id" in credential:
        claims["jti"] = _string(credential["id"], "credential id")
    subject = credential.get("credentialSubject")
    if isinstance(subject, Mapping) and isinstance(subject.get("id"), str):
        claims["sub"] = str(subject["id"])
    if "expirationDate" in credential:
        claims["exp"] = _seconds(credential["expirationDate"])
    claims["vc"] = _json_copy(
        {name: value for name, value in credential.items() if name not in _CLAIMED_MEMBERS}
    )
    return claims


def credential_from_jwt_claims(payload: Mapping[str, object]) -> dict[str, JSONValue]:
    """Rebuild the credential from a VC-JWT payload (the inverse of credential_jwt_claims)."""
    vc = _check_vc(payload.get("vc"))
    issuer = payload.get("iss")
    nbf = payload.get("nbf")
    if not isinstance(issuer, str):
        raise _malformed(f"VC-JWT iss {issuer!r} is not a DID string")
    if not isinstance(nbf, int) or isinstance(nbf, bool):
        raise _malformed(f"VC-JWT nbf {nbf!r} is not an integer count of seconds")
    subject = cast(dict[str, JSONValue], vc["credentialSubject"])
    if "sub" in payload:
        sub = _string(payload["sub"], "VC-JWT sub")
        if subject.setdefault("id", sub) != sub:
            raise _malformed(f"VC-JWT sub {sub!r} differs from credentialSubject.id")
    credential: dict[str, JSONValue] = {"@context": vc["@context"]}
    if "jti" in payload:
        credential["id"] = _string(payload["jti"], "VC-JWT jti")
    credential["type"] = vc["type"]
    credential["credentialSubject"] = subject
    credential["issuer"] = issuer
    credential["issuanceDate"] = _iso(nbf * 1000, "nbf")
    if "exp" in payload:
        exp = payload["exp"]
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise _malformed(f"VC-JWT exp {exp!r} is not an integer count of seconds")
        credential["expirationDate"] = _iso(exp * 1000, "exp")
    for name, value in vc.items():
        credential.setdefault(name, value)
    return credential


def sign_credential_jwt(
    credential: Mapping[str, object],
    signing_key: Ed25519SigningKey,
    *,
    verification_method: str,
    issued_at_seconds: int,
) -> str:
    """Sign a credential as a VC-JWT with header {kid, typ JWT, alg EdDSA}."""
    # TWIN-IDENTITY-041 "The VC-JWT header is kid the signing method's DID URL, typ JWT, alg
    # EdDSA."
    header = {"kid": verification_method, "typ": "JWT", "alg": JWT_ALGORITHM}
    return encode_jwt(header, credential_jwt_claims(credential, issued_at_seconds), signing_key)


def verify_credential_jwt(
    token: str,
    resolve_key: CredentialKeyResolver,
    now_seconds: int,
    *,
    leeway_seconds: int = 0,
) -> dict[str, JSONValue]:
    """Verify a VC-JWT and return its credential; raise JwtError or DidError saying what failed.

    ``resolve_key(kid)`` must return the key of that method as the verifier's own resolution of
    the issuer's DID document authorizes it for assertionMethod; its errors propagate.
    """
    decoded = decode_jwt(token)
    kid = decoded.header.get("kid")
    if not isinstance(kid, str):
        raise _malformed(
            "the VC-JWT header has no kid naming the signing method",
            reason=JwtFailure.MALFORMED,
            requirement="TWIN-IDENTITY-042",
        )
    issuer = decoded.payload.get("iss")
    if not isinstance(issuer, str):
        raise _malformed(
            "the VC-JWT payload has no iss naming the issuer",
            reason=JwtFailure.MALFORMED,
            requirement="TWIN-IDENTITY-042",
        )
    # TWIN-IDENTITY-042 "A verifier MUST refuse a VC-JWT whose kid is not a DID URL with a
    # fragment under the iss DID (issuerMismatch), and MUST take the key from its own resolution
    # of the issuer's DID document, for assertionMethod."
    method = parse_did_url(kid)
    if method.fragment is None or method.path or method.query is not None:
        raise _malformed(
            f"kid {kid[:80]!r} is not a DID URL with just a fragment naming a method",
            reason=JwtFailure.MALFORMED,
            requirement="TWIN-IDENTITY-042",
        )
    if str(method.did) != str(parse_did(issuer)):
        raise _malformed(
            f"kid {kid[:80]!r} is a method of {method.did}, but the issuer (iss) is {issuer[:80]}",
            reason=JwtFailure.ISSUER_MISMATCH,
            requirement="TWIN-IDENTITY-042",
        )
    verify_decoded_jwt(decoded, resolve_key(kid))
    check_jwt_times(decoded.payload, now_seconds, leeway_seconds)
    credential = credential_from_jwt_claims(decoded.payload)
    credential_status_index(credential)
    return credential


def _check_vc(vc: object) -> dict[str, JSONValue]:
    # TWIN-IDENTITY-043 "The vc claim MUST be an object with @context an array starting with
    # the VC v2 context, type an array holding VerifiableCredential, credentialSubject an
    # object, and none of id, issuer, issuanceDate, expirationDate; else credentialMalformed."
    if not isinstance(vc, Mapping):
        raise _malformed(f"the VC-JWT vc claim is {type(vc).__name__}, not a JSON object")
    context = vc.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT:
        raise _malformed(f"vc @context must be an array starting with {VC_CONTEXT!r}")
    types = vc.get("type")
    if not isinstance(types, list) or VC_TYPE not in types:
        raise _malformed(f"vc type must be an array holding {VC_TYPE!r}")
    if not isinstance(vc.get("credentialSubject"), Mapping):
        raise _malformed("vc credentialSubject must be a JSON object")
    for name in _CLAIMED_MEMBERS:
        if name in vc:
            raise _malformed(f"vc carries {name}; in a VC-JWT it is a JWT claim instead")
    return _json_copy(vc)


def _append_new(values: list[JSONValue], extra: object) -> None:
    items = extra if isinstance(extra, list) else [] if extra is None else [extra]
    for item in cast(list[JSONValue], items):
        if item not in values:
            values.append(item)


def _string(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise _malformed(f"{what} {value!r} is not a string")
    return value


def _iso(ms: int, what: str) -> str:
    try:
        return iso_from_ms(ms)
    except TwinSpecError as exc:
        raise _malformed(f"{what}: {exc.message}") from None


def _json_copy(value: Mapping[str, object]) -> dict[str, JSONValue]:
    """A deep copy of a JSON object, after checking that it is one."""
    try:
        canonicalize(value)
    except TwinSpecError as exc:
        raise _malformed(f"not JSON: {exc.message}") from None
    return cast(dict[str, JSONValue], copy.deepcopy(dict(value)))


def _seconds(text: object) -> int:
    checked = _string(text, "expirationDate")
    try:
        return seconds_from_iso(checked)
    except TwinSpecError as exc:
        raise _malformed(f"expirationDate: {exc.message}") from None


def _malformed(
    message: str,
    *,
    reason: JwtFailure = JwtFailure.CREDENTIAL_MALFORMED,
    requirement: str = "TWIN-IDENTITY-043",
) -> JwtError:
    return JwtError(reason, message, requirement=requirement)
