"""The contract check: every response the harness sees must match the OpenAPI document.

The operation is found by method and path template, the response by status, and the body is
validated against that response's JSON Schema (with the spec's schema files resolved from
disk, never from the network). An error body that breaks the error shape breaks
TWIN-CORE-040; any other mismatch breaks TWIN-CORE-056.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema
import yaml

from twin_conformance._client import Exchange, fail
from twin_conformance._paths import spec_dir

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ERROR_SHAPE = "TWIN-CORE-040"
CONTRACT = "TWIN-CORE-056"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@dataclass(frozen=True)
class Operation:
    """One operation of the OpenAPI document and how to match its path."""

    method: str
    template: str
    operation_id: str
    profile: str
    secured: bool
    pattern: re.Pattern[str]
    pointer: str
    document: dict[str, Any]


def _escape(token: str) -> str:
    """A JSON Pointer reference token."""
    return token.replace("~", "~0").replace("/", "~1")


class OpenApiContract:
    """The operations of the TWIN OpenAPI document and a validator for their responses."""

    def __init__(self, root: Path | None = None) -> None:
        root = root or spec_dir()
        self.path = root / "openapi" / "twin.openapi.yaml"
        self.document: dict[str, Any] = yaml.load(
            self.path.read_text(encoding="utf-8"),
            Loader=SAFE_LOADER,  # noqa: S506 - the safe loader, in C when available
        )
        self.uri = self.path.resolve().as_uri()
        resources = [(self.uri, self.document)]
        for schema_path in sorted((root / "schemas").glob("*.json")):
            contents = json.loads(schema_path.read_text(encoding="utf-8"))
            resources.append((schema_path.resolve().as_uri(), contents))
            if isinstance(contents.get("$id"), str):
                resources.append((contents["$id"], contents))
        self.registry: referencing.Registry[Any] = referencing.Registry().with_resources(
            (
                uri,
                referencing.Resource.from_contents(
                    contents, default_specification=referencing.jsonschema.DRAFT202012
                ),
            )
            for uri, contents in resources
        )
        self.operations = list(self._operations())

    def _operations(self) -> Iterator[Operation]:
        default_security = self.document.get("security")
        for template, item in self.document.get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
            for method in _METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                yield Operation(
                    method=method.upper(),
                    template=template,
                    operation_id=str(operation.get("operationId", f"{method} {template}")),
                    profile=str(operation.get("x-twin-profile", "core")),
                    secured=bool(operation.get("security", default_security)),
                    pattern=pattern,
                    pointer=f"/paths/{_escape(template)}/{method}",
                    document=operation,
                )

    def find(self, method: str, url: str) -> Operation | None:
        """The operation a request goes to; literal segments win over templated ones."""
        path = urllib.parse.urlsplit(url).path
        candidates = [
            operation
            for operation in self.operations
            if operation.method == method.upper() and operation.pattern.match(path)
        ]
        candidates.sort(key=lambda operation: operation.template.count("{"))
        return candidates[0] if candidates else None

    def _resolve(self, node: Any, pointer: str) -> tuple[dict[str, Any], str]:  # noqa: ANN401
        """Follow local ``$ref`` of a response object; return it and its JSON Pointer."""
        for _ in range(8):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                break
            reference = node["$ref"]
            if not reference.startswith("#/"):
                break
            pointer = reference[1:]
            node = self.document
            for token in pointer.split("/")[1:]:
                node = node[token.replace("~1", "/").replace("~0", "~")]
        return node, pointer

    def check(self, exchange: Exchange) -> None:
        """Fail the check when the exchange's response breaks the document."""
        # TWIN-CORE-056 "Every response MUST match the OpenAPI document": a documented status,
        # a documented media type, a body valid against its schema.
        if exchange.status is None:
            return
        operation = self.find(exchange.method, exchange.url)
        if operation is None:
            return  # Not an operation of the spec (an unknown path a negative check sends).
        responses = operation.document.get("responses", {})
        status = str(exchange.status)
        key = status if status in responses else f"{status[0]}XX"
        if key not in responses:
            key = "default" if "default" in responses else ""
        if not key:
            fail(
                CONTRACT,
                f"{exchange.where} answered {status}, a status {operation.operation_id} "
                f"does not document (documented: {', '.join(sorted(responses))})",
            )
        response, pointer = self._resolve(
            responses[key], f"{operation.pointer}/responses/{_escape(key)}"
        )
        content = response.get("content")
        if not content:
            return
        media_type = exchange.media_type()
        if media_type not in content:
            if not exchange.body:
                fail(CONTRACT, f"{exchange.where} answered {status} with an empty body")
            fail(
                ERROR_SHAPE if exchange.status >= 400 else CONTRACT,
                f"{exchange.where} answered {status} as {media_type or 'no content type'}; "
                f"{operation.operation_id} documents {', '.join(sorted(content))}",
            )
        schema_pointer = f"{pointer}/content/{_escape(media_type)}/schema"
        if "schema" not in content[media_type]:
            return
        try:
            body = json.loads(exchange.body)
        except (UnicodeDecodeError, ValueError):
            fail(
                ERROR_SHAPE if exchange.status >= 400 else CONTRACT,
                f"{exchange.where} answered {status} as {media_type} with a body that is not JSON",
            )
        errors = self._errors(schema_pointer, body)
        if errors:
            fail(
                ERROR_SHAPE if exchange.status >= 400 else CONTRACT,
                f"{exchange.where} answered {status} with a body that breaks "
                f"{operation.operation_id}'s {key} schema: {errors}",
            )

    def _errors(self, schema_pointer: str, body: Any) -> str:  # noqa: ANN401
        """The first schema violation of ``body`` as one line, or an empty string."""
        validator = _validator(self, schema_pointer)
        error = jsonschema.exceptions.best_match(validator.iter_errors(body))
        if error is None:
            return ""
        where = "/".join(str(part) for part in error.absolute_path) or "(the body)"
        return f"at {where}: {error.message[:300]}"


@functools.cache
def load_contract() -> OpenApiContract:
    """The contract of the installed spec, read once per process."""
    return OpenApiContract()


@functools.lru_cache(maxsize=256)
def _validator(contract: OpenApiContract, schema_pointer: str) -> jsonschema.Draft202012Validator:
    """A validator for the schema at ``schema_pointer`` of the document (cached)."""
    return jsonschema.Draft202012Validator(
        {"$ref": f"{contract.uri}#{schema_pointer}"}, registry=contract.registry
    )
