"""The contract check: every response the harness sees must match the OpenAPI document.

The document is ``spec/openapi/twin.openapi.yaml`` with its schema files resolved from disk,
never from the network, and openapi-core does the work: it finds the operation a request goes
to, the documented response for its status, its media type, its required headers (``Location``
on a 201) and validates the body against the schema. An error body that breaks the error shape
breaks TWIN-CORE-040; any other mismatch breaks TWIN-CORE-056 (and the 405 answer to a method
a route lacks, TWIN-CORE-052).

What openapi-core cannot do is kept here, each with its reason: a *signature* per violation
(which rule broke, where), so that one root cause seen by many checks fails once
(SUITE-012); and the 405 a route answers to a method it lacks, which no operation describes
(there is no operation for a method the route lacks), checked against the document's
``components/responses/MethodNotAllowed``. A DID document, receipt, inclusion proof, Data
Integrity proof or commit in a 2xx body that breaks its schema breaks that format's own rule
(``FORMAT_RULES``), not TWIN-CORE-056, so the report names the rule the node broke.
"""

from __future__ import annotations

import functools
import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema
from jsonschema_path import SchemaPath
from openapi_core import Config, OpenAPI
from openapi_core.templating.media_types.datatypes import MediaType
from openapi_core.templating.paths.datatypes import PathOperationServer
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response.exceptions import (
    DataValidationError,
    MissingHeader,
    MissingRequiredHeader,
)
from openapi_core.validation.response.validators import V31ResponseValidator
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from openapi_core.validation.schemas.factories import SchemaValidatorsFactory
from openapi_core.validation.schemas.validators import SchemaValidator

from twin_conformance._bundle import bundled_document
from twin_conformance._client import Exchange
from twin_conformance._failures import ConformanceFailure
from twin_conformance._paths import spec_dir
from twin_conformance._yaml import load_yaml

FOUND_KEPT = 4096
ERROR_SHAPE = "TWIN-CORE-040"
CONTRACT = "TWIN-CORE-056"
STATUS = "TWIN-CORE-052"
DID_RESOLUTION = "application/did-resolution"
JSON_LD = "application/ld+json"
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
LOOKUPS_KEPT = 4096
"""Bound on each of the response validator's memos (URLs and content types come from the node)."""


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
    return _schema_signature(ERROR_SHAPE, str(status)[0], error)


