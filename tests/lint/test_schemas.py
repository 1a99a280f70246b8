"""The JSON Schemas under spec/schemas: valid 2020-12, and every example validates."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema import Draft202012Validator

from tests.support import SCHEMAS_DIR, read_json, schema_validator, upstream_file
from twin_spec import Committee, verify_certified_checkpoint, verify_receipt

SCHEMA_FILES = sorted(SCHEMAS_DIR.glob("*.schema.json"))


def test_the_message_format_schemas_exist() -> None:
    names = {path.name for path in SCHEMA_FILES}
    assert {
        "did-document.schema.json",
        "data-integrity-proof.schema.json",
        "merkle-inclusion-proof.schema.json",
        "error.schema.json",
        "requirement-registry.schema.json",
        "committee.schema.json",
        "certified-checkpoint.schema.json",
        "ledger-receipt.schema.json",
        "immutable-proof.schema.json",
        "did-resolution-result.schema.json",
        "verifiable-credential.schema.json",
    } <= names


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.name)
def test_schemas_refer_to_each_other_by_relative_path(path: Path) -> None:
    """No $id, and every $ref is local or a sibling file, so the folder can move as a whole."""
    schema = read_json(path)
    assert "$id" not in schema
    refs = re.findall(r'"\$ref": "([^"]*)"', path.read_text(encoding="utf-8"))
    for ref in refs:
        target = ref.split("#", 1)[0]
        assert target == "" or (SCHEMAS_DIR / target).is_file(), ref


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.name)
def test_schema_is_valid_2020_12(path: Path) -> None:
    schema = read_json(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.name)
def test_every_example_in_a_schema_validates(path: Path) -> None:
    schema = read_json(path)
    examples = schema.get("examples", [])
    assert len(examples) >= 2 or path.name == "requirement-registry.schema.json", (
        "each message format shows at least two examples"
    )
    validator = schema_validator(path.name)
    for index, example in enumerate(examples):
        errors = [error.message for error in validator.iter_errors(example)]
        assert not errors, f"example {index}: {errors}"


@pytest.mark.requirement("TWIN-CORE-040")
@pytest.mark.parametrize(
    "body",
    [
        {"message": "no name"},
        {"name": "", "message": "empty name"},
        {"name": "E", "message": "m", "code": 400},
        {"name": "E", "message": "m", "inner": {"name": "I"}},
    ],
)
def test_the_error_schema_rejects_what_the_spec_core_rejects(body: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        schema_validator("error.schema.json").validate(body)


@pytest.mark.requirement("TWIN-IDENTITY-014")
@pytest.mark.parametrize(
    "sample",
    ["samples/node-did.json", "samples/identity-create.txt", "samples/identity-resolve-after.txt"],
)
def test_upstream_did_documents_validate(sample: str) -> None:
    # The captures hold a status line before the JSON body; the body starts at the first brace.
    text = upstream_file(sample).read_text(encoding="utf-8")
    schema_validator("did-document.schema.json").validate(json.loads(text[text.index("{") :]))


@pytest.mark.requirement("TWIN-IDENTITY-014")
@pytest.mark.parametrize(
    "document",
    [
        {
            "id": "did:example:1",
            "verificationMethod": [
                {"id": "did:example:1#k", "type": "JsonWebKey", "controller": "did:example:1"}
            ],
        },
        {
            "id": "did:example:1",
            "verificationMethod": [
                {
                    "id": "did:example:1#k",
                    "type": "JsonWebKey",
                    "controller": "did:example:1",
                    "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": "AA", "d": "AA"},
                }
            ],
        },
        {"id": "not-a-did"},
        {"id": "did:example:1", "assertionMethod": "did:example:1#k"},
    ],
)
def test_did_documents_breaking_did_core_are_rejected(document: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        schema_validator("did-document.schema.json").validate(document)


@pytest.mark.requirement("TWIN-IDENTITY-028")
def test_the_upstream_nodes_proof_validates() -> None:
    document = read_json(upstream_file("samples/verifiable-item-immutable-proof.json"))
    schema_validator("data-integrity-proof.schema.json").validate(document["proof"])


def _example(name: str, index: int = 0) -> Any:
    return read_json(SCHEMAS_DIR / name)["examples"][index]


@pytest.mark.requirement("TWIN-CONSENSUS-001")
@pytest.mark.parametrize("index", [0, 1])
def test_the_committee_examples_are_committees_of_the_spec_core(index: int) -> None:
    Committee.from_json(_example("committee.schema.json", index))


@pytest.mark.requirement("TWIN-ANCHORING-025", "TWIN-ANCHORING-026")
@pytest.mark.parametrize("index", [0, 1])
def test_the_checkpoint_examples_are_certified_by_the_committee_example(index: int) -> None:
    committee = Committee.from_json(_example("committee.schema.json"))
    verify_certified_checkpoint(_example("certified-checkpoint.schema.json", index), committee)


@pytest.mark.requirement("TWIN-ANCHORING-030")
@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("ledger-receipt.schema.json", 0),
        ("ledger-receipt.schema.json", 1),
        ("immutable-proof.schema.json", 0),
        ("immutable-proof.schema.json", 1),
    ],
)
def test_the_receipt_examples_verify_offline_against_the_committee_example(
    name: str, index: int
) -> None:
    committee = Committee.from_json(_example("committee.schema.json"))
    example = _example(name, index)
    verify_receipt(example.get("immutableReceipt", example), committee)


def _changed(document: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``document`` with the member at a /-separated path set (or removed)."""
    copy: dict[str, Any] = json.loads(json.dumps(document))
    *parents, last = pointer.strip("/").split("/")
    node: Any = copy
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if value is _REMOVE:
        del node[key]
    else:
        node[key] = value
    return copy


