"""Aggregating several vendors' report.json into a requirement x implementation matrix.

A standards body publishes such a matrix: for every requirement, its status in each
implementation's run, and for every profile, each implementation's verdict. Each input is
validated against ``conformance-report.schema.json`` first, so that a bad file is refused with
its name and the JSON path of what was wrong rather than half-aggregated. Each input is then
marked by what it can be trusted for (SUITE-051): certified (signed by a certifier the trust
file lists, complete, no baseline, no subset, self-consistent), or why not: signed by an
untrusted key, a bad signature, unsigned, inconsistent (its verdict does not follow from its
own outcomes, as after hand-editing), incomplete, baselined, subset. Only certified inputs
count as certified.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from twin_conformance._paths import spec_dir
from twin_conformance._render_html import render_template
from twin_conformance._report_signing import check_signature
from twin_conformance._trust import TrustedKeys

MATRIX_VERSION = "2"
REPORT_SCHEMA = "conformance-report.schema.json"
PROFILE_ORDER: tuple[str, ...] = ("core", "identity", "anchoring", "consensus", "documents")
NOT_REPORTED = "not-reported"
"""The status of a requirement or profile that an implementation's report does not list."""
REQUIREMENT_STATUSES: tuple[str, ...] = (
    "passed",
    "failed",
    "not-tested",
    "unobservable",
    "not-applicable",
    "not-claimed",
    "not-requested",
    NOT_REPORTED,
)
PROFILE_VERDICTS: tuple[str, ...] = (
    "conformant",
    "not-conformant",
    "incomplete",
    "not-claimed",
    "not-requested",
    NOT_REPORTED,
)
CERTIFICATIONS: tuple[str, ...] = (
    "certified",
    "bad-signature",
    "inconsistent",
    "untrusted-signer",
    "unsigned",
    "incomplete",
    "baselined",
    "subset",
)
"""What an input can be trusted for, the first that applies (certified only if none else)."""
_MESSAGE_LIMIT = 300


class AggregateError(ValueError):
    """A report could not be aggregated; the message names the file and what was wrong."""