def _schema_signature(requirement: str, scope: str, error: jsonschema.ValidationError) -> str:
    return "|".join(
        [
            requirement,
            "schema",
            scope,
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


class SpecFiles:
    """The spec's files for any ``$ref`` openapi-core still looks up: each read once.

    The document it validates with is bundled (no reference leaves it), so this is a guard:
    openapi-core's default handler would read and YAML-parse a file again on every lookup of
    a ``$ref`` into it (nine tenths of the harness's time per response, before bundling), and
    would fetch http(s) references. This one serves only files under the spec folder, from
    memory after the first read.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._parsed: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, uri: str) -> Any:  # noqa: ANN401 - any JSON value
        """The parsed file at a ``file:`` URI under the spec folder."""
        with self._lock:
            if uri not in self._parsed:
                self._parsed[uri] = self._read(uri)
            return self._parsed[uri]

    def _read(self, uri: str) -> Any:  # noqa: ANN401 - any JSON value
        parts = urllib.parse.urlsplit(uri)
        path = Path(urllib.request.url2pathname(urllib.parse.unquote(parts.path))).resolve()
        if parts.scheme != "file" or not path.is_relative_to(self.root) or not path.is_file():
            raise ValueError(f"the OpenAPI document refers to {uri}, not a file of the spec")
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            return json.loads(text)
        return load_yaml(text)


class _MemoisedSchemaValidators:
    """openapi-core's schema validator factory, building each schema's validator once.

    openapi-core builds a fresh jsonschema validator (with a deep copy of the format checker)
    for every response, twice: the same validator, from the same schema of the same document.
    """

    def __init__(self, factory: SchemaValidatorsFactory) -> None:
        self._factory = factory
        self._built = functools.lru_cache(maxsize=LOOKUPS_KEPT)(self._build)

    def create(
        self,
        spec: SchemaPath,
        schema: SchemaPath,
        format_validators: Any = None,  # noqa: ANN401 - openapi-core's own types
        extra_format_validators: Any = None,  # noqa: ANN401
        forbid_unspecified_additional_properties: bool = False,
        enforce_properties_required: bool = False,
    ) -> SchemaValidator:
        """The validator of ``schema`` (built once when no per-call format validators are given)."""
        if format_validators is None and extra_format_validators is None:
            return self._built(
                spec, schema, forbid_unspecified_additional_properties, enforce_properties_required
            )
        return self._factory.create(
            spec,
            schema,
            format_validators=format_validators,
            extra_format_validators=extra_format_validators,
            forbid_unspecified_additional_properties=forbid_unspecified_additional_properties,
            enforce_properties_required=enforce_properties_required,
        )

    def _build(
        self, spec: SchemaPath, schema: SchemaPath, forbid: bool, enforce: bool
    ) -> SchemaValidator:
        return self._factory.create(
            spec,
            schema,
            forbid_unspecified_additional_properties=forbid,
            enforce_properties_required=enforce,
        )

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - the factory's other members
        """Anything else the factory offers, unchanged."""
        return getattr(self._factory, name)


class MemoisedResponseValidator(V31ResponseValidator):
    """openapi-core's OpenAPI 3.1 response validator, remembering what depends only on the spec.

    The operation a URL goes to, the documented response for a status, the media type for a
    content type and each schema's validator are looked up in the (never changing) document
    on every response otherwise: about three quarters of the check's CPU. Lookups that fail
    are not remembered, so each failure is raised afresh, as before. What is judged (the
    status, the media type, the headers, the body against its schema) is unchanged.
    """

    def __init__(self, spec: SchemaPath, **options: Any) -> None:  # noqa: ANN401
        super().__init__(spec, **options)
        self.schema_validators_factory = _MemoisedSchemaValidators(  # type: ignore[assignment]
            self.schema_validators_factory
        )
        self._path_of = functools.lru_cache(maxsize=LOOKUPS_KEPT)(self._uncached_path)
        self._response_of = functools.lru_cache(maxsize=LOOKUPS_KEPT)(
            super()._find_operation_response
        )
        self._media_type_of = functools.lru_cache(maxsize=LOOKUPS_KEPT)(super()._find_media_type)

    def _uncached_path(self, method: str, host_url: str, path: str) -> PathOperationServer:
        return super()._find_path(MockRequest(host_url, method, path))

    def _find_path(self, request: Any) -> PathOperationServer:  # noqa: ANN401
        pattern = getattr(request, "path_pattern", None) or request.path
        return self._path_of(request.method, request.host_url, pattern)

    def _find_operation_response(self, status_code: int, operation: SchemaPath) -> SchemaPath:
        return self._response_of(status_code, operation)

    def _find_media_type(self, content: SchemaPath, mimetype: str | None = None) -> MediaType:
        return self._media_type_of(content, mimetype)


@dataclass(frozen=True)
class Operation:
    """One operation of the OpenAPI document: its method, path template, id, profile, auth."""

    method: str
    template: str
    operation_id: str
    profile: str
    secured: bool
    document: dict[str, Any]


class OpenApiContract:
    """The TWIN OpenAPI document: its operations, and the check of every response against it."""

    def __init__(self, root: Path | None = None) -> None:
        root = root or spec_dir()
        self.path = root / "openapi" / "twin.openapi.yaml"
        self.document: dict[str, Any] = load_yaml(self.path.read_text(encoding="utf-8"))
        self.api = OpenAPI(
            SchemaPath.from_dict(
                # Every schema file inlined: a $ref into another file made openapi-core look
                # the file up and crawl it again on every response.
                bundled_document(root),
                base_uri=self.path.resolve().as_uri(),
                handlers={"file": SpecFiles(root)},
            ),
            config=Config(
                extra_media_type_deserializers={DID_RESOLUTION: json.loads, JSON_LD: json.loads},
                response_validator_cls=MemoisedResponseValidator,
                # The document is the suite's own, fixed per release: its validity (and the
                # bundle's) is a test of the suite (tests/lint/test_openapi.py,
                # tests/conformance/test_contract.py), not a cost of every run.
                spec_validator_cls=None,  # type: ignore[arg-type]  # None: skipped
            ),
        )
        self._finder = APICallPathFinder(self.api.spec)
        self.registry = _schema_registry(root, self.path, self.document)
        self.operations = list(self._operations())
        self._by_key = {(op.method, op.template): op for op in self.operations}
        self._find_cached = functools.lru_cache(maxsize=FOUND_KEPT)(self._find)

    def _operations(self) -> Iterator[Operation]:
        default_security = self.document.get("security")
        for template, item in self.document.get("paths", {}).items():
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
                    document=operation,
                )

    def find(self, method: str, url: str) -> Operation | None:
        """The operation a request goes to (openapi-core's matching), or None.

        Each exchange asks twice (the run's observer, then the check), and replayed vectors
        send the same requests again and again: the last answers are kept (a bounded LRU).
        """
        return self._find_cached(method, url)

    def _find(self, method: str, url: str) -> Operation | None:
        try:
            found = self._finder.find(method.lower(), _absolute(url))
        except PathError:
            return None
        template = str(found.path.parts[-1])
        return self._by_key.get((method.upper(), template))

    def check(self, exchange: Exchange) -> None:
        """Raise :class:`ContractViolation` when the exchange's response breaks the document."""
        # TWIN-CORE-056 "Every response MUST match the OpenAPI document": a documented status,
        # a documented media type, the documented headers, a body valid against its schema.
        if exchange.status is None:
            return
        operation = self.find(exchange.method, exchange.url)
        if operation is None:
            if exchange.status == 405 and self._path_exists(exchange.url):
                self._check_method_not_allowed(exchange)
            return  # Not an operation of the spec (an unknown path a negative check sends).
        parts = urllib.parse.urlsplit(_absolute(exchange.url))
        request = MockRequest(
            f"{parts.scheme}://{parts.netloc}",
            exchange.method.lower(),
            parts.path,
            args=dict(urllib.parse.parse_qsl(parts.query)),
        )
        response = MockResponse(
            exchange.body,
            status_code=exchange.status,
            headers=exchange.headers,
            content_type=exchange.headers.get("content-type", ""),
        )
        try:
            self.api.validate_response(request, response)
        except Exception as error:
            raise self._violation_of(error, exchange, operation) from None

    def _violation_of(
        self, error: Exception, exchange: Exchange, operation: Operation
    ) -> ContractViolation:
        """The requirement, message and signature of what openapi-core refused."""
        status = str(exchange.status)
        where = f"{exchange.where} answered {status}"
        is_error = (exchange.status or 0) >= 400
        shape = ERROR_SHAPE if is_error else CONTRACT
        name = type(error).__name__
        if name == "ResponseNotFound":
            documented = ", ".join(sorted(map(str, operation.document.get("responses", {}))))
            return _violation(
                CONTRACT,
                f"{where}, a status {operation.operation_id} does not document "
                f"(documented: {documented})",
                "status",
                operation.operation_id,
                status,
            )
        if isinstance(error, MissingRequiredHeader | MissingHeader):
            return _violation(
                CONTRACT,
                f"{where} without the {error.name} header {operation.operation_id} requires",
                "header",
                operation.operation_id,
                status,
                error.name,
            )
        cause = error.__cause__ or error
        errors = [
            item
            for item in (cause.schema_errors if isinstance(cause, InvalidSchemaValue) else ())
            if isinstance(item, jsonschema.ValidationError)
        ]
        if errors:
            first = jsonschema.exceptions.best_match(errors)
            path = "/".join(str(part) for part in first.absolute_path) or "(the body)"
            message = (
                f"{where} with a body that breaks {operation.operation_id}'s {status} schema: "
                f"at {path}: {first.message[:300]}"
            )
            shared = error_body_signature(exchange.status or 0, exchange.body) if is_error else None
            if shared is not None:
                return ContractViolation(ERROR_SHAPE, message, shared)
            if not is_error:
                shape = (
                    format_rule(operation.operation_id, tuple(first.absolute_path), _json(exchange))
                    or shape
                )
            return ContractViolation(
                shape, message, _schema_signature(shape, operation.operation_id, first)
            )
        media_type = exchange.media_type() or "no content type"
        if name in ("MediaTypeNotFound", "ContentNotFound") or "media" in name.lower():
            if not exchange.body:
                return _violation(
                    CONTRACT, f"{where} with an empty body", "empty", operation.operation_id, status
                )
            return _violation(
                shape,
                f"{where} as {media_type}, a media type {operation.operation_id} does not "
                f"document for {status}",
                "media-type",
                status[0],
                media_type,
            )
        if isinstance(error, DataValidationError) or "Deserialize" in name or "Decode" in name:
            return _violation(
                shape,
                f"{where} as {media_type} with a body that is not JSON",
                "not-json",
                status[0],
                media_type,
            )
        return _violation(
            shape,
            f"{where}: the response breaks the document ({name}: {str(error)[:200]})",
            "other",
            operation.operation_id,
            status,
            name,
        )

    def _path_exists(self, url: str) -> bool:
        """Whether some operation of the document has this path (under another method)."""
        return any(
            self.find(method, url) is not None for method in ("GET", "POST", "PUT", "DELETE")
        )

    def _check_method_not_allowed(self, exchange: Exchange) -> None:
        """A 405 to a method the route lacks: ``components/responses/MethodNotAllowed``."""
        # TWIN-CORE-052 "405 for a method the route lacks", with Allow naming the methods the
        # route has; openapi-core has no operation to check it against, so it is checked here.
        allow = exchange.headers.get("allow", "")
        if not allow.strip():
            raise _violation(
                STATUS,
                f"{exchange.where} answered 405 without the Allow header "
                "components/responses/MethodNotAllowed requires",
                "header",
                "405",
                "allow",
            )
        signature = error_body_signature(405, exchange.body)
        if signature is not None:
            raise ContractViolation(
                ERROR_SHAPE,
                f"{exchange.where} answered 405 with a body that is no TWIN error",
                signature,
            )


def _json(exchange: Exchange) -> object:
    """The exchange's body as JSON, or None when it is not JSON."""
    try:
        return json.loads(exchange.body)
    except ValueError:
        return None


def _absolute(url: str) -> str:
    """``url`` with a scheme and host (openapi-core matches absolute URLs)."""
    return url if "://" in url else f"http://target.invalid{url}"


def _schema_registry(root: Path, path: Path, document: dict[str, Any]) -> referencing.Registry[Any]:
    """The document and the spec's schema files, by URI, for validating against any of them."""
    resources: list[tuple[str, Any]] = [(path.resolve().as_uri(), document)]
    for schema_path in sorted((root / "schemas").glob("*.json")):
        contents = json.loads(schema_path.read_text(encoding="utf-8"))
        resources.append((schema_path.resolve().as_uri(), contents))
        if isinstance(contents.get("$id"), str):
            resources.append((contents["$id"], contents))
    return referencing.Registry().with_resources(
        (
            uri,
            referencing.Resource.from_contents(
                contents, default_specification=referencing.jsonschema.DRAFT202012
            ),
        )
        for uri, contents in resources
    )


@functools.cache
def load_contract() -> OpenApiContract:
    """The contract of the installed spec, read once per process."""
    return OpenApiContract()
