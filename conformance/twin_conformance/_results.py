"""Turning check outcomes into the report: requirement statuses, verdicts, the CI gate.

The rules are the suite's own (``spec/prose/suite.md``, SUITE-001 to SUITE-009) and the
report's shape is ``spec/schemas/conformance-report.schema.json``. In short: a profile's
verdict comes from every check of the profile and every requirement of the profile; only a
complete run can be conformant; a baseline of known failures changes the gate (the exit
code), never the verdict; and :func:`exit_code` is the one place the exit code is decided, for
the CLI and for the pytest plugin alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twin_conformance._registry import PROFILES, Requirement

SUITE_NAME = "twin-conformance"
REPORT_VERSION = "2"
GATING_LEVELS = {"must": ("MUST",), "should": ("MUST", "SHOULD")}

EXIT_CONFORMANT, EXIT_NOT_CONFORMANT, EXIT_COULD_NOT_RUN = 0, 1, 2

OUTCOMES = (
    "passed",
    "failed",
    "blocked",
    "error",
    "skipped",
    "not-applicable",
    "not-run",
    "not-selected",
    "not-claimed",
    "not-requested",
)
"""What a check did. ``blocked``: a check it depends on failed, or met the operation
throttling the harness first (``blockedBy`` names it);
``error``: the check itself broke (a harness fault, never blamed on the target);
``not-applicable``: the harness found the rule does not apply to this node (the did:twin
syntax to a node minting another DID method); ``not-run``:
the run stopped before it, or the target throttled the harness past what a real client waits
(SUITE-024); ``not-selected``: the run was narrowed (``--select``, ``-k``,
``--read-only``) and left it out."""

EXECUTED = frozenset({"passed", "failed"})


@dataclass
class TestRecord:
    """What one check did: its outcome, the requirement it failed, and the evidence."""

    __test__ = False  # A record, not a test class (its name starts with Test).

    id: str
    name: str
    profile: str
    requirements: list[str]
    outcome: str = "not-run"
    failed_requirement: str | None = None
    blocked_by: str | None = None
    baseline: str | None = None
    kind: str = "check"
    read_only: bool = False
    duration: float = 0.0
    message: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    reproduce: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The test's entry in report.json."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "profile": self.profile,
            "requirements": list(self.requirements),
            "readOnly": self.read_only,
            "outcome": self.outcome,
            "failedRequirement": self.failed_requirement,
            "blockedBy": self.blocked_by,
            "baseline": self.baseline,
            "durationSeconds": round(self.duration, 4),
            "message": self.message,
            "evidence": self.evidence,
            "reproduce": self.reproduce,
        }


@dataclass(frozen=True)
class Selection:
    """How the run was narrowed on purpose; any narrowing makes the verdict incomplete."""

    checks: tuple[str, ...] = ()
    keyword: str | None = None
    read_only: bool = False
    destructive: bool = False

    @property
    def narrowed(self) -> bool:
        """Whether the run left checks out on purpose (SUITE-003)."""
        return bool(self.checks or self.keyword or self.read_only)

    def to_json(self) -> dict[str, Any]:
        """The selection as report.json records it."""
        return {
            "checks": list(self.checks),
            "keyword": self.keyword,
            "readOnly": self.read_only,
            "destructive": self.destructive,
            "narrowed": self.narrowed,
        }


@dataclass(frozen=True)
class Stop:
    """Why a run did not complete (SUITE-003): its reason code and the words for it."""

    reason: str
    message: str

    def to_json(self) -> dict[str, str]:
        """The stop as report.json records it."""
        return {"reason": self.reason, "message": self.message}


def apply_baseline(records: Sequence[TestRecord], known: set[str]) -> None:
    """Mark listed failures as known and listed passes as now passing (SUITE-005).

    The outcome itself is never changed: a known failure is still a failure.
    """
    for record in records:
        if record.id not in known:
            continue
        if record.outcome == "failed":
            record.baseline = "known-failure"
        elif record.outcome == "passed":
            record.baseline = "now-passing"


def _gates(record: TestRecord, registry: Mapping[str, Requirement], gating: Sequence[str]) -> bool:
    """Whether a failed check counts against the verdict at the run's --fail-on level."""
    requirement = registry.get(record.failed_requirement or "")
    return requirement is None or requirement.level in gating


