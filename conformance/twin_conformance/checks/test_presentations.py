"""Identity profile checks of verifiable presentations: made by the node, verified by it.

The oracle is ``twin_spec.verify_presentation_jwt`` with the DID documents the harness resolves
itself (through the target for the node's DIDs, from the DID alone for did:keys). A
presentation the node makes must verify offline; a presentation the harness breaks must get
the spec's verdict and reason from the node's verify route.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from twin_conformance._client import TwinClient, fail, require
from twin_conformance._failures import prerequisite
from twin_conformance._run import TwinState
from twin_conformance.checks._support import (
    TargetResolver,
    b64url,
    body_object,
    harness_key,
    node_did_method,
    now_seconds,
    require_status,
    seeded_random,
)
from twin_spec import (
    DidError,
    Ed25519SigningKey,
    JwtError,
    PresentationError,
    build_credential,
    build_presentation,
    decode_jwt,
    did_key_from_public_key,
    presentation_jwt_claims,
    sign_credential_jwt,
    sign_presentation_jwt,
    verify_presentation_jwt,
)

pytestmark = pytest.mark.twin_profile("identity")

ISSUING = "conformance-vp-issue"
PRESENTING = "conformance-vp-auth"
EXPIRES_MINUTES = 10
VERIFY = "/identity/verifiable-presentation/verify"


@dataclass
class Parties:
    """An issuer with an assertion method and a holder with an authentication method."""

    issuer: str
    holder: str


@dataclass
class Presented:
    """A credential the node issued and the presentation the node made of it."""

    credential_jwt: str
    index: int
    request: dict[str, Any]
    presentation: dict[str, Any]
    jwt: str


def _identity(client: TwinClient, relationship: str, fragment: str) -> str:
    exchange = client.post("/identity", json_body={}, auth=True)
    require_status(exchange, 200, None, "creating an identity")
    did = body_object(exchange, None, "the new identity").get("id")
    require(isinstance(did, str), "TWIN-IDENTITY-030", "the new identity's document has no id")
    assert isinstance(did, str)
    exchange = client.post(
        f"/identity/{did}/verification-method",
        json_body={"verificationMethodType": relationship, "verificationMethodId": fragment},
        auth=True,
    )
    require_status(exchange, 200, None, f"adding a {relationship} method")
    return did


@pytest.fixture(scope="module")
@prerequisite("an issuer and a holder identity for presentations")
def parties(client: TwinClient) -> Parties:
    """Two identities of the node: one issues, the other holds and presents."""
    return Parties(
        _identity(client, "assertionMethod", ISSUING),
        _identity(client, "authentication", PRESENTING),
    )


@pytest.fixture(scope="module")
def harness(run: TwinState) -> Ed25519SigningKey:
    """The harness's own key: its did:key is the credentials' subject and a foreign holder."""
    return harness_key(run, "presentations")


def _did_key(key: Ed25519SigningKey) -> tuple[str, str]:
    did = did_key_from_public_key(key.public_key)
    return did, f"{did}#{did.removeprefix('did:key:')}"


@pytest.fixture(scope="module")
@prerequisite("the node makes a presentation of a credential it issued")
def presented(
    client: TwinClient, run: TwinState, parties: Parties, harness: Ed25519SigningKey
) -> Presented:
    """A revocable credential about the harness, presented by the holder (not its subject)."""
    rng = seeded_random(run, "identity:presentation")
    index = rng.randrange(1, 131071)
    exchange = client.post(
        f"/identity/{parties.issuer}/verifiable-credential/{ISSUING}",
        json_body={
            "subject": {
                "@context": "https://schema.org",
                "@type": "GovernmentPermit",
                "id": _did_key(harness)[0],
                "name": f"Conformance export licence {rng.randrange(10**6)}",
            },
            "revocationIndex": index,
        },
        auth=True,
    )
    require_status(exchange, 200, "TWIN-IDENTITY-040", "issuing a credential to present")
    credential_jwt = body_object(exchange, "TWIN-IDENTITY-040", "the credential").get("jwt")
    require(isinstance(credential_jwt, str), "TWIN-IDENTITY-040", "the credential has no jwt")
    assert isinstance(credential_jwt, str)
    request = {
        "presentationId": f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
        "contexts": ["https://schema.org"],
        "types": ["ConformancePresentation"],
        "verifiableCredentials": [credential_jwt],
        "expiresInMinutes": EXPIRES_MINUTES,
    }
    exchange = client.post(
        f"/identity/{parties.holder}/verifiable-presentation/{PRESENTING}",
        json_body=request,
        auth=True,
    )
    require_status(exchange, 200, "TWIN-IDENTITY-070", "making a presentation")
    body = body_object(exchange, "TWIN-IDENTITY-070", "the presentation")
    presentation, jwt = body.get("verifiablePresentation"), body.get("jwt")
    require(
        isinstance(presentation, dict) and isinstance(jwt, str),
        "TWIN-IDENTITY-070",
        "the answer lacks verifiablePresentation or jwt",
    )
    assert isinstance(presentation, dict)
    assert isinstance(jwt, str)
    return Presented(credential_jwt, index, request, presentation, jwt)


def _documents(client: TwinClient, dids: list[str]) -> dict[str, Any]:
    """The harness's own resolution of each DID that resolves (the rest are left out)."""
    resolver = TargetResolver(client)
    documents: dict[str, Any] = {}
    for did in dids:
        try:
            documents[did] = dict(resolver.document(did))
        except DidError:
            continue
    return documents


