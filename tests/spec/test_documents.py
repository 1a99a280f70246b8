"""The documents spec core: blob hashes, the code list, attestations verified offline."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import upstream_file
from twin_spec import (
    DocumentError,
    DocumentFailure,
    Ed25519PublicKey,
    ReceiptVerificationError,
    TwinSpecError,
    blob_hash,
    check_blob_hash,
    document_code,
    document_code_name,
    verify_document_attestation,
)
from twin_spec._document_codes import DOCUMENT_CODES
from twin_vectors._format import vector_test_key
from twin_vectors.documents import NODE_DID, example_attestation

NODE_KEY = vector_test_key("documents/node").public_key


def resolve(method: str, purpose: str) -> Ed25519PublicKey:
    """The verifier's own key for the node's attestation method, and no other."""
    if method != f"{NODE_DID}#attestation-assertion" or purpose != "assertionMethod":
        raise TwinSpecError(f"no key for {method}")
    return NODE_KEY


@pytest.mark.requirement("TWIN-DOCUMENTS-001")
def test_the_blob_hash_matches_the_twin_node_sample() -> None:
    sample = upstream_file("samples/documents-get.txt").read_text(encoding="utf-8")
    listed = json.loads(sample.split("\n", 1)[1])["itemListElement"][0]["blobHash"]
    # The node's request example stores "SGVsbG8gV29ybGQ=", i.e. "Hello World".
    assert blob_hash(base64.b64decode("SGVsbG8gV29ybGQ=")) == listed
    check_blob_hash(b"Hello World", listed)


@pytest.mark.requirement("TWIN-DOCUMENTS-001")
@given(st.binary(max_size=2048))
def test_the_blob_hash_is_base64_of_sha256_of_the_bytes(content: bytes) -> None:
    expected = "sha256:" + base64.b64encode(hashlib.sha256(content).digest()).decode()
    assert blob_hash(content) == expected
    check_blob_hash(content, expected)
    with pytest.raises(DocumentError) as caught:
        check_blob_hash(content + b"\0", expected)
    assert caught.value.failure is DocumentFailure.BLOB_HASH_MISMATCH


@pytest.mark.requirement("TWIN-DOCUMENTS-001")
@pytest.mark.parametrize(
    "claimed",
    [
        "sha256:" + hashlib.sha256(b"Hello World").hexdigest(),
        blob_hash(b"Hello World").rstrip("="),
        blob_hash(b"Hello World").removeprefix("sha256:"),
        None,
        42,
    ],
)
def test_a_blob_hash_of_another_form_is_malformed(claimed: object) -> None:
    with pytest.raises(DocumentError) as caught:
        check_blob_hash(b"Hello World", claimed)
    assert caught.value.failure is DocumentFailure.BLOB_HASH_MALFORMED


@pytest.mark.requirement("TWIN-DOCUMENTS-002")
def test_the_code_list_is_un_cefact_1001_as_the_twin_node_lists_it() -> None:
    path = upstream_file("openapi/document-management-service-spec.main.json")
    upstream = json.loads(path.read_text(encoding="utf-8"))
    branches = upstream["components"]["schemas"]["UneceDocumentCodes"]["anyOf"]
    listed = {}
    for branch in branches:
        name, _, code = branch["description"].rpartition(": ")
        listed[int(code.rstrip("."))] = name
    assert listed == DOCUMENT_CODES
    assert document_code_name("unece:DocumentCodeList#705") == "Bill of lading"


@pytest.mark.requirement("TWIN-DOCUMENTS-002")
@pytest.mark.parametrize(
    "value",
    [
        "unece:DocumentCodeList#471",
        "unece:DocumentCodeList#0705",
        "unece:DocumentCodeList#0",
        "unece:DocumentCodeList#1001",
        "705",
        "unece:DocumentCodeList#705\n",
        705,
        None,
    ],
)
def test_a_code_off_the_list_is_refused(value: object) -> None:
    with pytest.raises(DocumentError) as caught:
        document_code(value)
    assert caught.value.failure is DocumentFailure.DOCUMENT_CODE_UNKNOWN
    assert caught.value.requirement == "TWIN-DOCUMENTS-002"


@pytest.mark.requirement("TWIN-DOCUMENTS-020", "TWIN-DOCUMENTS-021")
def test_an_attestation_verifies_offline_with_and_without_its_content() -> None:
    committee, record, information = example_attestation()
    summary = verify_document_attestation(
        information, committee, resolve, revision=record, content=b"Hello World"
    )
    assert summary["transactionCount"] == 3
    # Erased content: everything but the content is still there, and still verifies.
    assert verify_document_attestation(information, committee, resolve, revision=record)


def _changed(information: dict[str, Any], path: list[str], value: object) -> dict[str, Any]:
    result = copy.deepcopy(information)
    target: Any = result
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return result


@pytest.mark.requirement("TWIN-DOCUMENTS-020", "TWIN-DOCUMENTS-021")
@pytest.mark.parametrize(
    ("path", "value", "failure"),
    [
        (["type"], "Attestation", DocumentFailure.ATTESTATION_MALFORMED),
        (["attestation", "documentRevision"], -1, DocumentFailure.ATTESTATION_MALFORMED),
        (["attestation", "blobHash"], "sha256:xyz", DocumentFailure.ATTESTATION_MALFORMED),
        (["attestation", "dateCreated"], "2026-11-21T08:00:01.000Z", "signature"),
        (["attestation", "proof", "verificationMethod"], "did:twin:0x00#x", "signature"),
        (["transaction", "payload", "attestation", "dateCreated"], "x", "recorded"),
        (["transaction", "sender"], NODE_DID, "recorded"),
        (["transaction", "timestampMs"], 1, "receipt"),
    ],
)
def test_a_changed_attestation_fails_at_its_part(
    path: list[str], value: object, failure: DocumentFailure | str
) -> None:
    committee, _record, information = example_attestation()
    changed = _changed(information, path, value)
    if failure == "receipt":
        with pytest.raises(ReceiptVerificationError):
            verify_document_attestation(changed, committee, resolve)
        return
    expected = {
        "signature": DocumentFailure.SIGNATURE_MISMATCH,
        "recorded": DocumentFailure.ATTESTATION_NOT_RECORDED,
    }.get(str(failure), failure)
    with pytest.raises(DocumentError) as caught:
        verify_document_attestation(changed, committee, resolve)
    assert caught.value.failure is expected


@pytest.mark.requirement("TWIN-DOCUMENTS-021")
def test_an_attestation_of_another_revision_or_content_is_refused() -> None:
    committee, record, information = example_attestation()
    for name, value in [("documentRevision", 1), ("blobHash", blob_hash(b"x"))]:
        with pytest.raises(DocumentError) as caught:
            verify_document_attestation(
                information, committee, resolve, revision={**record, name: value}
            )
        assert caught.value.failure is DocumentFailure.DOCUMENT_MISMATCH
    with pytest.raises(DocumentError) as caught:
        verify_document_attestation(information, committee, resolve, content=b"Hello TWIN")
    assert caught.value.failure is DocumentFailure.BLOB_HASH_MISMATCH


@pytest.mark.requirement("TWIN-DOCUMENTS-021")
@given(
    st.recursive(
        st.none() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c) | st.dictionaries(st.text(max_size=5), c),
        max_leaves=10,
    )
)
def test_anything_else_fails_as_a_document_error_never_a_crash(value: object) -> None:
    committee, _record, _information = example_attestation()
    with pytest.raises(DocumentError):
        verify_document_attestation(value, committee, resolve)
