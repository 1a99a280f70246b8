"""What every vector family shares: the file format, test keys, the fixed error codes.

A vector is one JSON file ``vectors/<profile>/<handler>/<name>.json`` holding ``id``,
``description``, ``requirements``, ``input`` and ``expected`` (with ``result`` valid, invalid or
acceptable). Files are written with sorted keys, a 2-space indent, ASCII only and a final
newline, so that generating twice gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from twin_spec import (
    TWO_CERTIFIED_BLOCKS,
    BlockRejection,
    DidErrorCode,
    DocumentFailure,
    Ed25519SigningKey,
    JwtFailure,
    PresentationFailure,
    ProofFailureReason,
    ReceiptFailure,
    SignatureRejection,
)

PROFILES = ("core", "identity", "anchoring", "consensus", "documents")
RESULTS = ("valid", "invalid", "acceptable")

# Codes a family uses beyond the spec core's enumerations, each for one kind of refusal.
_OTHER_CODES = (
    TWO_CERTIFIED_BLOCKS,
    # core/jcs: the text is not I-JSON (TWIN-CORE-003), or the value has no JCS form (-002).
    "notIJson",
    "notCanonicalizable",
    # core/ed25519: a key that is not 32 bytes (TWIN-CORE-010).
    "invalidKeyLength",
    # core/encodings, core/error-format, identity/jwk, identity/did-document.
    "invalidEncoding",
    "malformedErrorBody",
    "invalidJwk",
    "invalidVerificationMethod",
    # identity/status-list, anchoring/merkle, anchoring/object-hash.
    "invalidStatusList",
    "inclusionProofMalformed",
    "inclusionProofMismatch",
    "objectHashMismatch",
    # consensus/committee, -/equivocation, -/checkpoint, -/commit-chain, ledger transactions.
    "invalidCommittee",
    "invalidEvidence",
    "checkpointChain",
    "checkpointTransactions",
    "commitMalformed",
    "commitChain",
    "invalidTransaction",
    "invalidGenesis",
    # HTTP exchanges (core/http and the other */http families): the status, by name.
    "badRequest",
    "unauthorized",
    "forbidden",
    "notFound",
    "methodNotAllowed",
    "payloadTooLarge",
    "unsupportedMediaType",
)
ERROR_CODES: tuple[str, ...] = tuple(
    sorted(
        {
            *(code.value for code in BlockRejection),
            *(code.value for code in ProofFailureReason),
            *(code.value for code in DidErrorCode),
            *(code.value for code in SignatureRejection),
            *(code.value for code in JwtFailure),
            *(code.value for code in PresentationFailure),
            *(code.value for code in ReceiptFailure),
            *(code.value for code in DocumentFailure),
            *_OTHER_CODES,
        }
    )
)
"""Every code ``expected.error`` may hold (spec/schemas/vector.schema.json lists the same)."""

HTTP_ERROR_CODES: Mapping[int, str] = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "notFound",
    405: "methodNotAllowed",
    413: "payloadTooLarge",
    415: "unsupportedMediaType",
}
"""The code of an HTTP vector whose expected answer is an error status."""

_NAME = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
Vector = dict[str, Any]
Oracle = Callable[[Mapping[str, Any]], dict[str, Any]]
"""Computes a vector's ``expected`` member from its ``input`` with the spec core."""


@dataclass(frozen=True)
class Family:
    """One folder of vectors: how to build them, whether they are replayed live, the oracle."""

    profile: str
    handler: str
    live: bool
    build: Callable[[], list[Vector]]
    oracle: Oracle | None
    summary: str

    @property
    def name(self) -> str:
        """``<profile>/<handler>``, the prefix of every vector id of the family."""
        return f"{self.profile}/{self.handler}"


def dump(value: object) -> bytes:
    """The bytes of a vector file: sorted keys, 2-space indent, ASCII, final newline."""
    return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=True) + "\n").encode()


def vector_test_seed(label: str) -> bytes:
    """The 32-byte seed of the test key ``label``: SHA-256 of a fixed prefix and the label."""
    return hashlib.sha256(b"twin-vectors/test-key/" + label.encode()).digest()


def vector_test_key(label: str) -> Ed25519SigningKey:
    """The deterministic test key ``label`` (it signs vectors' contents and nothing else)."""
    return Ed25519SigningKey(vector_test_seed(label))


def make_vector(
    family: str,
    name: str,
    description: str,
    requirements: Iterable[str],
    input_: Mapping[str, Any],
    expected: Mapping[str, Any],
) -> Vector:
    """A vector of ``family`` (``profile/handler``) with its requirements sorted and unique."""
    if not _NAME.match(name):
        raise ValueError(f"{family}/{name}: a vector name is lowercase letters, digits and '-'")
    listed = sorted(set(requirements))
    if not listed:
        raise ValueError(f"{family}/{name}: a vector must name the requirements it checks")
    result = expected.get("result")
    if result not in RESULTS:
        raise ValueError(f"{family}/{name}: result {result!r} is not one of {RESULTS}")
    if result == "invalid" and expected.get("error") not in ERROR_CODES:
        raise ValueError(f"{family}/{name}: error {expected.get('error')!r} is not a known code")
    if result == "acceptable" and not expected.get("flags"):
        raise ValueError(f"{family}/{name}: an acceptable result carries flags")
    return {
        "id": f"{family}/{name}",
        "description": description,
        "requirements": listed,
        "input": dict(input_),
        "expected": dict(expected),
    }


def with_expected(
    family: str,
    oracle: Oracle,
    cases: Iterable[tuple[str, str, Iterable[str], Mapping[str, Any]]],
) -> list[Vector]:
    """Vectors whose expected member the oracle computes from each case's input."""
    return [
        make_vector(family, name, description, requirements, input_, oracle(input_))
        for name, description, requirements, input_ in cases
    ]
