"""Verifiable presentations as Data Integrity documents (eddsa-jcs-2022), the optional form.

The TWIN node presents as a VP-JWT (``_presentations``); a node MAY also offer a presentation
as a JSON document secured by an ``eddsa-jcs-2022`` proof of the holder, holding each
credential JWT as a W3C ``EnvelopedVerifiableCredential``. Its verifier applies the same rules
as to a VP-JWT: holder binding by the holder's own authentication key, expiry (the proof's
``expires``), every credential with its issuer's key and status list, and, when asked, the
proof's ``challenge`` and ``domain``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import cast

from twin_spec._credentials import VC_CONTEXT
from twin_spec._data_integrity import CRYPTOSUITE, PROOF_TYPE, hash_data, verify_proof
from twin_spec._dids import parse_did, parse_did_url
from twin_spec._ed25519 import Ed25519SigningKey
from twin_spec._errors import JwtFailure, TwinSpecError
from twin_spec._jcs import JSONValue
from twin_spec._multibase import multibase_encode
from twin_spec._presentations import (
    HOLDER_RELATIONSHIP,
    MAX_PRESENTED_CREDENTIALS,
    VP_TYPE,
    PresentationError,
    PresentationFailure,
    VerifiedPresentation,
    _key,
    _verify_credential,
    build_presentation,
)
from twin_spec._timestamps import seconds_from_iso

ENVELOPED_TYPE = "EnvelopedVerifiableCredential"
VC_JWT_DATA_PREFIX = "data:application/vc+jwt,"


def envelop_credential(token: str) -> dict[str, JSONValue]:
    """A credential JWT as an EnvelopedVerifiableCredential (a data: URL of media vc+jwt)."""
    return {"@context": VC_CONTEXT, "id": VC_JWT_DATA_PREFIX + token, "type": ENVELOPED_TYPE}


def build_presentation_document(
    holder: str,
    credentials: Sequence[str],
    *,
    presentation_id: str | None = None,
    contexts: Sequence[str] = (),
    types: Sequence[str] = (),
) -> dict[str, JSONValue]:
    """The presentation of ``build_presentation`` with its credentials enveloped."""
    presentation = build_presentation(
        holder, credentials, presentation_id=presentation_id, contexts=contexts, types=types
    )
    presentation["verifiableCredential"] = [envelop_credential(token) for token in credentials]
    return presentation


def sign_presentation_document(
    presentation: Mapping[str, object],
    signing_key: Ed25519SigningKey,
    *,
    verification_method: str,
    created: str,
    expires: str | None = None,
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, JSONValue]:
    """Secure a presentation with the holder's eddsa-jcs-2022 proof (purpose authentication)."""
    # TWIN-IDENTITY-077 "A node MAY offer a presentation as a Data Integrity document ... an
    # eddsa-jcs-2022 proof by an authentication method of the holder."
    options: dict[str, JSONValue] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": HOLDER_RELATIONSHIP,
    }
    for name, value in (("expires", expires), ("challenge", challenge), ("domain", domain)):
        if value is not None:
            options[name] = value
    signature = signing_key.sign(hash_data(presentation, options))
    secured = cast(dict[str, JSONValue], copy.deepcopy(dict(presentation)))
    secured["proof"] = {**options, "proofValue": multibase_encode(signature)}
    return secured


