"""Identity profile checks: DIDs, did:key, JWKs, proofs, credentials, revocation, control.

Everything the target answers is judged by ``twin_spec``: keys are resolved through the target
(whatever method the node mints) or from the DID itself (did:key), proofs and credentials are
verified offline, and
the node's own verify routes must give the spec's verdict and reason. The negative checks end
by resolving the DID again: a refused write must leave it exactly as it was (TWIN-CORE-051,
TWIN-CORE-054).
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from twin_conformance._client import Exchange, TwinClient, fail, require
from twin_conformance._failures import prerequisite
from twin_conformance._run import TwinState
from twin_conformance.checks._support import (
    BASE58,
    BASE64URL,
    DID_RESOLUTION,
    HEX,
    TargetResolver,
    Verdict,
    b64url,
    body_object,
    credential_verdict,
    decode_status_list_or_fail,
    error_code,
    harness_key,
    mutate_string,
    node_did_method,
    now_seconds,
    proof_verdict,
    require_did_twin_node,
    require_status,
    require_unchanged,
    resolution_snapshot,
    revocation_endpoint,
    schema_errors,
    seeded_random,
    spec_failure_requirement,
)
from twin_spec import (
    DATA_INTEGRITY_PROOF_TYPE,
    VC_CONTEXT,
    VC_TYPE,
    VERIFICATION_RELATIONSHIPS,
    DidError,
    Ed25519SigningKey,
    JwtError,
    KeyFormatError,
    Multicodec,
    ProofVerificationError,
    TwinSpecError,
    add_prefix,
    base58btc_encode,
    build_credential,
    create_proof,
    credential_jwt_claims,
    decode_jwt,
    did_key_from_public_key,
    jwk_from_public_key,
    jwk_thumbprint,
    new_status_list,
    parse_did,
    parse_did_twin,
    public_key_from_jwk,
    public_key_from_verification_method,
    resolve_did_key,
    seconds_from_iso,
    verification_method,
    verify_credential_jwt,
    verify_proof,
    with_status_bit,
)

pytestmark = pytest.mark.twin_profile("identity")

ASSERTION = "conformance-assert"
AUTHENTICATION = "conformance-auth"
SERVICE = "conformance-svc"
ISSUING = "conformance-issue"
EXAMPLES_CONTEXT = "https://www.w3.org/ns/credentials/examples/v2"
FOREIGN_CONTEXT = "https://conformance.twin.example/context/v1"
ISO_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\Z")
ISO_WHOLE_SECONDS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z\Z")
DID_KEY_RELATIONSHIPS = (
    "authentication",
    "assertionMethod",
    "capabilityInvocation",
    "capabilityDelegation",
)
EXPIRATION = "2099-12-31T23:59:59.000Z"
ISSUED_AT = 1_767_225_600  # 2026-01-01T00:00:00Z, the issuance time of the harness's own JWTs


# --- fixtures --------------------------------------------------------------------------------


@dataclass
class Identity:
    """A DID the harness created on the target (of the node's method), with its answer."""

    did: str
    created: dict[str, Any]
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    relationships: dict[str, str] = field(default_factory=dict)

    def url(self, suffix: str = "") -> str:
        """The path of this identity on the target, with ``suffix``."""
        return f"/identity/{self.did}{suffix}"


def create_identity(client: TwinClient) -> Identity:
    """``POST /identity`` and the new DID document."""
    exchange = client.post("/identity", json_body={}, auth=True)
    require_status(exchange, 200, None, "creating an identity")
    document = body_object(exchange, None, "the new identity")
    did = document.get("id")
    require(isinstance(did, str), "TWIN-IDENTITY-030", "the new identity's document has no id")
    return Identity(str(did), document)


def add_method(client: TwinClient, identity: Identity, relationship: str, fragment: str) -> None:
    """Add a verification method under ``relationship`` and remember the answer."""
    exchange = client.post(
        identity.url("/verification-method"),
        json_body={"verificationMethodType": relationship, "verificationMethodId": fragment},
        auth=True,
    )
    require_status(exchange, 200, None, f"adding a {relationship} method")
    identity.methods[fragment] = body_object(exchange, None, "the new verification method")
    identity.relationships[fragment] = relationship


@pytest.fixture(scope="module")
@prerequisite("the node creates an identity")
def created(client: TwinClient) -> Identity:
    """A new DID as ``POST /identity`` answers it (the first write of the identity checks)."""
    return create_identity(client)


@pytest.fixture(scope="module")
@prerequisite("the new identity gets methods and a service")
def subject(client: TwinClient, created: Identity) -> Identity:
    """The new DID with an assertion method, an authentication method and a service."""
    identity = Identity(created.did, created.created)
    add_method(client, identity, "assertionMethod", ASSERTION)
    add_method(client, identity, "authentication", AUTHENTICATION)
    exchange = client.post(
        identity.url("/service"),
        json_body={
            "serviceId": SERVICE,
            "type": "LinkedDomains",
            "endpoint": "https://twin.example/",
        },
        auth=True,
    )
    require_status(exchange, 200, None, "adding a service")
    return identity


@pytest.fixture(scope="module")
@prerequisite("a second identity with an assertion method issues credentials")
def issuer(client: TwinClient, created: Identity) -> Identity:
    """A DID that issues credentials (its status list is changed by the revocation check)."""
    identity = create_identity(client)
    add_method(client, identity, "assertionMethod", ISSUING)
    return identity


@pytest.fixture(scope="module")
def harness(run: TwinState) -> Ed25519SigningKey:
    """The harness's own Ed25519 key, whose did:key the target resolves from the DID alone."""
    return harness_key(run, "identity")


def did_key_of(key: Ed25519SigningKey) -> tuple[str, str]:
    """The did:key of a key and the id of its one verification method."""
    did = did_key_from_public_key(key.public_key)
    return did, f"{did}#{did.removeprefix('did:key:')}"


def signed_document(rng: random.Random, issuer_did: str) -> dict[str, Any]:
    """A credential-shaped document with seeded content, for proofs."""
    return {
        "@context": [VC_CONTEXT, EXAMPLES_CONTEXT],
        "id": f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
        "type": [VC_TYPE, "ExampleCertificateOfOrigin"],
        "issuer": issuer_did,
        "validFrom": "2026-11-21T00:00:00Z",
        "credentialSubject": {
            "id": f"urn:example:shipment:KE-{rng.randrange(10**6):06d}",
            "origin": rng.choice(["KE", "GH", "GB", "AE"]),
            "hsCode": "0902.30",
            "weightKg": rng.randrange(1, 10**6),
            "note": 'Zoë "quoted" \\ back\tslash ✓',
        },
    }


@pytest.fixture(scope="module")
@prerequisite("the node signs a document with the subject's assertion method")
def node_proof(
    client: TwinClient, subject: Identity, run: TwinState
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A document and the proof the target made over it with the subject's assertion method."""
    document = signed_document(seeded_random(run, "identity:proof"), subject.did)
    exchange = client.post(
        subject.url(f"/proof/{ASSERTION}"),
        json_body={"proofType": DATA_INTEGRITY_PROOF_TYPE, "document": document},
        auth=True,
    )
    require_status(exchange, 200, "TWIN-IDENTITY-020", "signing a document")
    return document, body_object(exchange, "TWIN-IDENTITY-028", "the proof")


def resolve(client: TwinClient, did: str, requirement: str | None = None) -> dict[str, Any]:
    """The DID document the target resolves for ``did`` (it must resolve)."""
    exchange = client.get(f"/identity/{did}")
    require_status(exchange, 200, requirement, f"resolving {did}")
    return body_object(exchange, "TWIN-IDENTITY-014", "the DID document")


# --- did:twin creation and resolution ----------------------------------------------------------


@pytest.mark.twin_requirement("TWIN-IDENTITY-030")
def test_a_new_identity_is_a_well_formed_did_twin(created: Identity, run: TwinState) -> None:
    require_did_twin_node(run)
    try:
        parse_did_twin(created.did)
    except DidError as exc:
        fail("TWIN-IDENTITY-030", f"POST /identity made {created.did!r}: {exc.message}")


@pytest.mark.twin_requirement("TWIN-IDENTITY-001", "TWIN-IDENTITY-050")
def test_a_new_identity_has_an_empty_status_list(created: Identity, run: TwinState) -> None:
    try:
        parsed = parse_did(created.did)
    except DidError as exc:
        fail("TWIN-IDENTITY-001", f"POST /identity made {created.did!r}: {exc.message}")
    method = node_did_method(run)
    require(
        method is None or parsed.method == method,
        "TWIN-IDENTITY-001",
        f"POST /identity made a did:{parsed.method}, but the node's own DID is a did:{method}",
    )
    identity = created
    services = identity.created.get("service")
    require(
        isinstance(services, list) and len(services) == 1,
        "TWIN-IDENTITY-050",
        f"a new identity must carry exactly its #revocation service, not {services!r:.200}",
    )
    assert isinstance(services, list)
    service = services[0]
    require(
        isinstance(service, dict)
        and service.get("id") == f"{identity.did}#revocation"
        and service.get("type") == "BitstringStatusList",
        "TWIN-IDENTITY-050",
        f"the new identity's service is not {{id DID#revocation, type BitstringStatusList}}: "
        f"{service!r:.300}",
    )
    bits = decode_status_list_or_fail(
        service.get("serviceEndpoint"), "TWIN-IDENTITY-050", "the new identity's #revocation"
    )
    require(
        bits == new_status_list(),
        "TWIN-IDENTITY-050",
        f"a new identity's status list must be 16384 zero bytes; it is {len(bits)} bytes with "
        f"{sum(bin(b).count('1') for b in bits)} bits set",
    )


@pytest.mark.twin_requirement("TWIN-IDENTITY-014")
def test_a_new_identity_resolves_to_a_valid_document(
    client: TwinClient, subject: Identity, run: TwinState
) -> None:
    exchange = client.get(subject.url(), validate=False)
    require_status(exchange, 200, "TWIN-IDENTITY-014", "resolving a new identity")
    document = body_object(exchange, "TWIN-IDENTITY-014", "the DID document")
    assert run.contract is not None
    errors = schema_errors(run.contract, "did-document.schema.json", document)
    require(not errors, "TWIN-IDENTITY-014", f"{exchange.where}: the DID document {errors}")
    run.contract.check(exchange)
    require(
        document.get("id") == subject.did,
        "TWIN-IDENTITY-014",
        f"resolving {subject.did} answered the document of {document.get('id')!r}",
    )
    require(
        revocation_endpoint(document, subject.did) is not None,
        "TWIN-IDENTITY-050",
        "the resolved document lost its #revocation service",
    )
    node = run.info.get("nodeIdentity") if run.info else None
    if isinstance(node, str):
        node_exchange = client.get(f"/identity/{node}", validate=False)
        require_status(node_exchange, 200, "TWIN-IDENTITY-014", "resolving the node's own DID")
        node_document = body_object(node_exchange, "TWIN-IDENTITY-014", "the node's DID document")
        errors = schema_errors(run.contract, "did-document.schema.json", node_document)
        require(not errors, "TWIN-IDENTITY-014", f"the node's DID document {errors}")
        run.contract.check(node_exchange)


@pytest.mark.twin_requirement("TWIN-IDENTITY-060")
@pytest.mark.parametrize("method", ["node-method", "did-key"])
def test_the_did_resolution_result_holds_the_document(
    client: TwinClient, subject: Identity, harness: Ed25519SigningKey, method: str
) -> None:
    did = subject.did if method == "node-method" else did_key_of(harness)[0]
    document = resolve(client, did)
    exchange = client.get(f"/identity/{did}", headers={"accept": DID_RESOLUTION})
    require_status(exchange, 200, "TWIN-IDENTITY-060", "resolving with Accept did-resolution")
    require(
        exchange.media_type() == DID_RESOLUTION,
        "TWIN-IDENTITY-060",
        f"the resolution result came as {exchange.media_type()!r}, not {DID_RESOLUTION}",
    )
    result = body_object(exchange, "TWIN-IDENTITY-060", "the resolution result")
    require(
        result.get("didDocument") == document,
        "TWIN-IDENTITY-060",
        "the resolution result's didDocument differs from the document GET answers",
    )
    metadata = result.get("didResolutionMetadata")
    require(
        isinstance(metadata, dict) and "error" not in metadata,
        "TWIN-IDENTITY-060",
        f"a successful resolution has didResolutionMetadata {metadata!r:.200}",
    )
    document_metadata = result.get("didDocumentMetadata")
    require(isinstance(document_metadata, dict), "TWIN-IDENTITY-060", "no didDocumentMetadata")
    assert isinstance(document_metadata, dict)
    if method == "did-key":
        return
    for member in ("created", "updated", "versionId"):
        require(
            isinstance(document_metadata.get(member), str) and document_metadata[member],
            "TWIN-IDENTITY-060",
            f"the document metadata of the node's {subject.did[:40]} has no {member}",
        )


def _random_did_twin(rng: random.Random) -> str:
    """A well-formed did:twin no node has created (64 seeded hex digits)."""
    return "did:twin:0x" + "".join(rng.choice(HEX) for _ in range(64))


def unknown_did(rng: random.Random, run: TwinState) -> str:
    """A well-formed DID of the node's method that no node has created.

    For did:twin, 64 seeded hex digits; for another method, the node's own DID with one
    character of its method-specific id changed to another of the same kind.
    """
    method = node_did_method(run)
    node = run.info.get("nodeIdentity") if run.info else None
    if method in (None, "twin") or not isinstance(node, str):
        return _random_did_twin(rng)
    prefix = f"did:{method}:"
    alphabet = HEX if all(c in HEX + ":x" for c in node[len(prefix) :].lower()) else BASE58
    return mutate_string(node, rng, alphabet, start=len(prefix))


DidMaker = Callable[[random.Random, TwinState], str]
TWIN_ONLY = "twin-only"


RESOLUTION_ERRORS = [
    pytest.param(
        lambda rng, run: _random_did_twin(rng).upper().replace("DID:TWIN:0X", "did:twin:0x"),
        400,
        "invalidDid",
        TWIN_ONLY,
        id="uppercase-hex",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-030"),
    ),
    pytest.param(
        lambda rng, run: _random_did_twin(rng)[:-1],
        400,
        "invalidDid",
        TWIN_ONLY,
        id="63-hex-digits",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-030"),
    ),
    pytest.param(
        lambda rng, run: _random_did_twin(rng).replace(":0x", ":"),
        400,
        "invalidDid",
        TWIN_ONLY,
        id="no-0x",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-030"),
    ),
    pytest.param(
        lambda rng, run: "conformance-not-a-did",
        400,
        "invalidDid",
        "",
        id="not-a-did",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-001"),
    ),
    pytest.param(
        lambda rng, run: (
            lambda did: did[:4] + did[4:].split(":", 1)[0].upper() + ":" + did[4:].split(":", 1)[1]
        )(unknown_did(rng, run)),
        400,
        "invalidDid",
        "",
        id="uppercase-method",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-001"),
    ),
    pytest.param(unknown_did, 404, "notFound", "", id="unknown-did"),
    pytest.param(
        lambda rng, run: f"did:example:conformance{rng.randrange(10**6)}",
        501,
        "methodNotSupported",
        "",
        id="other-method",
    ),
]


SYNTAX_RULES = ("TWIN-IDENTITY-030", "TWIN-IDENTITY-001")


def _require_refused_as_invalid(
    request: pytest.FixtureRequest, exchange: Exchange, did: str, code: str
) -> None:
    """A malformed DID the node treats as well formed breaks the syntax rule of the case.

    Neither a 400 nor the code invalidDid means the node parsed it as a DID (it then said it
    is unknown, say); a 400 with another code, or invalidDid with another status, is a
    mapping fault of TWIN-IDENTITY-060/061 instead.
    """
    status = exchange.status or 500
    if code != "invalidDid" or not 200 <= status < 500 or status == 400:
        return
    if _answered_code(exchange) == code:
        return
    rules = [
        str(arg)
        for marker in request.node.iter_markers("twin_requirement")
        for arg in marker.args
        if arg in SYNTAX_RULES
    ]
    if rules:
        fail(
            rules[0],
            f"resolving the malformed {did!r} answered {exchange.status} with code "
            f"{_answered_code(exchange)!r}: the node took it for a well-formed DID",
        )


def _answered_code(exchange: Exchange) -> str | None:
    """The DID error code an answer carries: properties.code or didResolutionMetadata.error."""
    code = error_code(exchange)
    if code is not None:
        return code
    try:
        body = json.loads(exchange.body)
    except (UnicodeDecodeError, ValueError):
        return None
    metadata = body.get("didResolutionMetadata") if isinstance(body, dict) else None
    error = metadata.get("error") if isinstance(metadata, dict) else None
    return error if isinstance(error, str) else None


@pytest.mark.twin_requirement("TWIN-IDENTITY-061", "TWIN-CORE-054")
@pytest.mark.parametrize(("make", "status", "code", "scope"), RESOLUTION_ERRORS)
@pytest.mark.twin_read_only
def test_resolution_errors_map_to_statuses(
    request: pytest.FixtureRequest,
    client: TwinClient,
    run: TwinState,
    rng: random.Random,
    make: DidMaker,
    status: int,
    code: str,
    scope: str,
) -> None:
    if scope == TWIN_ONLY:
        require_did_twin_node(run)
    did = make(rng, run)
    exchange = client.get(f"/identity/{did}", expect_rejection=True)
    _require_refused_as_invalid(request, exchange, did, code)
    require(
        exchange.status == status,
        "TWIN-IDENTITY-061",
        f"resolving {did!r} answered {exchange.status}, not {status} ({code})",
    )
    require(
        error_code(exchange) == code,
        "TWIN-IDENTITY-061",
        f"resolving {did!r}: the error body's properties.code is {error_code(exchange)!r}, "
        f"not {code!r}",
    )


@pytest.mark.twin_requirement("TWIN-IDENTITY-060", "TWIN-CORE-054")
@pytest.mark.parametrize(("make", "status", "code", "scope"), RESOLUTION_ERRORS)
@pytest.mark.twin_read_only
def test_resolution_results_carry_the_error_code(
    request: pytest.FixtureRequest,
    client: TwinClient,
    run: TwinState,
    rng: random.Random,
    make: DidMaker,
    status: int,
    code: str,
    scope: str,
) -> None:
    if scope == TWIN_ONLY:
        require_did_twin_node(run)
    did = make(rng, run)
    exchange = client.get(
        f"/identity/{did}", headers={"accept": DID_RESOLUTION}, expect_rejection=True
    )
    _require_refused_as_invalid(request, exchange, did, code)
    require(
        exchange.status == status,
        "TWIN-IDENTITY-061",
        f"resolving {did!r} as a resolution result answered {exchange.status}, not {status}",
    )
    require(
        exchange.media_type() == DID_RESOLUTION,
        "TWIN-IDENTITY-060",
        f"the {status} resolution result came as {exchange.media_type()!r}, not {DID_RESOLUTION}",
    )
    result = body_object(exchange, "TWIN-IDENTITY-060", "the resolution result")
    metadata = result.get("didResolutionMetadata")
    require(
        isinstance(metadata, dict) and metadata.get("error") == code,
        "TWIN-IDENTITY-060",
        f"resolving {did!r}: didResolutionMetadata is {metadata!r:.200}, without error {code!r}",
    )
    require(
        "didDocument" in result and result["didDocument"] is None,
        "TWIN-IDENTITY-060",
        "a failed resolution must answer didDocument null",
    )


@pytest.mark.twin_requirement("TWIN-IDENTITY-031", "TWIN-CORE-054")
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        pytest.param(
            "POST",
            "/service",
            {"serviceId": "x", "type": "LinkedDomains", "endpoint": "https://twin.example/"},
            id="add-service",
        ),
        pytest.param(
            "POST",
            "/verification-method",
            {"verificationMethodType": "assertionMethod", "verificationMethodId": "x"},
            id="add-method",
        ),
        pytest.param("DELETE", "", None, id="deactivate"),
    ],
)
@pytest.mark.parametrize("other", ["did-key", "did-example"])
def test_writes_to_a_did_of_another_method_are_400_method_not_supported(
    client: TwinClient,
    harness: Ed25519SigningKey,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
    other: str,
) -> None:
    did = did_key_of(harness)[0] if other == "did-key" else "did:example:conformance"
    kwargs: dict[str, Any] = {"json_body": body} if body is not None else {}
    exchange = client.request(
        method, f"/identity/{did}{suffix}", auth=True, expect_rejection=True, **kwargs
    )
    require(
        exchange.status == 400 and error_code(exchange) == "methodNotSupported",
        "TWIN-IDENTITY-031",
        f"{method} on {did} (not of the node's method) answered {exchange.status} with code "
        f"{error_code(exchange)!r}, not 400 methodNotSupported (path.identity)",
    )


