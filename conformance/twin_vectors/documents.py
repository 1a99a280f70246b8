"""Offline vectors of the ``documents`` profile: blob hashes, document codes, attestations.

An attestation is verified without asking any node: a vector gives the committee (with its
test keys' seeds), the node's public key, the attestation information and, where the verifier
has them, the revision it read and the content; the answer is the certified summary, or the
first failing part.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, cast

from twin_spec import (
    Committee,
    DocumentError,
    Ed25519PublicKey,
    JSONValue,
    KeyResolver,
    ReceiptVerificationError,
    TwinSpecError,
    attestation_statement,
    blob_hash,
    check_blob_hash,
    document_code,
    document_code_name,
    make_receipt,
    multibase_decode,
    multibase_encode,
    sign_document,
    transaction_digest,
    verify_document_attestation,
)
from twin_vectors._format import Family, Vector, vector_test_key, with_expected
from twin_vectors.anchoring import certified
from twin_vectors.consensus import committee_input
from twin_vectors.dag_notation import make_committee

BLOB_HASH = "documents/blob-hash"
DOCUMENT_CODE = "documents/document-code"
ATTESTATION = "documents/attestation"
NODE_DID = "did:twin:0x" + hashlib.sha256(b"twin-vectors: a documents node").hexdigest()
USER_DID = "did:twin:0x" + hashlib.sha256(b"twin-vectors: a documents user").hexdigest()
GRAPH_ID = "aig:" + hashlib.sha256(b"twin-vectors: a bill of lading").hexdigest()
CREATED = "2026-11-21T08:00:00.000Z"
BASE_TIME = 1_795_000_000_000
RECEIPT_REQUIREMENTS = ["TWIN-ANCHORING-028", "TWIN-ANCHORING-029", "TWIN-ANCHORING-030"]

Case = tuple[str, str, list[str], dict[str, Any]]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- documents/blob-hash -----------------------------------------------------------------------


def blob_hash_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """The blobHash of the content, or whether a claimed one is the content's."""
    content = base64.b64decode(input_["content"], validate=True)
    if "claimed" not in input_:
        return {"result": "valid", "blobHash": blob_hash(content)}
    try:
        check_blob_hash(content, input_["claimed"])
    except DocumentError as exc:
        return {"result": "invalid", "error": exc.failure.value}
    return {"result": "valid", "blobHash": input_["claimed"]}


def _blob_hash_cases() -> list[Case]:
    rule = ["TWIN-DOCUMENTS-001"]
    hello = b"Hello World"
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 3
    return [
        (
            "hello-world",
            "the TWIN node's own sample: 'Hello World'",
            rule,
            {"content": _b64(hello)},
        ),
        ("empty", "no bytes at all", rule, {"content": ""}),
        ("binary", "a PDF-like binary file with every byte value", rule, {"content": _b64(pdf)}),
        (
            "claimed-matches",
            "the claimed hash is the content's",
            rule,
            {"content": _b64(hello), "claimed": blob_hash(hello)},
        ),
        (
            "hash-of-the-base64-text",
            "the claimed hash is over the base64 text, not the decoded bytes",
            rule,
            {"content": _b64(hello), "claimed": blob_hash(_b64(hello).encode())},
        ),
        (
            "hash-of-other-content",
            "the claimed hash is of another revision's content",
            rule,
            {"content": _b64(hello), "claimed": blob_hash(b"Hello TWIN")},
        ),
        (
            "hex-digest",
            "the digest written in hex instead of base64",
            rule,
            {"content": _b64(hello), "claimed": "sha256:" + hashlib.sha256(hello).hexdigest()},
        ),
        (
            "unpadded-base64",
            "the digest's base64 without its padding",
            rule,
            {"content": _b64(hello), "claimed": blob_hash(hello).rstrip("=")},
        ),
        (
            "no-prefix",
            "the digest without the sha256: prefix",
            rule,
            {"content": _b64(hello), "claimed": blob_hash(hello).removeprefix("sha256:")},
        ),
    ]


def blob_hash_vectors() -> list[Vector]:
    """Contents and their blobHash."""
    return with_expected(BLOB_HASH, blob_hash_oracle, _blob_hash_cases())


# --- documents/document-code -------------------------------------------------------------------


def document_code_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """The code and its name, or documentCodeUnknown."""
    try:
        code = document_code(input_["documentCode"])
    except DocumentError as exc:
        return {"result": "invalid", "error": exc.failure.value}
    return {"result": "valid", "code": code, "name": document_code_name(input_["documentCode"])}


