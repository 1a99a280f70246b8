"""Ready-made CI for vendors: the GitHub action, the GitLab template, and the steps they run.

Both templates run ``ci/twin-conformance.sh``; this test runs that script as a pipeline would,
against a real reference node and a broken variant, with the suite installed by pip from this
checkout into the script's own virtual environment. The templates are validated against their
published schemas (``check-jsonschema``'s vendored GitHub Actions and GitLab CI schemas, which
need no network), and every input is documented.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conformance.harness_runs import node
from tests.node_process import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support import REPO_ROOT

CI = REPO_ROOT / "ci"
SCRIPT = CI / "twin-conformance.sh"
ACTION = CI / "github" / "action.yml"
WORKFLOW = CI / "github" / "release-gate.example.yml"
GITLAB = CI / "gitlab" / "twin-conformance.gitlab-ci.yml"


def _check_jsonschema() -> str | None:
    found = shutil.which("check-jsonschema")
    if found:
        return found
    beside = Path(sys.executable).parent / "check-jsonschema"
    return str(beside) if beside.exists() else None


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        (ACTION, "vendor.github-actions"),
        (WORKFLOW, "vendor.github-workflows"),
        (GITLAB, "vendor.gitlab-ci"),
    ],
)
def test_the_templates_are_valid_against_their_published_schemas(path: Path, schema: str) -> None:
    binary = _check_jsonschema()
    if binary is None:
        pytest.skip("check-jsonschema is not installed (pip install check-jsonschema)")
    done = subprocess.run(
        [binary, "--builtin-schema", schema, str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def _script_variables() -> set[str]:
    header = SCRIPT.read_text().split("\nset -uo pipefail", 1)[0]
    return set(re.findall(r"^#   (TWIN_[A-Z_]+)", header, re.MULTILINE))


def test_every_input_is_documented_and_reaches_the_script() -> None:
    action: dict[str, Any] = yaml.safe_load(ACTION.read_text())
    for name, spec in action["inputs"].items():
        assert spec.get("description", "").strip(), f"action input {name} has no description"
    run_step = next(step for step in action["runs"]["steps"] if step.get("id") == "run")
    passed = set(run_step["env"])
    assert passed <= _script_variables(), passed - _script_variables()
    mapped = {value.split(".", 1)[1].rstrip(" }") for value in run_step["env"].values()}
    assert mapped | {"python-version"} == set(action["inputs"]), "an input reaches no step"
    gitlab = GITLAB.read_text()
    for variable in _script_variables():
        if variable not in ("TWIN_VENV",):
            assert variable in gitlab, f"the GitLab template does not mention {variable}"


@pytest.fixture(scope="module")
def suite_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the script installs the suite (shared by the cases, installed by the first)."""
    return tmp_path_factory.mktemp("ci") / "venv"


def _steps(workdir: Path, venv: Path, **variables: str) -> tuple[int, str, dict[str, str]]:
    """Run the CI steps with ``variables``; return the exit code, output and GITHUB_OUTPUT."""
    workdir.mkdir(parents=True, exist_ok=True)
    outputs = workdir / "github-output"
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(workdir)),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "TWIN_SUITE": str(REPO_ROOT),
        "TWIN_VENV": str(venv),
        "GITHUB_OUTPUT": str(outputs),
        "NODE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        **variables,
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)], cwd=workdir, env=environment,  # noqa: S607 - bash from PATH
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    written = dict(
        line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line
    ) if outputs.exists() else {}  # fmt: skip
    return done.returncode, done.stdout + done.stderr, written


def test_the_ci_steps_gate_a_release(tmp_path: Path, suite_venv: Path) -> None:
    common = {
        "TWIN_EMAIL": ADMIN_EMAIL,
        "TWIN_PASSWORD_ENV": "NODE_ADMIN_PASSWORD",
        "TWIN_PROFILES": "core",
        "TWIN_EXTRA_ARGS": "--fuzz-examples 0",
    }
    with node(tmp_path / "good") as target:
        code, output, written = _steps(tmp_path / "a", suite_venv, TWIN_TARGET=target.url, **common)
    assert code == 0, output[-3000:]
    assert written == {"verdict": "conformant", "exit-code": "0"}
    report_dir = tmp_path / "a" / "twin-conformance-report"
    assert {"report.json", "junit.xml", "report.html"} <= {p.name for p in report_dir.iterdir()}
    assert ADMIN_PASSWORD not in output
    with node(tmp_path / "bad", "info-without-spec-version") as target:
        code, output, written = _steps(tmp_path / "b", suite_venv, TWIN_TARGET=target.url, **common)
        assert code == 1, output[-3000:]
        assert written["verdict"] == "not-conformant"
        baseline = tmp_path / "known-failures.txt"
        listed = subprocess.run(
            [str(suite_venv / "bin" / "twin-conformance"), "report", "baseline",
             str(tmp_path / "b" / "twin-conformance-report" / "report.json")],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        baseline.write_text(listed.stdout)
    # The release gate runs against a fresh instance of the same node: the first run's failed
    # logins (its throttling checks) would otherwise leave this address throttled (429).
    with node(tmp_path / "bad-again", "info-without-spec-version") as target:
        code, output, written = _steps(
            tmp_path / "c", suite_venv, TWIN_TARGET=target.url, TWIN_BASELINE=str(baseline),
            **common,
        )  # fmt: skip
    assert code == 0, output[-3000:]
    assert written["verdict"] == "not-conformant", "the baseline passes the gate, not the verdict"
    code, output, written = _steps(tmp_path / "d", suite_venv)
    assert code == 2
    assert "set TWIN_TARGET" in output