# --- did:key --------------------------------------------------------------------------------------


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-IDENTITY-002", "TWIN-IDENTITY-004")
def test_a_did_key_resolves_to_its_one_ed25519_method(
    client: TwinClient, harness: Ed25519SigningKey
) -> None:
    did, method_id = did_key_of(harness)
    document = resolve(client, did, "TWIN-IDENTITY-004")
    require(document.get("id") == did, "TWIN-IDENTITY-004", f"{did} resolved with another id")
    methods = document.get("verificationMethod")
    require(isinstance(methods, list), "TWIN-IDENTITY-004", "the did:key document has no methods")
    assert isinstance(methods, list)
    mine = [m for m in methods if isinstance(m, dict) and m.get("id") == method_id]
    require(
        len(mine) == 1,
        "TWIN-IDENTITY-004",
        f"the did:key document must have one method {method_id}, has ids "
        f"{[m.get('id') for m in methods if isinstance(m, dict)]}",
    )
    method = mine[0]
    require(
        method.get("controller") == did,
        "TWIN-IDENTITY-004",
        f"the did:key method's controller is {method.get('controller')!r}, not the DID",
    )
    try:
        key = public_key_from_verification_method(method)
    except TwinSpecError as exc:
        fail("TWIN-IDENTITY-004", f"the did:key method's key cannot be read: {exc.message}")
    require(
        key.raw == harness.public_key.raw,
        "TWIN-IDENTITY-002",
        "the did:key method holds another key than the one the DID encodes",
    )
    for relationship in DID_KEY_RELATIONSHIPS:
        try:
            verification_method(document, method_id, relationship)
        except DidError as exc:
            fail(
                "TWIN-IDENTITY-004",
                f"the did:key method is not under {relationship}: {exc.message}",
            )
    for other in methods:
        if not isinstance(other, dict) or other.get("id") == method_id:
            continue
        for relationship in DID_KEY_RELATIONSHIPS:
            listed = document.get(relationship)
            require(
                not isinstance(listed, list)
                or all(
                    entry != other.get("id")
                    and not (isinstance(entry, dict) and entry.get("id") == other.get("id"))
                    for entry in listed
                ),
                "TWIN-IDENTITY-004",
                f"the did:key document lists a 2nd method {other.get('id')} under {relationship}",
            )