def requirement_statuses(
    records: Sequence[TestRecord],
    registry: Mapping[str, Requirement],
    claimed: set[str],
    requested: set[str],
) -> list[dict[str, Any]]:
    """The status of every requirement, from every check that names or blames it."""
    entries = []
    for requirement in registry.values():
        named = [
            record
            for record in records
            if requirement.id in record.requirements or record.failed_requirement == requirement.id
        ]
        failed = any(
            r.outcome == "failed" and r.failed_requirement == requirement.id for r in named
        )
        passed = any(r.outcome == "passed" and requirement.id in r.requirements for r in named)
        untested = None
        if failed:
            status = "failed"
        elif requirement.profile not in requested:
            status = "not-requested"
        elif requirement.profile not in claimed:
            status = "not-claimed"
        elif passed:
            status = "passed"
        elif requirement.unobservable is not None:
            status = "unobservable"
        elif named and all(r.outcome == "not-applicable" for r in named):
            status = "not-applicable"
        elif named and all(r.outcome in ("not-requested", "not-claimed") for r in named):
            # The rule shows only in operations of profiles this run did not test (a core
            # signing rule seen in identity's proofs, say): not tested here, and not owed.
            requested_any = any(r.outcome == "not-claimed" for r in named)
            status = "not-claimed" if requested_any else "not-requested"
        else:
            status = "not-tested"
            outcomes = {r.outcome for r in named}
            untested = next(
                (
                    reason
                    for reason in ("blocked", "error", "not-run", "not-selected", "skipped")
                    if reason in outcomes
                ),
                "no-check",
            )
        entries.append(
            {
                "id": requirement.id,
                "profile": requirement.profile,
                "level": requirement.level,
                "statement": requirement.statement,
                "status": status,
                "untestedBecause": untested,
                "unobservableReason": requirement.unobservable,
                "tests": [record.id for record in named],
            }
        )
    return entries


def _profile_verdict(
    profile: str,
    tests: Sequence[TestRecord],
    requirements: Sequence[Mapping[str, Any]],
    registry: Mapping[str, Requirement],
    gating: Sequence[str],
    selection: Selection,
    stopped: Stop | None,
) -> tuple[str, list[str]]:
    """A claimed, requested profile's verdict and the reasons for it (SUITE-001, SUITE-003)."""
    reasons: list[str] = []
    # SUITE-001: every check of the profile counts, whatever requirement it blames, and so
    # does every failed requirement of the profile, whichever profile's check found it.
    failed_tests = [t for t in tests if t.outcome == "failed" and _gates(t, registry, gating)]
    failed_requirements = [
        entry["id"]
        for entry in requirements
        if entry["profile"] == profile and entry["status"] == "failed" and entry["level"] in gating
    ]
    if failed_tests or failed_requirements:
        if failed_tests:
            reasons.append(f"{len(failed_tests)} check(s) failed")
        if failed_requirements:
            reasons.append("requirement(s) failed: " + ", ".join(failed_requirements[:10]))
        return "not-conformant", reasons
    if stopped is not None:
        reasons.append(f"the run stopped: {stopped.message}")
    if selection.narrowed:
        reasons.append("the run was narrowed to a subset of the checks")
    errors = [t.id for t in tests if t.outcome == "error"]
    if errors:
        reasons.append(f"{len(errors)} check(s) broke (harness errors): {', '.join(errors[:3])}")
    not_run = [t for t in tests if t.outcome == "not-run"]
    if not_run:
        first = not_run[0]
        why = (first.message or "").removeprefix("not run: ") if stopped is None else ""
        # The first one's reason (a fuzzing budget that ran out, a target that throttled the
        # harness, SUITE-024), unless the run stopped: that is the reason, given above.
        reasons.append(
            f"{len(not_run)} check(s) did not run" + (f" ({first.id}: {why})" if why else "")
        )
    untested = [
        entry["id"]
        for entry in requirements
        if entry["profile"] == profile
        and entry["status"] == "not-tested"
        and entry["level"] in gating
    ]
    if untested:
        reasons.append(
            f"{len(untested)} {'/'.join(gating)} requirement(s) with no executed check: "
            + ", ".join(untested[:10])
        )
    return ("incomplete" if reasons else "conformant"), reasons


