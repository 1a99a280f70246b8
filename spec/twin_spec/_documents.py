"""Trade documents: the blob hash, the document code list, and attestations verified offline.

A document's content stays off the ledger; the ledger records its ``blobHash`` in a
``DocumentAttestation`` the node signs and commits. Anyone holding the committee (and the
node's public key, from its DID document) verifies an attestation, and through it a
revision's hash, time and parties, without asking any node, even after the content is erased.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import cast

from twin_spec._blocks import transaction_digest
from twin_spec._committee import Committee
from twin_spec._data_integrity import KeyResolver, verify_proof
from twin_spec._document_codes import DOCUMENT_CODES
from twin_spec._errors import LedgerError, TwinSpecError
from twin_spec._jcs import JSONValue, canonical_text
from twin_spec._receipts import verify_receipt

BLOB_HASH_PREFIX = "sha256:"
DOCUMENT_CODE_PREFIX = "unece:DocumentCodeList#"
MAX_DOCUMENT_BYTES = 256 * 1024
"""The most content bytes one revision may hold (TWIN-DOCUMENTS-040)."""
ATTESTATION_TYPE = "DocumentAttestation"
ATTESTATION_INFORMATION_TYPE = "DocumentAttestationInformation"
ATTESTATION_FRAGMENT = "attestation-assertion"
ATTESTATION_CONTEXT = [
    "https://schema.twindev.org/documents/",
    "https://schema.twindev.org/common/",
    "https://www.w3.org/ns/credentials/v2",
]
DOCUMENT_TRANSACTION_TYPES = ("document.create", "document.update")
"""The ledger transactions that record a revision; their payload carries its attestation."""
GRAPH_ID = re.compile(r"aig:[0-9a-f]{64}\Z")
ATTESTATION_ID = re.compile(r"attestation:twin:[0-9a-f]{64}\Z")
_BLOB_HASH = re.compile(r"sha256:[A-Za-z0-9+/]{43}=\Z")
_CODE = re.compile(r"unece:DocumentCodeList#([1-9][0-9]{0,2})\Z")
_STATEMENT_REQUIRED = (
    "@context",
    "type",
    "id",
    "document",
    "documentId",
    "documentCode",
    "documentRevision",
    "blobHash",
    "nodeIdentity",
    "userIdentity",
    "dateCreated",
    "proof",
)
_STATEMENT_OPTIONAL = ("documentIdFormat",)
_INFORMATION_MEMBERS = ("type", "attestation", "transaction", "receipt")
_BOUND_MEMBERS = (
    "document",
    "documentId",
    "documentIdFormat",
    "documentCode",
    "documentRevision",
    "blobHash",
    "nodeIdentity",
    "userIdentity",
)
"""Members an attestation and the revision it attests must agree on."""


class DocumentFailure(StrEnum):
    """Why a document code, a blob hash or an attestation was refused, in checking order."""

    DOCUMENT_CODE_UNKNOWN = "documentCodeUnknown"
    BLOB_HASH_MALFORMED = "blobHashMalformed"
    ATTESTATION_MALFORMED = "attestationMalformed"
    DOCUMENT_MISMATCH = "documentMismatch"
    BLOB_HASH_MISMATCH = "blobHashMismatch"
    SIGNATURE_MISMATCH = "signatureMismatch"
    ATTESTATION_NOT_RECORDED = "attestationNotRecorded"


class DocumentError(TwinSpecError):
    """A document code, blob hash or attestation breaks a rule; ``failure`` says which."""

    def __init__(
        self, failure: DocumentFailure, message: str, *, requirement: str | None = None
    ) -> None:
        super().__init__(message, requirement=requirement)
        self.failure = failure


def blob_hash(content: bytes) -> str:
    """Return the ``blobHash`` of a revision's content, as the TWIN node writes it."""
    # TWIN-DOCUMENTS-001 "blobHash MUST be 'sha256:' followed by the standard, padded base64 of
    # SHA-256 over the content's bytes exactly as stored."
    return BLOB_HASH_PREFIX + base64.b64encode(hashlib.sha256(content).digest()).decode("ascii")