def _did_key_with(codec_and_key: bytes) -> str:
    """A did:key of arbitrary multicodec bytes, for the refusal cases."""
    return "did:key:z" + base58btc_encode(codec_and_key)


DID_KEY_KEY_CODES = {"unsupportedPublicKeyType", "invalidPublicKeyLength", "invalidPublicKey"}
"""The did:key codes about the key, which a resolver reaches only once the encoding is read."""


def _bad_did_key(did: str, case: str, rule: str | None = None) -> Any:
    """One refusal case: the did:key and the encoding rule it breaks besides the did:key rules."""
    marks = [pytest.mark.twin_requirement(rule)] if rule else []
    return pytest.param(did, rule, id=case, marks=marks)


BAD_DID_KEYS = [
    _bad_did_key(
        _did_key_with(add_prefix(Multicodec.ED25519_PUB, bytes(range(1, 32)))), "31-bytes"
    ),
    _bad_did_key(
        _did_key_with(add_prefix(Multicodec.ED25519_PUB, bytes(range(1, 34)))), "33-bytes"
    ),
    _bad_did_key(_did_key_with(bytes([0xE7, 0x01]) + bytes([2]) + bytes(range(32))), "secp256k1"),
    _bad_did_key(_did_key_with(bytes([0x80, 0x24]) + bytes([4]) + bytes(range(64))), "p256"),
    _bad_did_key(
        _did_key_with(add_prefix(Multicodec.ED25519_PUB, bytes([1]) + bytes(31))),
        "small-order",
        "TWIN-CORE-013",
    ),
    _bad_did_key(
        _did_key_with(add_prefix(Multicodec.ED25519_PUB, bytes([0xFF] * 31 + [0x7F]))),
        "non-canonical-point",
        "TWIN-CORE-012",
    ),
    _bad_did_key("did:key:z0OIl", "not-base58btc", "TWIN-CORE-030"),
    _bad_did_key("did:key:u7QE" + "A" * 43, "base64url-multibase", "TWIN-CORE-030"),
    _bad_did_key(
        _did_key_with(bytes([0xED, 0x81, 0x00]) + bytes(range(32))),
        "non-minimal-varint",
        "TWIN-CORE-032",
    ),
]


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-IDENTITY-003", "TWIN-CORE-054")
@pytest.mark.parametrize(("did", "encoding_rule"), BAD_DID_KEYS)
@pytest.mark.parametrize("accept", ["json", "did-resolution"])
def test_a_bad_did_key_is_refused_with_its_code(
    client: TwinClient, did: str, encoding_rule: str | None, accept: str
) -> None:
    expected = resolve_did_key(did)["didResolutionMetadata"]
    assert isinstance(expected, dict)
    code = str(expected["error"])
    headers = {"accept": DID_RESOLUTION} if accept == "did-resolution" else {}
    exchange = client.get(f"/identity/{did}", headers=headers, expect_rejection=True)
    # A node that resolves the did:key, or refuses it for another reason, read its encoding
    # (base58btc, the varint, the point) otherwise than the spec: that rule is the one broken.
    accepted = exchange.status is not None and 200 <= exchange.status < 300
    require(
        not (accepted and encoding_rule),
        encoding_rule,
        f"the bad did:key {did[:60]} resolved ({exchange.status}); the spec refuses it as {code}",
    )
    require(
        exchange.status == 400,
        "TWIN-IDENTITY-061",
        f"resolving the bad did:key {did[:60]} answered {exchange.status}, not 400 ({code})",
    )
    if accept == "json":
        got = error_code(exchange)
    else:
        result = body_object(exchange, "TWIN-IDENTITY-060", "the resolution result")
        metadata = result.get("didResolutionMetadata")
        got = metadata.get("error") if isinstance(metadata, dict) else None
    # Refused for a reason the spec only reaches once the encoding is read (a key type, length
    # or point) where the encoding itself is bad: the node read past a bad encoding.
    read_past = code == "invalidDid" and got in DID_KEY_KEY_CODES
    require(
        got == code,
        (encoding_rule if read_past else None) or "TWIN-IDENTITY-003",
        f"the bad did:key {did[:60]} was refused as {got!r}; the spec says {code!r}",
    )


# --- verification methods and JWKs ---------------------------------------------------------------


