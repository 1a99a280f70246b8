"""Verifiable presentations as VP-JWTs, made and verified offline.

A holder wraps credential JWTs in a presentation and signs it with one of its own
``authentication`` keys. A verifier checks the holder's signature with the key of the ``iss``
DID as it resolved it, the presentation's times, every credential inside with its issuer's key,
and each credential's bit in its issuer's status list. Resolved DID documents (which carry the
status lists) are passed in as data; did:key documents are derived from the DID itself.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import cast

from twin_spec._credentials import VC_CONTEXT, credential_status_index, verify_credential_jwt
from twin_spec._did_document import verification_key
from twin_spec._did_key import did_key_document
from twin_spec._dids import parse_did, parse_did_url
from twin_spec._ed25519 import Ed25519PublicKey, Ed25519SigningKey
from twin_spec._errors import DidError, DidErrorCode, JwtError, JwtFailure, TwinSpecError
from twin_spec._jcs import JSONValue, canonicalize
from twin_spec._jws import JWT_ALGORITHM, check_jwt_times, decode_jwt, encode_jwt
from twin_spec._status_list import STATUS_LIST_FRAGMENT, decode_status_list, status_bit

VP_TYPE = "VerifiablePresentation"
HOLDER_RELATIONSHIP = "authentication"
ISSUER_RELATIONSHIP = "assertionMethod"
# Presentation members that are JWT claims in a VP-JWT (jti and iss), never members of vp.
_CLAIMED_MEMBERS = ("id", "holder")
MAX_PRESENTED_CREDENTIALS = 64


class PresentationFailure(StrEnum):
    """Why a presentation was refused, beyond the JWT reasons (``JwtFailure``) and DID errors."""

    HOLDER_MISMATCH = "holderMismatch"
    PRESENTATION_MALFORMED = "presentationMalformed"
    CREDENTIAL_INVALID = "credentialInvalid"
    CREDENTIAL_REVOKED = "credentialRevoked"
    CHALLENGE_MISMATCH = "challengeMismatch"
    DOMAIN_MISMATCH = "domainMismatch"


class PresentationError(TwinSpecError):
    """A presentation is refused; ``.reason`` is a PresentationFailure, JwtFailure or DID code.

    For ``credentialInvalid`` and ``credentialRevoked``, ``credential_index`` names the
    credential (from 0) and ``credential_failure`` the credential's own reason.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        requirement: str | None = None,
        credential_index: int | None = None,
        credential_failure: str | None = None,
    ) -> None:
        super().__init__(message, requirement=requirement)
        self.reason = reason
        self.credential_index = credential_index
        self.credential_failure = credential_failure


@dataclass(frozen=True)
class VerifiedPresentation:
    """A presentation that verified: itself (holder and id restored), its credentials, issuers."""

    presentation: dict[str, JSONValue]
    credentials: list[dict[str, JSONValue]]
    issuers: list[dict[str, JSONValue]]


def build_presentation(
    holder: str,
    credentials: Sequence[str],
    *,
    presentation_id: str | None = None,
    contexts: Sequence[str] = (),
    types: Sequence[str] = (),
) -> dict[str, JSONValue]:
    """Make the presentation a TWIN node makes for ``holder`` from credential JWTs."""
    # TWIN-IDENTITY-070 "A presentation a node makes MUST have @context the VC v2 context then
    # the requested contexts, type VerifiablePresentation then the requested types,
    # verifiableCredential the credential JWTs given, holder the presenting DID, and id."
    parse_did(holder)
    _check_credential_list(list(credentials))
    context: list[JSONValue] = [VC_CONTEXT]
    context += [item for item in contexts if item not in context]
    type_: list[JSONValue] = [VP_TYPE]
    type_ += [item for item in types if item not in type_]
    presentation: dict[str, JSONValue] = {"@context": context}
    if presentation_id is not None:
        presentation["id"] = presentation_id
    presentation["type"] = type_
    presentation["verifiableCredential"] = list(credentials)
    presentation["holder"] = holder
    return presentation