def _document_code_cases() -> list[Case]:
    rule = ["TWIN-DOCUMENTS-002"]
    cases: list[tuple[str, str, object]] = [
        ("bill-of-lading", "705, a bill of lading", "unece:DocumentCodeList#705"),
        ("commercial-invoice", "380, a commercial invoice", "unece:DocumentCodeList#380"),
        ("certificate-of-origin", "861, a certificate of origin", "unece:DocumentCodeList#861"),
        ("lowest-code", "1, the lowest code on the list", "unece:DocumentCodeList#1"),
        ("highest-code", "998, the highest code on the list", "unece:DocumentCodeList#998"),
        ("code-not-on-the-list", "999 is not a code of the list", "unece:DocumentCodeList#999"),
        ("gap-in-the-list", "471 is not a code of the list", "unece:DocumentCodeList#471"),
        ("zero", "0 is no code", "unece:DocumentCodeList#0"),
        ("leading-zero", "705 written with a leading zero", "unece:DocumentCodeList#0705"),
        ("four-digits", "a four-digit code", "unece:DocumentCodeList#1001"),
        ("bare-code", "the code without its prefix", "705"),
        ("other-list", "a code of another list", "unece:PackageTypeCodeList#705"),
        ("lower-case-prefix", "the prefix in other letter case", "UNECE:DocumentCodeList#705"),
        ("trailing-space", "a trailing space", "unece:DocumentCodeList#705 "),
        ("number", "a JSON number, not a string", 705),
    ]
    return [
        (name, description, rule, {"documentCode": value}) for name, description, value in cases
    ]


def document_code_vectors() -> list[Vector]:
    """The documentCode values, on UN/CEFACT code list 1001 or not."""
    return with_expected(DOCUMENT_CODE, document_code_oracle, _document_code_cases())


# --- documents/attestation ---------------------------------------------------------------------


def _key_resolver(public_key: str) -> KeyResolver:
    key = Ed25519PublicKey(multibase_decode(public_key))

    def resolve(method: str, purpose: str) -> Ed25519PublicKey:
        if method != f"{NODE_DID}#attestation-assertion" or purpose != "assertionMethod":
            raise TwinSpecError(f"the verifier knows no key {method} for {purpose}")
        return key

    return resolve


def attestation_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """Verify attestation information offline: the certified summary, or the failing part."""
    committee = Committee.from_json(input_["committee"])
    content = input_.get("content")
    try:
        summary = verify_document_attestation(
            input_["attestationInformation"],
            committee,
            _key_resolver(input_["nodePublicKey"]),
            revision=input_.get("revision"),
            content=None if content is None else base64.b64decode(content, validate=True),
        )
    except DocumentError as exc:
        return {"result": "invalid", "error": exc.failure.value}
    except ReceiptVerificationError as exc:
        return {"result": "invalid", "error": exc.part.value}
    return {"result": "valid", "summary": summary}


def example_attestation(
    content: bytes = b"Hello World", revision: int = 0
) -> tuple[Committee, dict[str, Any], dict[str, Any]]:
    """A committee, a revision and its attestation information, all from test keys."""
    committee = make_committee([1, 1, 1, 1])
    node_key = vector_test_key("documents/node")
    statement = attestation_statement(
        attestation_id="attestation:twin:"
        + hashlib.sha256(b"attestation %d" % revision).hexdigest(),
        document=GRAPH_ID,
        document_id="2721000",
        document_id_format="bol",
        document_code_value="unece:DocumentCodeList#705",
        revision=revision,
        blob_hash_value=blob_hash(content),
        node_identity=NODE_DID,
        user_identity=USER_DID,
        date_created=CREATED,
    )
    signed = sign_document(
        statement,
        node_key,
        verification_method=f"{NODE_DID}#attestation-assertion",
        created="2026-11-21T08:00:00Z",
    )
    blob_id = "blob:twin:" + hashlib.sha256(b"blob %d" % revision).hexdigest()
    recorded = cast(JSONValue, copy.deepcopy(signed))
    transaction: dict[str, JSONValue] = {
        "type": "document.create" if revision == 0 else "document.update",
        "sender": USER_DID,
        "nonce": hashlib.sha256(b"nonce %d" % revision).hexdigest()[:32],
        "timestampMs": BASE_TIME + revision,
        "payload": {"blobStorageId": blob_id, "attestation": recorded},
    }
    others = [
        {"type": "x", "sender": USER_DID, "nonce": str(n), "timestampMs": BASE_TIME, "payload": {}}
        for n in range(2)
    ]
    digests = [transaction_digest(tx) for tx in [others[0], transaction, others[1]]]
    receipt = make_receipt(digests[1], digests, certified(committee, digests, [0, 1, 2]))
    record = {
        key: signed[key]
        for key in (
            "documentId",
            "documentIdFormat",
            "documentCode",
            "documentRevision",
            "blobHash",
            "nodeIdentity",
            "userIdentity",
        )
    }
    record["document"] = GRAPH_ID
    information = {
        "type": "DocumentAttestationInformation",
        "attestation": signed,
        "transaction": transaction,
        "receipt": receipt,
    }
    return committee, record, information