@pytest.mark.twin_requirement("TWIN-IDENTITY-010", "TWIN-IDENTITY-013")
def test_verification_methods_are_ed25519_jwks_under_their_relationship(
    client: TwinClient, subject: Identity
) -> None:
    document = resolve(client, subject.did)
    for fragment, created in subject.methods.items():
        method_id = f"{subject.did}#{fragment}"
        require(
            created.get("id") == method_id and created.get("controller") == subject.did,
            "TWIN-IDENTITY-013",
            f"the new method is {created.get('id')!r} controlled by {created.get('controller')!r}, "
            f"not {method_id} controlled by the identity",
        )
        jwk = created.get("publicKeyJwk")
        try:
            key = public_key_from_jwk(jwk)  # type: ignore[arg-type]
        except KeyFormatError as exc:
            fail("TWIN-IDENTITY-010", f"the JWK of {method_id}: {exc.message}")
        relationship = subject.relationships[fragment]
        try:
            resolved = verification_method(document, method_id, relationship)
            resolved_key = public_key_from_verification_method(resolved)
        except DidError as exc:
            fail(
                "TWIN-IDENTITY-013", f"{method_id} is not usable for {relationship}: {exc.message}"
            )
        except KeyFormatError as exc:
            fail("TWIN-IDENTITY-010", f"the resolved {method_id}: {exc.message}")
        require(
            resolved_key.raw == key.raw,
            "TWIN-IDENTITY-013",
            f"the resolved {method_id} holds another key than the one its creation answered",
        )
        for other in VERIFICATION_RELATIONSHIPS:
            if other == relationship:
                continue
            try:
                verification_method(document, method_id, other)
            except DidError:
                continue
            fail(
                "TWIN-IDENTITY-013",
                f"{method_id} was added for {relationship} but the document also lists it under "
                f"{other}",
            )


@pytest.mark.twin_requirement("TWIN-IDENTITY-011")
def test_a_new_method_kid_is_its_rfc7638_thumbprint(subject: Identity) -> None:
    for fragment, created in subject.methods.items():
        jwk = created.get("publicKeyJwk")
        require(isinstance(jwk, dict), "TWIN-IDENTITY-010", f"#{fragment} has no publicKeyJwk")
        assert isinstance(jwk, dict)
        expected = jwk_thumbprint(jwk)
        require(
            jwk.get("kid") == expected,
            "TWIN-IDENTITY-011",
            f"#{fragment}'s kid is {jwk.get('kid')!r}; the RFC 7638 thumbprint of its key is "
            f"{expected}",
        )


@pytest.mark.twin_requirement("TWIN-IDENTITY-012")
def test_published_jwks_carry_their_thumbprint_as_kid(
    client: TwinClient, subject: Identity, run: TwinState
) -> None:
    dids = [subject.did]
    node = run.info.get("nodeIdentity") if run.info else None
    if isinstance(node, str):
        dids.append(node)
    for did in dids:
        document = resolve(client, did)
        for relationship in ("verificationMethod", *VERIFICATION_RELATIONSHIPS):
            entries = document.get(relationship)
            for entry in entries if isinstance(entries, list) else []:
                jwk = entry.get("publicKeyJwk") if isinstance(entry, dict) else None
                if not isinstance(jwk, dict) or jwk.get("crv") != "Ed25519":
                    continue
                try:
                    expected = jwk_thumbprint(jwk)
                except KeyFormatError as exc:
                    fail("TWIN-IDENTITY-010", f"{entry.get('id')}: {exc.message}")
                require(
                    jwk.get("kid") == expected,
                    "TWIN-IDENTITY-012",
                    f"{entry.get('id')}'s kid is {jwk.get('kid')!r}, not its thumbprint {expected}",
                )


# --- control ----------------------------------------------------------------------------


@pytest.mark.twin_requirement("TWIN-IDENTITY-063", "TWIN-CORE-052")
def test_an_id_the_document_already_has_is_409(client: TwinClient, subject: Identity) -> None:
    before = resolution_snapshot(client, subject.did)
    attempts = [
        (
            "/verification-method",
            {"verificationMethodType": "assertionMethod", "verificationMethodId": ASSERTION},
        ),
        (
            "/service",
            {
                "serviceId": "revocation",
                "type": "LinkedDomains",
                "endpoint": "https://twin.example/",
            },
        ),
        (
            "/service",
            {
                "serviceId": AUTHENTICATION,
                "type": "LinkedDomains",
                "endpoint": "https://twin.example/",
            },
        ),
        (
            "/verification-method",
            {"verificationMethodType": "authentication", "verificationMethodId": SERVICE},
        ),
    ]
    for suffix, body in attempts:
        exchange = client.post(
            subject.url(suffix), json_body=body, auth=True, expect_rejection=True
        )
        require_status(
            exchange, 409, "TWIN-IDENTITY-063", f"adding an id the document has ({body})"
        )
    require_unchanged(client, subject.did, before, "TWIN-IDENTITY-063", "a refused duplicate id")


@pytest.mark.twin_requirement("TWIN-IDENTITY-063")
def test_the_node_identity_cannot_be_changed_through_the_api(
    client: TwinClient, run: TwinState, rng: random.Random
) -> None:
    node = run.info.get("nodeIdentity") if run.info else None
    if not isinstance(node, str):
        pytest.skip("the target names no nodeIdentity in /info")
    before = resolution_snapshot(client, node)
    fragment = f"conformance-{rng.randrange(16**8):08x}"
    attempts = [
        (
            "/verification-method",
            {"verificationMethodType": "assertionMethod", "verificationMethodId": fragment},
        ),
        (
            "/service",
            {"serviceId": fragment, "type": "LinkedDomains", "endpoint": "https://twin.example/"},
        ),
    ]
    for suffix, body in attempts:
        exchange = client.post(
            f"/identity/{node}{suffix}", json_body=body, auth=True, expect_rejection=True
        )
        require_status(
            exchange,
            403,
            "TWIN-IDENTITY-063",
            "changing the node's own DID (managed by the node, not the API)",
        )
    require_unchanged(client, node, before, "TWIN-IDENTITY-063", "a refused change of the node DID")


@pytest.mark.twin_requirement("TWIN-IDENTITY-013", "TWIN-CORE-052")
@pytest.mark.parametrize("operation", ["proof", "verifiable-credential"])
def test_signing_needs_an_assertion_method(
    client: TwinClient, subject: Identity, operation: str
) -> None:
    body: dict[str, Any] = (
        {"proofType": DATA_INTEGRITY_PROOF_TYPE, "document": {"conformance": True}}
        if operation == "proof"
        else {"subject": {"conformance": True}}
    )
    exchange = client.post(
        subject.url(f"/{operation}/{AUTHENTICATION}"),
        json_body=body,
        auth=True,
        expect_rejection=True,
    )
    require(
        exchange.status is not None and exchange.status >= 400,
        "TWIN-IDENTITY-013",
        f"{exchange.where} signed with a method listed only under authentication "
        f"(answered {exchange.status})",
    )
    require(
        exchange.status == 400 and error_code(exchange) == "verificationMethodNotAuthorized",
        "TWIN-CORE-052",
        f"signing with an authentication method answered {exchange.status} with code "
        f"{error_code(exchange)!r}; the operation specifies 400 verificationMethodNotAuthorized",
    )
    unknown = client.post(
        subject.url(f"/{operation}/conformance-no-such-method"),
        json_body=body,
        auth=True,
        expect_rejection=True,
    )
    require_status(unknown, 404, "TWIN-CORE-052", "signing with a method the DID does not have")


# --- proofs ----------------------------------------------------------------------------------