def check_blob_hash(content: bytes, claimed: object) -> None:
    """Raise :class:`DocumentError` unless ``claimed`` is the blobHash of ``content``."""
    if not isinstance(claimed, str) or not _BLOB_HASH.match(claimed):
        raise DocumentError(
            DocumentFailure.BLOB_HASH_MALFORMED,
            f"blobHash {claimed!r} is not 'sha256:' followed by 44 base64 characters",
            requirement="TWIN-DOCUMENTS-001",
        )
    actual = blob_hash(content)
    if actual != claimed:
        raise DocumentError(
            DocumentFailure.BLOB_HASH_MISMATCH,
            f"blobHash is {claimed}, but the content hashes to {actual}",
            requirement="TWIN-DOCUMENTS-001",
        )


def is_blob_hash(value: object) -> bool:
    """Whether ``value`` has the form of a blobHash (it says nothing of which content)."""
    return isinstance(value, str) and _BLOB_HASH.match(value) is not None


def document_code(value: object) -> int:
    """Return the UN/CEFACT 1001 code a ``documentCode`` names, or raise DocumentError."""
    # TWIN-DOCUMENTS-002 "documentCode MUST be 'unece:DocumentCodeList#' followed by a code of
    # UN/CEFACT code list 1001 as the spec holds it."
    match = _CODE.match(value) if isinstance(value, str) else None
    if match is None:
        raise DocumentError(
            DocumentFailure.DOCUMENT_CODE_UNKNOWN,
            f"documentCode {value!r} is not {DOCUMENT_CODE_PREFIX}<code> (a code of 1 to 3 "
            "digits, no leading zero)",
            requirement="TWIN-DOCUMENTS-002",
        )
    code = int(match.group(1))
    if code not in DOCUMENT_CODES:
        raise DocumentError(
            DocumentFailure.DOCUMENT_CODE_UNKNOWN,
            f"documentCode {value!r}: {code} is not a code of UN/CEFACT code list 1001",
            requirement="TWIN-DOCUMENTS-002",
        )
    return code


def document_code_name(value: object) -> str:
    """The name code list 1001 gives the code a ``documentCode`` names (``Bill of lading``)."""
    return DOCUMENT_CODES[document_code(value)]


def attestation_statement(
    *,
    attestation_id: str,
    document: str,
    document_id: str,
    document_id_format: str | None,
    document_code_value: str,
    revision: int,
    blob_hash_value: str,
    node_identity: str,
    user_identity: str,
    date_created: str,
) -> dict[str, JSONValue]:
    """Return the unsigned DocumentAttestation of one revision (the node then signs it)."""
    # TWIN-DOCUMENTS-020 "A DocumentAttestation MUST name the document, its trade identifier,
    # code and revision, the blobHash, both identities and the time, signed with eddsa-jcs-2022
    # by nodeIdentity#attestation-assertion."
    statement: dict[str, JSONValue] = {
        "@context": list(ATTESTATION_CONTEXT),
        "type": ATTESTATION_TYPE,
        "id": attestation_id,
        "document": document,
        "documentId": document_id,
        "documentCode": document_code_value,
        "documentRevision": revision,
        "blobHash": blob_hash_value,
        "nodeIdentity": node_identity,
        "userIdentity": user_identity,
        "dateCreated": date_created,
    }
    if document_id_format is not None:
        statement["documentIdFormat"] = document_id_format
    return statement


def _malformed(message: str) -> DocumentError:
    return DocumentError(
        DocumentFailure.ATTESTATION_MALFORMED, message, requirement="TWIN-DOCUMENTS-021"
    )


def _object(
    value: object, field: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, object]:
    if not isinstance(value, dict):
        raise _malformed(f"{field} is not a JSON object")
    body = cast(dict[str, object], value)
    missing = [name for name in required if name not in body]
    if missing:
        raise _malformed(f"{field} lacks {', '.join(missing)}")
    unknown = sorted(set(body) - set(required) - set(optional))
    if unknown:
        raise _malformed(f"{field} has unknown members {', '.join(unknown)}")
    return body


