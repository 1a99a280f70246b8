"""Helpers the identity, anchoring and consensus checks share.

The target is the only source of what it claims (its DID documents, its committee unless the
target file names one), and ``twin_spec`` is the only judge of it: these helpers resolve keys
through the target, verify proofs, credentials and receipts with the spec core, and turn each
failure into the requirement it breaks.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pytest

from twin_conformance._client import Exchange, TwinClient, fail, require
from twin_conformance._contract import OpenApiContract
from twin_conformance._diagnosis import checkpoint_domain_misuse, inclusion_misuse
from twin_conformance._failures import status_cause
from twin_conformance._paths import spec_dir
from twin_conformance._run import TwinState
from twin_conformance._target import token_from_cookies
from twin_spec import (
    Committee,
    DidError,
    DidErrorCode,
    Ed25519PublicKey,
    Ed25519SigningKey,
    JwtError,
    KeyFormatError,
    ProofVerificationError,
    ReceiptFailure,
    ReceiptVerificationError,
    StatusListError,
    TwinSpecError,
    decode_status_list,
    did_key_document,
    parse_did,
    parse_did_url,
    verification_key,
    verify_credential_jwt,
    verify_proof,
    verify_receipt,
)

DID_RESOLUTION = "application/did-resolution"
HEX = "0123456789abcdef"
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# A value for each path parameter of the document, for requests that need any well-formed path.
PLACEHOLDERS = {
    "identity": "did:twin:0x" + "0" * 64,
    "verificationMethodId": "conformance-method",
    "serviceId": "conformance-service",
    "revocationIndex": "5",
    "id": "immutable-proof:" + "0" * 64,
    "digest": "0" * 64,
    "sequence": "1",
}

# The requirement each receipt part enforces, for failures the spec core names no requirement.
RECEIPT_PART_REQUIREMENTS = {
    ReceiptFailure.RECEIPT_MALFORMED: "TWIN-ANCHORING-028",
    ReceiptFailure.TRANSACTION_MISMATCH: "TWIN-ANCHORING-032",
    ReceiptFailure.CHECKPOINT_EPOCH_MISMATCH: "TWIN-ANCHORING-027",
    ReceiptFailure.CHECKPOINT_SIGNATURE: "TWIN-ANCHORING-025",
    ReceiptFailure.CHECKPOINT_QUORUM: "TWIN-ANCHORING-026",
    ReceiptFailure.INCLUSION_PROOF: "TWIN-ANCHORING-029",
}


def seeded_random(run: TwinState, label: str) -> random.Random:
    """A generator for one module fixture, fixed by the run's seed and the fixture's label."""
    return random.Random(f"{run.seed}:{label}")  # noqa: S311 - test data only


def fresh_random(run: TwinState, label: str) -> random.Random:
    """A generator for what the target must not have seen before: seed, run start and label.

    Transactions and idempotency keys made from the seed alone would repeat on a second run
    against the same node (same digests, already committed), so these also take the run's
    start; outcomes stay those of the seed, only the values differ between runs.
    """
    return random.Random(f"{run.seed}:{run.started.isoformat()}:{label}")  # noqa: S311


def harness_key(run: TwinState, label: str) -> Ed25519SigningKey:
    """An Ed25519 key of the harness, derived from the run's seed (never a node's key)."""
    return Ed25519SigningKey(
        hashlib.sha256(f"twin-conformance:{run.seed}:{label}".encode()).digest()
    )


def node_did_method(run: TwinState) -> str | None:
    """The DID method the node mints: that of its own DID (``nodeIdentity`` in ``/info``)."""
    node = run.info.get("nodeIdentity") if run.info else None
    if not isinstance(node, str):
        return None
    try:
        return parse_did(node).method
    except DidError:
        return None


def require_did_twin_node(run: TwinState) -> None:
    """Skip as not applicable unless the node mints did:twin (its syntax rules are did:twin's)."""
    method = node_did_method(run)
    if method is not None and method != "twin":
        pytest.skip(
            f"not applicable: the node mints did:{method}, so the did:twin syntax rules do not "
            "apply to its DIDs"
        )


def fresh_login(client: TwinClient, run: TwinState) -> str:
    """A new session token from the run's credentials, from the body or else the cookie.

    The login answer is not judged here (``test_core.py`` judges it once); this is how a
    check that needs a second session gets one, as a real client would.
    """
    target = run.target
    if target is None or not (target.email and target.password):
        pytest.skip("the run has a token but no login credentials to get a second session")
    exchange = client.post(
        "/authentication/login",
        json_body={"email": target.email, "password": target.password},
        validate=False,
    )
    require_status(exchange, 200, "TWIN-CORE-051", "logging in with the run's credentials")
    try:
        body = json.loads(exchange.body)
    except (UnicodeDecodeError, ValueError):
        body = None
    token = body.get("token") if isinstance(body, dict) else None
    if isinstance(token, str) and token:
        return token
    cookie = token_from_cookies(exchange.set_cookies)
    require(cookie is not None, "TWIN-CORE-056", "login answered no token, in body or cookie")
    assert cookie is not None
    return cookie[1]


def now_seconds() -> int:
    """The verifier's clock, for JWT time checks (a clock, not a test input)."""
    return int(time.time())


def body_object(exchange: Exchange, requirement: str | None, what: str) -> dict[str, Any]:
    """The exchange's body as a JSON object; anything else fails the check."""
    body = exchange.json(requirement)
    require(isinstance(body, dict), requirement, f"{exchange.where}: {what} is not a JSON object")
    return dict(body)


def error_code(exchange: Exchange) -> str | None:
    """``properties.code`` of an error body, when it has one."""
    try:
        body = json.loads(exchange.body)
    except (UnicodeDecodeError, ValueError):
        return None
    properties = body.get("properties") if isinstance(body, dict) else None
    code = properties.get("code") if isinstance(properties, dict) else None
    return code if isinstance(code, str) else None


def error_field(exchange: Exchange) -> str | None:
    """``properties.field`` of an error body, when it has one."""
    try:
        body = json.loads(exchange.body)
    except (UnicodeDecodeError, ValueError):
        return None
    properties = body.get("properties") if isinstance(body, dict) else None
    value = properties.get("field") if isinstance(properties, dict) else None
    return value if isinstance(value, str) else None


def require_status(
    exchange: Exchange, expected: int | Iterable[int], requirement: str | None, what: str
) -> None:
    """Fail unless the exchange's status is one of ``expected``."""
    allowed = {expected} if isinstance(expected, int) else set(expected)
    wanted = " or ".join(str(status) for status in sorted(allowed))
    require(
        exchange.status in allowed,
        requirement,
        f"{what}: {exchange.where} answered {exchange.status}, not {wanted}",
        status_cause(requirement, wanted, exchange.status),
    )


def schema_errors(contract: OpenApiContract, schema_file: str, instance: object) -> str:
    """The first violation of ``spec/schemas/<schema_file>`` by ``instance``, or ''."""
    uri = (spec_dir() / "schemas" / schema_file).resolve().as_uri()
    validator = jsonschema.Draft202012Validator({"$ref": uri}, registry=contract.registry)
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is None:
        return ""
    where = "/".join(str(part) for part in error.absolute_path) or "(the document)"
    return f"at {where}: {error.message[:300]}"


def mutate_string(text: str, rng: random.Random, alphabet: str, start: int = 0) -> str:
    """``text`` with one character from ``start`` on changed to another of ``alphabet``."""
    positions = [i for i in range(start, len(text)) if text[i] in alphabet]
    if not positions:
        raise ValueError(f"no character of {text[:40]!r} is in the alphabet to change")
    position = rng.choice(positions)
    replacement = rng.choice([c for c in alphabet if c != text[position]])
    return text[:position] + replacement + text[position + 1 :]


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JWTs and status lists use it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def caller_identity(client: TwinClient) -> str | None:
    """The DID the run's session token names as its subject (``sub``), when it is a JWT."""
    return token_subject(client.token)


def token_subject(token: str | None) -> str | None:
    """The DID a bearer token names as its subject (``sub``), when it is a JWT."""
    if not token or token.count(".") != 2:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    except (ValueError, UnicodeDecodeError):
        return None
    sub = payload.get("sub") if isinstance(payload, dict) else None
    if not isinstance(sub, str):
        return None
    try:
        parse_did(sub)
    except DidError:
        return None
    return sub


def resolution_snapshot(client: TwinClient, did: str) -> tuple[int | None, Any]:
    """The DID's resolution result as the target answers it now, for before/after comparisons."""
    exchange = client.get(f"/identity/{did}", headers={"accept": DID_RESOLUTION})
    try:
        body = json.loads(exchange.body)
    except (UnicodeDecodeError, ValueError):
        body = exchange.body.decode("utf-8", "replace")
    return exchange.status, body


def require_unchanged(
    client: TwinClient, did: str, before: tuple[int | None, Any], requirement: str, what: str
) -> None:
    """Fail unless the DID resolves exactly as it did ``before``."""
    after = resolution_snapshot(client, did)
    require(
        after == before,
        requirement,
        f"{what} changed the DID document or its metadata of {did}",
    )


@dataclass
class TargetResolver:
    """Resolves DIDs the way a verifier must: did:twin through the target, did:key offline.

    Its key lookups follow ``twin_spec``: the method must be listed under the purpose in the
    controller's document as resolved here, never taken from the signed data.
    """

    client: TwinClient
    documents: dict[str, Mapping[str, object]] = field(default_factory=dict)

    def document(self, did: str) -> Mapping[str, object]:
        """The DID document, or :class:`DidError` when the DID does not resolve."""
        if did in self.documents:
            return self.documents[did]
        parsed = parse_did(did)
        if parsed.method == "key":
            document: Mapping[str, object] = did_key_document(did)
        else:
            exchange = self.client.get(f"/identity/{did}")
            if exchange.status != 200:
                raise DidError(_did_code(exchange), f"the target answered {exchange.status}")
            body = exchange.json("TWIN-IDENTITY-014")
            if not isinstance(body, dict):
                fail(
                    "TWIN-IDENTITY-014",
                    f"{exchange.where} answered a document that is not an object",
                )
            document = body
        self.documents[did] = document
        return document

    def key(self, method: str, purpose: str) -> Ed25519PublicKey:
        """A :data:`twin_spec.KeyResolver`: the key of ``method`` authorized for ``purpose``."""
        did = str(parse_did_url(method).did)
        return verification_key(self.document(did), method, purpose)

    def assertion_key(self, kid: str) -> Ed25519PublicKey:
        """A :data:`twin_spec.CredentialKeyResolver`: the assertion key ``kid`` names."""
        return self.key(kid, "assertionMethod")


def _did_code(exchange: Exchange) -> DidErrorCode:
    """The DID error code a failed resolution names, or the one its status implies."""
    code = error_code(exchange)
    for member in DidErrorCode:
        if member.value == code:
            return member
    return DidErrorCode.INVALID_DID if exchange.status == 400 else DidErrorCode.NOT_FOUND


@dataclass(frozen=True)
class Verdict:
    """What a verifier concludes: verified, or the reason it is not (None: no spec code)."""

    verified: bool
    reason: str | None = None


def proof_verdict(
    document: Mapping[str, object], proof: Mapping[str, object], resolver: TargetResolver
) -> Verdict:
    """What ``twin_spec`` says of a proof over a document, keys resolved through the target."""
    try:
        verify_proof({**document, "proof": dict(proof)}, resolver.key)
    except ProofVerificationError as exc:
        return Verdict(False, exc.reason.value)
    except DidError as exc:
        return Verdict(False, exc.code.value)
    except TwinSpecError:
        return Verdict(False, None)
    return Verdict(True)


def credential_verdict(token: str, resolver: TargetResolver) -> Verdict:
    """What ``twin_spec`` says of a VC-JWT now, issuer keys resolved through the target."""
    try:
        verify_credential_jwt(token, resolver.assertion_key, now_seconds())
    except JwtError as exc:
        return Verdict(False, exc.reason.value)
    except DidError as exc:
        return Verdict(False, exc.code.value)
    except TwinSpecError:
        return Verdict(False, None)
    return Verdict(True)


def spec_failure_requirement(error: TwinSpecError, default: str) -> str:
    """The requirement a spec-core error names, or ``default``."""
    if isinstance(error, ReceiptVerificationError) and error.requirement is None:
        return RECEIPT_PART_REQUIREMENTS.get(error.part, default)
    if isinstance(error, KeyFormatError) and error.requirement is None:
        return "TWIN-IDENTITY-010"
    return error.requirement or default


def check_receipt(
    receipt: object,
    committee: Committee,
    what: str,
    *,
    transaction_digest: bytes | None = None,
) -> dict[str, Any]:
    """Verify a receipt offline; a failure blames the requirement of the part that failed.

    A checkpoint signature made in another signing domain, or in none, or an inclusion proof
    built another way than RFC 9162 says, blames the rule the node broke in making it rather
    than the verification rule (``_diagnosis``).
    """
    try:
        return dict(verify_receipt(receipt, committee, transaction_digest=transaction_digest))
    except ReceiptVerificationError as exc:
        requirement = spec_failure_requirement(exc, "TWIN-ANCHORING-030")
        message = f"{what}: the receipt fails offline verification as {exc.part.value}: "
        misuse = None
        if exc.part is ReceiptFailure.CHECKPOINT_SIGNATURE and isinstance(receipt, Mapping):
            misuse = checkpoint_domain_misuse(receipt.get("checkpoint"), committee)
        elif exc.part is ReceiptFailure.INCLUSION_PROOF:
            misuse = inclusion_misuse(receipt)
        if misuse is not None:
            fail(misuse[0], f"{message}{misuse[1]}")
        fail(requirement, f"{message}{exc.message}")


def decode_status_list_or_fail(endpoint: object, requirement: str, what: str) -> bytes:
    """Decode a #revocation endpoint with the spec's strict decoder, or fail the check."""
    try:
        return decode_status_list(endpoint)  # type: ignore[arg-type]
    except StatusListError as exc:
        fail(requirement, f"{what}: the status list does not decode: {exc.message}")


def revocation_endpoint(document: Mapping[str, object], did: str) -> object:
    """The serviceEndpoint of the document's ``#revocation`` service (None when absent)."""
    services = document.get("service")
    for service in services if isinstance(services, list) else []:
        if isinstance(service, Mapping) and service.get("id") in (
            f"{did}#revocation",
            "#revocation",
        ):
            return service.get("serviceEndpoint")
    return None


PROOF_ID = re.compile(r"immutable-proof:([0-9a-f]{64})\Z")
PROOF_BOUND_SECONDS = 30.0
"""How long after its 201 an immutable proof may lack its proof and receipt (ANCHORING-050)."""


@dataclass
class Anchored:
    """A document the harness anchored, where the target put it, and the proof it answers."""

    document: dict[str, Any]
    location: str
    proof: dict[str, Any]


def anchor(client: TwinClient, run: TwinState, document: dict[str, Any]) -> Anchored:
    """``POST /immutable-proof`` then ``GET`` the proof it names, once it is signed."""
    created = client.post("/immutable-proof", json_body={"document": document}, auth=True)
    require_status(created, 201, "TWIN-ANCHORING-050", "anchoring a document")
    location = created.headers.get("location", "")
    require(
        PROOF_ID.match(location) is not None,
        "TWIN-ANCHORING-050",
        f"POST /immutable-proof answered Location {location!r}, not immutable-proof:<64 hex>",
    )
    fetched = signed_proof(client, run, location)
    return Anchored(document, location, body_object(fetched, "TWIN-ANCHORING-050", "the proof"))


def signed_proof(client: TwinClient, run: TwinState, location: str) -> Exchange:
    """GET the proof until it carries its proof and receipt, for up to 30 s after the 201.

    TWIN-ANCHORING-050 lets a node answer the 201 once the proof is durably accepted, the
    receipt following with the commit (the reference node does), and lets it sign in the
    background (the TWIN node 0.0.2 does): a GET before then may lack the receipt, or both.
    The harness waits as a client would; a proof first answered unsigned is noted once.
    """
    started = time.monotonic()
    pause = 0.01
    unsigned = False
    while True:
        fetched = client.get(f"/immutable-proof/{location}", auth=True, validate=False)
        require_status(fetched, 200, "TWIN-ANCHORING-050", "getting a proof after its 201")
        body = body_object(fetched, "TWIN-ANCHORING-050", "the proof")
        waited = time.monotonic() - started
        unsigned = unsigned or "proof" not in body
        if "proof" in body and "immutableReceipt" in body:
            break
        require(
            waited < PROOF_BOUND_SECONDS,
            "TWIN-ANCHORING-050",
            f"GET /immutable-proof/{location} still answers no "
            f"{' and no '.join(m for m in ('proof', 'immutableReceipt') if m not in body)} "
            f"{waited:.0f} s after the 201",
        )
        time.sleep(pause)
        pause = min(pause * 2, 2.0)
    if unsigned:
        run.deviation(
            "immutable-proof-signed-in-background",
            "immutable proofs are signed after the 201 (the first GET had no proof); the "
            f"harness waited up to {PROOF_BOUND_SECONDS:.0f} s, this time {waited:.1f} s",
            "TWIN-ANCHORING-050",
        )
    if client.validator is not None:
        client.validator(fetched, False)
    return fetched


def anchored_documents(rng: random.Random) -> list[dict[str, Any]]:
    """Two documents: an invoice with an id and characters JSON escapes, and one without id."""
    return [
        {
            "@context": "https://schema.org",
            "type": "Invoice",
            "id": f"urn:example:invoice:INV-{rng.randrange(10**6):06d}",
            "identifier": f"INV-{rng.randrange(10**6):06d}",
            "customer": 'Zoë "the exporter" \\ Ltd ✓',
            "totalPaymentDue": {
                "@type": "PriceSpecification",
                "price": rng.randrange(1, 10**7),
                "priceCurrency": rng.choice(["USD", "KES", "GHS", "GBP", "AED"]),
            },
        },
        {"measurements": [rng.randrange(-(10**9), 10**9) for _ in range(5)], "ratio": 0.5},
    ]