def presentation_jwt_claims(
    presentation: Mapping[str, object],
    issued_at_seconds: int,
    *,
    expires_at_seconds: int | None = None,
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, JSONValue]:
    """Return the VP-JWT payload: iss, nbf, jti, exp, nonce, aud and vp."""
    # TWIN-IDENTITY-070 "the payload iss (the holder), nbf (seconds), jti (the id) when there is
    # one, exp when it expires, and vp, the presentation without id and holder."
    holder = presentation.get("holder")
    if not isinstance(holder, str):
        raise _refuse(
            PresentationFailure.PRESENTATION_MALFORMED,
            f"presentation holder {holder!r} is not a DID string",
            "TWIN-IDENTITY-070",
        )
    claims: dict[str, JSONValue] = {"iss": holder, "nbf": issued_at_seconds}
    if "id" in presentation:
        claims["jti"] = cast(JSONValue, presentation["id"])
    if expires_at_seconds is not None:
        claims["exp"] = expires_at_seconds
    # TWIN-IDENTITY-076 "A node MAY bind a presentation to a verifier's request: a challenge and
    # a domain are written as the VP-JWT claims nonce and aud."
    if challenge is not None:
        claims["nonce"] = challenge
    if domain is not None:
        claims["aud"] = domain
    vp = {name: value for name, value in presentation.items() if name not in _CLAIMED_MEMBERS}
    claims["vp"] = _json_copy(vp)
    return claims


def sign_presentation_jwt(
    presentation: Mapping[str, object],
    signing_key: Ed25519SigningKey,
    *,
    verification_method: str,
    issued_at_seconds: int,
    expires_at_seconds: int | None = None,
    challenge: str | None = None,
    domain: str | None = None,
) -> str:
    """Sign a presentation as a VP-JWT with header {kid, typ JWT, alg EdDSA}."""
    # TWIN-IDENTITY-070 "Its VP-JWT MUST have the header kid (the holder's signing method), typ
    # JWT and alg EdDSA."
    header = {"kid": verification_method, "typ": "JWT", "alg": JWT_ALGORITHM}
    claims = presentation_jwt_claims(
        presentation,
        issued_at_seconds,
        expires_at_seconds=expires_at_seconds,
        challenge=challenge,
        domain=domain,
    )
    return encode_jwt(header, claims, signing_key)


def verify_presentation_jwt(
    token: str,
    documents: Mapping[str, Mapping[str, object]],
    now_seconds: int,
    *,
    leeway_seconds: int = 0,
    challenge: str | None = None,
    domain: str | None = None,
) -> VerifiedPresentation:
    """Verify a VP-JWT offline; raise PresentationError, JwtError or DidError saying what failed.

    ``documents`` maps each DID to the DID document the verifier's own resolution returned
    (holder and issuers); a did:key missing from it is resolved from the DID itself, any other
    missing DID is ``notFound``. The issuers' status lists are their ``#revocation`` services.
    """
    decoded = decode_jwt(token)
    kid = decoded.header.get("kid")
    holder = decoded.payload.get("iss")
    if not isinstance(kid, str) or not isinstance(holder, str):
        raise JwtError(
            JwtFailure.MALFORMED,
            "a VP-JWT needs a kid in its header and an iss (the holder) in its payload",
            requirement="TWIN-IDENTITY-071",
        )
    # TWIN-IDENTITY-071 "A verifier MUST bind a presentation to its holder: kid MUST name a
    # method of the iss DID, the key MUST come from the verifier's own resolution of that DID,
    # authorized for authentication, and the signature MUST verify with it."
    method = parse_did_url(kid)
    if method.fragment is None or method.path or method.query is not None:
        raise JwtError(
            JwtFailure.MALFORMED,
            f"kid {kid[:80]!r} is not a DID URL with just a fragment naming a method",
            requirement="TWIN-IDENTITY-071",
        )
    if str(method.did) != str(parse_did(holder)):
        raise _refuse(
            PresentationFailure.HOLDER_MISMATCH,
            f"kid {kid[:80]!r} is a method of {method.did}, but the holder (iss) is {holder[:80]}",
            "TWIN-IDENTITY-071",
        )
    key = _key(documents, kid, HOLDER_RELATIONSHIP)
    try:
        key.verify(decoded.signing_input, decoded.signature)
    except TwinSpecError as exc:
        raise JwtError(
            JwtFailure.SIGNATURE_MISMATCH,
            f"the presentation is not signed by the holder's key {kid[:80]}: {exc.message}",
            requirement="TWIN-IDENTITY-071",
        ) from None
    # TWIN-IDENTITY-072 "A verifier MUST refuse a presentation as expired when now is at or
    # after its exp plus the leeway, and as notYetValid when its nbf or iat is later."
    try:
        check_jwt_times(decoded.payload, now_seconds, leeway_seconds)
    except JwtError as exc:
        raise JwtError(
            exc.reason, f"presentation: {exc.message}", requirement="TWIN-IDENTITY-072"
        ) from None
    vp = _check_vp(decoded.payload.get("vp"), holder)
    _check_binding(decoded.payload, challenge, domain)
    tokens = cast(list[str], vp["verifiableCredential"])
    credentials: list[dict[str, JSONValue]] = []
    issuers: list[dict[str, JSONValue]] = []
    for index, credential_token in enumerate(tokens):
        credential, issuer_document = _verify_credential(
            credential_token, index, documents, now_seconds, leeway_seconds
        )
        credentials.append(credential)
        issuers.append(issuer_document)
    presentation: dict[str, JSONValue] = {"@context": vp["@context"]}
    if "jti" in decoded.payload:
        presentation["id"] = decoded.payload["jti"]
    for name, value in vp.items():
        presentation.setdefault(name, value)
    presentation["holder"] = holder
    return VerifiedPresentation(presentation, credentials, issuers)


