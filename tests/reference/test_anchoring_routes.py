"""Anchoring profile routes: immutable proofs and verifiable storage, receipts checked offline."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.node_process import RunningNode
from tests.reference.test_core_routes import assert_error
from tests.support import proof_with_receipt
from twin_spec import (
    Committee,
    ReceiptFailure,
    ReceiptVerificationError,
    proof_object_hash,
    verification_key,
    verify_proof,
    verify_receipt,
)

PERSON = {
    "@context": "https://schema.org",
    "type": "Person",
    "id": "urn:example:124",
    "name": "John Smith",
}


def committee_of(client: httpx.Client) -> Committee:
    return Committee.from_json(client.get("/consensus/committee").json())


def anchor(admin: httpx.Client, document: dict[str, Any]) -> str:
    response = admin.post("/immutable-proof", json={"document": document})
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    assert location.startswith("immutable-proof:")
    return location


@pytest.mark.requirement("TWIN-ANCHORING-050", "TWIN-ANCHORING-001")
def test_an_anchored_document_has_a_signed_proof_and_an_offline_receipt(
    node: RunningNode, admin: httpx.Client, client: httpx.Client
) -> None:
    proof_id = anchor(admin, PERSON)
    proof = proof_with_receipt(admin, proof_id)
    assert proof["type"] == "ImmutableProof"
    assert proof["proofObjectHash"] == proof_object_hash(PERSON)
    assert proof["proofObjectId"] == "urn:example:124"
    node_did = client.get("/info").json()["nodeIdentity"]
    assert proof["proof"]["verificationMethod"] == f"{node_did}#immutable-proof-assertion"
    # The signature, checked with the node's published DID document.
    did_document = client.get(f"/identity/{node_did}").json()
    signed = {name: value for name, value in proof.items() if name != "immutableReceipt"}
    verify_proof(signed, lambda vm, purpose: verification_key(did_document, vm, purpose))
    # The receipt, checked with nothing but the committee's keys (from the data directory).
    committee = Committee.from_json(json.loads((node.data_dir / "committee.json").read_text()))
    assert committee == committee_of(client)
    sequence = verify_receipt(proof["immutableReceipt"], committee)["sequence"]
    assert isinstance(sequence, int)
    assert sequence >= 1
    verification = admin.get(f"/immutable-proof/{proof_id}/verify").json()
    assert verification == {
        "@context": "https://schema.twindev.org/immutable-proof/",
        "type": "ImmutableProofVerification",
        "verified": True,
    }


@pytest.mark.requirement("TWIN-ANCHORING-020")
def test_a_one_byte_change_to_a_receipt_is_detected(
    admin: httpx.Client, client: httpx.Client
) -> None:
    proof_id = anchor(admin, {"n": 1})
    receipt = proof_with_receipt(admin, proof_id)["immutableReceipt"]
    committee = committee_of(client)
    tampered = copy.deepcopy(receipt)
    digest = tampered["transactionDigest"]
    tampered["transactionDigest"] = ("0" if digest[0] != "0" else "1") + digest[1:]
    with pytest.raises(ReceiptVerificationError) as caught:
        verify_receipt(tampered, committee)
    assert caught.value.part is ReceiptFailure.INCLUSION_PROOF
    tampered = copy.deepcopy(receipt)
    tampered["checkpoint"]["summary"]["timestampMs"] += 1
    with pytest.raises(ReceiptVerificationError):
        verify_receipt(tampered, committee)


def test_the_verify_receipt_command_checks_offline(
    node: RunningNode, admin: httpx.Client, tmp_path: Path
) -> None:
    proof_id = anchor(admin, {"n": 2})
    answer = tmp_path / "proof.json"
    answer.write_text(json.dumps(proof_with_receipt(admin, proof_id)))
    command = [
        sys.executable,
        "-m",
        "twin_reference",
        "verify-receipt",
        str(answer),
        "--committee",
        str(node.data_dir / "committee.json"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("VALID")
    body = json.loads(answer.read_text())
    body["immutableReceipt"]["checkpoint"]["signatures"][0]["signature"] = "z1111"
    answer.write_text(json.dumps(body))
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "INVALID" in result.stderr
    answer.write_text("{not json")
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2


@pytest.mark.requirement("TWIN-CORE-054")
@pytest.mark.parametrize(
    "path",
    [
        "/immutable-proof/nope",
        "/immutable-proof/immutable-proof:XYZ",
        "/immutable-proof/nope/verify",
    ],
)
def test_malformed_proof_ids_are_400(admin: httpx.Client, path: str) -> None:
    assert_error(admin.get(path), 400, "ValidationError", "path.id")


def test_unknown_proof_ids_are_404(admin: httpx.Client) -> None:
    assert_error(admin.get("/immutable-proof/immutable-proof:" + "0" * 64), 404, "NotFoundError")


@pytest.mark.requirement("TWIN-ANCHORING-051")
def test_verifiable_storage_lifecycle(admin: httpx.Client, client: httpx.Client) -> None:
    committee = committee_of(client)
    data = base64.b64encode(b"bill of lading 42").decode()
    created = admin.post("/verifiable", json={"data": data})
    assert created.status_code == 201, created.text
    item_id = created.json()["id"]
    assert created.headers["location"] == item_id
    verify_receipt(created.json()["receipt"], committee)
    item = admin.get(f"/verifiable/{item_id}").json()
    assert item["data"] == data
    updated = admin.put(f"/verifiable/{item_id}", json={"data": base64.b64encode(b"v2").decode()})
    assert updated.status_code == 200, updated.text
    updated_at = verify_receipt(updated.json(), committee)["sequence"]
    created_at = verify_receipt(created.json()["receipt"], committee)["sequence"]
    assert isinstance(updated_at, int)
    assert isinstance(created_at, int)
    assert updated_at > created_at
    assert admin.get(f"/verifiable/{item_id}").json()["data"] == base64.b64encode(b"v2").decode()
    assert admin.delete(f"/verifiable/{item_id}").status_code == 204
    assert_error(admin.get(f"/verifiable/{item_id}"), 404, "NotFoundError")
    assert_error(admin.delete(f"/verifiable/{item_id}"), 404, "NotFoundError")


@pytest.mark.requirement("TWIN-CORE-052")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": "not base64!"}, "body.data"),
        ({"data": 5}, "body.data"),
        ({"data": "", "allowList": "x"}, "body.allowList"),
    ],
)
def test_bad_storage_bodies_are_400(admin: httpx.Client, body: dict[str, Any], field: str) -> None:
    assert_error(admin.post("/verifiable", json=body), 400, "ValidationError", field)


@pytest.mark.requirement("TWIN-ANCHORING-001")
def test_the_node_reproduces_the_upstream_proof_object_hash(admin: httpx.Client) -> None:
    # The value a TWIN node 0.0.2 gives for this document (../shared/FACTS.md).
    document = {
        "@context": "https://schema.org",
        "type": "Person",
        "id": "123",
        "name": "John Smith",
    }
    proof = admin.get(f"/immutable-proof/{anchor(admin, document)}").json()
    assert proof["proofObjectHash"] == "sha256:Z5k43EVM3eOBqcK6vt2ohwtJDUsjZXzZuWZFh2K3zvc="
    assert proof["proofObjectId"] == "123"