@pytest.mark.twin_requirement(
    "TWIN-IDENTITY-020",
    "TWIN-IDENTITY-021",
    "TWIN-IDENTITY-025",
    "TWIN-IDENTITY-026",
    "TWIN-IDENTITY-027",
    "TWIN-IDENTITY-028",
    "TWIN-IDENTITY-013",
)
def test_a_node_proof_verifies_offline_with_the_resolved_key(
    client: TwinClient, subject: Identity, node_proof: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    document, proof = node_proof
    expected = {
        "type": DATA_INTEGRITY_PROOF_TYPE,
        "cryptosuite": "eddsa-jcs-2022",
        "proofPurpose": "assertionMethod",
        "verificationMethod": f"{subject.did}#{ASSERTION}",
    }
    for member, value in expected.items():
        require(
            proof.get(member) == value,
            "TWIN-IDENTITY-028",
            f"the node's proof has {member} {proof.get(member)!r}, not {value!r}",
        )
    resolver = TargetResolver(client)
    try:
        verify_proof({**document, "proof": proof}, resolver.key, expected_purpose="assertionMethod")
    except (ProofVerificationError, DidError, KeyFormatError) as exc:
        requirement = spec_failure_requirement(exc, "TWIN-IDENTITY-013")
        # A signature the node made that does not verify breaks the signing rule (what
        # eddsa-jcs-2022 signs), not the verifier's duty to refuse it (TWIN-IDENTITY-025).
        if requirement == "TWIN-IDENTITY-025":
            requirement = "TWIN-IDENTITY-020"
        fail(
            requirement,
            f"the node's proof does not verify offline with the key it resolves: {exc.message}",
        )


@dataclass
class ProofCase:
    """What a proof case sends to the verify route: the document and the proof."""

    document: dict[str, Any]
    proof: dict[str, Any]


@dataclass
class ProofContext:
    """The inputs every proof case starts from."""

    did: str
    document: dict[str, Any]
    proof: dict[str, Any]
    harness: Ed25519SigningKey
    rng: random.Random


def _harness_proof(
    document: Mapping[str, Any], key: Ed25519SigningKey, method: str, purpose: str
) -> dict[str, Any]:
    """An eddsa-jcs-2022 proof the harness makes with its own key."""
    return create_proof(
        document,
        key,
        verification_method=method,
        created="2026-11-21T10:00:00Z",
        proof_purpose=purpose,
    )


def _case(name: str, context: ProofContext) -> ProofCase:
    """The document and proof one verify-route case sends, from the node's signed pair."""
    document, proof = copy.deepcopy(context.document), dict(context.proof)
    rng = context.rng
    if name == "tampered-document":
        document["credentialSubject"]["weightKg"] += 1
    elif name == "flipped-proof-value":
        proof["proofValue"] = mutate_string(str(proof["proofValue"]), rng, BASE58, start=1)
    elif name == "proof-value-not-multibase":
        proof["proofValue"] = "u" + b64url(bytes(rng.randrange(256) for _ in range(64)))
    elif name == "other-proof-type":
        proof["type"] = "Ed25519Signature2020"
    elif name == "other-cryptosuite":
        proof["cryptosuite"] = "eddsa-rdfc-2022"
    elif name == "no-proof-purpose":
        proof.pop("proofPurpose")
    elif name == "bad-created":
        proof["created"] = "21 November 2026"
    elif name == "other-purpose":
        proof["proofPurpose"] = "authentication"
    elif name == "unknown-method":
        proof["verificationMethod"] = f"{context.did}#conformance-no-such-method"
    elif name == "replaced-context":
        proof["@context"] = [FOREIGN_CONTEXT]
    elif name == "appended-context":
        document["@context"] = [*document["@context"], FOREIGN_CONTEXT]
    elif name == "key-substitution":
        # The document carries the harness's key under the node DID's method id and is signed
        # by it: a verifier that took keys from the document would accept it.
        method = f"{context.did}#{ASSERTION}"
        document["verificationMethod"] = [
            {
                "id": method,
                "type": "JsonWebKey",
                "controller": context.did,
                "publicKeyJwk": jwk_from_public_key(context.harness.public_key),
            }
        ]
        proof = _harness_proof(document, context.harness, method, "assertionMethod")
    elif name.startswith("did-key"):
        method = did_key_of(context.harness)[1]
        purpose = "keyAgreement" if name == "did-key-key-agreement" else "assertionMethod"
        proof = _harness_proof(document, context.harness, method, purpose)
        if name == "did-key-tampered":
            document["validFrom"] = "2026-11-22T00:00:00Z"
    elif name != "intact":
        raise ValueError(f"unknown proof case {name}")
    return ProofCase(document, proof)


PROOF_CASES = [
    pytest.param("intact", id="intact"),
    pytest.param(
        "tampered-document",
        id="tampered-document",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-025"),
    ),
    pytest.param(
        "flipped-proof-value",
        id="flipped-proof-value",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-025", "TWIN-IDENTITY-021"),
    ),
    pytest.param(
        "proof-value-not-multibase",
        id="proof-value-not-multibase",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-021"),
    ),
    pytest.param(
        "other-proof-type",
        id="other-proof-type",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-023"),
    ),
    pytest.param(
        "other-cryptosuite",
        id="other-cryptosuite",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-024"),
    ),
    pytest.param(
        "no-proof-purpose",
        id="no-proof-purpose",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-028"),
    ),
    pytest.param(
        "bad-created", id="bad-created", marks=pytest.mark.twin_requirement("TWIN-IDENTITY-028")
    ),
    pytest.param(
        "other-purpose",
        id="other-purpose",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-026", "TWIN-IDENTITY-013"),
    ),
    pytest.param(
        "unknown-method",
        id="unknown-method",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-026"),
    ),
    pytest.param(
        "replaced-context",
        id="replaced-context",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-027"),
    ),
    pytest.param(
        "appended-context",
        id="appended-context",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-027"),
    ),
    pytest.param(
        "key-substitution",
        id="key-substitution",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-026"),
    ),
    pytest.param(
        "did-key-signed",
        id="did-key-signed",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-002"),
    ),
    pytest.param(
        "did-key-tampered",
        id="did-key-tampered",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-025"),
    ),
    pytest.param(
        "did-key-key-agreement",
        id="did-key-key-agreement",
        marks=pytest.mark.twin_requirement("TWIN-IDENTITY-013"),
    ),
]


@pytest.mark.twin_requirement("TWIN-IDENTITY-064", "TWIN-CORE-054")
@pytest.mark.parametrize("case", PROOF_CASES)
def test_the_proof_verify_route_gives_the_spec_verdict(
    request: pytest.FixtureRequest,
    client: TwinClient,
    subject: Identity,
    node_proof: tuple[dict[str, Any], dict[str, Any]],
    harness: Ed25519SigningKey,
    rng: random.Random,
    case: str,
) -> None:
    document, proof = node_proof
    sent = _case(case, ProofContext(subject.did, document, proof, harness, rng))
    expected = proof_verdict(sent.document, sent.proof, TargetResolver(client))
    exchange = client.post(
        "/identity/proof/verify",
        json_body={"document": sent.document, "proof": sent.proof},
        expect_rejection=case != "intact",
    )
    require_status(exchange, 200, "TWIN-IDENTITY-064", f"verifying a proof ({case})")
    answer = body_object(exchange, "TWIN-IDENTITY-064", "the verification")
    _require_verdict(request, answer, expected, f"proof verification ({case})")


@pytest.mark.twin_requirement("TWIN-IDENTITY-022", "TWIN-CORE-054")
def test_a_document_without_a_proof_is_not_verified(
    client: TwinClient, node_proof: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    document, _ = node_proof
    exchange = client.post(
        "/identity/proof/verify", json_body={"document": document}, expect_rejection=True
    )
    answer = exchange.json("TWIN-IDENTITY-022")
    if exchange.status == 400:
        field = answer.get("properties", {}).get("field") if isinstance(answer, dict) else None
        require(
            field in ("body.proof", "body.document.proof"),
            "TWIN-IDENTITY-022",
            f"verifying without a proof answered 400 naming {field!r}, not the missing proof",
        )
        return
    require(
        exchange.status == 200
        and isinstance(answer, dict)
        and answer.get("verified") is False
        and answer.get("failure") == "proofMissing",
        "TWIN-IDENTITY-022",
        f"verifying without a proof answered {exchange.status} {str(answer)[:200]}; "
        "expected 400 naming body.proof, or verified false with failure proofMissing",
    )


def _require_verdict(
    request: pytest.FixtureRequest, answer: Mapping[str, Any], expected: Verdict, what: str
) -> None:
    """Compare a verify route's answer with the spec's verdict; blame the case's requirement."""
    markers = [
        str(arg) for marker in request.node.iter_markers("twin_requirement") for arg in marker.args
    ]
    route_requirement = next(
        (m for m in markers if m in ("TWIN-IDENTITY-064", "TWIN-IDENTITY-065")), markers[0]
    )
    specific = next(
        (m for m in markers if m.startswith("TWIN-IDENTITY") and m != route_requirement),
        route_requirement,
    )
    verified = answer.get("verified")
    if expected.verified:
        # A valid case refused breaks the rule the case exercises (the route's, for the intact
        # one), as a refused valid vector names the rule it exists for.
        require(
            verified is True,
            specific,
            f"{what}: the target answered verified {verified!r} "
            f"(failure {answer.get('failure')!r}); the spec verifies it",
        )
        return
    require(
        verified is False,
        specific,
        f"{what}: the target answered verified {verified!r}; the spec refuses it as "
        f"{expected.reason}",
    )
    if expected.reason is not None:
        # The reason is the rule of the case (as a vector of the case names it), not the route's.
        require(
            answer.get("failure") == expected.reason,
            specific,
            f"{what}: the target's failure is {answer.get('failure')!r}; the spec's reason is "
            f"{expected.reason!r}",
        )


@pytest.mark.twin_requirement("TWIN-IDENTITY-064", "TWIN-IDENTITY-013")
def test_a_removed_method_and_service_leave_the_document(
    client: TwinClient, rng: random.Random
) -> None:
    identity = create_identity(client)
    add_method(client, identity, "assertionMethod", ASSERTION)
    service = {"serviceId": SERVICE, "type": "LinkedDomains", "endpoint": "https://twin.example/"}
    added = client.post(identity.url("/service"), json_body=service, auth=True)
    require_status(added, 200, "TWIN-IDENTITY-013", "adding a service")
    document = signed_document(rng, identity.did)
    signed = client.post(
        identity.url(f"/proof/{ASSERTION}"),
        json_body={"proofType": DATA_INTEGRITY_PROOF_TYPE, "document": document},
        auth=True,
    )
    require_status(signed, 200, "TWIN-IDENTITY-064", "signing with a new method")
    proof = body_object(signed, "TWIN-IDENTITY-028", "the proof")
    resolved = resolve(client, identity.did)
    require(
        revocation_endpoint(resolved, identity.did) is not None
        and any(
            isinstance(s, dict) and s.get("id") == f"{identity.did}#{SERVICE}"
            for s in resolved.get("service", [])
        ),
        "TWIN-IDENTITY-013",
        "the added service is not in the resolved document",
    )
    removed = client.delete(identity.url(f"/verification-method/{ASSERTION}"), auth=True)
    require_status(removed, 204, "TWIN-IDENTITY-013", "removing a verification method")
    removed = client.delete(identity.url(f"/service/{identity.did}%23{SERVICE}"), auth=True)
    require_status(removed, 204, "TWIN-IDENTITY-013", "removing a service by its DID URL")
    resolved = resolve(client, identity.did)
    text = json.dumps(resolved)
    require(
        f"#{ASSERTION}" not in text and f"#{SERVICE}" not in text,
        "TWIN-IDENTITY-013",
        "the resolved document still names the removed method or service",
    )
    require(
        revocation_endpoint(resolved, identity.did) is not None,
        "TWIN-IDENTITY-050",
        "removing a service also removed the #revocation service",
    )
    verdict = client.post(
        "/identity/proof/verify",
        json_body={"document": document, "proof": proof},
        expect_rejection=True,
    )
    answer = body_object(verdict, "TWIN-IDENTITY-064", "the verification")
    require(
        answer.get("verified") is False,
        "TWIN-IDENTITY-064",
        "a proof by a removed verification method still verifies",
    )
    again = client.delete(
        identity.url(f"/verification-method/{ASSERTION}"), auth=True, expect_rejection=True
    )
    require_status(again, 404, "TWIN-CORE-052", "removing a method a second time")


# --- credentials ---------------------------------------------------------------------------------


@dataclass
class Issued:
    """A credential the target issued: the request's inputs and its answer."""

    subject: dict[str, Any]
    credential_id: str
    index: int
    credential: dict[str, Any]
    jwt: str


@pytest.fixture(scope="module")
@prerequisite("the node issues a credential")
def issued(
    client: TwinClient, issuer: Identity, run: TwinState, harness: Ed25519SigningKey
) -> Issued:
    """A revocable, expiring credential the issuer signed through the target."""
    rng = seeded_random(run, "identity:credential")
    subject = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "id": did_key_of(harness)[0],
        "name": f"Conformance Exporters {rng.randrange(10**4)} Ltd",
        "taxID": f"P{rng.randrange(10**9):09d}X",
    }
    credential_id = f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    index = rng.randrange(1, 131071)
    exchange = client.post(
        issuer.url(f"/verifiable-credential/{ISSUING}"),
        json_body={
            "credentialId": credential_id,
            "subject": subject,
            "revocationIndex": index,
            "expirationDate": EXPIRATION,
        },
        auth=True,
    )
    require_status(exchange, 200, "TWIN-IDENTITY-040", "issuing a credential")
    body = body_object(exchange, "TWIN-IDENTITY-040", "the issued credential")
    credential, jwt = body.get("verifiableCredential"), body.get("jwt")
    require(
        isinstance(credential, dict) and isinstance(jwt, str),
        "TWIN-IDENTITY-040",
        "the issue answer has no verifiableCredential object and jwt string",
    )
    assert isinstance(credential, dict)
    assert isinstance(jwt, str)
    return Issued(subject, credential_id, index, credential, jwt)


def _issuance_ms(credential: Mapping[str, Any]) -> int:
    """The credential's issuanceDate in milliseconds (it must be ISO-8601 with ms and Z)."""
    text = credential.get("issuanceDate")
    require(
        isinstance(text, str) and ISO_MS.match(text),
        "TWIN-IDENTITY-040",
        f"issuanceDate {text!r} is not ISO-8601 UTC with milliseconds and Z",
    )
    assert isinstance(text, str)
    return seconds_from_iso(text) * 1000 + int(text[20:23])


@pytest.mark.twin_requirement("TWIN-IDENTITY-040", "TWIN-IDENTITY-044")
def test_an_issued_credential_has_the_spec_shape(issuer: Identity, issued: Issued) -> None:
    credential = issued.credential
    expected = build_credential(
        issuer.did,
        issued.subject,
        credential_id=issued.credential_id,
        issued_at_ms=_issuance_ms(credential),
        status_index=issued.index,
        expiration_date=EXPIRATION,
    )
    for member in ("@context", "id", "type", "credentialSubject", "issuer", "issuanceDate"):
        require(
            credential.get(member) == expected.get(member),
            "TWIN-IDENTITY-040",
            f"the credential's {member} is {credential.get(member)!r:.200}, the spec gives "
            f"{expected.get(member)!r:.200}",
        )
    require(
        isinstance(credential.get("expirationDate"), str)
        and ISO_WHOLE_SECONDS.match(credential["expirationDate"])
        and credential["expirationDate"] == expected["expirationDate"],
        "TWIN-IDENTITY-040",
        f"expirationDate is {credential.get('expirationDate')!r}, not {expected['expirationDate']}",
    )
    require(
        credential.get("credentialStatus") == expected["credentialStatus"],
        "TWIN-IDENTITY-044",
        f"credentialStatus is {credential.get('credentialStatus')!r}, the spec gives "
        f"{expected['credentialStatus']!r}",
    )


@pytest.mark.twin_requirement("TWIN-IDENTITY-041", "TWIN-IDENTITY-035")
def test_an_issued_credential_jwt_has_the_spec_claims(issuer: Identity, issued: Issued) -> None:
    try:
        decoded = decode_jwt(issued.jwt)
    except JwtError as exc:
        fail(spec_failure_requirement(exc, "TWIN-IDENTITY-035"), f"the VC-JWT: {exc.message}")
    header = decoded.header
    require(
        header.get("kid") == f"{issuer.did}#{ISSUING}"
        and header.get("typ") == "JWT"
        and header.get("alg") == "EdDSA",
        "TWIN-IDENTITY-041",
        f"the VC-JWT header is {header!r}, not kid {issuer.did}#{ISSUING}, typ JWT, alg EdDSA",
    )
    nbf = _issuance_ms(issued.credential) // 1000
    expected = credential_jwt_claims(issued.credential, nbf)
    for claim, value in expected.items():
        require(
            decoded.payload.get(claim) == value,
            "TWIN-IDENTITY-041",
            f"the VC-JWT claim {claim} is {decoded.payload.get(claim)!r:.200}, the spec gives "
            f"{value!r:.200}",
        )


@pytest.mark.twin_requirement(
    "TWIN-IDENTITY-042", "TWIN-IDENTITY-043", "TWIN-IDENTITY-038", "TWIN-IDENTITY-039"
)
def test_an_issued_credential_verifies_offline(client: TwinClient, issued: Issued) -> None:
    resolver = TargetResolver(client)
    try:
        credential = verify_credential_jwt(issued.jwt, resolver.assertion_key, now_seconds())
    except (JwtError, DidError, KeyFormatError) as exc:
        fail(
            spec_failure_requirement(exc, "TWIN-IDENTITY-042"),
            "the issued VC-JWT does not verify offline with the issuer's resolved key: "
            f"{exc.message}",
        )
    answered = {k: v for k, v in issued.credential.items() if k != "issuanceDate"}
    rebuilt = {k: v for k, v in credential.items() if k != "issuanceDate"}
    require(
        answered == rebuilt,
        "TWIN-IDENTITY-041",
        "the credential the JWT carries differs from the verifiableCredential the node answered",
    )


def _verify_credential(client: TwinClient, jwt: str, *, bad: bool = False) -> dict[str, Any]:
    """The credential verify route's answer for ``jwt`` (it must be 200)."""
    exchange = client.get(
        "/identity/verifiable-credential/verify", params={"jwt": jwt}, expect_rejection=bad
    )
    require_status(exchange, 200, "TWIN-IDENTITY-065", "verifying a credential")
    return body_object(exchange, "TWIN-IDENTITY-065", "the verification")


def _status_bits(client: TwinClient, did: str) -> bytes:
    """The DID's #revocation status list, decoded by the spec's strict decoder."""
    document = resolve(client, did)
    endpoint = revocation_endpoint(document, did)
    require(endpoint is not None, "TWIN-IDENTITY-050", f"{did} has no #revocation service")
    return decode_status_list_or_fail(endpoint, "TWIN-IDENTITY-050", f"{did}'s #revocation")


@pytest.mark.twin_requirement("TWIN-IDENTITY-065", "TWIN-IDENTITY-051")
def test_the_verify_route_reports_revocation_from_the_status_list(
    client: TwinClient, issuer: Identity, issued: Issued
) -> None:
    try:
        expected = verify_credential_jwt(
            issued.jwt, TargetResolver(client).assertion_key, now_seconds()
        )
    except (JwtError, DidError, KeyFormatError) as exc:
        fail(
            "TWIN-IDENTITY-013",
            f"the credential the node issued does not verify with the key its document "
            f"lists: {exc}",
        )
    answer = _verify_credential(client, issued.jwt)
    require(
        answer.get("verified") is True and answer.get("revoked") is False,
        "TWIN-IDENTITY-065",
        f"a fresh credential verified as {answer.get('verified')!r}, revoked "
        f"{answer.get('revoked')!r} (failure {answer.get('failure')!r})",
    )
    require(
        answer.get("verifiableCredential") == expected,
        "TWIN-IDENTITY-065",
        "the verify route's verifiableCredential differs from the one the JWT carries",
    )
    revoke = client.get(issuer.url(f"/verifiable-credential/revoke/{issued.index}"), auth=True)
    require_status(revoke, 204, "TWIN-IDENTITY-065", "revoking a credential")
    bits = _status_bits(client, issuer.did)
    require(
        bits == with_status_bit(new_status_list(), issued.index, True),
        "TWIN-IDENTITY-051",
        f"after revoking entry {issued.index} the status list should have only byte "
        f"{issued.index // 8} set, to {1 << (7 - issued.index % 8):#04x}; set bytes "
        f"(index, value): {[(i, hex(b)) for i, b in enumerate(bits) if b][:8]}",
    )
    answer = _verify_credential(client, issued.jwt)
    require(
        answer.get("revoked") is True,
        "TWIN-IDENTITY-065",
        f"a revoked credential verified with revoked {answer.get('revoked')!r}",
    )
    unrevoke = client.get(issuer.url(f"/verifiable-credential/unrevoke/{issued.index}"), auth=True)
    require_status(unrevoke, 204, "TWIN-IDENTITY-065", "unrevoking a credential")
    require(
        _status_bits(client, issuer.did) == new_status_list(),
        "TWIN-IDENTITY-051",
        "unrevoking did not clear the status list entry",
    )
    answer = _verify_credential(client, issued.jwt)
    require(
        answer.get("verified") is True and answer.get("revoked") is False,
        "TWIN-IDENTITY-065",
        f"an unrevoked credential verified as {answer.get('verified')!r}, revoked "
        f"{answer.get('revoked')!r}",
    )


def _jws(
    key: Ed25519SigningKey,
    header: Mapping[str, Any] | bytes,
    payload: Mapping[str, Any] | bytes,
    *,
    signature: bytes | None = None,
) -> str:
    """A compact JWS with the given (or raw) header and payload, signed by ``key``."""

    def part(value: Mapping[str, Any] | bytes) -> str:
        """One base64url part: JSON of a mapping, or raw bytes as given."""
        raw = (
            value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
        )
        return b64url(raw)

    signing_input = f"{part(header)}.{part(payload)}"
    signed = signature if signature is not None else key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url(signed)}"