def resolved_document(
    documents: Mapping[str, Mapping[str, object]], did: str
) -> dict[str, JSONValue]:
    """The verifier's document for ``did``: from ``documents``, or derived for a did:key."""
    parse_did(did)
    if did in documents:
        return _json_copy(documents[did])
    if did.startswith("did:key:"):
        return did_key_document(did)
    raise DidError(DidErrorCode.NOT_FOUND, f"the verifier cannot resolve {did[:80]}")


def _key(
    documents: Mapping[str, Mapping[str, object]], kid: str, relationship: str
) -> Ed25519PublicKey:
    url = parse_did_url(kid)
    return verification_key(resolved_document(documents, str(url.did)), kid, relationship)


def _verify_credential(
    token: object,
    index: int,
    documents: Mapping[str, Mapping[str, object]],
    now_seconds: int,
    leeway_seconds: int,
) -> tuple[dict[str, JSONValue], dict[str, JSONValue]]:
    # TWIN-IDENTITY-073 "A verifier MUST verify every credential of a presentation as a VC-JWT
    # with the key of its issuer as it resolves the issuer's DID, and MUST refuse the
    # presentation as credentialInvalid, naming the credential and its failure."
    try:
        credential = verify_credential_jwt(
            cast(str, token),
            lambda kid: _key(documents, kid, ISSUER_RELATIONSHIP),
            now_seconds,
            leeway_seconds=leeway_seconds,
        )
        issuer = str(credential["issuer"])
        issuer_document = resolved_document(documents, issuer)
    except (JwtError, DidError) as exc:
        reason = exc.reason.value if isinstance(exc, JwtError) else exc.code.value
        raise _refuse(
            PresentationFailure.CREDENTIAL_INVALID,
            f"credential {index} does not verify ({reason}): {exc.message}",
            "TWIN-IDENTITY-073",
            credential_index=index,
            credential_failure=reason,
        ) from None
    except TwinSpecError as exc:
        raise _refuse(
            PresentationFailure.CREDENTIAL_INVALID,
            f"credential {index} does not verify: {exc.message}",
            "TWIN-IDENTITY-073",
            credential_index=index,
            credential_failure=JwtFailure.CREDENTIAL_MALFORMED.value,
        ) from None
    # TWIN-IDENTITY-074 "A verifier MUST read the status bit of every credential that has a
    # credentialStatus and MUST refuse the presentation as credentialRevoked when a bit is set
    # or the list cannot be read."
    status_index = credential_status_index(credential)
    if status_index is not None:
        revoked = True
        why = "its status bit is set"
        try:
            revoked = status_bit(
                decode_status_list(_status_endpoint(issuer_document)), status_index
            )
        except TwinSpecError as exc:
            why = f"its issuer's status list cannot be read ({exc.message})"
        if revoked:
            raise _refuse(
                PresentationFailure.CREDENTIAL_REVOKED,
                f"credential {index} is revoked: {why} (entry {status_index} of {issuer[:80]})",
                "TWIN-IDENTITY-074",
                credential_index=index,
                credential_failure=PresentationFailure.CREDENTIAL_REVOKED.value,
            )
    return credential, issuer_document


