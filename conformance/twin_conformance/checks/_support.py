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
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from twin_conformance._client import Exchange, TwinClient, fail, require
from twin_conformance._contract import OpenApiContract
from twin_conformance._paths import spec_dir
from twin_conformance.plugin import TwinState
from twin_spec import (
    Committee,
    DidError,
    DidErrorCode,
    Ed25519PublicKey,
    Ed25519SigningKey,
    JwtError,
    KeyFormatError,
    LedgerError,
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


def harness_key(run: TwinState, label: str) -> Ed25519SigningKey:
    """An Ed25519 key of the harness, derived from the run's seed (never a node's key)."""
    return Ed25519SigningKey(
        hashlib.sha256(f"twin-conformance:{run.seed}:{label}".encode()).digest()
    )


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
    token = client.token
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


def trusted_committee(client: TwinClient, run: TwinState) -> Committee:
    """The committee receipts are checked against: the target file's, else the target's own."""
    target = run.target
    if target is not None and target.committee_file is not None:
        try:
            return Committee.from_json(json.loads(target.committee_file.read_text("utf-8")))
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"the target file's committee cannot be read: {exc}") from None
    exchange = client.get("/consensus/committee")
    require_status(exchange, 200, "TWIN-CONSENSUS-001", "the committee")
    try:
        return Committee.from_json(exchange.json("TWIN-CONSENSUS-001"))
    except LedgerError as exc:
        fail(
            spec_failure_requirement(exc, "TWIN-CONSENSUS-001"),
            f"GET /consensus/committee is not a valid committee: {exc.message}",
        )


def check_receipt(
    receipt: object,
    committee: Committee,
    what: str,
    *,
    transaction_digest: bytes | None = None,
) -> dict[str, Any]:
    """Verify a receipt offline; a failure blames the requirement of the part that failed."""
    try:
        return dict(verify_receipt(receipt, committee, transaction_digest=transaction_digest))
    except ReceiptVerificationError as exc:
        fail(
            spec_failure_requirement(exc, "TWIN-ANCHORING-030"),
            f"{what}: the receipt fails offline verification as {exc.part.value}: {exc.message}",
        )


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
