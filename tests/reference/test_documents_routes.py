"""Documents profile routes on the reference node: revisions, reads, attestations, refusals."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.node_process import RunningNode
from tests.reference.test_core_routes import assert_error
from twin_reference._store import Store
from twin_reference._transactions import apply_transaction
from twin_spec import (
    MAX_DOCUMENT_BYTES,
    Committee,
    blob_hash,
    verification_key,
    verify_document_attestation,
)

BILL_OF_LADING = "unece:DocumentCodeList#705"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def create(admin: httpx.Client, content: bytes, document_id: str = "2721000") -> str:
    response = admin.post(
        "/documents",
        json={
            "documentId": document_id,
            "documentIdFormat": "bol",
            "documentCode": BILL_OF_LADING,
            "blob": b64(content),
            "annotationObject": {"@type": "DigitalDocument", "name": "bol.pdf"},
        },
    )
    assert response.status_code == 201, response.text
    return response.headers["location"]


def committee_of(node: RunningNode) -> Committee:
    return Committee.from_json(json.loads((node.data_dir / "committee.json").read_text()))


def resolver(client: httpx.Client, did: str) -> Any:
    document = client.get(f"/identity/{did}").json()
    return lambda method, purpose: verification_key(document, method, purpose)


@pytest.mark.requirement(
    "TWIN-DOCUMENTS-010", "TWIN-DOCUMENTS-001", "TWIN-DOCUMENTS-020", "TWIN-DOCUMENTS-021"
)
def test_a_created_document_reads_back_attested(
    node: RunningNode, admin: httpx.Client, client: httpx.Client
) -> None:
    content = b"%PDF-1.7 bill of lading " + secrets.token_bytes(64)
    graph_id = create(admin, content)
    assert graph_id.startswith("aig:")
    assert len(graph_id) == 68
    node_did = client.get("/info").json()["nodeIdentity"]
    revision = admin.get(
        f"/documents/{graph_id}/0",
        params={"includeBlobStorageData": "true", "includeAttestation": "true"},
    ).json()
    assert revision["documentId"] == "2721000"
    assert revision["documentIdFormat"] == "bol"
    assert revision["documentCode"] == BILL_OF_LADING
    assert revision["documentRevision"] == 0
    assert revision["blobHash"] == blob_hash(content)
    assert base64.b64decode(revision["blobStorageEntry"]["blob"]) == content
    assert revision["nodeIdentity"] == node_did
    assert revision["userIdentity"] == node_did  # the admin user acts as the node's identity
    information = revision.pop("attestationInformation")
    assert revision["attestationId"] == information["attestation"]["id"]
    record = {**revision, "document": graph_id}
    verify_document_attestation(
        information,
        committee_of(node),
        resolver(client, node_did),
        revision=record,
        content=content,
    )


@pytest.mark.requirement("TWIN-DOCUMENTS-011", "TWIN-DOCUMENTS-012")
def test_an_update_adds_a_revision_and_leaves_the_earlier_one(admin: httpx.Client) -> None:
    first, second = b"first " + secrets.token_bytes(8), b"second " + secrets.token_bytes(8)
    graph_id = create(admin, first)
    before = admin.get(f"/documents/{graph_id}/0", params={"includeAttestation": "true"}).json()
    response = admin.put(f"/documents/{graph_id}", json={"blob": b64(second)})
    assert response.status_code == 204, response.text
    after = admin.get(f"/documents/{graph_id}/0", params={"includeAttestation": "true"}).json()
    assert after == before
    listing = admin.get(f"/documents/{graph_id}", params={"includeBlobStorageData": "true"}).json()
    assert [item["documentRevision"] for item in listing["itemListElement"]] == [1]
    assert base64.b64decode(listing["itemListElement"][0]["blobStorageEntry"]["blob"]) == second
    assert listing["nextItem"] == "0"
    older = admin.get(f"/documents/{graph_id}", params={"cursor": "0", "pageSize": "5"}).json()
    assert [item["documentRevision"] for item in older["itemListElement"]] == [0]
    assert "nextItem" not in older
    found = admin.get("/documents", params={"documentId": "2721000", "pageSize": "100"}).json()
    assert any(item["id"] == f"document:{graph_id[4:]}:1" for item in found["itemListElement"])


@pytest.mark.requirement("TWIN-DOCUMENTS-030", "TWIN-DOCUMENTS-012")
def test_a_removed_revision_keeps_its_metadata_and_answers_410_for_its_content(
    node: RunningNode, admin: httpx.Client, client: httpx.Client
) -> None:
    content = b"to erase " + secrets.token_bytes(8)
    graph_id = create(admin, content)
    assert admin.delete(f"/documents/{graph_id}/0").status_code == 204
    gone = admin.get(f"/documents/{graph_id}/0", params={"includeBlobStorageData": "true"})
    assert_error(gone, 410, "GoneError")
    assert gone.json()["properties"]["code"] == "contentErased"
    again = admin.delete(f"/documents/{graph_id}/0")
    assert_error(again, 410, "GoneError")
    assert again.json()["properties"]["code"] == "contentErased"
    assert_error(admin.delete(f"/documents/{graph_id}/7"), 404, "NotFoundError")
    meta = admin.get(f"/documents/{graph_id}/0", params={"includeAttestation": "true"}).json()
    assert "dateDeleted" in meta
    assert "blobStorageEntry" not in meta
    information = meta.pop("attestationInformation")
    verify_document_attestation(
        information,
        committee_of(node),
        resolver(client, meta["nodeIdentity"]),
        revision={**meta, "document": graph_id},
    )
    assert admin.get(f"/documents/{graph_id}").json()["itemListElement"] == []
    listed = admin.get(f"/documents/{graph_id}", params={"includeRemoved": "true"}).json()
    assert [item["documentRevision"] for item in listed["itemListElement"]] == [0]


@pytest.mark.requirement("TWIN-DOCUMENTS-002", "TWIN-DOCUMENTS-040")
@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"documentCode": "unece:DocumentCodeList#999"}, 400, "body.documentCode"),
        ({"documentCode": "unece:DocumentCodeList#0705"}, 400, "body.documentCode"),
        ({"blob": "SGk"}, 400, "body.blob"),
        ({"blob": "not base64!"}, 400, "body.blob"),
        ({"blob": b64(bytes(MAX_DOCUMENT_BYTES + 1))}, 413, "body.blob"),
        ({"createAttestation": False}, 400, "body.createAttestation"),
        ({"addAlias": True}, 400, "body.addAlias"),
    ],
)
def test_bad_input_is_refused_and_stores_nothing(
    node: RunningNode, admin: httpx.Client, change: dict[str, Any], status: int, field: str
) -> None:
    blobs = node.data_dir / "blobs"
    before = sorted(blobs.iterdir()) if blobs.exists() else []
    document_id = f"refused-{secrets.token_hex(4)}"
    body = {"documentId": document_id, "documentCode": BILL_OF_LADING, "blob": "SGk=", **change}
    response = admin.post("/documents", json=body)
    assert response.status_code == status, response.text
    assert response.json()["properties"]["field"] == field
    if status == 413:
        assert response.json()["properties"]["code"] == "documentTooLarge"
        assert response.json()["properties"]["limit"] == MAX_DOCUMENT_BYTES
    assert (sorted(blobs.iterdir()) if blobs.exists() else []) == before
    found = admin.get("/documents", params={"documentId": document_id}).json()
    assert found["itemListElement"] == []


@pytest.mark.requirement("TWIN-DOCUMENTS-012")
def test_unknown_documents_and_revisions_are_404_and_bad_ids_400(admin: httpx.Client) -> None:
    unknown = f"aig:{secrets.token_hex(32)}"
    assert_error(admin.get(f"/documents/{unknown}"), 404, "NotFoundError")
    assert_error(admin.get(f"/documents/{unknown}/0"), 404, "NotFoundError")
    assert_error(admin.put(f"/documents/{unknown}", json={"blob": "SGk="}), 404, "NotFoundError")
    assert_error(admin.get("/documents/aig:XYZ"), 400, "ValidationError")
    graph_id = create(admin, b"x")
    assert_error(admin.get(f"/documents/{graph_id}/01"), 400, "ValidationError")
    assert_error(admin.get(f"/documents/{graph_id}/1"), 404, "NotFoundError")
    bad = admin.get(f"/documents/{graph_id}", params={"pageSize": "101"})
    assert_error(bad, 400, "ValidationError")


def _document_transaction(kind: str, sender: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": kind,
        "sender": sender,
        "nonce": secrets.token_hex(8),
        "timestampMs": 1,
        "payload": payload,
    }


@pytest.mark.requirement("TWIN-DOCUMENTS-050")
def test_another_user_can_neither_update_nor_remove(tmp_path: Path) -> None:
    """Applied to a ledger directly: a peer's transaction is checked again as it applies."""
    store = Store(tmp_path / "node.sqlite")
    try:
        owner, other = "did:twin:0x" + "aa" * 32, "did:twin:0x" + "bb" * 32
        graph_id = "aig:" + "cd" * 32
        attestation = {
            "id": "attestation:twin:" + "01" * 32,
            "document": graph_id,
            "documentId": "1",
            "documentCode": BILL_OF_LADING,
            "documentRevision": 0,
            "blobHash": blob_hash(b"x"),
            "nodeIdentity": owner,
            "userIdentity": owner,
            "dateCreated": "2026-12-07T08:00:00.000Z",
        }
        create_tx = _document_transaction(
            "document.create",
            owner,
            {
                "document": graph_id,
                "blobStorageId": "blob:twin:" + "02" * 32,
                "attestation": attestation,
            },
        )
        with store.write() as connection:
            assert apply_transaction(connection, create_tx, b"\1" * 32, 1).ok
            removal = _document_transaction(
                "document.remove", other, {"document": graph_id, "revision": 0}
            )
            effects = apply_transaction(connection, removal, b"\2" * 32, 2)
            assert effects.error_name == "ForbiddenError"
            update = _document_transaction(
                "document.update",
                other,
                {
                    "document": graph_id,
                    "revision": 1,
                    "blobStorageId": "blob:twin:" + "03" * 32,
                    "attestation": {**attestation, "documentRevision": 1, "userIdentity": other},
                },
            )
            assert apply_transaction(connection, update, b"\3" * 32, 3).error_name == (
                "ForbiddenError"
            )
        rows = store.all("SELECT revision, date_deleted FROM document_revisions")
        assert rows == [(0, None)]
    finally:
        store.close()