def _oracle(client: TwinClient, token: str, dids: list[str]) -> dict[str, Any]:
    """What the spec says a verifier answers, from the harness's own resolutions."""
    try:
        verified = verify_presentation_jwt(token, _documents(client, dids), now_seconds())
    except PresentationError as exc:
        return {
            "verified": False,
            "failure": exc.reason,
            "credentialFailure": exc.credential_failure,
        }
    except (JwtError, DidError) as exc:
        reason = exc.reason.value if isinstance(exc, JwtError) else exc.code.value
        return {"verified": False, "failure": reason, "credentialFailure": None}
    return {"verified": True, "presentation": verified.presentation, "issuers": verified.issuers}


def _verify(client: TwinClient, token: str, *, bad: bool = False) -> dict[str, Any]:
    exchange = client.get(VERIFY, params={"jwt": token}, expect_rejection=bad)
    require_status(exchange, 200, "TWIN-IDENTITY-075", "verifying a presentation")
    return body_object(exchange, "TWIN-IDENTITY-075", "the verification")


@pytest.mark.twin_requirement("TWIN-IDENTITY-070")
def test_a_presentation_has_the_spec_shape(parties: Parties, presented: Presented) -> None:
    expected = build_presentation(
        parties.holder,
        presented.request["verifiableCredentials"],
        presentation_id=presented.request["presentationId"],
        contexts=presented.request["contexts"],
        types=presented.request["types"],
    )
    require(
        presented.presentation == expected,
        "TWIN-IDENTITY-070",
        f"the presentation is {json.dumps(presented.presentation)[:300]}, the spec gives "
        f"{json.dumps(expected)[:300]}",
    )
    try:
        decoded = decode_jwt(presented.jwt)
    except JwtError as exc:
        fail("TWIN-IDENTITY-070", f"the presentation's jwt is not a valid JWT: {exc.message}")
    require(
        decoded.header == {"kid": f"{parties.holder}#{PRESENTING}", "typ": "JWT", "alg": "EdDSA"},
        "TWIN-IDENTITY-070",
        f"the VP-JWT header is {decoded.header}, not kid (the holder's method), typ JWT, alg EdDSA",
    )
    nbf = decoded.payload.get("nbf")
    require(isinstance(nbf, int), "TWIN-IDENTITY-070", f"the VP-JWT nbf is {nbf!r}")
    assert isinstance(nbf, int)
    claims = presentation_jwt_claims(expected, nbf, expires_at_seconds=nbf + 60 * EXPIRES_MINUTES)
    require(
        decoded.payload == claims,
        "TWIN-IDENTITY-070",
        f"the VP-JWT payload is {json.dumps(decoded.payload)[:300]}, the spec gives "
        f"{json.dumps(claims)[:300]}",
    )