def build_report(
    *,
    records: Sequence[TestRecord],
    registry: Mapping[str, Requirement],
    claimed: set[str],
    requested: set[str],
    fail_on: str,
    selection: Selection,
    stopped: Stop | None,
    baseline: set[str] | None,
    deviations: Sequence[Mapping[str, Any]],
    suite_version: str,
    spec_version: str,
    vectors: Mapping[str, Any] | None,
    target: Mapping[str, Any],
    run: Mapping[str, Any],
) -> dict[str, Any]:
    """The whole report.json from the checks' records and the run's facts."""
    if baseline is not None:
        apply_baseline(records, baseline)
    gating = GATING_LEVELS[fail_on]
    requirements = requirement_statuses(records, registry, claimed, requested)
    profiles = []
    for profile in PROFILES:
        tests = [record for record in records if record.profile == profile]
        counts = {
            outcome: sum(record.outcome == outcome for record in tests) for outcome in OUTCOMES
        }
        reasons: list[str] = []
        if profile not in requested:
            verdict = "not-requested"
        elif profile not in claimed:
            verdict = "not-claimed"
        else:
            verdict, reasons = _profile_verdict(
                profile, tests, requirements, registry, gating, selection, stopped
            )
        profiles.append(
            {
                "profile": profile,
                "claimed": profile in claimed,
                "requested": profile in requested,
                "verdict": verdict,
                "reasons": reasons,
                "counts": _camel_counts(counts),
            }
        )
    verdicts = {entry["verdict"] for entry in profiles}
    if "not-conformant" in verdicts:
        verdict = "not-conformant"
    elif "incomplete" in verdicts or stopped is not None or selection.narrowed:
        verdict = "incomplete"
    else:
        verdict = "conformant"
    summary = _camel_counts(
        {outcome: sum(record.outcome == outcome for record in records) for outcome in OUTCOMES}
    )
    summary["knownFailures"] = sum(record.baseline == "known-failure" for record in records)
    summary["nowPassing"] = sum(record.baseline == "now-passing" for record in records)
    report: dict[str, Any] = {
        "reportVersion": REPORT_VERSION,
        "suite": {"name": SUITE_NAME, "version": suite_version},
        "specVersion": spec_version,
        "vectors": dict(vectors) if vectors is not None else None,
        "target": dict(target),
        "run": {
            **dict(run),
            "failOn": fail_on,
            "selection": selection.to_json(),
            "complete": stopped is None and not selection.narrowed,
            "stopped": stopped.to_json() if stopped is not None else None,
        },
        "verdict": verdict,
        "profiles": profiles,
        "requirements": requirements,
        "tests": [record.to_json() for record in records],
        "deviations": [dict(deviation) for deviation in deviations],
        "summary": summary,
    }
    report["gate"] = gate(report, registry_levels={r.id: r.level for r in registry.values()})
    return report


