"""The contract check: every response the harness sees must match the OpenAPI document.

The operation is found by method and path template, the response by status, and the body is
validated against that response's JSON Schema (with the spec's schema files resolved from
disk, never from the network). An error body that breaks the error shape breaks
TWIN-CORE-040, a DID document, receipt, inclusion proof, Data Integrity proof or commit that
breaks its schema breaks that format's own rule (``FORMAT_RULES``), and any other mismatch breaks
TWIN-CORE-056.
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

from twin_conformance._client import Exchange
from twin_conformance._failures import ConformanceFailure
from twin_conformance._paths import spec_dir

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ERROR_SHAPE = "TWIN-CORE-040"
CONTRACT = "TWIN-CORE-056"
# Message formats whose own requirement is conformance to their schema, where a response
# carries them: (operation, path to the message in the body) -> that requirement. A schema
# violation inside one breaks the format's rule, as an error body breaks TWIN-CORE-040.
FORMAT_RULES: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "identityCreate": (((), "TWIN-IDENTITY-014"),),
    "identityResolve": ((("didDocument",), "TWIN-IDENTITY-014"), ((), "TWIN-IDENTITY-014")),
    "identityProofCreate": (((), "TWIN-IDENTITY-028"),),
    "immutableProofGet": (
        (("immutableReceipt", "inclusionProof"), "TWIN-ANCHORING-012"),
        (("immutableReceipt",), "TWIN-ANCHORING-028"),
    ),
    "verifiableStorageCreate": (
        (("receipt", "inclusionProof"), "TWIN-ANCHORING-012"),
        (("receipt",), "TWIN-ANCHORING-028"),
    ),
    "verifiableStorageGet": (
        (("receipt", "inclusionProof"), "TWIN-ANCHORING-012"),
        (("receipt",), "TWIN-ANCHORING-028"),
    ),
    "verifiableStorageUpdate": (
        (("inclusionProof",), "TWIN-ANCHORING-012"),
        ((), "TWIN-ANCHORING-028"),
    ),
    "consensusCommitList": ((("commits",), "TWIN-CONSENSUS-010"),),
}
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def error_body_signature(status: int, body: bytes) -> str | None:
    """The root-cause key of an error body that is not a TWIN error, or None when it is one.

    Every 4xx and 5xx body has the one shape of ``schemas/error.schema.json``, so the same
    defect (no ``name``, say) on any route is one root cause (TWIN-CORE-040).
    """
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return f"{ERROR_SHAPE}|not-json|{str(status)[0]}"
    error = jsonschema.exceptions.best_match(_error_validator().iter_errors(value))
    if error is None:
        return None
    return "|".join(
        [
            ERROR_SHAPE,
            "schema",
            str(status)[0],
            str(error.validator),
            "/".join(str(part) for part in error.absolute_path),
            repr(error.validator_value)[:200],
        ]
    )


@functools.cache
def _error_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((spec_dir() / "schemas" / "error.schema.json").read_text("utf-8"))
    return jsonschema.Draft202012Validator(schema)


class ContractViolation(ConformanceFailure):
    """A response that breaks the document; ``signature`` says which rule, wherever it broke.

    Two responses of different operations that break the same rule the same way (every error
    body lacking ``name``, say) share a signature, so the run can fail the first and block
    the rest as one root cause (SUITE-010).
    """

    def __init__(self, requirement: str, message: str, signature: str) -> None:
        super().__init__(requirement, message, cause=signature)
        self.signature = signature


def format_rule(operation_id: str, location: tuple[object, ...], body: object) -> str | None:
    """The message format's requirement for a violation at ``location`` of a 2xx body, if any.

    A resolution result's own members (its metadata) are not the DID document: only a
    violation inside ``didDocument``, or in a plain document body, is the document's.
    """
    for prefix, requirement in FORMAT_RULES.get(operation_id, ()):
        if tuple(location[: len(prefix)]) != prefix:
            continue
        if (
            operation_id == "identityResolve"
            and not prefix
            and isinstance(body, dict)
            and "didResolutionMetadata" in body
        ):
            return None
        return requirement
    return None


def _violation(requirement: str, message: str, *signature: object) -> ContractViolation:
    return ContractViolation(requirement, message, "|".join([requirement, *map(str, signature)]))


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
        """Raise :class:`ContractViolation` when the exchange's response breaks the document."""
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
            raise _violation(
                CONTRACT,
                f"{exchange.where} answered {status}, a status {operation.operation_id} "
                f"does not document (documented: {', '.join(sorted(responses))})",
                "status",
                operation.operation_id,
                status,
            )
        response, pointer = self._resolve(
            responses[key], f"{operation.pointer}/responses/{_escape(key)}"
        )
        content = response.get("content")
        if not content:
            return
        media_type = exchange.media_type()
        requirement = ERROR_SHAPE if exchange.status >= 400 else CONTRACT
        if media_type not in content:
            if not exchange.body:
                raise _violation(
                    CONTRACT,
                    f"{exchange.where} answered {status} with an empty body",
                    "empty",
                    operation.operation_id,
                    status,
                )
            raise _violation(
                requirement,
                f"{exchange.where} answered {status} as {media_type or 'no content type'}; "
                f"{operation.operation_id} documents {', '.join(sorted(content))}",
                "media-type",
                status[0],
                media_type,
            )
        schema_pointer = f"{pointer}/content/{_escape(media_type)}/schema"
        if "schema" not in content[media_type]:
            return
        try:
            body = json.loads(exchange.body)
        except (UnicodeDecodeError, ValueError):
            raise _violation(
                requirement,
                f"{exchange.where} answered {status} as {media_type} with a body that is not JSON",
                "not-json",
                status[0],
                media_type,
            ) from None
        error = self._first_error(schema_pointer, body)
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "(the body)"
            shared = (
                error_body_signature(exchange.status, exchange.body)
                if exchange.status >= 400
                else None
            )
            if shared is not None:
                raise ContractViolation(
                    ERROR_SHAPE,
                    f"{exchange.where} answered {status} with a body that breaks "
                    f"{operation.operation_id}'s {key} schema: at {where}: {error.message[:300]}",
                    shared,
                )
            if exchange.status < 400:
                location = tuple(error.absolute_path)
                requirement = format_rule(operation.operation_id, location, body) or requirement
            raise _violation(
                requirement,
                f"{exchange.where} answered {status} with a body that breaks "
                f"{operation.operation_id}'s {key} schema: at {where}: {error.message[:300]}",
                "schema",
                status[0] if exchange.status >= 400 else operation.operation_id,
                error.validator,
                "/".join(str(part) for part in error.absolute_path),
                repr(error.validator_value)[:200],
            )

    def _first_error(
        self,
        schema_pointer: str,
        body: Any,  # noqa: ANN401
    ) -> jsonschema.ValidationError | None:
        """The most relevant schema violation of ``body``, or None."""
        validator = _validator(self, schema_pointer)
        error: jsonschema.ValidationError | None = jsonschema.exceptions.best_match(
            validator.iter_errors(body)
        )
        return error


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