def _check_statement(statement: dict[str, object]) -> None:
    strings = ("id", "document", "documentId", "documentCode", "blobHash", "nodeIdentity")
    for name in (*strings, "userIdentity", "dateCreated"):
        if not isinstance(statement[name], str):
            raise _malformed(f"attestation.{name} is not a string")
    if statement["type"] != ATTESTATION_TYPE:
        raise _malformed(f"attestation.type is {statement['type']!r}, not {ATTESTATION_TYPE!r}")
    if not ATTESTATION_ID.match(str(statement["id"])):
        raise _malformed(f"attestation.id {statement['id']!r} is not attestation:twin:<64 hex>")
    if not GRAPH_ID.match(str(statement["document"])):
        raise _malformed(f"attestation.document {statement['document']!r} is not aig:<64 hex>")
    revision = statement["documentRevision"]
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
        raise _malformed(f"attestation.documentRevision {revision!r} is not an integer >= 0")
    if "documentIdFormat" in statement and not isinstance(statement["documentIdFormat"], str):
        raise _malformed("attestation.documentIdFormat is not a string")
    if not is_blob_hash(statement["blobHash"]):
        raise _malformed(
            f"attestation.blobHash {statement['blobHash']!r} is not sha256:<44 base64>"
        )
    try:
        document_code(statement["documentCode"])
    except DocumentError as exc:
        raise _malformed(f"attestation.documentCode: {exc.message}") from None


def _same_json(left: object, right: object) -> bool:
    try:
        return canonical_text(left) == canonical_text(right)
    except TwinSpecError:
        return False


def verify_document_attestation(
    information: object,
    committee: Committee,
    resolve_key: KeyResolver,
    *,
    revision: Mapping[str, object] | None = None,
    content: bytes | None = None,
) -> dict[str, JSONValue]:
    """Verify a DocumentAttestationInformation offline; return the certified checkpoint summary.

    Checks, in order: the shape (attestationMalformed); that the attestation is the one of
    ``revision`` (documentMismatch) and of ``content`` (blobHashMismatch), when given; the
    node's signature (signatureMismatch, with the key ``resolve_key`` finds); that the
    transaction records exactly this attestation (attestationNotRecorded); and the transaction's
    receipt against the committee (a ReceiptVerificationError naming its part).
    """
    # TWIN-DOCUMENTS-021 "An attestation MUST verify offline, in order: shape, the revision and
    # content it is for, the node's signature, the transaction that records it, and that
    # transaction's receipt against the committee."
    body = _object(information, "attestationInformation", _INFORMATION_MEMBERS)
    if body["type"] != ATTESTATION_INFORMATION_TYPE:
        raise _malformed(
            f"attestationInformation.type is {body['type']!r}, not {ATTESTATION_INFORMATION_TYPE!r}"
        )
    statement = _object(
        body["attestation"], "attestation", _STATEMENT_REQUIRED, _STATEMENT_OPTIONAL
    )
    _check_statement(statement)
    transaction = _object(
        body["transaction"], "transaction", ("type", "sender", "nonce", "timestampMs", "payload")
    )
    if revision is not None:
        for name in _BOUND_MEMBERS:
            if revision.get(name) != statement.get(name):
                raise DocumentError(
                    DocumentFailure.DOCUMENT_MISMATCH,
                    f"the attestation's {name} is {statement.get(name)!r}, the revision's is "
                    f"{revision.get(name)!r}",
                    requirement="TWIN-DOCUMENTS-021",
                )
    if content is not None:
        check_blob_hash(content, statement["blobHash"])
    method = f"{statement['nodeIdentity']}#{ATTESTATION_FRAGMENT}"
    proof = statement["proof"]
    if not isinstance(proof, dict) or proof.get("verificationMethod") != method:
        raise DocumentError(
            DocumentFailure.SIGNATURE_MISMATCH,
            f"the attestation is not signed by {method}",
            requirement="TWIN-DOCUMENTS-020",
        )
    try:
        verify_proof(statement, resolve_key, expected_purpose="assertionMethod")
    except TwinSpecError as exc:
        raise DocumentError(
            DocumentFailure.SIGNATURE_MISMATCH,
            f"the node's signature on the attestation does not verify: {exc.message}",
            requirement="TWIN-DOCUMENTS-020",
        ) from None
    payload = transaction["payload"]
    recorded = payload.get("attestation") if isinstance(payload, dict) else None
    if (
        transaction["type"] not in DOCUMENT_TRANSACTION_TYPES
        or transaction["sender"] != statement["userIdentity"]
        or not _same_json(recorded, statement)
    ):
        raise DocumentError(
            DocumentFailure.ATTESTATION_NOT_RECORDED,
            "the transaction is not a document.create or document.update by the attesting user "
            "whose payload.attestation is this attestation",
            requirement="TWIN-DOCUMENTS-021",
        )
    try:
        digest = transaction_digest(transaction)
    except LedgerError as exc:
        raise _malformed(f"transaction: {exc.message}") from None
    return verify_receipt(body["receipt"], committee, transaction_digest=digest)
