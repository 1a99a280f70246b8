"""The TWIN OpenAPI document: valid 3.1, every example validates, and it matches the TWIN node."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.support import (
    OPENAPI_PATH,
    load_openapi,
    load_registry_files,
    openapi_validator,
    read_json,
    upstream_file,
)

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
CORE_OPERATIONS = {
    ("get", "/health"): "serverHealth",
    ("get", "/info"): "serverInformation",
    ("get", "/spec"): "serverSpec",
    ("post", "/authentication/login"): "authenticationLogin",
    ("get", "/authentication/refresh"): "authenticationRefreshToken",
    ("get", "/authentication/logout"): "authenticationLogout",
}


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method, path, item[method]


def _media_types(node: object, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (pointer, media type object) for every content map in the document."""
    if isinstance(node, dict):
        content = node.get("content")
        if isinstance(content, dict):
            for media_type, media in content.items():
                if isinstance(media, dict) and "schema" in media:
                    yield f"{pointer}/content/{_escape(media_type)}", media
        for key, value in node.items():
            yield from _media_types(value, f"{pointer}/{_escape(str(key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _media_types(value, f"{pointer}/{index}")


MEDIA_TYPES = list(_media_types(load_openapi()))


def test_the_document_is_valid_openapi_3_1() -> None:
    document = load_openapi()
    assert document["openapi"].startswith("3.1.")
    validate(document, base_uri=OPENAPI_PATH.as_uri())


def test_the_core_profile_operations_are_all_there() -> None:
    found = {(method, path): op["operationId"] for method, path, op in _operations(load_openapi())}
    for route, operation_id in CORE_OPERATIONS.items():
        assert found.get(route) == operation_id, route


def test_every_operation_names_a_known_profile_and_a_unique_id() -> None:
    profiles = {registry["profile"] for registry in load_registry_files().values()}
    profiles |= {"consensus", "documents"}
    seen: set[str] = set()
    for method, path, operation in _operations(load_openapi()):
        assert operation.get("x-twin-profile") in profiles, (method, path)
        assert operation["operationId"] not in seen
        seen.add(operation["operationId"])


@pytest.mark.parametrize(("pointer", "media"), MEDIA_TYPES, ids=[p for p, _ in MEDIA_TYPES])
def test_every_media_type_has_examples_that_validate(pointer: str, media: dict[str, Any]) -> None:
    examples = [entry["value"] for entry in media.get("examples", {}).values()]
    if "example" in media:
        examples.append(media["example"])
    assert examples, f"{pointer} has a schema but no example"
    validator = openapi_validator(f"{pointer}/schema")
    for example in examples:
        errors = [error.message for error in validator.iter_errors(example)]
        assert not errors, errors


@pytest.mark.requirement("TWIN-CORE-040")
def test_every_error_response_uses_the_error_format() -> None:
    document = load_openapi()
    responses = document["components"]["responses"]
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            if "$ref" in response:
                response = responses[response["$ref"].rsplit("/", 1)[1]]
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
    assert document["components"]["schemas"]["Error"] == {"$ref": "../schemas/error.schema.json"}


def test_server_info_claims_profiles_from_the_registry() -> None:
    validator = openapi_validator("/components/schemas/ServerInfo")
    claim = {"name": "n", "version": "1.0.0", "specVersion": "0.1.0", "profiles": ["core"]}
    assert validator.is_valid(claim)
    assert not validator.is_valid({**claim, "profiles": ["identity"]}), "core is always claimed"
    assert not validator.is_valid({**claim, "profiles": ["core", "banking"]})
    assert not validator.is_valid({"name": "API Server", "version": "1.0.0"}), (
        "the upstream shape lacks specVersion and profiles"
    )


def test_routes_and_operation_ids_match_the_twin_node() -> None:
    upstream = read_json(upstream_file("openapi/twin-node-spec.json"))
    for method, path, operation in _operations(load_openapi()):
        upstream_operation = upstream["paths"].get(path, {}).get(method)
        assert upstream_operation is not None, f"{method.upper()} {path} is not a TWIN node route"
        assert upstream_operation["operationId"] == operation["operationId"]