def _jwt_case(name: str, key: Ed25519SigningKey, rng: random.Random) -> str:
    """A VC-JWT signed by the harness's did:key, broken as the case says."""
    did, kid = did_key_of(key)
    credential = build_credential(
        did,
        {"id": f"urn:example:holder:{rng.randrange(10**6)}", "role": "exporter"},
        credential_id=f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
        issued_at_ms=ISSUED_AT * 1000,
    )
    header: dict[str, Any] = {"alg": "EdDSA", "kid": kid, "typ": "JWT"}
    payload: dict[str, Any] = credential_jwt_claims(credential, ISSUED_AT)
    vc = payload["vc"]
    assert isinstance(vc, dict)
    if name == "alg-none":
        header["alg"] = "none"
    elif name == "alg-hs256":
        header["alg"] = "HS256"
    elif name == "no-alg":
        header.pop("alg")
    elif name == "crit":
        header["crit"] = ["exp"]
    elif name == "no-kid":
        header.pop("kid")
    elif name == "kid-without-fragment":
        header["kid"] = did
    elif name == "unknown-kid-fragment":
        header["kid"] = f"{did}#conformance-other"
    elif name == "issuer-mismatch":
        other = Ed25519SigningKey(bytes(31) + bytes([rng.randrange(1, 256)]))
        payload["iss"] = did_key_of(other)[0]
    elif name == "expired":
        payload["exp"] = 1_000_000_000
    elif name == "not-yet-valid":
        payload["nbf"] = 4_102_444_800
    elif name == "exp-not-integer":
        payload["exp"] = "4102444800"
    elif name == "vc-without-v2-context":
        vc["@context"] = ["https://www.w3.org/2018/credentials/v1"]
    elif name == "vc-carrying-issuer":
        vc["issuer"] = did
    elif name == "sub-not-subject-id":
        payload["sub"] = "urn:example:someone-else"
    elif name == "bad-credential-status":
        vc["credentialStatus"] = {
            "id": f"{did}#revocation",
            "type": "BitstringStatusList",
            "revocationBitmapIndex": "007",
        }
    if name == "header-not-json":
        return _jws(key, b"not json", payload)
    if name == "payload-not-object":
        return _jws(key, header, b"[1,2,3]")
    if name == "duplicate-claim":
        text = json.dumps(payload, separators=(",", ":"))
        return _jws(key, header, ('{"iss":"did:example:x",' + text[1:]).encode())
    token = _jws(key, header, payload)
    head, body, signature = token.split(".")
    if name == "bad-signature":
        raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
        raw[rng.randrange(64)] ^= 1 << rng.randrange(8)
        return f"{head}.{body}.{b64url(bytes(raw))}"
    if name == "short-signature":
        return f"{head}.{body}.{b64url(base64.urlsafe_b64decode(signature + '==')[:63])}"
    if name == "non-canonical-base64url":
        last = BASE64URL.index(signature[-1])
        return f"{head}.{body}.{signature[:-1]}{BASE64URL[last | 1]}"
    return token


