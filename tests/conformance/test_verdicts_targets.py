"""A verdict that can be trusted: unusable targets, reproduction and one exit code.

The cases run as ``test_verdicts.py`` says: real node processes, ``twin-conformance`` as a
real command, the rules of ``spec/prose/suite.md`` (SUITE-NNN).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conformance.harness_runs import (
    PASSWORD_ENV,
    against,
    harness,
    node,
    run_command,
)
from tests.node_process import ADMIN_EMAIL, ADMIN_PASSWORD
from twin_conformance._paths import checks_dir

FAST = ("--fuzz-examples", "0")
PROFILES = ("core", "identity", "anchoring", "consensus", "documents")


@pytest.mark.suite("SUITE-021")
def test_a_target_that_answers_404_everywhere_is_exit_2_within_10_seconds(
    tmp_path: Path,
) -> None:
    with node(tmp_path, "not-found-everywhere", healthy=False) as target:
        run = harness(tmp_path, "run", *against(target), env=PASSWORD_ENV)
    assert run.code == 2, run.describe()
    assert run.seconds < 10, run.describe()
    assert "is not a TWIN node" in run.stderr
    assert run.report is None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.suite("SUITE-021")
@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:{closed}", "connection refused"),
        ("http://twin-node.invalid:8080", "does not resolve"),
        ("https://127.0.0.1:{http}", "TLS handshake"),
    ],
)
def test_an_unreachable_target_is_exit_2_within_10_seconds_in_words(
    tmp_path: Path, url: str, words: str
) -> None:
    with node(tmp_path) as target:
        http_port = target.url.rsplit(":", 1)[1]
        run = harness(
            tmp_path, "run",
            "--target", url.format(closed=_free_port(), http=http_port),
            "--email", ADMIN_EMAIL, env=PASSWORD_ENV,
        )  # fmt: skip
    assert run.code == 2, run.describe()
    assert run.seconds < 10, run.describe()
    assert words in run.stderr, run.describe()


@pytest.mark.suite("SUITE-022")
def test_a_node_that_hangs_on_one_operation_is_judged_within_5_minutes(tmp_path: Path) -> None:
    # SUITE-022 bounds a run at the default options, so this is the full default run: the hang
    # itself costs two 10-s timeouts (about 20 s), the rest is the run every node gets. A
    # shorter --request-timeout would save little of that and no longer check the bound.
    with node(tmp_path, "resolution-hangs") as target:
        run = harness(tmp_path, "run", *against(target), timeout=330, env=PASSWORD_ENV)
    assert run.code == 1, run.describe()
    assert run.seconds < 300, run.describe()
    failed = run.failed_tests()
    timed_out = [test for test in failed if "no answer within" in str(test["message"])]
    assert len(timed_out) == 1, run.describe()
    blocked = run.tests("blocked")
    stopped = [test for test in blocked if "stopped answering" in str(test["message"])]
    assert stopped, "the checks that need resolution after the breaker opened are blocked"
    assert all(test["blockedBy"] == timed_out[0]["id"] for test in stopped), run.describe()
    assert len(failed) <= 2, "one hanging operation is one failure, not one per check"
    resolve_fuzz = next(
        test
        for test in run.tests()
        if test["id"] == "test_fuzz.py::test_operation[identityResolve]"
    )
    assert resolve_fuzz["outcome"] == "blocked"


# --- reproduction and one exit code -----------------------------------------------------------


@pytest.mark.suite("SUITE-040", "SUITE-042")
def test_every_printed_reproduce_command_fails_the_same_check(tmp_path: Path) -> None:
    with node(tmp_path, "error-without-name") as target:
        run = harness(
            tmp_path / "run", "run", *against(target), "--profile", "core", *FAST,
            env=PASSWORD_ENV,
        )  # fmt: skip
        assert run.code == 1, run.describe()
        assert "Traceback" not in run.output
        lines = [line for line in run.stdout.splitlines() if line.startswith("FAILED ")]
        assert lines, run.stdout
        assert len(lines) == len(run.failed_tests()), run.stdout
        for number, line in enumerate(lines):
            requirement, check = line.split()[1], line.split()[2].rstrip(":")
            command = line.split("  reproduce: ", 1)[1]
            assert ADMIN_PASSWORD not in command
            out = tmp_path / f"again-{number}"
            again = run_command(
                ["bash", "-c", f"{command} --out {out}"],
                cwd=tmp_path,
                timeout=300,
                report_dir=out,
                env={**PASSWORD_ENV, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
            )
            assert again.code == 1, again.describe()
            assert [(t["id"], t["failedRequirement"]) for t in again.failed_tests()] == [
                (check, requirement)
            ], again.describe()


@pytest.mark.suite("SUITE-004")
def test_the_cli_and_the_plugin_give_the_same_exit_code(tmp_path: Path) -> None:
    with node(tmp_path, "info-without-spec-version") as target:
        cli = harness(
            tmp_path / "cli", "run", *against(target), "--profile", "core", *FAST,
            env=PASSWORD_ENV,
        )  # fmt: skip
        plugin = run_command(
            [
                sys.executable, "-m", "pytest", str(checks_dir()), "-c",
                str(checks_dir() / "pytest.ini"), "--rootdir", str(checks_dir()),
                "-p", "no:cacheprovider", "--import-mode=importlib", "-q",
                "--twin-target", target.url, "--twin-email", ADMIN_EMAIL,
                "--twin-profile", "core", "--twin-fuzz-examples", "0",
                "--twin-report-dir", str(tmp_path / "plugin"),
            ],
            cwd=tmp_path, timeout=300, report_dir=tmp_path / "plugin", env=PASSWORD_ENV,
        )  # fmt: skip
    assert cli.code == plugin.code == 1, cli.describe() + "\n" + plugin.describe()
    assert cli.report is not None
    assert plugin.report is not None
    assert cli.report["gate"] == plugin.report["gate"]


@pytest.mark.suite("SUITE-041")
def test_checks_list_names_every_check_with_its_profile_and_requirements(
    tmp_path: Path,
) -> None:
    run = harness(tmp_path, "checks", "list", "--json", timeout=120)
    assert run.code == 0, run.describe()
    rows = json.loads(run.stdout)
    ids = {row["id"] for row in rows}
    assert len(rows) == len(ids)
    assert len(ids) > 500
    assert "test_identity.py::prerequisite[created]" in ids
    assert "test_core.py::test_health_answers" in ids
    for row in rows:
        assert row["profile"] in PROFILES
    without = {row["id"] for row in rows if row["kind"] == "check" and not row["requirements"]}
    # The one harness self-check: it tests the receipt oracle on a real receipt, not the node.
    assert without == {
        "test_anchoring.py::test_the_receipt_oracle_refuses_a_receipt_with_one_changed_value"
    }
    table = subprocess.run(
        [sys.executable, "-m", "twin_conformance", "checks", "list", "--profile", "core"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert table.returncode == 0
    assert all("\tcore\t" in line for line in table.stdout.splitlines())
