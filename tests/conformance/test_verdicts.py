"""A verdict that can be trusted: never conformant when it must not be.

Every case starts the reference node (or one of its broken variants, ``tests/broken_variants``)
as a subprocess on loopback and runs ``twin-conformance`` as a real command against it, then
checks the exit code, the report's verdict and fields, and the last line a user reads. The
rules they hold the harness to are in ``spec/prose/suite.md`` (SUITE-NNN). The verdict tests
are split over ``test_verdicts*.py`` so that pytest-xdist runs them side by side.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conformance.harness_runs import (
    PASSWORD_ENV,
    HarnessRun,
    against,
    harness,
    node,
    run_command,
)
from twin_conformance._paths import checks_dir

FAST = ("--fuzz-examples", "0")
PROFILES = ("core", "identity", "anchoring", "consensus", "documents")


def _last_line(run: HarnessRun) -> str:
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _commit_count(url: str) -> int:
    """How many commits the node's ledger holds (a write adds at least one)."""
    with httpx.Client(base_url=url, timeout=30) as client:
        body = client.get("/consensus/commits", params={"from": "1", "limit": "1000"}).json()
    return len(body["commits"])


# --- says conformant when it must not ---------------------------------------------------------


@pytest.mark.suite("SUITE-003", "SUITE-004")
def test_a_run_stopped_by_its_time_limit_is_incomplete_and_exit_2(tmp_path: Path) -> None:
    with node(tmp_path) as target:
        run = harness(
            tmp_path, "run", *against(target), *FAST, "--run-timeout", "2", env=PASSWORD_ENV
        )
    assert run.code == 2, run.describe()
    assert run.report is not None, run.describe()
    assert run.report["verdict"] == "incomplete"
    assert run.report["run"]["complete"] is False
    assert run.report["run"]["stopped"]["reason"] == "run-timeout"
    assert run.tests("not-run"), "a stopped run lists the checks it did not run"
    assert all(entry["verdict"] != "conformant" for entry in run.report["profiles"])
    assert "the run stopped" in _last_line(run)
    report_file = tmp_path / "report" / "report.json"
    rendered = harness(tmp_path, "report", "render", str(report_file))
    assert rendered.code == 2, rendered.describe()
    assert "CONFORMANT" not in rendered.stdout.replace("NOT CONFORMANT", "")
    aggregated = harness(
        tmp_path, "report", "aggregate", str(report_file), "--out", str(tmp_path / "m")
    )
    assert aggregated.code == 0, aggregated.describe()
    matrix = json.loads((tmp_path / "m" / "matrix.json").read_text())
    (item,) = matrix["implementations"]
    assert "incomplete" in item["flags"]
    assert item["certification"] != "certified"


@pytest.mark.suite("SUITE-005", "SUITE-041", "SUITE-024")
def test_a_baseline_changes_the_gate_never_the_verdict(tmp_path: Path) -> None:
    options = ("--profile", "core", *FAST)
    with node(tmp_path, "info-without-spec-version") as target:
        first = harness(tmp_path / "a", "run", *against(target), *options, env=PASSWORD_ENV)
        assert first.code == 1, first.describe()
        baseline = harness(
            tmp_path / "a", "report", "baseline", str(tmp_path / "a" / "report" / "report.json")
        )
        assert baseline.code == 0, baseline.describe()
        baseline_file = tmp_path / "baseline.txt"
        baseline_file.write_text(baseline.stdout)
        # The same node, at once: the first run's failed logins may have left this address
        # throttled, and the harness waits a short Retry-After out (SUITE-024).
        second = harness(
            tmp_path / "b",
            "run",
            *against(target),
            *options,
            "--baseline",
            str(baseline_file),
            env=PASSWORD_ENV,
        )
        typo = tmp_path / "typo.txt"
        typo.write_text("test_core.py::test_no_such_check\n")
        refused = harness(
            tmp_path / "c", "run", *against(target), *options, "--baseline", str(typo),
            env=PASSWORD_ENV,
        )  # fmt: skip
    failed = sorted(test["id"] for test in first.failed_tests())
    assert failed
    assert second.code == 0, second.describe()
    assert second.report is not None
    assert second.report["verdict"] == "not-conformant", "a baseline must not change the verdict"
    assert second.profile("core")["verdict"] == "not-conformant"
    assert sorted(second.report["gate"]["knownFailures"]) == failed
    assert all(test["baseline"] == "known-failure" for test in second.failed_tests())
    assert "gate passed with" in _last_line(second)
    assert _last_line(second).startswith("Verdict: not conformant")
    assert refused.code == 2, refused.describe()
    assert "test_no_such_check" in refused.stderr
    assert refused.report is None