JWT_CASES = [
    pytest.param("valid", id="valid", marks=pytest.mark.twin_requirement("TWIN-IDENTITY-042")),
    *[
        pytest.param(name, id=name, marks=pytest.mark.twin_requirement(requirement))
        for name, requirement in [
            ("alg-none", "TWIN-IDENTITY-036"),
            ("alg-hs256", "TWIN-IDENTITY-036"),
            ("no-alg", "TWIN-IDENTITY-036"),
            ("crit", "TWIN-IDENTITY-037"),
            ("bad-signature", "TWIN-IDENTITY-038"),
            ("short-signature", "TWIN-IDENTITY-035"),
            ("non-canonical-base64url", "TWIN-IDENTITY-035"),
            ("header-not-json", "TWIN-IDENTITY-035"),
            ("payload-not-object", "TWIN-IDENTITY-035"),
            ("duplicate-claim", "TWIN-IDENTITY-035"),
            ("expired", "TWIN-IDENTITY-039"),
            ("not-yet-valid", "TWIN-IDENTITY-039"),
            ("exp-not-integer", "TWIN-IDENTITY-039"),
            ("no-kid", "TWIN-IDENTITY-042"),
            ("kid-without-fragment", "TWIN-IDENTITY-042"),
            ("unknown-kid-fragment", "TWIN-IDENTITY-042"),
            ("issuer-mismatch", "TWIN-IDENTITY-042"),
            ("vc-without-v2-context", "TWIN-IDENTITY-043"),
            ("vc-carrying-issuer", "TWIN-IDENTITY-043"),
            ("sub-not-subject-id", "TWIN-IDENTITY-043"),
            ("bad-credential-status", "TWIN-IDENTITY-044"),
        ]
    ],
]


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-IDENTITY-065", "TWIN-CORE-054")
@pytest.mark.parametrize("case", JWT_CASES)
def test_the_credential_verify_route_applies_the_jwt_rules(
    request: pytest.FixtureRequest,
    client: TwinClient,
    harness: Ed25519SigningKey,
    rng: random.Random,
    case: str,
) -> None:
    token = _jwt_case(case, harness, rng)
    expected = credential_verdict(token, TargetResolver(client))
    if case == "valid" and not expected.verified:
        pytest.fail(f"harness fault: the spec refuses the harness's own VC-JWT: {expected}")
    answer = _verify_credential(client, token, bad=case != "valid")
    _require_verdict(request, answer, expected, f"credential verification ({case})")


# --- deactivation ------------------------------------------------------------------------------


@pytest.mark.twin_requirement("TWIN-IDENTITY-062")
def test_deactivation_is_permanent(client: TwinClient, rng: random.Random) -> None:
    identity = create_identity(client)
    add_method(client, identity, "assertionMethod", ASSERTION)
    document = signed_document(rng, identity.did)
    signed = client.post(
        identity.url(f"/proof/{ASSERTION}"),
        json_body={"proofType": DATA_INTEGRITY_PROOF_TYPE, "document": document},
        auth=True,
    )
    require_status(signed, 200, "TWIN-IDENTITY-064", "signing a document")
    proof = body_object(signed, "TWIN-IDENTITY-028", "the proof")
    issued = client.post(
        identity.url(f"/verifiable-credential/{ASSERTION}"),
        json_body={"subject": {"id": "urn:example:holder:1", "role": "exporter"}},
        auth=True,
    )
    require_status(issued, 200, "TWIN-IDENTITY-065", "issuing a credential")
    jwt = body_object(issued, "TWIN-IDENTITY-040", "the credential").get("jwt")
    require(isinstance(jwt, str), "TWIN-IDENTITY-041", "the issue answer has no jwt")
    assert isinstance(jwt, str)

    deactivated = client.delete(identity.url(), auth=True)
    require_status(deactivated, 204, "TWIN-IDENTITY-062", "deactivating an identity")
    plain = client.get(identity.url(), expect_rejection=True)
    require_status(plain, 410, "TWIN-IDENTITY-062", "resolving a deactivated DID")
    result = client.get(identity.url(), headers={"accept": DID_RESOLUTION}, expect_rejection=True)
    require_status(result, 410, "TWIN-IDENTITY-062", "resolving a deactivated DID as a result")
    body = body_object(result, "TWIN-IDENTITY-062", "the resolution result")
    metadata = body.get("didDocumentMetadata")
    require(
        "didDocument" in body
        and body["didDocument"] is None
        and isinstance(metadata, dict)
        and metadata.get("deactivated") is True,
        "TWIN-IDENTITY-062",
        f"a deactivated DID must resolve with didDocument null and deactivated true, not "
        f"{json.dumps(body)[:300]}",
    )
    before = resolution_snapshot(client, identity.did)
    changes = [
        (
            "POST",
            "/service",
            {"serviceId": "later", "type": "LinkedDomains", "endpoint": "https://twin.example/"},
        ),
        (
            "POST",
            "/verification-method",
            {"verificationMethodType": "assertionMethod", "verificationMethodId": "later"},
        ),
        ("DELETE", "", None),
    ]
    for method, suffix, change in changes:
        kwargs: dict[str, Any] = {"json_body": change} if change is not None else {}
        exchange = client.request(
            method, identity.url(suffix), auth=True, expect_rejection=True, **kwargs
        )
        require_status(exchange, 410, "TWIN-IDENTITY-062", "changing a deactivated DID")
    require_unchanged(
        client, identity.did, before, "TWIN-IDENTITY-062", "a change of a deactivated DID"
    )
    verdict = client.post(
        "/identity/proof/verify",
        json_body={"document": document, "proof": proof},
        expect_rejection=True,
    )
    require(
        body_object(verdict, "TWIN-IDENTITY-064", "the verification").get("verified") is False,
        "TWIN-IDENTITY-062",
        "a proof by a deactivated DID's key still verifies",
    )
    answer = _verify_credential(client, jwt, bad=True)
    require(
        answer.get("verified") is False,
        "TWIN-IDENTITY-062",
        "a credential by a deactivated DID's key still verifies",
    )