def _attestation_cases() -> list[Case]:
    content = b"Hello World"
    committee, record, information = example_attestation(content)
    node_key = multibase_encode(vector_test_key("documents/node").public_key.raw)
    members = {**committee_input(committee), "nodePublicKey": node_key}
    shape = ["TWIN-DOCUMENTS-020", "TWIN-DOCUMENTS-021"]
    cases: list[Case] = []

    def add(name: str, description: str, value: object, **extra: object) -> None:
        requirements = [*shape, *RECEIPT_REQUIREMENTS]
        cases.append(
            (name, description, requirements, {**members, "attestationInformation": value, **extra})
        )

    def changed(path: Sequence[str], value: object) -> dict[str, Any]:
        result = copy.deepcopy(information)
        target: Any = result
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return result

    add("valid", "a revision's attestation, its transaction and receipt", information)
    add(
        "valid-with-revision-and-content",
        "the same, checked against the revision read and its content",
        information,
        revision=record,
        content=_b64(content),
    )
    add(
        "content-erased",
        "the content is gone: the attestation verifies without it",
        information,
        revision={**record},
    )
    add(
        "other-content",
        "the content read is not the attested one",
        information,
        content=_b64(b"Hello TWIN"),
    )
    add(
        "other-revision",
        "the revision read is another revision of the document",
        information,
        revision={**record, "documentRevision": 1},
    )
    add(
        "rewritten-revision",
        "the revision read has another blobHash than the one attested",
        information,
        revision={**record, "blobHash": blob_hash(b"Hello TWIN")},
    )
    add(
        "no-receipt",
        "the receipt is missing",
        {k: v for k, v in information.items() if k != "receipt"},
    )
    add(
        "unknown-member",
        "the information has a member the format does not have",
        {**information, "verified": True},
    )
    add(
        "bad-document-code",
        "the attested documentCode is not on the code list",
        changed(["attestation", "documentCode"], "unece:DocumentCodeList#999"),
    )
    tampered_hash = changed(["attestation", "blobHash"], blob_hash(b"Hello TWIN"))
    tampered_hash["transaction"]["payload"]["attestation"]["blobHash"] = blob_hash(b"Hello TWIN")
    add(
        "hash-changed-after-signing",
        "the blobHash changed in the attestation and its transaction after the node signed",
        tampered_hash,
    )
    other_key = vector_test_key("documents/other-node")
    unsigned = {key: value for key, value in information["attestation"].items() if key != "proof"}
    resigned = sign_document(
        unsigned,
        other_key,
        verification_method=f"{NODE_DID}#attestation-assertion",
        created="2026-11-21T08:00:00Z",
    )
    add(
        "signed-by-another-key",
        "signed by a key the node's DID document does not hold",
        {**information, "attestation": resigned},
    )
    add(
        "transaction-records-other-attestation",
        "the transaction's payload holds an attestation other than this one",
        changed(["transaction", "payload", "attestation", "documentRevision"], 7),
    )
    add(
        "transaction-by-another-sender",
        "the transaction was sent by someone other than the attesting user",
        changed(["transaction", "sender"], NODE_DID),
    )
    add(
        "transaction-of-another-kind",
        "the transaction is not a document.create or document.update",
        changed(["transaction", "type"], "storage.create"),
    )
    add(
        "receipt-of-another-transaction",
        "the receipt proves another transaction of the same checkpoint",
        changed(
            ["receipt"],
            make_receipt(
                _other_digest(information),
                _checkpoint_digests(information),
                information["receipt"]["checkpoint"],
            ),
        ),
    )
    short = changed(
        ["receipt", "checkpoint", "signatures"],
        information["receipt"]["checkpoint"]["signatures"][:2],
    )
    add("receipt-below-quorum", "the receipt's checkpoint has two signatures of four", short)
    return cases


def _checkpoint_digests(information: Mapping[str, Any]) -> list[bytes]:
    """The digests of the example's checkpoint (the attested transaction is the second)."""
    others = [
        {"type": "x", "sender": USER_DID, "nonce": str(n), "timestampMs": BASE_TIME, "payload": {}}
        for n in range(2)
    ]
    return [
        transaction_digest(others[0]),
        transaction_digest(information["transaction"]),
        transaction_digest(others[1]),
    ]


def _other_digest(information: Mapping[str, Any]) -> bytes:
    return _checkpoint_digests(information)[0]


def attestation_vectors() -> list[Vector]:
    """Attestation information verified offline against the committee and the node's key."""
    return with_expected(ATTESTATION, attestation_oracle, _attestation_cases())


FAMILIES = [
    Family(
        "documents",
        "blob-hash",
        False,
        blob_hash_vectors,
        blob_hash_oracle,
        "document contents and their blobHash, as the TWIN node computes it",
    ),
    Family(
        "documents",
        "document-code",
        False,
        document_code_vectors,
        document_code_oracle,
        "documentCode values against UN/CEFACT code list 1001",
    ),
    Family(
        "documents",
        "attestation",
        False,
        attestation_vectors,
        attestation_oracle,
        "a committee, the node's key and a revision's attestation information: the certified "
        "summary, or the first failing part",
    ),
]
