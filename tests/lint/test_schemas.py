"""The JSON Schemas under spec/schemas: valid 2020-12, and every example validates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema import Draft202012Validator

from tests.support import SCHEMAS_DIR, read_json, schema_validator, upstream_file

SCHEMA_FILES = sorted(SCHEMAS_DIR.glob("*.schema.json"))


def test_the_message_format_schemas_exist() -> None:
    names = {path.name for path in SCHEMA_FILES}
    assert {
        "did-document.schema.json",
        "data-integrity-proof.schema.json",
        "merkle-inclusion-proof.schema.json",
        "error.schema.json",
        "requirement-registry.schema.json",
    } <= names


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
