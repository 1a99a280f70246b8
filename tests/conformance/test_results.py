"""The verdict rules on records alone: build_report, the gate and the one exit-code function.

These are the rules of spec/prose/suite.md applied to hand-made check records, so that every
combination the real runs of ``test_verdicts*.py`` cannot reach cheaply is pinned down too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.harness_runs import PASSWORD_ENV, node, run_command
from tests.conformance.test_report_rendering import Record
from tests.node_process import ADMIN_EMAIL
from tests.support import schema_validator
from twin_conformance._registry import Requirement
from twin_conformance._results import Selection, Stop, build_report, exit_code, verdict_line

MUST = Requirement("TWIN-CORE-050", "core", "MUST", "GET /info MUST name the node.")
SHOULD = Requirement("TWIN-CORE-060", "core", "SHOULD", "A node SHOULD limit bodies.")
HIDDEN = Requirement(
    "TWIN-CORE-002", "core", "MUST", "MUST refuse NaN.", unobservable="no request carries it"
)
IDENTITY = Requirement("TWIN-IDENTITY-001", "identity", "MUST", "A DID MUST be well formed.")
REGISTRY = {r.id: r for r in (MUST, SHOULD, HIDDEN, IDENTITY)}


def _report(records: list[Record], **options: Any) -> dict[str, Any]:
    report = build_report(
        records=records,
        registry=REGISTRY,
        claimed=options.pop("claimed", {"core", "identity"}),
        requested=options.pop("requested", {"core", "identity"}),
        fail_on=options.pop("fail_on", "must"),
        selection=options.pop("selection", Selection()),
        stopped=options.pop("stopped", None),
        baseline=options.pop("baseline", None),
        deviations=[],
        suite_version="0.1.0",
        spec_version="0.1.0",
        vectors=None,
        target={"url": "http://127.0.0.1:9", "embedded": False, "name": None, "info": None},
        run={
            "seed": 1,
            "startedAt": "2026-12-07T00:00:00Z",
            "finishedAt": "2026-12-07T00:00:01Z",
            "durationSeconds": 1.0,
            "profiles": ["core", "identity"],
            "fuzzExamples": 0,
            "command": "twin-conformance run",
            "baseline": None,
        },
    )
    assert not options
    schema_validator("conformance-report.schema.json").validate(report)
    return report


def _passing() -> list[Record]:
    return [
        Record("test_core.py::test_info", "test_info", "core", [MUST.id], outcome="passed"),
        Record("test_core.py::test_limit", "test_limit", "core", [SHOULD.id], outcome="passed"),
        Record("test_identity.py::test_did", "test_did", "identity", [IDENTITY.id],
               outcome="passed"),
    ]  # fmt: skip


@pytest.mark.suite("SUITE-002")
def test_a_complete_passing_run_is_conformant_and_exit_0() -> None:
    report = _report(_passing())
    assert report["verdict"] == "conformant"
    assert exit_code(report) == 0
    assert verdict_line(report) == "conformant"
    statuses = {entry["id"]: entry["status"] for entry in report["requirements"]}
    assert statuses[HIDDEN.id] == "unobservable"


@pytest.mark.suite("SUITE-006", "SUITE-003")
def test_an_untested_must_makes_the_run_incomplete_but_an_unobservable_one_does_not() -> None:
    records = [record for record in _passing() if record.requirements != [MUST.id]]
    report = _report(records)
    entry = next(entry for entry in report["requirements"] if entry["id"] == MUST.id)
    assert (entry["status"], entry["untestedBecause"]) == ("not-tested", "no-check")
    assert report["verdict"] == "incomplete"
    assert exit_code(report) == 2
    assert "with no executed check: TWIN-CORE-050" in verdict_line(report)
    hidden = next(entry for entry in report["requirements"] if entry["id"] == HIDDEN.id)
    assert hidden["unobservableReason"] == "no request carries it"
    # An untested SHOULD does not hold back a MUST-gated run, but does a SHOULD-gated one.
    records = [record for record in _passing() if record.requirements != [SHOULD.id]]
    assert _report(records)["verdict"] == "conformant"
    assert _report(records, fail_on="should")["verdict"] == "incomplete"


@pytest.mark.suite("SUITE-010", "SUITE-003")
def test_blocked_and_broken_checks_are_not_failures_but_not_passes_either() -> None:
    records = _passing()
    records[2] = Record(
        "test_identity.py::test_did", "test_did", "identity", [IDENTITY.id],
        outcome="blocked", blocked_by="test_core.py::test_info",
    )  # fmt: skip
    report = _report(records)
    assert report["profiles"][1]["verdict"] == "incomplete"
    entry = next(entry for entry in report["requirements"] if entry["id"] == IDENTITY.id)
    assert (entry["status"], entry["untestedBecause"]) == ("not-tested", "blocked")
    records[2].outcome = "error"
    broken = _report(records)
    assert broken["verdict"] == "incomplete"
    assert broken["gate"]["errors"] == ["test_identity.py::test_did"]
    assert exit_code(broken) == 2


@pytest.mark.suite("SUITE-001")
def test_a_failure_blaming_another_profiles_requirement_fails_both_profiles() -> None:
    records = _passing()
    records[2] = Record(
        "test_identity.py::test_did", "test_did", "identity", [IDENTITY.id],
        outcome="failed", failed_requirement=MUST.id,
    )  # fmt: skip
    report = _report(records)
    verdicts = {entry["profile"]: entry["verdict"] for entry in report["profiles"]}
    assert verdicts["identity"] == "not-conformant"
    assert verdicts["core"] == "not-conformant"
    assert exit_code(report) == 1


@pytest.mark.suite("SUITE-001")
def test_a_should_failure_gates_only_at_fail_on_should() -> None:
    records = _passing()
    records[1].outcome, records[1].failed_requirement = "failed", SHOULD.id
    assert _report(records)["verdict"] == "conformant"
    assert exit_code(_report(records)) == 0
    strict = _report(records, fail_on="should")
    assert strict["verdict"] == "not-conformant"
    assert exit_code(strict) == 1


@pytest.mark.suite("SUITE-005")
def test_a_baseline_changes_the_exit_code_and_nothing_else() -> None:
    records = _passing()
    records[0].outcome, records[0].failed_requirement = "failed", MUST.id
    without = _report(records)
    records = _passing()
    records[0].outcome, records[0].failed_requirement = "failed", MUST.id
    known = _report(records, baseline={"test_core.py::test_info", "test_core.py::test_limit"})
    assert without["verdict"] == known["verdict"] == "not-conformant"
    assert without["profiles"] == known["profiles"]
    assert without["requirements"] == known["requirements"]
    assert (exit_code(without), exit_code(known)) == (1, 0)
    assert known["gate"]["knownFailures"] == ["test_core.py::test_info"]
    assert known["gate"]["nowPassing"] == ["test_core.py::test_limit"]
    line = verdict_line(known)
    assert line.startswith("not conformant; gate passed with 1 known failure(s)")
    assert "remove them from the baseline: test_core.py::test_limit" in line


@pytest.mark.suite("SUITE-003", "SUITE-004")
def test_only_a_complete_run_can_be_conformant() -> None:
    narrowed = _report(_passing(), selection=Selection(checks=("test_core.py",)))
    assert (narrowed["verdict"], exit_code(narrowed)) == ("incomplete", 0)
    stopped = _report(_passing(), stopped=Stop("run-timeout", "the time limit was reached"))
    assert (stopped["verdict"], exit_code(stopped)) == ("incomplete", 2)
    assert stopped["run"]["complete"] is False
    records = _passing()
    records[0].outcome, records[0].failed_requirement = "failed", MUST.id
    failing_and_stopped = _report(records, stopped=Stop("interrupted", "interrupted"))
    assert failing_and_stopped["verdict"] == "not-conformant"
    assert exit_code(failing_and_stopped) == 2


@pytest.mark.suite("SUITE-002")
def test_unclaimed_and_unrequested_profiles_stay_distinct() -> None:
    records = [*_passing()[:2]]
    report = _report(records, claimed={"core"}, requested={"core", "identity"})
    verdicts = {entry["profile"]: entry["verdict"] for entry in report["profiles"]}
    assert verdicts["identity"] == "not-claimed"
    assert verdicts["anchoring"] == "not-requested"
    assert report["verdict"] == "conformant"


DESTRUCTIVE_CHECKS = """
import os