def _status_endpoint(document: Mapping[str, object]) -> str:
    fragment = f"#{STATUS_LIST_FRAGMENT}"
    services = document.get("service")
    for service in services if isinstance(services, list) else []:
        if isinstance(service, Mapping) and str(service.get("id", "")).endswith(fragment):
            endpoint = service.get("serviceEndpoint")
            if isinstance(endpoint, str):
                return endpoint
    raise TwinSpecError("the issuer's DID document has no #revocation status list")


def _check_vp(vp: object, holder: str) -> dict[str, JSONValue]:
    # TWIN-IDENTITY-073 "vp MUST hold @context starting with the VC v2 context, type holding
    # VerifiablePresentation and verifiableCredential a non-empty array of JWT strings."
    def malformed(message: str) -> PresentationError:
        return _refuse(PresentationFailure.PRESENTATION_MALFORMED, message, "TWIN-IDENTITY-073")

    if not isinstance(vp, Mapping):
        raise malformed(f"the VP-JWT vp claim is {type(vp).__name__}, not a JSON object")
    context = vp.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT:
        raise malformed(f"vp @context must be an array starting with {VC_CONTEXT!r}")
    types = vp.get("type")
    if not isinstance(types, list) or VP_TYPE not in types:
        raise malformed(f"vp type must be an array holding {VP_TYPE!r}")
    if "id" in vp:
        raise malformed("vp carries id; in a VP-JWT it is the jti claim instead")
    if "holder" in vp and vp["holder"] != holder:
        # TWIN-IDENTITY-071 "vp.holder, when present, equals iss."
        raise _refuse(
            PresentationFailure.HOLDER_MISMATCH,
            f"vp holder {str(vp['holder'])[:80]!r} is not the signer (iss) {holder[:80]}",
            "TWIN-IDENTITY-071",
        )
    credentials = vp.get("verifiableCredential")
    if not isinstance(credentials, list):
        raise malformed("vp verifiableCredential must be an array of credential JWTs")
    try:
        _check_credential_list(credentials)
    except PresentationError as exc:
        raise malformed(exc.message) from None
    return _json_copy(vp)


def _check_credential_list(credentials: list[object]) -> None:
    if not credentials or len(credentials) > MAX_PRESENTED_CREDENTIALS:
        raise _refuse(
            PresentationFailure.PRESENTATION_MALFORMED,
            f"a presentation holds 1 to {MAX_PRESENTED_CREDENTIALS} credentials, "
            f"not {len(credentials)}",
            "TWIN-IDENTITY-073",
        )
    for index, item in enumerate(credentials):
        if not isinstance(item, str) or item.count(".") != 2:
            raise _refuse(
                PresentationFailure.PRESENTATION_MALFORMED,
                f"credential {index} is not a credential JWT (a compact JWS string)",
                "TWIN-IDENTITY-073",
            )


def _check_binding(
    payload: Mapping[str, object], challenge: str | None, domain: str | None
) -> None:
    # TWIN-IDENTITY-076 "A verifier given a challenge or domain MAY refuse a presentation whose
    # nonce or aud differs (challengeMismatch, domainMismatch)."
    if challenge is not None and payload.get("nonce") != challenge:
        raise _refuse(
            PresentationFailure.CHALLENGE_MISMATCH,
            f"the presentation answers challenge {str(payload.get('nonce'))[:80]!r}, "
            f"not {challenge[:80]!r}",
            "TWIN-IDENTITY-076",
        )
    if domain is not None:
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if domain not in audiences:
            raise _refuse(
                PresentationFailure.DOMAIN_MISMATCH,
                f"the presentation is for {str(audience)[:80]!r}, not {domain[:80]!r}",
                "TWIN-IDENTITY-076",
            )


def _json_copy(value: Mapping[str, object]) -> dict[str, JSONValue]:
    try:
        canonicalize(value)
    except TwinSpecError as exc:
        raise _refuse(
            PresentationFailure.PRESENTATION_MALFORMED, f"not JSON: {exc.message}", None
        ) from None
    return cast(dict[str, JSONValue], copy.deepcopy(dict(value)))


def _refuse(
    reason: PresentationFailure,
    message: str,
    requirement: str | None,
    *,
    credential_index: int | None = None,
    credential_failure: str | None = None,
) -> PresentationError:
    return PresentationError(
        reason.value,
        message,
        requirement=requirement,
        credential_index=credential_index,
        credential_failure=credential_failure,
    )
