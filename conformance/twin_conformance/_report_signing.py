"""Signed reports: a certifier's Data Integrity proof on report.json, and its verification.

``run --sign-key FILE`` adds an ``eddsa-jcs-2022`` DataIntegrityProof by the did:key of the
certifier's seed to report.json (everything but the proof is signed, so any changed value
breaks it). Verification takes the key from the did:key itself, never from the report, and
accepts the signer only if the verifier's trusted-certifiers file lists it for the proof's
date: a vendor signing its own report is not a certifier (SUITE-050).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema

from twin_conformance._paths import spec_dir
from twin_conformance._trust import TrustedKeys, read_seed_file
from twin_spec import (
    DidError,
    Ed25519PublicKey,
    Ed25519SigningKey,
    TwinSpecError,
    did_key_document,
    did_key_from_public_key,
    parse_did_url,
    sign_document,
    verification_key,
    verify_proof,
)

PROOF_PURPOSE = "assertionMethod"
REPORT_SCHEMA = "conformance-report.schema.json"
SIGNATURE_STATUSES = ("certified", "untrusted-signer", "bad-signature", "unsigned")


@dataclass(frozen=True)
class SignatureCheck:
    """What the verifier concludes of a report's proof: a status, the signer, the reason."""

    status: str
    signer: str | None
    detail: str


def sign_report(report: Mapping[str, Any], key_file: Path) -> dict[str, Any]:
    """``report`` with a proof by the did:key of the seed in ``key_file`` (replacing any)."""
    key = Ed25519SigningKey(read_seed_file(key_file, "certifier key"))
    did = did_key_from_public_key(key.public_key)
    unsigned = {name: value for name, value in report.items() if name != "proof"}
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dict(
        sign_document(
            unsigned,
            key,
            verification_method=f"{did}#{did.removeprefix('did:key:')}",
            created=created,
            proof_purpose=PROOF_PURPOSE,
        )
    )


@functools.cache
def _schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((spec_dir() / "schemas" / REPORT_SCHEMA).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def schema_problem(report: object) -> str | None:
    """The first way ``report`` breaks the report schema, as one line, or None."""
    if not isinstance(report, Mapping):
        return "$: a report must be a JSON object"
    error = jsonschema.exceptions.best_match(_schema_validator().iter_errors(report))
    if error is None:
        return None
    return f"{error.json_path}: {error.message[:300]}"


def check_signature(report: Mapping[str, Any], trusted: TrustedKeys) -> SignatureCheck:
    """Verify the report's proof with its did:key; the signer must be a trusted certifier."""
    proof = report.get("proof")
    if proof is None:
        return SignatureCheck("unsigned", None, "the report carries no proof")
    if not isinstance(proof, Mapping):
        return SignatureCheck("bad-signature", None, "the proof is not an object")
    method = str(proof.get("verificationMethod", ""))
    try:
        signer = str(parse_did_url(method).did)
    except DidError:
        return SignatureCheck("bad-signature", None, f"proof method {method[:80]!r} is no DID URL")
    if not signer.startswith("did:key:"):
        return SignatureCheck("bad-signature", signer, "the signer is not a did:key")

    def resolve(method_id: str, purpose: str) -> Ed25519PublicKey:
        return verification_key(did_key_document(signer), method_id, purpose)

    try:
        verify_proof(dict(report), resolve, expected_purpose=PROOF_PURPOSE)
    except (TwinSpecError, DidError) as error:
        return SignatureCheck(
            "bad-signature", signer, f"the proof does not verify: {str(error)[:200]}"
        )
    entry = trusted.get(signer)
    if entry is None:
        return SignatureCheck(
            "untrusted-signer", signer, "signed, but not by a certifier the trust file lists"
        )
    created = str(proof.get("created", ""))
    if not entry.signed_in_validity(created):
        return SignatureCheck(
            "untrusted-signer",
            signer,
            f"signed at {created[:40]!r}, outside the certifier key's validity",
        )
    return SignatureCheck("certified", signer, f"certified by {entry.name}")
