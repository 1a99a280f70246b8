"""Offline vectors of verifiable presentations: identity/presentation, -presentation-document.

Each vector gives a VP-JWT (or a Data Integrity presentation), the DID documents the verifier
resolved (holder and issuers, with the issuers' status lists), the verifier's clock and,
optionally, the challenge it asked; the expected member is the verified presentation or the
failure reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from twin_spec import (
    DidError,
    Ed25519SigningKey,
    JwtError,
    PresentationError,
    ProofVerificationError,
    base64url_decode,
    base64url_encode,
    build_credential,
    build_presentation,
    build_presentation_document,
    canonicalize,
    encode_jwt,
    jwk_from_public_key,
    new_status_list,
    sign_credential_jwt,
    sign_presentation_document,
    sign_presentation_jwt,
    status_list_service,
    verify_presentation_document,
    verify_presentation_jwt,
    with_status_bit,
)
from twin_vectors._format import Family, Vector, vector_test_key, with_expected
from twin_vectors._keys import (
    ISSUED_SECONDS,
    NOW_SECONDS,
    UNKNOWN_DID_TWIN,
    Case,
    json_object,
)

PRESENTATION = "identity/presentation"
PRESENTATION_DOCUMENT = "identity/presentation-document"
_HOLDER = "did:twin:0x" + "ab" * 32
_ISSUER = "did:twin:0x" + "cd" * 32
_OTHER = "did:twin:0x" + "ef" * 32
_CHALLENGE = "customs-request-2027-0042"


def presentation_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """What a verifier answers for ``input.jwt`` with the resolved ``input.documents``."""
    return _verdict(verify_presentation_jwt, input_["jwt"], input_, JwtError)


def _verdict(
    verify: Callable[..., Any],
    presentation: Any,  # noqa: ANN401 - a VP-JWT or a presentation document
    input_: Mapping[str, Any],
    proof_error: type[JwtError] | type[ProofVerificationError],
) -> dict[str, Any]:
    """The expected answer of either presentation form: valid, or invalid with its reason."""
    try:
        verified = verify(
            presentation, input_["documents"], input_["now"], challenge=input_.get("challenge")
        )
    except PresentationError as exc:
        expected: dict[str, Any] = {"result": "invalid", "error": exc.reason}
        if exc.credential_index is not None:
            expected["credentialIndex"] = exc.credential_index
            expected["credentialFailure"] = exc.credential_failure
        return expected
    except proof_error as exc:
        return {"result": "invalid", "error": exc.reason.value}
    except DidError as exc:
        return {"result": "invalid", "error": exc.code.value}
    return {
        "result": "valid",
        "verifiablePresentation": verified.presentation,
        "issuers": [str(document["id"]) for document in verified.issuers],
    }


def _document(
    did: str, keys: Mapping[str, tuple[str, Ed25519SigningKey]], bits: bytes
) -> dict[str, Any]:
    """A did:twin document with JsonWebKey methods under their relationships and a status list."""
    document: dict[str, Any] = {"id": did}
    for fragment, (relationship, key) in keys.items():
        method = {
            "id": f"{did}#{fragment}",
            "type": "JsonWebKey",
            "controller": did,
            "publicKeyJwk": jwk_from_public_key(key.public_key),
        }
        document.setdefault(relationship, []).append(method)
    document["service"] = [status_list_service(did, bits)]
    return document


def _parties() -> dict[str, Any]:
    """The holder, issuer and other party: keys, resolved documents and two credentials."""
    holder_key = vector_test_key("presentation/holder")
    holder_assertion = vector_test_key("presentation/holder-assertion")
    issuer_key = vector_test_key("presentation/issuer")
    other_key = vector_test_key("presentation/other")
    revoked_bits = with_status_bit(new_status_list(), 7, True)
    holder_document = _document(
        _HOLDER,
        {"auth": ("authentication", holder_key), "sign": ("assertionMethod", holder_assertion)},
        new_status_list(),
    )
    issuer_document = _document(_ISSUER, {"assert": ("assertionMethod", issuer_key)}, revoked_bits)
    other_document = _document(_OTHER, {"auth": ("authentication", other_key)}, new_status_list())
    documents = {_HOLDER: holder_document, _ISSUER: issuer_document, _OTHER: other_document}
    licence = build_credential(
        _ISSUER,
        {
            "@context": "https://schema.org",
            "@type": "GovernmentPermit",
            "id": _HOLDER,
            "name": "Export licence KE-2027-0042",
        },
        credential_id="https://customs.example.go.ke/licences/42",
        issued_at_ms=ISSUED_SECONDS * 1000,
        status_index=3,
    )
    origin = build_credential(
        _ISSUER,
        {"id": _OTHER, "type": "CertificateOfOrigin", "country": "KE"},
        issued_at_ms=ISSUED_SECONDS * 1000,
    )

    def vc(credential: dict[str, Any], key: Ed25519SigningKey = issuer_key) -> str:
        return sign_credential_jwt(
            credential,
            key,
            verification_method=f"{_ISSUER}#assert",
            issued_at_seconds=ISSUED_SECONDS,
        )

    return {
        "holder_key": holder_key,
        "holder_assertion": holder_assertion,
        "issuer_key": issuer_key,
        "other_key": other_key,
        "issuer_document": issuer_document,
        "documents": documents,
        "licence": licence,
        "origin": origin,
        "vc": vc,
    }


def _cases() -> list[Case]:
    parties = _parties()
    holder_key: Ed25519SigningKey = parties["holder_key"]
    holder_assertion: Ed25519SigningKey = parties["holder_assertion"]
    issuer_key: Ed25519SigningKey = parties["issuer_key"]
    other_key: Ed25519SigningKey = parties["other_key"]
    issuer_document: dict[str, Any] = parties["issuer_document"]
    documents: dict[str, Any] = parties["documents"]
    origin: dict[str, Any] = parties["origin"]
    vc = parties["vc"]
    licence_jwt = vc(parties["licence"])
    origin_jwt = vc(origin)

    def vp(
        credentials: list[str],
        *,
        key: Ed25519SigningKey = holder_key,
        method: str = f"{_HOLDER}#auth",
        holder: str = _HOLDER,
        expires: int | None = None,
        challenge: str | None = None,
    ) -> str:
        presentation = build_presentation(
            holder,
            credentials,
            presentation_id="urn:uuid:5f0c6a1e-0000-4000-8000-000000000042",
            types=["TradePresentation"],
        )
        return sign_presentation_jwt(
            presentation,
            key,
            verification_method=method,
            issued_at_seconds=ISSUED_SECONDS,
            expires_at_seconds=expires,
            challenge=challenge,
        )

    cases: list[Case] = []

    def add(
        name: str,
        description: str,
        requirements: list[str],
        jwt: str,
        docs: Mapping[str, Any] = documents,
        now: int = NOW_SECONDS,
        challenge: str | None = None,
    ) -> None:
        input_: dict[str, Any] = {"jwt": jwt, "documents": dict(docs), "now": now}
        if challenge is not None:
            input_["challenge"] = challenge
        cases.append((name, description, ["TWIN-IDENTITY-075", *requirements], input_))

    binding = ["TWIN-IDENTITY-071"]
    add(
        "valid",
        "a holder presents a licence about itself and a certificate about another party",
        ["TWIN-IDENTITY-070", *binding, "TWIN-IDENTITY-073", "TWIN-IDENTITY-074"],
        vp([licence_jwt, origin_jwt]),
    )
    add(
        "valid-with-expiry",
        "expires in 2100",
        ["TWIN-IDENTITY-070", "TWIN-IDENTITY-072"],
        vp([origin_jwt], expires=4_102_444_800),
    )
    add(
        "expired",
        "expired one hour after it was made, long before now",
        ["TWIN-IDENTITY-072"],
        vp([origin_jwt], expires=ISSUED_SECONDS + 3600),
    )
    add(
        "not-yet-valid",
        "the verifier's clock is before the presentation was made",
        ["TWIN-IDENTITY-072"],
        vp([origin_jwt]),
        now=ISSUED_SECONDS - 60,
    )
    add(
        "signed-by-another-key",
        "names the holder's authentication method, signed by another party's key",
        binding,
        vp([origin_jwt], key=other_key),
    )
    add(
        "holder-key-not-authentication",
        "signed with the holder's assertionMethod key, which is not for presenting",
        binding,
        vp([origin_jwt], key=holder_assertion, method=f"{_HOLDER}#sign"),
    )
    add(
        "kid-of-another-did",
        "iss is the holder, kid a method of another DID (its own key signs)",
        binding,
        vp([origin_jwt], key=other_key, method=f"{_OTHER}#auth"),
    )
    add(
        "holder-not-resolvable",
        "the holder's DID is one the verifier cannot resolve",
        binding,
        vp([origin_jwt], holder=UNKNOWN_DID_TWIN, method=f"{UNKNOWN_DID_TWIN}#auth"),
    )
    add(
        "challenge-answered",
        "the verifier asked a challenge and the presentation carries it as nonce",
        ["TWIN-IDENTITY-076"],
        vp([origin_jwt], challenge=_CHALLENGE),
        challenge=_CHALLENGE,
    )
    add(
        "challenge-other-than-asked",
        "the presentation answers another verifier's challenge",
        ["TWIN-IDENTITY-076"],
        vp([origin_jwt], challenge="another-request"),
        challenge=_CHALLENGE,
    )
    add(
        "challenge-missing",
        "the verifier asked a challenge; the presentation carries none",
        ["TWIN-IDENTITY-076"],
        vp([origin_jwt]),
        challenge=_CHALLENGE,
    )
    revoked_licence = build_credential(
        _ISSUER,
        {"id": _HOLDER, "type": "GovernmentPermit"},
        issued_at_ms=ISSUED_SECONDS * 1000,
        status_index=7,
    )
    add(
        "revoked-credential-inside",
        "the second credential's status bit (entry 7) is set in its issuer's list",
        ["TWIN-IDENTITY-074"],
        vp([origin_jwt, vc(revoked_licence)]),
    )
    unreadable = {
        **documents,
        _ISSUER: {**issuer_document, "service": [{**issuer_document["service"][0]}]},
    }
    unreadable[_ISSUER]["service"][0]["serviceEndpoint"] = "data:application/octet-stream;base64,"
    add(
        "status-list-unreadable",
        "the issuer's status list is empty: a verifier fails closed",
        ["TWIN-IDENTITY-074"],
        vp([licence_jwt]),
        docs=unreadable,
    )
    head, body, sig = origin_jwt.split(".")
    claims = json_object(json.loads(base64url_decode(body)))
    claims["vc"]["credentialSubject"]["country"] = "UG"
    tampered = f"{head}.{base64url_encode(canonicalize(claims))}.{sig}"
    add(
        "tampered-credential-inside",
        "the first credential's subject was changed after the issuer signed it",
        ["TWIN-IDENTITY-073"],
        vp([tampered, licence_jwt]),
    )
    unknown_issuer = build_credential(
        UNKNOWN_DID_TWIN, {"id": _HOLDER, "type": "Permit"}, issued_at_ms=ISSUED_SECONDS * 1000
    )
    add(
        "issuer-not-resolvable",
        "a credential whose issuer DID the verifier cannot resolve",
        ["TWIN-IDENTITY-073"],
        vp(
            [
                sign_credential_jwt(
                    unknown_issuer,
                    issuer_key,
                    verification_method=f"{UNKNOWN_DID_TWIN}#assert",
                    issued_at_seconds=ISSUED_SECONDS,
                )
            ]
        ),
    )
    add(
        "credential-signed-by-holder",
        "a credential naming the issuer's method, signed by the holder",
        ["TWIN-IDENTITY-073"],
        vp([vc(origin, holder_key)]),
    )
    add(
        "no-credentials",
        "vp.verifiableCredential is empty",
        ["TWIN-IDENTITY-073"],
        _raw_vp(holder_key, {"verifiableCredential": []}),
    )
    add(
        "vp-without-type",
        "vp.type lacks VerifiablePresentation",
        ["TWIN-IDENTITY-073"],
        _raw_vp(holder_key, {"type": ["TradePresentation"], "verifiableCredential": [origin_jwt]}),
    )
    add(
        "vp-holder-differs",
        "vp.holder names another DID than the signer (iss)",
        binding,
        _raw_vp(holder_key, {"holder": _OTHER, "verifiableCredential": [origin_jwt]}),
    )
    return cases


def _raw_vp(key: Ed25519SigningKey, vp_members: Mapping[str, Any]) -> str:
    """A VP-JWT by the holder whose vp claim is the given members over a well-formed base."""
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        **vp_members,
    }
    header = {"kid": f"{_HOLDER}#auth", "typ": "JWT", "alg": "EdDSA"}
    return encode_jwt(header, {"iss": _HOLDER, "nbf": ISSUED_SECONDS, "vp": vp}, key)


def presentation_document_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """What a verifier answers for the Data Integrity presentation ``input.presentation``."""
    return _verdict(
        verify_presentation_document, input_["presentation"], input_, ProofVerificationError
    )


def _document_cases() -> list[Case]:
    parties = _parties()
    holder_key: Ed25519SigningKey = parties["holder_key"]
    documents: dict[str, Any] = parties["documents"]
    vc = parties["vc"]
    licence_jwt = vc(parties["licence"])
    origin_jwt = vc(parties["origin"])
    created = "2026-01-01T00:00:00Z"

    def secured(
        credentials: list[str],
        *,
        key: Ed25519SigningKey = holder_key,
        method: str = f"{_HOLDER}#auth",
        expires: str | None = None,
        challenge: str | None = None,
    ) -> dict[str, Any]:
        presentation = build_presentation_document(
            _HOLDER, credentials, presentation_id="urn:uuid:5f0c6a1e-0000-4000-8000-000000000043"
        )
        return sign_presentation_document(
            presentation,
            key,
            verification_method=method,
            created=created,
            expires=expires,
            challenge=challenge,
        )

    cases: list[Case] = []

    def add(
        name: str,
        description: str,
        requirements: list[str],
        presentation: Mapping[str, Any],
        challenge: str | None = None,
    ) -> None:
        input_: dict[str, Any] = {
            "presentation": dict(presentation),
            "documents": documents,
            "now": NOW_SECONDS,
        }
        if challenge is not None:
            input_["challenge"] = challenge
        cases.append((name, description, ["TWIN-IDENTITY-077", *requirements], input_))

    valid = secured([licence_jwt, origin_jwt])
    add("valid", "two enveloped credentials, proven by the holder", ["TWIN-IDENTITY-073"], valid)
    add(
        "challenge-answered",
        "the proof carries the challenge the verifier asked",
        ["TWIN-IDENTITY-076"],
        secured([origin_jwt], challenge=_CHALLENGE),
        challenge=_CHALLENGE,
    )
    add(
        "challenge-other-than-asked",
        "the proof answers another verifier's challenge",
        ["TWIN-IDENTITY-076"],
        secured([origin_jwt], challenge="another-request"),
        challenge=_CHALLENGE,
    )
    add(
        "expired",
        "the proof expired in 2026, before now",
        ["TWIN-IDENTITY-072"],
        secured([origin_jwt], expires="2026-06-01T00:00:00Z"),
    )
    add(
        "signed-by-another-key",
        "names the holder's method, signed by another party's key",
        ["TWIN-IDENTITY-071"],
        secured([origin_jwt], key=parties["other_key"]),
    )
    add(
        "proof-by-another-did",
        "the proof's method belongs to another DID than the holder",
        ["TWIN-IDENTITY-071"],
        secured([origin_jwt], key=parties["other_key"], method=f"{_OTHER}#auth"),
    )
    add(
        "proof-purpose-assertion",
        "proven with the holder's assertionMethod key, purpose authentication",
        ["TWIN-IDENTITY-071"],
        secured([origin_jwt], key=parties["holder_assertion"], method=f"{_HOLDER}#sign"),
    )
    tampered = {**valid, "type": ["VerifiablePresentation", "Altered"]}
    add(
        "presentation-changed-after-proof",
        "the presentation's type changed after the holder proved it",
        ["TWIN-IDENTITY-071"],
        tampered,
    )
    revoked = build_credential(
        _ISSUER,
        {"id": _HOLDER, "type": "Permit"},
        issued_at_ms=ISSUED_SECONDS * 1000,
        status_index=7,
    )
    add(
        "revoked-credential-inside",
        "the second credential's status bit (entry 7) is set",
        ["TWIN-IDENTITY-074"],
        secured([origin_jwt, vc(revoked)]),
    )
    add(
        "credential-signed-by-holder",
        "an enveloped credential naming the issuer's method, signed by the holder",
        ["TWIN-IDENTITY-073"],
        secured([vc(parties["origin"], holder_key)]),
    )
    return cases


def presentation_document_vectors() -> list[Vector]:
    """Data Integrity presentations with the documents a verifier resolved."""
    return with_expected(PRESENTATION_DOCUMENT, presentation_document_oracle, _document_cases())


def presentation_vectors() -> list[Vector]:
    """VP-JWTs with the documents a verifier resolved: valid, or the reason they fail."""
    return with_expected(PRESENTATION, presentation_oracle, _cases())


FAMILIES = [
    Family(
        "identity",
        "presentation",
        False,
        presentation_vectors,
        presentation_oracle,
        "a VP-JWT verified offline with the holder's and issuers' resolved DID documents: the "
        "presentation, or the failure reason",
    ),
    Family(
        "identity",
        "presentation-document",
        False,
        presentation_document_vectors,
        presentation_document_oracle,
        "a presentation secured by the holder's eddsa-jcs-2022 proof, with enveloped VC-JWTs, "
        "verified offline with the resolved DID documents: the presentation, or the reason",
    ),
]