@functools.cache
def _report_validator() -> Draft202012Validator:
    """A format-checking validator of conformance-report.schema.json (self-contained)."""
    path = spec_dir() / "schemas" / REPORT_SCHEMA
    schema = json.loads(path.read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _short(text: str) -> str:
    """A message cut to a readable length (schema errors quote whole instances)."""
    return text if len(text) <= _MESSAGE_LIMIT else text[:_MESSAGE_LIMIT] + "…"


def validate_report(source: str, report: object) -> None:
    """Raise :class:`AggregateError` unless ``report`` is a valid report.json of version 2."""
    if not isinstance(report, Mapping):
        raise AggregateError(f"{source}: $: a report must be a JSON object")
    error = jsonschema.exceptions.best_match(_report_validator().iter_errors(report))
    if error is not None:
        raise AggregateError(f"{source}: {error.json_path}: {_short(error.message)}")
    for key, member in (("requirements", "id"), ("profiles", "profile"), ("tests", "id")):
        seen: set[str] = set()
        for index, entry in enumerate(report[key]):
            if entry[member] in seen:
                raise AggregateError(
                    f"{source}: $.{key}[{index}].{member}: {entry[member]!r} is listed twice"
                )
            seen.add(entry[member])


def consistency_problems(report: Mapping[str, Any]) -> list[str]:
    """Ways the report contradicts itself (its verdict does not follow from its outcomes)."""
    problems: list[str] = []
    tests = report["tests"]
    for outcome, count in report["summary"].items():
        if outcome in ("knownFailures", "nowPassing"):
            continue
        spelt = "".join("-" + c.lower() if c.isupper() else c for c in outcome)
        actual = sum(test["outcome"] == spelt for test in tests)
        if actual != count:
            problems.append(f"summary.{outcome} says {count}, the tests say {actual}")
    verdicts = {entry["profile"]: entry["verdict"] for entry in report["profiles"]}
    for entry in report["profiles"]:
        profile = entry["profile"]
        failed = [t for t in tests if t["profile"] == profile and t["outcome"] == "failed"]
        gating = ("MUST", "SHOULD") if report["run"]["failOn"] == "should" else ("MUST",)
        levels = {r["id"]: r["level"] for r in report["requirements"]}
        if entry["verdict"] == "conformant" and any(
            levels.get(str(t["failedRequirement"]), "MUST") in gating for t in failed
        ):
            problems.append(f"profile {profile} is conformant with failed checks")
    if report["verdict"] == "conformant" and (
        not report["run"]["complete"]
        or any(v in ("not-conformant", "incomplete") for v in verdicts.values())
    ):
        problems.append("the verdict is conformant for an incomplete or failing run")
    return problems


def certification(
    report: Mapping[str, Any], trusted: TrustedKeys
) -> tuple[str, list[str], str | None]:
    """(status, every flag that applies, signer) of one input (see :data:`CERTIFICATIONS`)."""
    check = check_signature(report, trusted)
    flags: list[str] = []
    if check.status != "certified":
        flags.append(check.status)
    if consistency_problems(report):
        flags.append("inconsistent")
    run = report["run"]
    if not run["complete"] or report["verdict"] == "incomplete":
        flags.append("incomplete")
    if run["baseline"] is not None or any(t["baseline"] for t in report["tests"]):
        flags.append("baselined")
    claimed_not_requested = [
        entry["profile"]
        for entry in report["profiles"]
        if entry["claimed"] and not entry["requested"]
    ]
    if run["selection"]["narrowed"] or claimed_not_requested:
        flags.append("subset")
    ordered = [status for status in CERTIFICATIONS if status in flags]
    return (ordered[0] if ordered else "certified"), ordered, check.signer


def _base_name(source: str, report: Mapping[str, Any]) -> str:
    """The vendor-declared name the report carries, else ``/info``'s, else the source's."""
    declared = report["target"].get("name")
    if isinstance(declared, str) and declared.strip():
        return " ".join(declared.split())
    info = report["target"]["info"]
    name = info.get("name") if isinstance(info, Mapping) else None
    if not isinstance(name, str) or not name.strip():
        return source
    version = info.get("version")
    words = [name.strip()]
    if isinstance(version, str) and version.strip():
        words.append(version.strip())
    return " ".join(" ".join(words).split())


def _unique_names(bases: Sequence[tuple[str, str]]) -> list[str]:
    """One distinct name per (base name, source): clashing names get the source, then #n."""
    clashes = Counter(base for base, _ in bases)
    names: list[str] = []
    taken: set[str] = set()
    for base, source in bases:
        name = f"{base} ({source})" if clashes[base] > 1 and base != source else base
        candidate, number = name, 2
        while candidate in taken:
            candidate, number = f"{name} #{number}", number + 1
        taken.add(candidate)
        names.append(candidate)
    return names


def _profile_rank(profile: str) -> int:
    """Where a profile sorts: the suite's order, unknown ones last."""
    return PROFILE_ORDER.index(profile) if profile in PROFILE_ORDER else len(PROFILE_ORDER)


def _implementation(
    name: str, source: str, report: Mapping[str, Any], trusted: TrustedKeys
) -> dict[str, Any]:
    """What the matrix says about one implementation's run, and what it can be trusted for."""
    info = report["target"]["info"]
    info = info if isinstance(info, Mapping) else {}
    vectors = report["vectors"]
    status, flags, signer = certification(report, trusted)

    def text(value: object) -> str | None:
        return value if isinstance(value, str) else None

    return {
        "name": name,
        "source": source,
        "product": text(info.get("name")),
        "productVersion": text(info.get("version")),
        "url": report["target"]["url"],
        "embedded": report["target"]["embedded"],
        "suiteVersion": report["suite"]["version"],
        "specVersion": report["specVersion"],
        "vectorsManifestSha256": vectors["manifestSha256"] if vectors else None,
        "seed": report["run"]["seed"],
        "startedAt": report["run"]["startedAt"],
        "verdict": report["verdict"],
        "certification": status,
        "flags": flags,
        "signer": signer,
        "problems": consistency_problems(report),
        "summary": dict(report["summary"]),
    }


def aggregate(
    reports: Sequence[tuple[str, Mapping[str, Any]]], trusted: TrustedKeys | None = None
) -> dict[str, Any]:
    """Turn (source name, report) pairs into a requirement x implementation matrix dict.

    Every report is validated first; the first bad one raises :class:`AggregateError`.
    ``trusted`` are the certifiers whose signature certifies a report (none: nothing is).
    """
    trusted = trusted if trusted is not None else TrustedKeys()
    if not reports:
        raise AggregateError("no reports to aggregate")
    for source, report in reports:
        validate_report(source, report)
    names = _unique_names([(_base_name(source, report), source) for source, report in reports])
    warnings: list[str] = []

    spec_versions = sorted({report["specVersion"] for _, report in reports})
    if len(spec_versions) > 1:
        warnings.append(
            "the reports test different spec versions ("
            + ", ".join(spec_versions)
            + "): a requirement may not mean the same in each"
        )

    requirements: dict[str, dict[str, Any]] = {}
    first_source: dict[str, str] = {}
    for name, (source, report) in zip(names, reports, strict=True):
        for entry in report["requirements"]:
            known = requirements.get(entry["id"])
            if known is None:
                requirements[entry["id"]] = {
                    "id": entry["id"],
                    "profile": entry["profile"],
                    "level": entry["level"],
                    "statement": entry["statement"],
                    "statuses": {},
                }
                first_source[entry["id"]] = source
            elif (known["level"], known["statement"]) != (entry["level"], entry["statement"]):
                warnings.append(
                    f"{entry['id']} reads differently in {first_source[entry['id']]} and "
                    f"{source}; the matrix shows the first"
                )
            requirements[entry["id"]]["statuses"][name] = entry["status"]

    rows = sorted(requirements.values(), key=lambda row: (_profile_rank(row["profile"]), row["id"]))
    for row in rows:
        row["statuses"] = {name: row["statuses"].get(name, NOT_REPORTED) for name in names}
        tally = Counter(row["statuses"].values())
        row["counts"] = {status: tally[status] for status in REQUIREMENT_STATUSES}

    profile_verdicts: dict[str, dict[str, str]] = {}
    for name, (_, report) in zip(names, reports, strict=True):
        for entry in report["profiles"]:
            profile_verdicts.setdefault(entry["profile"], {})[name] = entry["verdict"]
    profiles = []
    for profile in sorted(profile_verdicts, key=lambda profile: (_profile_rank(profile), profile)):
        verdicts = {name: profile_verdicts[profile].get(name, NOT_REPORTED) for name in names}
        tally = Counter(verdicts.values())
        profiles.append(
            {
                "profile": profile,
                "verdicts": verdicts,
                "counts": {verdict: tally[verdict] for verdict in PROFILE_VERDICTS},
            }
        )

    implementations = [
        _implementation(name, source, report, trusted)
        for name, (source, report) in zip(names, reports, strict=True)
    ]
    for item in implementations:
        if item["certification"] != "certified":
            warnings.append(
                f"{item['name']} ({item['source']}) is not certified: {', '.join(item['flags'])}"
            )
    conformant = sum(1 for item in implementations if item["verdict"] == "conformant")
    certified = sum(1 for item in implementations if item["certification"] == "certified")
    return {
        "matrixVersion": MATRIX_VERSION,
        "specVersions": spec_versions,
        "implementations": implementations,
        "profiles": profiles,
        "requirements": rows,
        "summary": {
            "implementations": len(implementations),
            "certified": certified,
            "certifiedConformant": sum(
                1
                for item in implementations
                if item["certification"] == "certified" and item["verdict"] == "conformant"
            ),
            "conformant": conformant,
            "notConformant": len(implementations) - conformant,
            "requirements": len(rows),
            "requirementsPassedByAll": sum(
                1 for row in rows if row["counts"]["passed"] == len(implementations)
            ),
            "requirementsFailedBySome": sum(1 for row in rows if row["counts"]["failed"] > 0),
        },
        "warnings": warnings,
    }


def render_matrix_html(matrix: Mapping[str, Any]) -> str:
    """The matrix as one static HTML page that loads nothing from the network."""
    return render_template("matrix.html.j2", matrix=matrix)
