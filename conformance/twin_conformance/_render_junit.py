r"""JUnit XML of a conformance report, in the shape Jenkins and GitLab read.

One ``<testsuite>`` per profile; each check a ``<testcase>`` whose ``<failure>`` message starts
with the requirement it broke and whose body holds the evidence and the command that
reproduces it (a known failure of the baseline is still a failure: the baseline changes the
gate, not the outcome). A check that broke is an ``<error>``; checks that did not run
(blocked by another check's failure, skipped, not run, not selected, profile not claimed or
not requested) are ``<skipped>`` with the reason. Text a target sent may hold
characters XML 1.0 forbids; they are spelled out as ``\xNN`` so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

# Everything outside XML 1.0's Char production (tab, newline and carriage return are allowed).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_SKIP_REASONS: dict[str, str] = {
    "skipped": "skipped",
    "not-applicable": "not applicable to this node",
    "blocked": "blocked",
    "not-run": "not run: the run stopped before it",
    "not-selected": "not selected: the run was narrowed",
    "not-claimed": "not claimed: the target does not claim this profile",
    "not-requested": "not requested: the run was not asked to test this profile",
}


def xml_text(value: object) -> str:
    r"""``value`` as text XML 1.0 can hold: forbidden characters become ``\xNN``/``\uNNNN``."""
    text = "" if value is None else str(value)
    return _NOT_XML.sub(_spell_out, text)


def _spell_out(match: re.Match[str]) -> str:
    r"""``\xNN`` for a byte-sized code point, ``\uNNNN`` otherwise."""
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _element(parent: ET.Element, tag: str, **attributes: object) -> ET.Element:
    """A child element whose attribute values are made XML-safe."""
    return ET.SubElement(parent, tag, {key: xml_text(value) for key, value in attributes.items()})


def _class_and_name(test: Mapping[str, Any]) -> tuple[str, str]:
    """JUnit's classname (the module, dotted, and any class) and name (the rest of the node ID)."""
    node_id = str(test["id"])
    if "::" not in node_id:
        return "twin_conformance", str(test.get("name") or node_id)
    path, *rest = node_id.split("::")
    module = path.removesuffix(".py").replace("/", ".").replace("\\", ".")
    return ".".join([module, *rest[:-1]]), rest[-1]


def _exchange_text(index: int, exchange: Mapping[str, Any]) -> list[str]:
    """One HTTP exchange of the evidence as plain text lines."""
    request = exchange["request"]
    lines = [
        f"--- exchange {index} ({exchange.get('elapsedSeconds', 0)} s)",
        f"> {request['method']} {request['url']}",
    ]
    lines.extend(f"> {name}: {value}" for name, value in sorted(request["headers"].items()))
    if request["body"] is not None:
        lines.extend([">", str(request["body"])])
    response = exchange["response"]
    if response is None:
        lines.append(f"< no response: {exchange.get('error') or 'unknown error'}")
        return lines
    lines.append(f"< {response['status']}")
    lines.extend(f"< {name}: {value}" for name, value in sorted(response["headers"].items()))
    if response["body"] is not None:
        lines.extend(["<", str(response["body"])])
    if exchange.get("error"):
        lines.append(f"! {exchange['error']}")
    return lines


def _failure_body(test: Mapping[str, Any]) -> str:
    """The body of a ``<failure>``: message, requirements, evidence, and the reproduce command."""
    lines = [str(test.get("message") or "")]
    lines.append("requirements checked: " + (", ".join(test["requirements"]) or "none"))
    for index, exchange in enumerate(test["evidence"], start=1):
        lines.extend(_exchange_text(index, exchange))
    if test.get("reproduce"):
        lines.extend(["", "reproduce:", str(test["reproduce"])])
    return "\n".join(lines) + "\n"


def _failure_message(test: Mapping[str, Any]) -> str:
    """``REQUIREMENT: message`` (marked when the baseline lists it as a known failure)."""
    message = str(test.get("message") or "")
    if test.get("baseline") == "known-failure":
        message = f"known failure (listed in the baseline): {message}"
    requirement = test.get("failedRequirement")
    return f"{requirement}: {message}" if requirement else message or "failed"