@pytest.mark.twin_requirement("TWIN-IDENTITY-071", "TWIN-IDENTITY-073", "TWIN-IDENTITY-074")
def test_a_presentation_verifies_offline_with_the_harness_resolutions(
    client: TwinClient, parties: Parties, presented: Presented
) -> None:
    """The holder is not the credential's subject: the spec's policy accepts that."""
    oracle = _oracle(client, presented.jwt, [parties.holder, parties.issuer])
    require(
        oracle["verified"] is True,
        "TWIN-IDENTITY-071",
        f"the presentation the node made does not verify offline: {oracle.get('failure')} "
        f"({oracle.get('credentialFailure')})",
    )
    require(
        oracle["presentation"] == presented.presentation,
        "TWIN-IDENTITY-070",
        "the presentation the VP-JWT carries differs from the one the node answered",
    )


@pytest.mark.twin_requirement("TWIN-IDENTITY-075")
def test_the_verify_route_verifies_a_presentation(
    client: TwinClient, parties: Parties, presented: Presented
) -> None:
    answer = _verify(client, presented.jwt)
    require(
        answer.get("verified") is True and answer.get("revoked") is False,
        "TWIN-IDENTITY-075",
        f"a valid presentation verified as {answer.get('verified')!r}, revoked "
        f"{answer.get('revoked')!r} (failure {answer.get('failure')!r})",
    )
    require(
        answer.get("verifiablePresentation") == presented.presentation,
        "TWIN-IDENTITY-075",
        "the verify route's verifiablePresentation differs from the presentation made",
    )
    issuers = answer.get("issuers")
    ids = (
        [doc.get("id") for doc in issuers if isinstance(doc, dict)]
        if isinstance(issuers, list)
        else None
    )
    require(
        ids == [parties.issuer],
        "TWIN-IDENTITY-075",
        f"issuers names {ids!r}, not the credential's issuer {parties.issuer}",
    )


