"""Paths and loaders the tests share: the repository, the spec documents, the public vectors."""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT202012

from twin_conformance._yaml import load_yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = REPO_ROOT / "spec"
REQUIREMENTS_DIR = SPEC_DIR / "requirements"
SCHEMAS_DIR = SPEC_DIR / "schemas"
OPENAPI_PATH = SPEC_DIR / "openapi" / "twin.openapi.yaml"
PROSE_DIR = SPEC_DIR / "prose"

RECEIPT_SECONDS = 30.0
"""How long after its 201 an immutable proof may lack its receipt (TWIN-ANCHORING-050)."""

EXTERNAL_VECTORS_ENV = "TWIN_EXTERNAL_VECTORS"
REQUIRE_EXTERNAL_VECTORS_ENV = "TWIN_REQUIRE_EXTERNAL_VECTORS"
UPSTREAM_ENV = "TWIN_UPSTREAM_SAMPLES"


def external_vectors_dir() -> Path:
    """Where the public test vectors are: $TWIN_EXTERNAL_VECTORS or ../shared/external-vectors."""
    configured = os.environ.get(EXTERNAL_VECTORS_ENV)
    if configured:
        return Path(configured)
    return REPO_ROOT.parent / "shared" / "external-vectors"


def external_vectors_required() -> bool:
    """Whether a missing vector folder is a failure (CI) rather than a skip."""
    return os.environ.get(REQUIRE_EXTERNAL_VECTORS_ENV, "") not in ("", "0")


def upstream_samples_dir() -> Path:
    """Where the captured TWIN node 0.0.2 documents and samples are."""
    configured = os.environ.get(UPSTREAM_ENV)
    if configured:
        return Path(configured)
    return REPO_ROOT.parent / "shared" / "upstream" / "twin-node-0.0.2"


def read_json(path: Path) -> Any:
    """Read a JSON file (the vectors are trusted test data, so plain json.loads is enough)."""
    return json.loads(path.read_text(encoding="utf-8"))


def load_requirements() -> dict[str, dict[str, Any]]:
    """Return every requirement in spec/requirements, keyed by ID, with its profile added."""
    requirements: dict[str, dict[str, Any]] = {}
    for path in sorted(REQUIREMENTS_DIR.glob("*.yaml")):
        registry = load_yaml(path.read_text(encoding="utf-8"))
        for entry in registry["requirements"]:
            requirements[entry["id"]] = {**entry, "profile": registry["profile"], "file": path.name}
    return requirements


def load_registry_files() -> dict[str, Any]:
    """Return each registry file's parsed content, keyed by file name."""
    return {
        path.name: load_yaml(path.read_text(encoding="utf-8"))
        for path in sorted(REQUIREMENTS_DIR.glob("*.yaml"))
    }


def load_openapi() -> dict[str, Any]:
    """Return the TWIN OpenAPI document as parsed YAML."""
    document: dict[str, Any] = load_yaml(OPENAPI_PATH.read_text(encoding="utf-8"))
    return document


def vector_cases(relative: str, load: Callable[[Path], list[tuple[str, Any]]]) -> list[Any]:
    """Parametrize a test over the cases of one public vector file.

    Where the vectors are absent the test is skipped with the reason; where they are required
    (CI) their absence is a collection error instead.
    """
    path = external_vectors_dir() / relative
    if not path.exists():
        if external_vectors_required():
            raise FileNotFoundError(f"public vector file {path} is required but missing")
        reason = (
            f"public vectors not found at {path}; set {EXTERNAL_VECTORS_ENV} to the "
            "external-vectors folder to run these cases"
        )
        return [pytest.param(None, id="vectors-absent", marks=pytest.mark.skip(reason=reason))]
    return [pytest.param(case, id=case_id) for case_id, case in load(path)]


def upstream_file(relative: str) -> Path:
    """Return a captured upstream file, or skip the test when the captures are absent."""
    path = upstream_samples_dir() / relative
    if not path.exists():
        pytest.skip(f"TWIN node captures not found at {path}; set {UPSTREAM_ENV} to run this")
    return path


@functools.cache
def _retrieve_local(uri: str) -> Resource[Any]:
    """Resolve a $ref to a file of spec/ (JSON or YAML); nothing is fetched from a network.

    Cached: a registry is immutable, so every new validator would parse the files again.
    """
    parsed = urlparse(uri)
    path = Path(unquote(parsed.path)).resolve()
    if parsed.scheme != "file" or SPEC_DIR.resolve() not in path.parents:
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # an attrs class mypy cannot see
    text = path.read_text(encoding="utf-8")
    contents = load_yaml(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    return Resource.from_contents(contents, default_specification=DRAFT202012)


SPEC_REGISTRY: Registry[Any] = Registry(retrieve=_retrieve_local)  # type: ignore[call-arg]  # attrs


def schema_validator(name: str) -> Draft202012Validator:
    """A format-checking validator for spec/schemas/<name>, its relative $refs resolved."""
    path = SCHEMAS_DIR / name
    schema = {**read_json(path), "$id": path.as_uri()}
    return Draft202012Validator(
        schema, registry=SPEC_REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def openapi_validator(pointer: str) -> Draft202012Validator:
    """A validator for the schema at a JSON pointer inside the OpenAPI document."""
    return Draft202012Validator(
        {"$ref": f"{OPENAPI_PATH.as_uri()}#{pointer}"},
        registry=SPEC_REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def proof_with_receipt(
    client: httpx.Client, location: str, seconds: float = RECEIPT_SECONDS
) -> dict[str, Any]:
    """GET an immutable proof until it carries its receipt (bounded, TWIN-ANCHORING-050).

    A node answers the 201 once the proof is durably accepted; the receipt follows with the
    certified checkpoint of its commit, and the proof is answered without it until then.
    """
    deadline = time.monotonic() + seconds
    pause = 0.005
    while True:
        answer = client.get(f"/immutable-proof/{location}")
        assert answer.status_code == 200, (location, answer.text)
        proof: dict[str, Any] = answer.json()
        if "immutableReceipt" in proof:
            return proof
        assert time.monotonic() < deadline, f"{location} has no receipt after {seconds:g} s"
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


@contextmanager
def loopback_http(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 (port 0) in a thread; yield its URL; stop it after."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