def verify_presentation_document(
    document: Mapping[str, object],
    documents: Mapping[str, Mapping[str, object]],
    now_seconds: int,
    *,
    challenge: str | None = None,
    domain: str | None = None,
) -> VerifiedPresentation:
    """Verify a Data Integrity presentation offline, with the verifier's resolved documents.

    Raises PresentationError, ProofVerificationError or DidError saying what failed, in the
    order of spec/prose/presentations.md.
    """
    holder = document.get("holder")
    proof = document.get("proof")
    if not isinstance(holder, str) or not isinstance(proof, Mapping):
        raise _refuse(
            PresentationFailure.PRESENTATION_MALFORMED, "a presentation needs a holder and a proof"
        )
    method = proof.get("verificationMethod")
    # TWIN-IDENTITY-071 "kid (here the proof's verificationMethod) MUST name a method of the
    # holder's DID, the key MUST come from the verifier's own resolution of that DID,
    # authorized for authentication, and the signature MUST verify with it."
    if not isinstance(method, str) or str(parse_did_url(method).did) != str(parse_did(holder)):
        raise _refuse(
            PresentationFailure.HOLDER_MISMATCH,
            f"the proof's verificationMethod {str(method)[:80]!r} is not a method of the holder "
            f"{holder[:80]}",
            "TWIN-IDENTITY-071",
        )
    verify_proof(
        document,
        lambda vm, purpose: _key(documents, vm, purpose),
        expected_purpose=HOLDER_RELATIONSHIP,
    )
    # TWIN-IDENTITY-072 "A verifier MUST refuse a presentation as expired when now is at or
    # after its expiry": the proof's expires, for this form.
    expires = proof.get("expires")
    if expires is not None:
        try:
            expiry = seconds_from_iso(str(expires))
        except TwinSpecError as exc:
            raise _refuse(
                PresentationFailure.PRESENTATION_MALFORMED,
                f"proof expires: {exc.message}",
                "TWIN-IDENTITY-072",
            ) from None
        if now_seconds >= expiry:
            raise PresentationError(
                JwtFailure.EXPIRED.value,
                f"the presentation expired at {expires}; it is now {now_seconds}",
                requirement="TWIN-IDENTITY-072",
            )
    # TWIN-IDENTITY-076 "a verifier given a challenge or domain refuses a presentation whose
    # challenge or domain differs (challengeMismatch, domainMismatch)."
    if challenge is not None and proof.get("challenge") != challenge:
        raise _refuse(
            PresentationFailure.CHALLENGE_MISMATCH,
            f"the proof answers challenge {str(proof.get('challenge'))[:80]!r}",
            "TWIN-IDENTITY-076",
        )
    if domain is not None:
        proof_domain = proof.get("domain")
        domains = proof_domain if isinstance(proof_domain, list) else [proof_domain]
        if domain not in domains:
            raise _refuse(
                PresentationFailure.DOMAIN_MISMATCH,
                f"the proof is for domain {str(proof_domain)[:80]!r}",
                "TWIN-IDENTITY-076",
            )
    presentation = {name: value for name, value in document.items() if name != "proof"}
    tokens = _enveloped_tokens(presentation)
    credentials: list[dict[str, JSONValue]] = []
    issuers: list[dict[str, JSONValue]] = []
    for index, token in enumerate(tokens):
        credential, issuer_document = _verify_credential(token, index, documents, now_seconds, 0)
        credentials.append(credential)
        issuers.append(issuer_document)
    return VerifiedPresentation(
        cast(dict[str, JSONValue], copy.deepcopy(presentation)), credentials, issuers
    )


def _enveloped_tokens(presentation: Mapping[str, object]) -> list[str]:
    # TWIN-IDENTITY-073 "The presentation MUST hold @context starting with the VC v2 context,
    # type holding VerifiablePresentation and a non-empty list of credentials."
    context = presentation.get("@context")
    types = presentation.get("type")
    entries = presentation.get("verifiableCredential")
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT:
        raise _refuse(
            PresentationFailure.PRESENTATION_MALFORMED,
            f"@context must be an array starting with {VC_CONTEXT!r}",
        )
    if not isinstance(types, list) or VP_TYPE not in types:
        raise _refuse(PresentationFailure.PRESENTATION_MALFORMED, f"type must hold {VP_TYPE!r}")
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_PRESENTED_CREDENTIALS:
        raise _refuse(
            PresentationFailure.PRESENTATION_MALFORMED,
            f"verifiableCredential must hold 1 to {MAX_PRESENTED_CREDENTIALS} credentials",
        )
    tokens = []
    for index, entry in enumerate(entries):
        token_url = entry.get("id") if isinstance(entry, Mapping) else None
        if (
            not isinstance(entry, Mapping)
            or entry.get("type") != ENVELOPED_TYPE
            or not isinstance(token_url, str)
            or not token_url.startswith(VC_JWT_DATA_PREFIX)
        ):
            raise _refuse(
                PresentationFailure.PRESENTATION_MALFORMED,
                f"credential {index} is not an EnvelopedVerifiableCredential of a VC-JWT",
            )
        tokens.append(token_url[len(VC_JWT_DATA_PREFIX) :])
    return tokens


def _refuse(
    reason: PresentationFailure, message: str, requirement: str = "TWIN-IDENTITY-073"
) -> PresentationError:
    return PresentationError(reason.value, message, requirement=requirement)