def _claims(token: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return payload


def _foreign_presentation(
    harness: Ed25519SigningKey, credentials: list[str], **options: Any
) -> str:
    """A presentation held by the harness's did:key, with the given signing key and times."""
    holder, kid = _did_key(harness)
    presentation = build_presentation(holder, credentials)
    return sign_presentation_jwt(
        presentation,
        options.pop("key", harness),
        verification_method=kid,
        issued_at_seconds=options.pop("issued", now_seconds() - 60),
        **options,
    )


def _tampered(credential_jwt: str) -> str:
    head, _body, signature = credential_jwt.split(".")
    claims = _claims(credential_jwt)
    subject = claims["vc"]["credentialSubject"]
    subject["name"] = str(subject.get("name", "")) + " (altered)"
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{head}.{body}.{signature}"


def _unknown_issuer_credential(run: TwinState, harness: Ed25519SigningKey) -> str:
    """A credential naming as issuer an identity of the node's method that the node lacks."""
    method = node_did_method(run) or "twin"
    rng = seeded_random(run, "identity:presentation:unknown-issuer")
    issuer = f"did:{method}:0x{rng.getrandbits(256):064x}"
    credential = build_credential(
        issuer, {"id": _did_key(harness)[0], "type": "Permit"}, issued_at_ms=1_767_225_600_000
    )
    return sign_credential_jwt(
        credential,
        harness,
        verification_method=f"{issuer}#conformance",
        issued_at_seconds=1_767_225_600,
    )


CASES = [
    pytest.param(
        "signed-by-another-key",
        id="signed-by-another-key",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-071"),
    ),
    pytest.param("expired", id="expired", marks=pytest.mark.twin_requirement("TWIN-IDENTITY-072")),
    pytest.param(
        "tampered-credential",
        id="tampered-credential",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-073"),
    ),
    pytest.param(
        "unresolvable-issuer",
        id="unresolvable-issuer",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-073"),
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_the_verify_route_refuses_a_broken_presentation(
    client: TwinClient,
    run: TwinState,
    parties: Parties,
    presented: Presented,
    harness: Ed25519SigningKey,
    case: str,
) -> None:
    """The node's verdict and reason match the spec core's, from the harness's resolutions."""
    credential = presented.credential_jwt
    requirement = {
        "signed-by-another-key": "TWIN-IDENTITY-071",
        "expired": "TWIN-IDENTITY-072",
        "tampered-credential": "TWIN-IDENTITY-073",
        "unresolvable-issuer": "TWIN-IDENTITY-073",
    }[case]
    if case == "signed-by-another-key":
        impostor = harness_key(run, "presentations:impostor")
        token = _foreign_presentation(harness, [credential], key=impostor)
    elif case == "expired":
        now = now_seconds()
        token = _foreign_presentation(
            harness, [credential], issued=now - 7200, expires_at_seconds=now - 3600
        )
    elif case == "tampered-credential":
        token = _foreign_presentation(harness, [_tampered(credential)])
    else:
        token = _foreign_presentation(harness, [_unknown_issuer_credential(run, harness)])
    dids = [_did_key(harness)[0], parties.issuer]
    for inner in _claims(token)["vp"]["verifiableCredential"]:
        dids.append(str(_claims(inner).get("iss")))
    oracle = _oracle(client, token, dids)
    if oracle["verified"]:
        raise RuntimeError(f"the harness's {case} presentation verifies; the check is broken")
    answer = _verify(client, token, bad=True)
    require(
        answer.get("verified") is False,
        requirement,
        f"the node verified a presentation that fails as {oracle['failure']}"
        + (f" ({oracle['credentialFailure']})" if oracle["credentialFailure"] else ""),
    )
    require(
        answer.get("failure") == oracle["failure"]
        and answer.get("credentialFailure") == oracle["credentialFailure"],
        requirement,
        f"the node refused with {answer.get('failure')!r} ({answer.get('credentialFailure')!r}); "
        f"the spec's reason is {oracle['failure']!r} ({oracle['credentialFailure']!r})",
    )


@pytest.mark.twin_requirement("TWIN-IDENTITY-074", "TWIN-IDENTITY-075")
def test_a_revoked_credential_fails_its_presentation(
    client: TwinClient, parties: Parties, presented: Presented
) -> None:
    """Revoke the presented credential, verify (offline and by the node), then unrevoke."""
    revoke = client.get(
        f"/identity/{parties.issuer}/verifiable-credential/revoke/{presented.index}", auth=True
    )
    require_status(revoke, 204, "TWIN-IDENTITY-074", "revoking the presented credential")
    try:
        oracle = _oracle(client, presented.jwt, [parties.holder, parties.issuer])
        require(
            oracle["verified"] is False and oracle["failure"] == "credentialRevoked",
            "TWIN-IDENTITY-074",
            f"after revocation the spec core finds {oracle.get('failure')!r}: the issuer's "
            "status list does not show the revocation",
        )
        answer = _verify(client, presented.jwt)
        require(
            answer.get("verified") is False
            and answer.get("revoked") is True
            and answer.get("failure") == "credentialRevoked",
            "TWIN-IDENTITY-074",
            f"a presentation holding a revoked credential verified as {answer.get('verified')!r}, "
            f"revoked {answer.get('revoked')!r}, failure {answer.get('failure')!r}",
        )
    finally:
        client.get(
            f"/identity/{parties.issuer}/verifiable-credential/unrevoke/{presented.index}",
            auth=True,
        )


@pytest.mark.twin_requirement("TWIN-CORE-054", "TWIN-IDENTITY-075")
def test_the_verify_route_refuses_what_is_not_a_jwt(client: TwinClient) -> None:
    exchange = client.get(VERIFY, params={"jwt": "not-a-jwt"}, expect_rejection=True)
    require_status(exchange, 400, "TWIN-IDENTITY-075", "verifying a value that is not a JWT")