_REMOVE = object()


@pytest.mark.parametrize(
    ("name", "index", "pointer", "value"),
    [
        ("committee.schema.json", 0, "/validators/0/stake", 0),
        (
            "committee.schema.json",
            0,
            "/validators/0/publicKey",
            "z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc",
        ),
        ("committee.schema.json", 0, "/validators/0/address", "ftp://127.0.0.1"),
        ("committee.schema.json", 0, "/validators", []),
        ("certified-checkpoint.schema.json", 0, "/summary/nextCommittee", {}),
        ("certified-checkpoint.schema.json", 0, "/summary/sequence", 0),
        ("certified-checkpoint.schema.json", 0, "/summary/commitDigest", "AB" * 32),
        ("certified-checkpoint.schema.json", 0, "/signatures", []),
        ("ledger-receipt.schema.json", 0, "/type", "VerifiableStorageIotaReceipt"),
        ("ledger-receipt.schema.json", 0, "/epoch", 0),
        ("ledger-receipt.schema.json", 0, "/inclusionProof/hashAlgorithm", "sha-512"),
        ("ledger-receipt.schema.json", 0, "/checkpoint/signatures/0/signer", -1),
        ("immutable-proof.schema.json", 0, "/id", "immutable-proof:" + "0" * 64),
        ("immutable-proof.schema.json", 0, "/proofObjectHash", "sha256:abc"),
        ("immutable-proof.schema.json", 0, "/proof/proofPurpose", "authentication"),
        ("immutable-proof.schema.json", 0, "/verifiableStorageId", "verifiable:twin:00"),
        ("verifiable-credential.schema.json", 0, "/credentialSubject/@type", "Organization"),
        (
            "verifiable-credential.schema.json",
            0,
            "/credentialStatus/revocationBitmapIndex",
            "131072",
        ),
        ("verifiable-credential.schema.json", 0, "/credentialStatus/revocationBitmapIndex", 5),
        ("verifiable-credential.schema.json", 0, "/issuanceDate", "2026-11-21T10:14:07Z"),
        ("verifiable-credential.schema.json", 0, "/type/0", "Organization"),
        ("verifiable-credential.schema.json", 0, "/proof", {}),
        ("did-resolution-result.schema.json", 0, "/didResolutionMetadata/error", "notFound"),
        ("did-resolution-result.schema.json", 0, "/didResolutionMetadata", {}),
        ("did-resolution-result.schema.json", 2, "/didResolutionMetadata/error", _REMOVE),
        ("did-resolution-result.schema.json", 2, "/didResolutionMetadata/error", "deactivated"),
        ("did-resolution-result.schema.json", 5, "/didResolutionMetadata/error", "notFound"),
        ("did-resolution-result.schema.json", 5, "/didDocument", {"id": "did:twin:0x" + "0" * 64}),
        (
            "did-resolution-result.schema.json",
            0,
            "/didDocumentMetadata/created",
            "2026-11-21T10:15:29.120Z",
        ),
    ],
)
def test_the_new_message_formats_reject_what_the_spec_rejects(
    name: str, index: int, pointer: str, value: Any
) -> None:
    example = _example(name, index)
    schema_validator(name).validate(example)
    with pytest.raises(jsonschema.ValidationError):
        schema_validator(name).validate(_changed(example, pointer, value))


def test_the_upstream_nodes_credential_example_is_a_twin_credential() -> None:
    """The TWIN node 0.0.2's own example credential has the shape of this schema."""
    spec = read_json(upstream_file("openapi/identity-service-spec.main.json"))
    create = spec["paths"]["/identity/{identity}/verifiable-credential"]["post"]
    examples = create["responses"]["200"]["content"]["application/json"]["examples"]
    for example in examples.values():
        schema_validator("verifiable-credential.schema.json").validate(
            example["value"]["verifiableCredential"]
        )
