"""No secret reaches an output: the passwords and every token or cookie the target issued.

The target is the reference node wrapped so that it also sets every token it issues as a
cookie, and records each token and cookie value in a file (``tokens-recorded``); the failing
runs add a fault whose failure evidence holds a login exchange (``logout-keeps-token``) and one
whose failure evidence holds the second user's request (``document-removed-by-another-user``).
The harness runs through ``--target`` with ``--password``, through a target file, and through
the pytest plugin, each on a passing and a failing node, with a second user whose password is
in the environment; then every file under ``--out``, the console and junit.xml are searched for
both passwords and every issued secret in every spelling
(raw, URL-encoded, JSON-escaped, base64, base64url; with and without padding). A hit anywhere
fails the test with where it was found (spec/prose/suite.md, SUITE-031).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from tests.broken_variants import start_variant
from tests.conformance.harness_runs import HarnessRun, run_command
from tests.node_process import ADMIN_EMAIL, SECOND_EMAIL
from twin_conformance._paths import checks_dir
from twin_conformance._secrets import spellings

PASSWORD = "Zq8!pässwörd/ü+&=%Sekret-4711"
"""Distinctive, with characters that URL-encoding, JSON escaping and base64 all change."""
SECOND_PASSWORD = "Yx7?zweites-pässwort/ß+&=%Geheim-0815"
"""The second user's, as distinctive; it reaches the harness through the environment only."""
SECOND_ENV = {"TWIN_TARGET_SECOND_PASSWORD": SECOND_PASSWORD}
OPTIONS = ("--profile", "core", "--profile", "documents", "--fuzz-examples", "2")
FAULTS = {
    "passing": "tokens-recorded",
    "failing": "tokens-recorded+logout-keeps-token+document-removed-by-another-user",
}


def _run(mode: str, url: str, workdir: Path) -> HarnessRun:
    """One harness run through ``mode`` (cli, target-file or plugin) against ``url``."""
    out = workdir / "out"
    if mode == "cli":
        command = [
            sys.executable, "-m", "twin_conformance", "run", "--target", url,
            "--email", ADMIN_EMAIL, "--password", PASSWORD, "--second-email", SECOND_EMAIL,
            *OPTIONS, "--out", str(out),
        ]  # fmt: skip
        return run_command(command, cwd=workdir, timeout=300, report_dir=out, env=SECOND_ENV)
    if mode == "target-file":
        target = workdir / "target.yaml"
        target.write_text(
            yaml.safe_dump(
                {
                    "name": "secrets test node",
                    "url": url,
                    "auth": {
                        "email": ADMIN_EMAIL,
                        "passwordEnv": "SECRETS_TEST_PASSWORD",
                        "secondUser": {
                            "email": SECOND_EMAIL,
                            "passwordEnv": "SECRETS_TEST_SECOND_PASSWORD",
                        },
                    },
                }
            )
        )
        command = [
            sys.executable, "-m", "twin_conformance", "run", "--target-file", str(target),
            *OPTIONS, "--out", str(out),
        ]  # fmt: skip
        return run_command(
            command,
            cwd=workdir,
            timeout=300,
            report_dir=out,
            env={
                "SECRETS_TEST_PASSWORD": PASSWORD,
                "SECRETS_TEST_SECOND_PASSWORD": SECOND_PASSWORD,
            },
        )
    checks = checks_dir()
    command = [
        sys.executable, "-m", "pytest", str(checks), "-c", str(checks / "pytest.ini"),
        "--rootdir", str(checks), "-p", "no:cacheprovider", "--import-mode=importlib",
        "--twin-target", url, "--twin-email", ADMIN_EMAIL, "--twin-second-email", SECOND_EMAIL,
        "--twin-profile", "core", "--twin-profile", "documents",
        "--twin-fuzz-examples", "2", "--twin-report-dir", str(out),
        "--junitxml", str(out / "pytest-junit.xml"), "-rA",
    ]  # fmt: skip
    return run_command(
        command,
        cwd=workdir,
        timeout=300,
        report_dir=out,
        env={"TWIN_TARGET_PASSWORD": PASSWORD, **SECOND_ENV},
    )


def _hits(text: str, secrets: set[str]) -> list[str]:
    """The spellings of ``secrets`` that occur in ``text``."""
    return sorted({form for secret in secrets for form in spellings(secret) if form in text})


@pytest.mark.suite("SUITE-031")
@pytest.mark.parametrize("outcome", ["passing", "failing"])
@pytest.mark.parametrize("mode", ["cli", "target-file", "plugin"])
def test_no_secret_reaches_any_output(tmp_path: Path, mode: str, outcome: str) -> None:
    issued_file = tmp_path / "issued.txt"
    node = start_variant(
        FAULTS[outcome],
        tmp_path / "node-data",
        password=PASSWORD,
        env={
            "TWIN_ISSUED_SECRETS_FILE": str(issued_file),
            "TWIN_NODE_USER_EMAIL": SECOND_EMAIL,
            "TWIN_NODE_USER_PASSWORD": SECOND_PASSWORD,
        },
    )
    try:
        run = _run(mode, node.url, tmp_path)
    finally:
        node.stop()
    expected = 0 if outcome == "passing" else 1
    assert run.code == expected, run.describe()
    issued = {line for line in issued_file.read_text().splitlines() if line}
    assert len(issued) >= 3, "the target issued tokens and cookies during the run"
    secrets = {PASSWORD, SECOND_PASSWORD, *issued}
    outputs = {"the console": run.output}
    files = sorted(path for path in (tmp_path / "out").rglob("*") if path.is_file())
    assert {"report.json", "junit.xml", "report.html"} <= {path.name for path in files}
    for path in files:
        outputs[str(path.relative_to(tmp_path))] = path.read_text(errors="replace")
    found = {where: hits for where, text in outputs.items() if (hits := _hits(text, secrets))}
    assert not found, f"secrets written to {sorted(found)}: {found}"
    if outcome == "failing":
        assert run.report is not None
        logout = next(t for t in run.failed_tests() if "logged_out" in t["id"])
        bodies = " ".join(str(e["request"]["body"]) for e in logout["evidence"])
        assert "«redacted»" in bodies, "the login in the evidence shows the password redacted"
        other = next(t for t in run.failed_tests() if "another_user" in t["id"])
        asked = [e["request"] for e in other["evidence"] if e["request"]["method"] == "DELETE"]
        assert asked, "the second user's removal is in the evidence"
        assert all(r["headers"].get("authorization") == "Bearer …" for r in asked), (
            "the second user's token is hidden from the evidence"
        )