import pytest

pytestmark = pytest.mark.twin_profile("core")


def _ran(name: str) -> None:
    with open(os.environ["ORDER_FILE"], "a", encoding="utf-8") as order:
        order.write(name + "\\n")


@pytest.mark.twin_requirement("TWIN-CORE-050")
@pytest.mark.twin_destructive
def test_a_poison_write(twin) -> None:
    _ran("destructive")


@pytest.mark.twin_requirement("TWIN-CORE-050")
@pytest.mark.twin_throttles_logins
def test_a_login_flood(twin) -> None:
    _ran("throttle")


@pytest.mark.twin_requirement("TWIN-CORE-050")
@pytest.mark.twin_read_only
def test_a_read(twin) -> None:
    _ran("read")


@pytest.mark.twin_requirement("TWIN-CORE-050")
def test_a_write(twin) -> None:
    _ran("write")
"""


@pytest.mark.suite("SUITE-033", "SUITE-032")
def test_destructive_checks_run_only_when_asked_and_last(tmp_path: Path) -> None:
    (tmp_path / "test_mine.py").write_text(DESTRUCTIVE_CHECKS)
    order_file = tmp_path / "order.txt"
    runs: dict[str, list[str]] = {}
    reports: dict[str, dict[str, Any]] = {}
    with node(tmp_path / "node") as target:
        for name, extra in (
            ("default", []),
            ("destructive", ["--twin-destructive"]),
            ("read-only", ["--twin-read-only", "--twin-destructive"]),
        ):
            order_file.unlink(missing_ok=True)
            out = tmp_path / name
            run = run_command(
                [
                    sys.executable, "-m", "pytest", str(tmp_path / "test_mine.py"),
                    "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path),
                    "--twin-target", target.url, "--twin-email", ADMIN_EMAIL,
                    "--twin-report-dir", str(out), *extra,
                ],
                cwd=tmp_path, timeout=120, report_dir=out,
                env={**PASSWORD_ENV, "ORDER_FILE": str(order_file)},
            )  # fmt: skip
            assert run.report is not None, run.describe()
            runs[name] = order_file.read_text().split() if order_file.exists() else []
            reports[name] = run.report
    assert "destructive" not in runs["default"]
    outcome = {t["name"]: t for t in reports["default"]["tests"]}["test_a_poison_write"]
    assert outcome["outcome"] == "skipped"
    assert "only with --destructive" in outcome["message"]
    assert runs["destructive"][-1] == "destructive", "destructive checks run last"
    assert runs["destructive"][-2] == "throttle", "a check throttling logins runs next to last"
    assert runs["default"][-1] == "throttle", "a check throttling logins runs after the others"
    assert reports["destructive"]["run"]["selection"]["destructive"] is True
    assert "destructive checks ran" in verdict_line(reports["destructive"])
    assert "destructive" not in verdict_line(reports["default"])
    assert runs["read-only"] == ["read"], "a read-only run never writes, destructive or not"
