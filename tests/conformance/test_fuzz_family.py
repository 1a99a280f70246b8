"""The fuzzing family catches faults: deliberately broken targets, fuzzed by the real checks.

Each target is a small Starlette app on uvicorn (127.0.0.1, an ephemeral port, in a thread)
that claims the identity profile and answers ``GET /identity/{identity}`` wrongly: one with a
500 to a malformed DID (TWIN-CORE-054), one with error bodies that lack ``name``
(TWIN-CORE-040). The harness's fuzz check for that operation runs against it in a subprocess,
as ``twin-conformance run`` runs it, and its report must name the requirement.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from twin_conformance._paths import checks_dir

TWIN_DID = re.compile(r"^did:twin:0x[0-9a-f]{64}$")
RESOLVE_CHECK = "test_fuzz.py::test_operation[identityResolve]"
TIMEOUT_SECONDS = 120


def broken_app(fault: str) -> Starlette:
    """A target that claims core and identity and resolves DIDs with ``fault``."""

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def info(_request: Request) -> Response:
        return JSONResponse(
            {
                "name": f"broken target ({fault})",
                "version": "0.0.0",
                "specVersion": "0.1.0",
                "profiles": ["core", "identity"],
                "nodeIdentity": "did:twin:0x" + "0" * 64,
            }
        )

    async def resolve(request: Request) -> Response:
        identity = request.path_params["identity"]
        malformed = not TWIN_DID.match(identity)
        if fault == "server-error":
            if malformed:
                return JSONResponse(
                    {"name": "InternalError", "message": "the resolver crashed"}, status_code=500
                )
            return JSONResponse(
                {"name": "NotFoundError", "message": f"{identity} is not known"}, status_code=404
            )
        # fault == "error-shape": the right statuses, but error bodies without a name.
        if malformed:
            return JSONResponse({"message": f"{identity} is not a DID"}, status_code=400)
        return JSONResponse({"message": f"{identity} is not known"}, status_code=404)

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/info", info),
            Route("/identity/{identity:path}", resolve),
        ]
    )


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 and an ephemeral port in a thread; yield its URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the broken target did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def run_fuzz_check(url: str, out: Path) -> subprocess.CompletedProcess[str]:
    """Run the harness's fuzz check of identityResolve against ``url``, reports into ``out``."""
    checks = checks_dir()
    command = [
        sys.executable, "-m", "pytest", str(checks / RESOLVE_CHECK),
        "-c", str(checks / "pytest.ini"), "--rootdir", str(checks),
        "-p", "no:cacheprovider", "--import-mode=importlib", "-q",
        "--twin-target", url, "--twin-report-dir", str(out),
        "--twin-seed", "1", "--twin-fuzz-examples", "5", "--twin-token", "fuzz-test-token",
    ]  # fmt: skip
    return subprocess.run(
        command,
        cwd=out.parent,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


@pytest.mark.parametrize(
    ("fault", "requirement"),
    [("server-error", "TWIN-CORE-054"), ("error-shape", "TWIN-CORE-040")],
)
def test_fuzzing_names_the_requirement_a_broken_target_breaks(
    tmp_path: Path, fault: str, requirement: str
) -> None:
    out = tmp_path / "report"
    with serving(broken_app(fault)) as url:
        result = run_fuzz_check(url, out)
    output = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 1, output
    assert f"{requirement}: GET /identity/{{identity}}: schemathesis check" in result.stdout, output
    assert "reproduce the request:" in result.stdout, output
    assert "curl -X GET" in result.stdout, output
    report: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    (test,) = [test for test in report["tests"] if test["id"].endswith(RESOLVE_CHECK)]
    assert test["outcome"] == "failed", test
    assert test["failedRequirement"] == requirement, test
    assert test["profile"] == "identity", test
    assert test["message"].startswith("GET /identity/{identity}: schemathesis check "), test
    assert "\ncurl " in test["message"], test
    assert test["evidence"], test
    exchange = test["evidence"][0]
    assert exchange["request"]["method"] == "GET", exchange
    assert exchange["request"]["url"].startswith(f"{url}/identity/"), exchange
    status = 500 if fault == "server-error" else None
    if status is not None:
        assert exchange["response"]["status"] == status, exchange
    else:
        assert "name" not in json.loads(exchange["response"]["body"]), exchange
    assert "--select" in test["reproduce"], test
    assert RESOLVE_CHECK in test["reproduce"], test
    statuses = {entry["id"]: entry["status"] for entry in report["requirements"]}
    assert statuses[requirement] == "failed", statuses
    assert report["verdict"] == "not-conformant", report["verdict"]