def _testcase(suite: ET.Element, test: Mapping[str, Any]) -> None:
    """Add one test as a ``<testcase>`` with its requirement properties and outcome."""
    classname, name = _class_and_name(test)
    duration = float(test.get("durationSeconds") or 0.0)
    case = _element(
        suite,
        "testcase",
        classname=classname,
        name=name,
        time=f"{duration:.3f}",
        file=str(test["id"]).split("::", 1)[0],
    )
    properties = _element(case, "properties")
    for requirement in test["requirements"]:
        _element(properties, "property", name="requirement", value=requirement)
    if test.get("failedRequirement"):
        _element(properties, "property", name="failedRequirement", value=test["failedRequirement"])
    _element(properties, "property", name="outcome", value=test["outcome"])
    if test.get("blockedBy"):
        _element(properties, "property", name="blockedBy", value=test["blockedBy"])
    outcome = test["outcome"]
    if outcome == "failed":
        failure = _element(
            case,
            "failure",
            message=_failure_message(test),
            type=test.get("failedRequirement") or outcome,
        )
        failure.text = xml_text(_failure_body(test))
    elif outcome == "error":
        error = _element(case, "error", message=str(test.get("message") or "error"), type="error")
        error.text = xml_text(_failure_body(test))
    elif outcome in _SKIP_REASONS:
        reason = _SKIP_REASONS[outcome]
        message = str(test.get("message") or "")
        if outcome == "blocked" and message:
            reason = message
        elif outcome == "not-run" and message.startswith("not run: "):
            # Why it did not run: the run stopped, or the target throttled the harness.
            reason = message
        elif message and not message.startswith(reason):
            reason = f"{reason}: {message}"
        _element(case, "skipped", message=reason)


def _counts(tests: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The tests/failures/errors/skipped/time attributes of a suite."""
    failures = sum(1 for test in tests if test["outcome"] == "failed")
    errors = sum(1 for test in tests if test["outcome"] == "error")
    skipped = sum(1 for test in tests if test["outcome"] in _SKIP_REASONS)
    seconds = sum(float(test.get("durationSeconds") or 0.0) for test in tests)
    return {
        "tests": str(len(tests)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(skipped),
        "time": f"{seconds:.3f}",
    }


def render_junit(report: Mapping[str, Any]) -> str:
    """The report as JUnit XML text (UTF-8 declared), one ``<testsuite>`` per profile."""
    tests = list(report["tests"])
    profiles = [str(entry["profile"]) for entry in report["profiles"]]
    profiles += sorted({str(test["profile"]) for test in tests} - set(profiles))
    by_profile = {entry["profile"]: entry for entry in report["profiles"]}
    root = ET.Element("testsuites", name=xml_text(report["suite"]["name"]))
    root.attrib.update(_counts(tests))
    for profile in profiles:
        members = [test for test in tests if test["profile"] == profile]
        suite = _element(
            root,
            "testsuite",
            name=profile,
            timestamp=report["run"]["startedAt"],
            hostname=report["target"]["url"],
        )
        suite.attrib.update(_counts(members))
        properties = _element(suite, "properties")
        entry = by_profile.get(profile)
        facts: list[tuple[str, object]] = [
            ("verdict", entry["verdict"] if entry else "not-reported"),
            ("claimed", str(bool(entry and entry["claimed"])).lower()),
            ("requested", str(bool(entry and entry["requested"])).lower()),
            ("target", report["target"]["url"]),
            ("seed", report["run"]["seed"]),
            ("specVersion", report["specVersion"]),
            ("suiteVersion", report["suite"]["version"]),
            ("runVerdict", report["verdict"]),
            ("exitCode", report["gate"]["exitCode"]),
            ("complete", str(report["run"]["complete"]).lower()),
        ]
        for name, value in facts:
            _element(properties, "property", name=name, value=value)
        for test in members:
            _testcase(suite, test)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