@pytest.mark.suite("SUITE-003", "SUITE-032", "SUITE-004")
def test_a_narrowed_run_is_never_conformant(tmp_path: Path) -> None:
    with node(tmp_path) as target:
        selected = harness(
            tmp_path / "select", "run", *against(target),
            "--select", "test_core.py::test_health_answers", env=PASSWORD_ENV,
        )  # fmt: skip
        keyword = harness(
            tmp_path / "k", "run", *against(target), "-k", "health_answers", env=PASSWORD_ENV
        )
        before = _commit_count(target.url)
        read_only = harness(
            tmp_path / "ro", "run", *against(target), "--read-only", *FAST, env=PASSWORD_ENV
        )
        after = _commit_count(target.url)
    for run in (selected, keyword, read_only):
        assert run.code == 0, run.describe()
        assert run.report is not None
        assert run.report["verdict"] == "incomplete", run.describe()
        assert run.report["run"]["selection"]["narrowed"] is True
        assert "narrowed" in _last_line(run)
        for profile in PROFILES:
            assert run.profile(profile)["verdict"] == "incomplete", (profile, run.describe())
    ran = [test for test in read_only.tests() if test["outcome"] not in ("not-selected",)]
    assert len(ran) > 100
    assert all(test["readOnly"] for test in ran)
    assert after == before, "a --read-only run wrote to the target's ledger"


@pytest.mark.suite("SUITE-030")
def test_missing_or_refused_credentials_stop_the_run(tmp_path: Path) -> None:
    with node(tmp_path) as target:
        started = time.monotonic()
        none = harness(tmp_path / "none", "run", "--target", target.url, *FAST)
        garbage = harness(
            tmp_path / "garbage", "run", "--target", target.url, *FAST,
            env={"TWIN_TARGET_TOKEN": "not-a-token-at-all"},
        )  # fmt: skip
        wrong = harness(
            tmp_path / "wrong", "run", *against(target), *FAST,
            env={"TWIN_TARGET_PASSWORD": "not the password"},
        )  # fmt: skip
        plugin = run_command(
            [
                sys.executable, "-m", "pytest", str(checks_dir()), "-c",
                str(checks_dir() / "pytest.ini"), "--rootdir", str(checks_dir()),
                "-p", "no:cacheprovider", "--import-mode=importlib", "-q",
                "--twin-target", target.url, "--twin-report-dir", str(tmp_path / "plugin"),
            ],
            cwd=tmp_path, timeout=120, report_dir=tmp_path / "plugin",
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert none.code == 2, none.describe()
    assert "no credentials" in none.stderr, none.describe()
    assert garbage.code == 2, garbage.describe()
    assert "refused the token" in garbage.stderr, garbage.describe()
    assert wrong.code == 2, wrong.describe()
    assert "refused the credentials" in wrong.stderr, wrong.describe()
    assert plugin.code == 2, plugin.describe()
    assert "no credentials" in plugin.output
    for run in (none, garbage, wrong, plugin):
        assert run.report is None, "a run that could not start wrote a report"
    assert elapsed < 120


@pytest.mark.suite("SUITE-001")
def test_a_profile_fails_on_any_of_its_checks_whatever_requirement_it_blames(
    tmp_path: Path,
) -> None:
    with node(tmp_path, "anchoring-errors-without-name") as target:
        run = harness(
            tmp_path, "run", *against(target), "--profile", "anchoring", *FAST, env=PASSWORD_ENV
        )
    assert run.code == 1, run.describe()
    anchoring = [test for test in run.failed_tests() if test["profile"] == "anchoring"]
    assert anchoring, run.describe()
    assert {test["failedRequirement"] for test in anchoring} == {"TWIN-CORE-040"}
    assert run.profile("anchoring")["verdict"] == "not-conformant"
    assert run.profile("core")["verdict"] == "not-conformant"
