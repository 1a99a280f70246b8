"""What changed between two runs: checks newly failing, newly passing, new, gone; verdicts.

``twin-conformance report diff BEFORE AFTER`` prints it, and the published site shows it
between consecutive runs of one implementation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def diff_reports(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The checks and verdicts that changed from ``before`` to ``after`` (both report.json)."""
    old = {test["id"]: test for test in before["tests"]}
    new = {test["id"]: test for test in after["tests"]}
    failing = {"failed", "error"}
    newly_failing = sorted(
        check
        for check, test in new.items()
        if test["outcome"] in failing and old.get(check, {}).get("outcome") not in failing
    )
    newly_passing = sorted(
        check
        for check, test in new.items()
        if test["outcome"] == "passed" and old.get(check, {}).get("outcome") in failing
    )
    profiles_before = {entry["profile"]: entry["verdict"] for entry in before["profiles"]}
    verdicts = [
        {"profile": entry["profile"], "before": profiles_before.get(entry["profile"]),
         "after": entry["verdict"]}
        for entry in after["profiles"]
        if profiles_before.get(entry["profile"]) != entry["verdict"]
    ]  # fmt: skip
    return {
        "before": {"startedAt": before["run"]["startedAt"], "verdict": before["verdict"]},
        "after": {"startedAt": after["run"]["startedAt"], "verdict": after["verdict"]},
        "newlyFailing": [
            {"id": check, "failedRequirement": new[check]["failedRequirement"]}
            for check in newly_failing
        ],
        "newlyPassing": newly_passing,
        "newChecks": sorted(set(new) - set(old)),
        "removedChecks": sorted(set(old) - set(new)),
        "profileVerdicts": verdicts,
    }


def diff_lines(diff: Mapping[str, Any]) -> list[str]:
    """The diff as lines of text for the console."""
    lines = [
        f"verdict: {diff['before']['verdict']} ({diff['before']['startedAt']}) -> "
        f"{diff['after']['verdict']} ({diff['after']['startedAt']})"
    ]
    lines += [
        f"profile {entry['profile']}: {entry['before']} -> {entry['after']}"
        for entry in diff["profileVerdicts"]
    ]
    for title, key in (
        ("newly failing", "newlyFailing"),
        ("newly passing", "newlyPassing"),
        ("new checks", "newChecks"),
        ("removed checks", "removedChecks"),
    ):
        entries = diff[key]
        lines.append(f"{title}: {len(entries)}")
        for entry in entries:
            if isinstance(entry, Mapping):
                lines.append(f"  {entry['id']} ({entry['failedRequirement'] or 'harness error'})")
            else:
                lines.append(f"  {entry}")
    return lines