# --- negative: no token, bad input, no state change -------------------------------------


@pytest.fixture(scope="module")
@prerequisite("an identity for the negative checks")
def victim(client: TwinClient, created: Identity) -> Identity:
    """A DID the negative checks try to change; it must stay as it is."""
    identity = create_identity(client)
    add_method(client, identity, "assertionMethod", ASSERTION)
    exchange = client.post(
        identity.url("/service"),
        json_body={
            "serviceId": SERVICE,
            "type": "LinkedDomains",
            "endpoint": "https://twin.example/",
        },
        auth=True,
    )
    require_status(exchange, 200, None, "adding a service")
    return identity


def _foreign_token(key: Ed25519SigningKey, sub: str) -> str:
    """A well-formed EdDSA session token for ``sub`` signed by a key no node knows."""
    header = {"alg": "EdDSA", "typ": "JWT"}
    payload = {"sub": sub, "iat": ISSUED_AT, "exp": 4_102_444_800, "jti": "conformance"}
    return _jws(key, header, payload)


WRITES = [
    pytest.param(
        "POST",
        "/verification-method",
        {"verificationMethodType": "assertionMethod", "verificationMethodId": "intruder"},
        id="add-method",
    ),
    pytest.param(
        "POST",
        "/service",
        {"serviceId": "intruder", "type": "LinkedDomains", "endpoint": "https://x.example/"},
        id="add-service",
    ),
    pytest.param("DELETE", f"/verification-method/{ASSERTION}", None, id="remove-method"),
    pytest.param("DELETE", f"/service/{SERVICE}", None, id="remove-service"),
    pytest.param("DELETE", "", None, id="deactivate"),
    pytest.param("GET", "/verifiable-credential/revoke/9", None, id="revoke"),
    pytest.param(
        "POST",
        f"/proof/{ASSERTION}",
        {"proofType": DATA_INTEGRITY_PROOF_TYPE, "document": {"a": 1}},
        id="sign",
    ),
    pytest.param("POST", f"/verifiable-credential/{ASSERTION}", {"subject": {"a": 1}}, id="issue"),
]


@pytest.mark.twin_requirement("TWIN-CORE-051", "TWIN-CORE-054")
@pytest.mark.parametrize(("method", "suffix", "body"), WRITES)
def test_a_write_without_a_valid_token_is_401_and_changes_nothing(
    client: TwinClient,
    victim: Identity,
    harness: Ed25519SigningKey,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    before = resolution_snapshot(client, victim.did)
    tokens: dict[str, bool | str] = {
        "no": False,
        "a garbage": "conformance.not.a-token",
        "a foreign-signed": _foreign_token(harness, victim.did),
    }
    kwargs: dict[str, Any] = {"json_body": body} if body is not None else {}
    for label, auth in tokens.items():
        exchange = client.request(
            method, victim.url(suffix), auth=auth, expect_rejection=True, **kwargs
        )
        require(
            exchange.status == 401,
            "TWIN-CORE-051",
            f"{method} {victim.url(suffix)} with {label} token answered {exchange.status}, not 401",
        )
    require_unchanged(client, victim.did, before, "TWIN-CORE-051", f"an unauthorized {method}")


MALFORMED = [
    pytest.param(
        "POST",
        "/verification-method",
        {"verificationMethodType": "keyAgreement"},
        400,
        id="method-unknown-relationship",
    ),
    pytest.param(
        "POST",
        "/verification-method",
        {"verificationMethodType": "assertionMethod", "verificationMethodId": "has space"},
        400,
        id="method-bad-fragment",
    ),
    pytest.param(
        "POST",
        "/verification-method",
        {"verificationMethodType": "assertionMethod", "namespace": "x"},
        400,
        id="method-extra-member",
    ),
    pytest.param(
        "POST",
        "/verification-method",
        b'{"verificationMethodType": ',
        400,
        id="method-truncated-json",
    ),
    pytest.param("POST", "/verification-method", [1, 2], 400, id="method-array-body"),
    pytest.param(
        "POST",
        "/service",
        {"serviceId": "svc2", "type": "LinkedDomains", "endpoint": "not a uri"},
        400,
        id="service-bad-endpoint",
    ),
    pytest.param(
        "POST",
        "/service",
        {"serviceId": "svc2", "endpoint": "https://x.example/"},
        400,
        id="service-missing-type",
    ),
    pytest.param(
        "POST",
        f"/proof/{ASSERTION}",
        {
            "proofType": DATA_INTEGRITY_PROOF_TYPE,
            "document": {"a": 1, "proof": {"type": DATA_INTEGRITY_PROOF_TYPE}},
        },
        400,
        id="sign-document-with-proof",
    ),
    pytest.param(
        "POST",
        f"/proof/{ASSERTION}",
        {"proofType": "Ed25519Signature2020", "document": {"a": 1}},
        400,
        id="sign-other-proof-type",
    ),
    pytest.param(
        "POST",
        f"/verifiable-credential/{ASSERTION}",
        {"subject": {"a": 1}, "revocationIndex": 131072},
        400,
        id="issue-index-too-big",
    ),
    pytest.param(
        "POST",
        f"/verifiable-credential/{ASSERTION}",
        {"subject": {"a": 1}, "expirationDate": "tomorrow"},
        400,
        id="issue-bad-expiry",
    ),
    pytest.param("GET", "/verifiable-credential/revoke/131072", None, 400, id="revoke-too-big"),
    pytest.param("GET", "/verifiable-credential/revoke/-1", None, 400, id="revoke-negative"),
    pytest.param("GET", "/verifiable-credential/unrevoke/abc", None, 400, id="unrevoke-not-number"),
    pytest.param(
        "DELETE", "/verification-method/" + "m" * 65, None, 400, id="remove-method-long-fragment"
    ),
    pytest.param(
        "DELETE", "/verification-method/conformance-absent", None, 404, id="remove-unknown-method"
    ),
    pytest.param("DELETE", "/service/conformance-absent", None, 404, id="remove-unknown-service"),
]


@pytest.mark.twin_requirement("TWIN-CORE-052", "TWIN-CORE-054")
@pytest.mark.parametrize(("method", "suffix", "body", "status"), MALFORMED)
def test_a_malformed_write_is_refused_and_changes_nothing(
    client: TwinClient,
    victim: Identity,
    method: str,
    suffix: str,
    body: object,
    status: int,
) -> None:
    before = resolution_snapshot(client, victim.did)
    kwargs: dict[str, Any] = {}
    if isinstance(body, bytes):
        kwargs = {"content": body, "headers": {"content-type": "application/json"}}
    elif body is not None:
        kwargs = {"json_body": body}
    exchange = client.request(
        method, victim.url(suffix), auth=True, expect_rejection=True, **kwargs
    )
    require_status(exchange, status, "TWIN-CORE-052", "a malformed request")
    require_unchanged(client, victim.did, before, "TWIN-CORE-054", f"a refused {method}")


@pytest.mark.twin_requirement("TWIN-CORE-052", "TWIN-CORE-054")
@pytest.mark.parametrize(
    ("make", "status"),
    [
        pytest.param(lambda rng, run: "did:twin:0xABC", 400, id="malformed-did"),
        pytest.param(unknown_did, 404, id="unknown-did"),
    ],
)
def test_a_write_to_a_bad_or_unknown_did_is_refused(
    client: TwinClient, run: TwinState, rng: random.Random, make: DidMaker, status: int
) -> None:
    if status == 400:
        require_did_twin_node(run)
    did = make(rng, run)
    exchange = client.post(
        f"/identity/{did}/service",
        json_body={"serviceId": "svc", "type": "LinkedDomains", "endpoint": "https://x.example/"},
        auth=True,
        expect_rejection=True,
    )
    require_status(exchange, status, "TWIN-CORE-052", f"adding a service to {did}")
    if status == 404:
        after = client.get(f"/identity/{did}", expect_rejection=True)
        require_status(after, 404, "TWIN-CORE-054", "resolving the unknown DID after the write")


@pytest.mark.twin_requirement("TWIN-CORE-052", "TWIN-CORE-054")
def test_identity_create_refuses_members(client: TwinClient) -> None:
    exchange = client.post(
        "/identity", json_body={"namespace": "iota"}, auth=True, expect_rejection=True
    )
    require_status(exchange, 400, "TWIN-CORE-052", "creating an identity with a body member")