def _camel_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """Outcome counts keyed in camelCase (``not-run`` → ``notRun``)."""
    return {_camel(name): value for name, value in counts.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("-")
    return head + "".join(part.capitalize() for part in rest)


def gate(report: Mapping[str, Any], registry_levels: Mapping[str, str]) -> dict[str, Any]:
    """The CI gate of a report: its exit code and the checks that decide it (SUITE-004/005)."""
    gating = GATING_LEVELS[report["run"]["failOn"]]

    def gates(test: Mapping[str, Any]) -> bool:
        level = registry_levels.get(str(test.get("failedRequirement")))
        return level is None or level in gating

    failed = [t for t in report["tests"] if t["outcome"] == "failed" and gates(t)]
    unlisted = [t["id"] for t in failed if t["baseline"] != "known-failure"]
    known = [t["id"] for t in failed if t["baseline"] == "known-failure"]
    now_passing = [t["id"] for t in report["tests"] if t["baseline"] == "now-passing"]
    errors = [t["id"] for t in report["tests"] if t["outcome"] == "error"]
    # A selected check that did not run (the target throttled the harness, SUITE-024) did not
    # pass either: a narrowed run with one could not run what it was asked to (SUITE-004).
    not_run = [t["id"] for t in report["tests"] if t["outcome"] == "not-run"]
    run = report["run"]
    narrowed = bool(run["selection"]["narrowed"])
    if run["stopped"] is not None:
        code = EXIT_COULD_NOT_RUN
    elif unlisted:
        code = EXIT_NOT_CONFORMANT
    elif errors or not_run or (report["verdict"] == "incomplete" and not narrowed):
        code = EXIT_COULD_NOT_RUN
    else:
        code = EXIT_CONFORMANT
    return {
        "exitCode": code,
        "passed": code == EXIT_CONFORMANT,
        "unlistedFailures": unlisted,
        "knownFailures": known,
        "nowPassing": now_passing,
        "errors": errors,
    }


def exit_code(report: Mapping[str, Any]) -> int:
    """The exit code of a run, from its report: the only place it is decided (SUITE-004)."""
    return int(report["gate"]["exitCode"])


def verdict_line(report: Mapping[str, Any]) -> str:
    """The last line of a run: the verdict, and the gate when a baseline or a subset bends it.

    For example ``not conformant; gate passed with 3 known failures: a, b, c`` or
    ``incomplete: the run was narrowed (--select); the selected checks passed``.
    """
    verdict = str(report["verdict"]).replace("-", " ")
    run = report["run"]
    result = report["gate"]
    parts = [verdict]
    if run["stopped"] is not None:
        parts.append(f"the run stopped: {run['stopped']['message']}")
    elif run["selection"]["narrowed"] and report["verdict"] != "not-conformant":
        how = _narrowing(run["selection"])
        outcome = "the selected checks passed" if result["passed"] else "not every check passed"
        parts.append(f"the run was narrowed ({how}); {outcome}")
    elif report["verdict"] == "incomplete":
        reasons = [
            reason
            for entry in report["profiles"]
            if entry["verdict"] == "incomplete"
            for reason in entry["reasons"]
        ]
        # A check that broke or did not run (a target that throttled the harness, SUITE-024)
        # comes before the requirements it left untested, in whichever profile it is.
        causes = [reason for reason in reasons if "with no executed check" not in reason]
        parts.append((causes or reasons or ["not every check ran"])[0])
    if run["selection"].get("destructive"):
        parts.append("destructive checks ran (--destructive), last")
    known = result["knownFailures"]
    if known:
        state = "passed" if result["passed"] else "failed"
        parts.append(
            f"gate {state} with {len(known)} known failure(s): {_listing(known)}"
            + (f"; {len(result['unlistedFailures'])} new" if result["unlistedFailures"] else "")
        )
    if result["nowPassing"]:
        parts.append(
            f"{len(result['nowPassing'])} baselined check(s) now pass, remove them from the "
            f"baseline: {_listing(result['nowPassing'])}"
        )
    return "; ".join(parts)


def _narrowing(selection: Mapping[str, Any]) -> str:
    words = []
    if selection["checks"]:
        words.append("--select")
    if selection["keyword"]:
        words.append("-k")
    if selection["readOnly"]:
        words.append("--read-only")
    return ", ".join(words)


def _listing(ids: Iterable[str], limit: int = 5) -> str:
    ids = list(ids)
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")
