"""Turning test outcomes into the report: requirement statuses, profile verdicts, the run's.

The report's shape is ``spec/schemas/conformance-report.schema.json``. A failure counts
against the requirement the check named; a profile the target does not claim is reported as
not claimed, never as failed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twin_conformance._registry import PROFILES, Requirement

SUITE_NAME = "twin-conformance"
REPORT_VERSION = "1"
GATING_LEVELS = {"must": ("MUST",), "should": ("MUST", "SHOULD")}


@dataclass
class TestRecord:
    """What one check did: its outcome, the requirement it failed, and the evidence."""

    __test__ = False  # A record, not a test class (its name starts with Test).

    id: str
    name: str
    profile: str
    requirements: list[str]
    outcome: str = "passed"
    failed_requirement: str | None = None
    duration: float = 0.0
    message: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    reproduce: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The test's entry in report.json."""
        return {
            "id": self.id,
            "name": self.name,
            "profile": self.profile,
            "requirements": list(self.requirements),
            "outcome": self.outcome,
            "failedRequirement": self.failed_requirement,
            "durationSeconds": round(self.duration, 4),
            "message": self.message,
            "evidence": self.evidence,
            "reproduce": self.reproduce,
        }


def apply_expected_failures(records: Sequence[TestRecord], expected: set[str]) -> None:
    """Mark listed failures as expected and listed passes as unexpected (the baseline)."""
    for record in records:
        if record.id not in expected:
            continue
        if record.outcome == "failed":
            record.outcome = "expected-failure"
        elif record.outcome == "passed":
            record.outcome = "unexpected-pass"
            record.message = "listed in the expected-failures file, but it passed"


def requirement_statuses(
    records: Sequence[TestRecord],
    registry: Mapping[str, Requirement],
    claimed: set[str],
    requested: set[str],
) -> list[dict[str, Any]]:
    """The status of every requirement, from the checks that name it."""
    entries = []
    for requirement in registry.values():
        named = [
            record
            for record in records
            if requirement.id in record.requirements or record.failed_requirement == requirement.id
        ]
        failed = [
            r for r in named if r.outcome == "failed" and r.failed_requirement == requirement.id
        ]
        expected = [
            r
            for r in named
            if r.outcome == "expected-failure" and r.failed_requirement == requirement.id
        ]
        passed = [r for r in named if r.outcome == "passed" and requirement.id in r.requirements]
        if failed:
            status = "failed"
        elif expected:
            status = "expected-failure"
        elif requirement.profile not in requested:
            status = "not-requested"
        elif requirement.profile not in claimed:
            status = "not-claimed"
        elif passed:
            status = "passed"
        else:
            status = "not-tested"
        entries.append(
            {
                "id": requirement.id,
                "profile": requirement.profile,
                "level": requirement.level,
                "statement": requirement.statement,
                "status": status,
                "tests": [record.id for record in named],
            }
        )
    return entries


def build_report(
    *,
    records: Sequence[TestRecord],
    registry: Mapping[str, Requirement],
    claimed: set[str],
    requested: set[str],
    fail_on: str,
    suite_version: str,
    spec_version: str,
    vectors: Mapping[str, Any] | None,
    target: Mapping[str, Any],
    run: Mapping[str, Any],
) -> dict[str, Any]:
    """The whole report.json from the checks' records and the run's facts."""
    requirements = requirement_statuses(records, registry, claimed, requested)
    gating = GATING_LEVELS[fail_on]
    failed_ids = {
        entry["id"]
        for entry in requirements
        if entry["status"] == "failed" and entry["level"] in gating
    }
    profiles = []
    for profile in PROFILES:
        tests = [record for record in records if record.profile == profile]
        counts = {
            "passed": sum(record.outcome == "passed" for record in tests),
            "failed": sum(record.outcome in ("failed", "unexpected-pass") for record in tests),
            "skipped": sum(record.outcome == "skipped" for record in tests),
        }
        if profile not in requested:
            verdict = "not-requested"
        elif profile not in claimed:
            verdict = "not-claimed"
        else:
            broken = any(registry[i].profile == profile for i in failed_ids) or any(
                record.outcome == "unexpected-pass"
                or (record.outcome == "failed" and record.failed_requirement is None)
                for record in tests
            )
            verdict = "not-conformant" if broken else "conformant"
        profiles.append(
            {
                "profile": profile,
                "claimed": profile in claimed,
                "requested": profile in requested,
                "verdict": verdict,
                "counts": counts,
            }
        )
    unexplained = any(
        record.outcome == "unexpected-pass"
        or (record.outcome == "failed" and record.failed_requirement is None)
        for record in records
    )
    verdict = "not-conformant" if failed_ids or unexplained else "conformant"
    summary = {
        "passed": sum(r.outcome == "passed" for r in records),
        "failed": sum(r.outcome == "failed" for r in records),
        "skipped": sum(r.outcome == "skipped" for r in records),
        "notClaimed": sum(r.outcome == "not-claimed" for r in records),
        "notRequested": sum(r.outcome == "not-requested" for r in records),
        "expectedFailures": sum(r.outcome == "expected-failure" for r in records),
        "unexpectedPasses": sum(r.outcome == "unexpected-pass" for r in records),
    }
    return {
        "reportVersion": REPORT_VERSION,
        "suite": {"name": SUITE_NAME, "version": suite_version},
        "specVersion": spec_version,
        "vectors": dict(vectors) if vectors is not None else None,
        "target": dict(target),
        "run": dict(run),
        "verdict": verdict,
        "profiles": profiles,
        "requirements": requirements,
        "tests": [record.to_json() for record in records],
        "summary": summary,
    }
