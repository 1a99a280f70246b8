"""A verdict that can be trusted: each trap of a naive harness, against real node processes.

Every case starts the reference node (or one of its broken variants, ``tests/broken_variants``)
as a subprocess on loopback and runs ``twin-conformance`` as a real command against it, then
checks the exit code, the report's verdict and fields, and the last line a user reads. The
rules they hold the harness to are in ``spec/prose/suite.md`` (SUITE-NNN).
"""

from __future__ import annotations

import json
import socket
import subprocess
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
from tests.node_process import ADMIN_EMAIL, ADMIN_PASSWORD
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


@pytest.mark.suite("SUITE-005", "SUITE-041")
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


# --- says not conformant for the wrong reason ------------------------------------------------


@pytest.mark.suite("SUITE-011", "SUITE-020")
@pytest.mark.parametrize(
    ("fault", "deviation"),
    [
        ("gzip-responses", "content-encoding:gzip"),
        ("brotli-responses", "content-encoding:br"),
        ("proof-signed-in-background", "immutable-proof-signed-in-background"),
        ("did-method-entity-storage", None),
    ],
)
def test_a_deviation_the_spec_allows_is_conformant(
    tmp_path: Path, fault: str, deviation: str | None
) -> None:
    with node(tmp_path, fault) as target:
        run = harness(tmp_path, "run", *against(target), "--fuzz-examples", "2", env=PASSWORD_ENV)
    assert run.code == 0, run.describe()
    assert run.report is not None
    assert run.report["verdict"] == "conformant", run.describe()
    if deviation is not None:
        assert deviation in {entry["id"] for entry in run.report["deviations"]}
    if fault == "did-method-entity-storage":
        assert run.report["target"]["info"]["nodeIdentity"].startswith("did:entity-storage:0x")
        statuses = {entry["id"]: entry["status"] for entry in run.report["requirements"]}
        assert statuses["TWIN-IDENTITY-030"] == "not-applicable"
    if fault.endswith("-responses"):
        evidence = next(test["evidence"] for test in run.tests("passed") if test["evidence"])
        headers = evidence[0]["request"]["headers"]
        assert "br" in headers["accept-encoding"], "the evidence records the headers sent"
        bodies = [
            e["response"]["body"] for e in evidence if e["response"] and e["response"]["body"]
        ]
        assert not any(body.startswith("base64:") for body in bodies), "bodies are decoded"


@pytest.mark.suite("SUITE-011", "SUITE-010", "SUITE-012", "SUITE-013")
@pytest.mark.parametrize(
    ("fault", "profile", "requirement", "check"),
    [
        (
            "login-token-in-cookie-only",
            "full",
            "TWIN-CORE-056",
            "test_core.py::test_login_answers_the_token_in_its_body",
        ),
        (
            "method-not-allowed-as-404",
            "full",
            "TWIN-CORE-052",
            "test_core.py::test_a_method_the_route_lacks_is_405",
        ),
        (
            "route-not-served",
            "anchoring",
            "TWIN-CORE-070",
            "test_routes.py::test_the_node_serves_the_operation[verifiableStorageRemove]",
        ),
        (
            "identity-create-drops-id",
            "identity",
            "TWIN-IDENTITY-014",
            "test_identity.py::prerequisite[created]",
        ),
    ],
)
def test_one_divergence_is_one_failure(
    tmp_path: Path, fault: str, profile: str, requirement: str, check: str
) -> None:
    with node(tmp_path, fault) as target:
        run = harness(
            tmp_path, "run", *against(target), "--profile", profile, "--fuzz-examples", "2",
            env=PASSWORD_ENV,
        )  # fmt: skip
    assert run.code == 1, run.describe()
    assert len(run.failed_tests()) == 1, run.describe()
    (failed,) = run.failed_tests()
    assert (failed["id"], failed["failedRequirement"]) == (check, requirement), run.describe()
    blocked = run.tests("blocked")
    assert all(test["blockedBy"] == check for test in blocked), run.describe()
    if fault == "login-token-in-cookie-only":
        assert run.report is not None
        assert "login-token-in-cookie" in {entry["id"] for entry in run.report["deviations"]}
        assert not blocked, "with the token from the cookie, everything else is tested"
        assert run.profile("identity")["verdict"] == "conformant"
    if fault in ("route-not-served", "identity-create-drops-id"):
        assert blocked, "the checks that needed what failed are blocked"


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
    with node(tmp_path, "resolution-hangs") as target:
        run = harness(tmp_path, "run", *against(target), timeout=330, env=PASSWORD_ENV)
    assert run.code == 1, run.describe()
    assert run.seconds < 300, run.describe()
    failed = run.failed_tests()
    assert any("stopped answering" in str(test["message"]) for test in failed), run.describe()
    assert run.tests("blocked"), "the checks that depend on resolution are blocked"
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
