"""Rendering a report: its schema, the static HTML page, JUnit XML and the console summary."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import jsonschema
import pytest
from rich.console import Console

from tests.support import SCHEMAS_DIR, read_json, schema_validator
from twin_conformance._console import print_summary
from twin_conformance._registry import Requirement
from twin_conformance._render_html import render_html
from twin_conformance._render_junit import render_junit
from twin_conformance._results import Selection, build_report, verdict_line
from twin_conformance._results import TestRecord as Record  # not Test*: pytest would collect it

__all__ = ["HOSTILE", "REGISTRY", "Record", "assert_loads_nothing", "make_report", "parse_page"]

HOSTILE = '</pre></script><img src=http://x.invalid/a onerror=alert(1)><!-- "quoted" & <b>'
CONTROLS = "nul\x00 bell\x07 esc\x1b[31m del\x7f c1\x85 rlo\u202e end"

CORE_040 = "TWIN-CORE-040"
CORE_050 = "TWIN-CORE-050"
ID_001 = "TWIN-IDENTITY-001"


def _exchange(body: str | None, status: int | None = 400) -> dict[str, Any]:
    """One piece of evidence: a GET and its response (or no response when status is None)."""
    return {
        "request": {
            "method": "GET",
            "url": "http://127.0.0.1:9/identity/did:x",
            "headers": {"accept": "application/json", "authorization": "Bearer …"},
            "body": None,
        },
        "response": None
        if status is None
        else {"status": status, "headers": {"content-type": "text/html"}, "body": body},
        "error": "timeout" if status is None else None,
        "elapsedSeconds": 0.002,
    }


REGISTRY = {
    requirement.id: requirement
    for requirement in (
        Requirement(CORE_040, "core", "MUST",
                    "Every 4xx and 5xx body MUST be a TWIN error object."),
        Requirement(CORE_050, "core", "MUST",
                    "GET /info MUST name the node and the profiles it claims."),
        Requirement("TWIN-CORE-060", "core", "SHOULD", "A node SHOULD limit request bodies."),
        Requirement("TWIN-CORE-002", "core", "MUST", "A canonicaliser MUST refuse NaN.",
                    unobservable="about in-memory values no request carries"),
        Requirement(ID_001, "identity", "MUST", "A node MUST resolve the DIDs it creates."),
        Requirement("TWIN-ANCHORING-001", "anchoring", "MUST", "A node MUST anchor proofs."),
        Requirement("TWIN-CONSENSUS-001", "consensus", "MUST", "A committee MUST list validators."),
    )
}  # fmt: skip
FAILED_ID = "test_core.py::test_error_shape[bad-did]"
REPRODUCE = "twin-conformance run --target http://127.0.0.1:9 --seed 3 --select '{}'"


def make_records() -> list[Record]:
    """Checks of every outcome: core fails, identity passes, anchoring is not claimed."""
    return [
        Record(FAILED_ID, "test_error_shape[bad-did]", "core", [CORE_040], outcome="failed",
               failed_requirement=CORE_040, duration=0.25,
               message="GET /identity/did:x answered a body without name",
               evidence=[_exchange('{"message": "bad did"}')],
               reproduce=REPRODUCE.format(FAILED_ID)),
        Record("test_core.py::test_info", "test_info", "core", [CORE_050], outcome="passed"),
        Record("test_core.py::test_limits", "test_limits", "core", ["TWIN-CORE-060"],
               outcome="skipped", message="the target sets no body limit to test"),
        Record("test_core.py::test_old_bug", "test_old_bug", "core", [CORE_050],
               outcome="failed", failed_requirement=CORE_050,
               message="known: info lacks nodeIdentity",
               reproduce=REPRODUCE.format("test_core.py::test_old_bug")),
        Record("test_core.py::test_after_login", "test_after_login", "core", [CORE_050],
               outcome="blocked", blocked_by=FAILED_ID,
               message=f"blocked by {FAILED_ID}: the same contract violation"),
        Record("test_core.py::test_broken_check", "test_broken_check", "core", [CORE_050],
               outcome="error", message="the check raised KeyError: 'x'"),
        Record("test_identity.py::test_resolve", "test_resolve", "identity", [ID_001],
               outcome="passed"),
        Record("test_anchoring.py::test_anchor", "test_anchor", "anchoring",
               ["TWIN-ANCHORING-001"], outcome="not-claimed",
               message="not claimed: the target does not claim anchoring"),
        Record("test_consensus.py::test_committee", "test_committee", "consensus",
               ["TWIN-CONSENSUS-001"], outcome="not-requested",
               message="not requested: profile consensus was not asked for"),
    ]  # fmt: skip


def make_report(**overrides: Any) -> dict[str, Any]:
    """A valid report.json, built by the harness's own code, in which every outcome appears.

    Core fails (one failure known to the baseline), identity passes, anchoring is not
    claimed, consensus not requested. ``overrides`` replace top-level members.
    """
    report = build_report(
        records=make_records(),
        registry=REGISTRY,
        claimed={"core", "identity"},
        requested={"core", "identity", "anchoring"},
        fail_on="must",
        selection=Selection(),
        stopped=None,
        baseline={"test_core.py::test_old_bug"},
        deviations=[
            {"id": "content-encoding:gzip", "check": "test_core.py::test_info",
             "requirement": None, "message": "the target compresses responses (gzip)"}
        ],
        suite_version="0.1.0",
        spec_version="0.1.0",
        vectors={
            "manifestSha256": "ab" * 32,
            "publisher": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "verified": True,
            "files": 12,
        },
        target={
            "url": "http://127.0.0.1:9",
            "embedded": False,
            "name": "Vendor Node 4.2.1",
            "info": {
                "name": "Vendor Node",
                "version": "4.2.1",
                "specVersion": "0.1.0",
                "profiles": ["core", "identity"],
            },
        },
        run={
            "seed": 3,
            "startedAt": "2026-11-21T07:00:00Z",
            "finishedAt": "2026-11-21T07:00:05Z",
            "durationSeconds": 5.0,
            "profiles": ["core", "identity", "anchoring"],
            "fuzzExamples": 10,
            "command": "twin-conformance run --target http://127.0.0.1:9 --seed 3",
            "baseline": "baseline.txt",
        },
    )  # fmt: skip
    report.update(overrides)
    return report


def hostile_report() -> dict[str, Any]:
    """A report where everything a target can influence is hostile or control-laden text."""
    report = make_report()
    report["target"]["info"]["name"] = HOSTILE
    report["target"]["name"] = HOSTILE
    failed = report["tests"][0]
    failed["message"] = HOSTILE + " " + CONTROLS
    failed["evidence"] = [
        _exchange(HOSTILE + "\n" + CONTROLS + "\n\ud800 lone surrogate"),
        _exchange(None, status=None),
    ]
    failed["evidence"][0]["response"]["headers"]["x-evil"] = HOSTILE
    report["tests"][2]["message"] = HOSTILE
    return report


# -- a small DOM for the HTML checks ----------------------------------------------------------


@dataclass
class Element:
    """One element of a parsed page: its text and child elements in document order."""

    tag: str
    attributes: dict[str, str]
    content: list[Element | str] = field(default_factory=list)

    @property
    def children(self) -> list[Element]:
        """The child elements."""
        return [item for item in self.content if isinstance(item, Element)]

    def text(self) -> str:
        """The text content, whitespace kept."""
        return "".join(item if isinstance(item, str) else item.text() for item in self.content)

    def words(self) -> str:
        """The text content, whitespace collapsed."""
        return " ".join(self.text().split())

    def iter(self) -> list[Element]:
        """The element itself and all below it, in document order."""
        found = [self]
        for child in self.children:
            found.extend(child.iter())
        return found

    def find_all(self, tag: str | None = None, **attributes: str) -> list[Element]:
        """Descendants with this tag (any if None) whose attributes include these."""
        wanted = {name.replace("_", "-"): value for name, value in attributes.items()}
        return [
            node
            for node in self.iter()[1:]
            if (tag is None or node.tag == tag)
            and all(node.attributes.get(name) == value for name, value in wanted.items())
        ]

    def by_id(self, element_id: str) -> Element:
        """The one element with this id."""
        (found,) = self.find_all(id=element_id)
        return found

    def classes(self) -> set[str]:
        """The element's classes."""
        return set(self.attributes.get("class", "").split())


_VOID = {"meta", "link", "br", "hr", "img", "input", "source", "wbr", "col", "area", "base"}


class _Builder(HTMLParser):
    """html.parser into :class:`Element` trees; the text of <style>/<script> is kept apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]
        self.raw: dict[str, list[str]] = {"style": [], "script": []}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].content.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack[-1].tag in self.raw:
            self.raw[self.stack[-1].tag].append(data)
        else:
            self.stack[-1].content.append(data)


def parse_page(page: str) -> tuple[Element, dict[str, list[str]]]:
    """Parse a page, checking every element is closed; return its tree and raw style/script."""
    builder = _Builder()
    builder.feed(page)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root, builder.raw


def assert_loads_nothing(page: str) -> None:
    """No element names a resource to load, and the CSP allows only the inline assets."""
    root, raw = parse_page(page)
    for element in root.iter()[1:]:
        assert element.tag not in {"img", "iframe", "object", "embed", "link", "base", "video"}
        for name, value in element.attributes.items():
            assert name not in {"src", "srcset", "style", "action", "background", "poster"}
            assert not name.startswith("on"), f"event handler {name}"
            if name == "href":
                assert value.startswith("#"), f"a link to {value!r}"
            assert "://" not in value or name.startswith("data-"), f"{name}={value!r}"
    assert not re.search(r"url\s*\(|@import", "".join(raw["style"]))
    (policy,) = [
        meta.attributes["content"]
        for meta in root.find_all("meta", http_equiv="Content-Security-Policy")
    ]
    assert "default-src 'none'" in policy
    for kind in ("style", "script"):
        (content,) = raw[kind]
        digest = base64.b64encode(hashlib.sha256(content.encode()).digest()).decode()
        assert f"{kind}-src 'sha256-{digest}'" in policy
    assert len(root.find_all("script")) == 1
    assert len(root.find_all("style")) == 1


# -- the schema --------------------------------------------------------------------------------


def test_the_sample_reports_are_valid() -> None:
    validator = schema_validator("conformance-report.schema.json")
    validator.validate(make_report())
    validator.validate(hostile_report())
    validator.validate(
        make_report(vectors=None, target={"url": "x", "embedded": True, "name": None, "info": None})
    )


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("reportVersion",), "1"),
        (("verdict",), "mostly-conformant"),
        (("profiles", 0, "verdict"), "failed"),
        (("profiles", 0, "profile"), "full"),
        (("requirements", 0, "status"), "skipped"),
        (("requirements", 0, "level"), "MUST NOT"),
        (("requirements", 0, "id"), "TWIN-CORE-40"),
        (("tests", 0, "outcome"), "expected-failure"),
        (("gate", "exitCode"), 3),
        (("run", "complete"), "yes"),
        (("verdict",), "partly"),
        (("tests", 0, "failedRequirement"), "CORE-040"),
        (("tests", 0, "evidence", 0, "response", "status"), "400"),
        (("tests", 0, "evidence", 0, "request", "body"), "x" * 9000),
        (("run", "failOn"), "may"),
        (("vectors", "manifestSha256"), "AB" * 32),
        (("summary", "failed"), -1),
        (("tests", 0, "extra"), 1),
    ],
)
def test_the_schema_rejects_a_broken_report(path: tuple[str | int, ...], value: Any) -> None:
    report = make_report()
    node: Any = report
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        schema_validator("conformance-report.schema.json").validate(report)


def test_a_report_built_by_the_harness_is_valid_and_renders() -> None:
    """The contract between the harness's report builder and the schema and renderers."""
    registry = {
        CORE_040: Requirement(CORE_040, "core", "MUST", "Every error body is a TWIN error."),
        ID_001: Requirement(ID_001, "identity", "MUST", "A node resolves its DIDs."),
        "TWIN-ANCHORING-001": Requirement("TWIN-ANCHORING-001", "anchoring", "MUST", "Anchor."),
    }
    records = [
        Record("test_core.py::test_a", "test_a", "core", [CORE_040], outcome="passed"),
        Record(
            "test_core.py::test_b",
            "test_b",
            "core",
            [CORE_040],
            outcome="failed",
            failed_requirement=CORE_040,
            message=HOSTILE,
            evidence=[_exchange(HOSTILE)],
            reproduce="twin-conformance run --select 'test_core.py::test_b'",
        ),
        Record("test_identity.py::test_c", "test_c", "identity", [ID_001], outcome="passed"),
        Record(
            "test_anchoring.py::test_d",
            "test_d",
            "anchoring",
            ["TWIN-ANCHORING-001"],
            outcome="not-claimed",
        ),
    ]
    run = {
        key: value
        for key, value in make_report()["run"].items()
        if key not in ("failOn", "selection", "complete", "stopped")
    }
    report = build_report(
        records=records,
        registry=registry,
        claimed={"core", "identity"},
        requested={"core", "identity", "anchoring"},
        fail_on="must",
        selection=Selection(),
        stopped=None,
        baseline=None,
        deviations=[],
        suite_version="0.1.0",
        spec_version="0.1.0",
        vectors=None,
        target={"url": "http://127.0.0.1:9", "embedded": True, "name": None, "info": None},
        run=run,
    )
    schema_validator("conformance-report.schema.json").validate(report)
    root, _ = parse_page(render_html(report))
    assert root.by_id("overall-verdict").attributes["data-verdict"] == "not-conformant"
    assert _junit(report).find("testsuite") is not None
    assert "FAILED TWIN-CORE-040 test_core.py::test_b" in _console_text(report)


def test_every_example_of_the_report_schemas_validates() -> None:
    for name in ("conformance-report.schema.json", "conformance-matrix.schema.json"):
        examples = read_json(SCHEMAS_DIR / name)["examples"]
        assert len(examples) >= 1
        for example in examples:
            schema_validator(name).validate(example)


# -- HTML --------------------------------------------------------------------------------------


def test_the_page_leads_with_the_overall_verdict() -> None:
    root, _ = parse_page(render_html(make_report()))
    verdict = root.by_id("overall-verdict")
    assert verdict.attributes["data-verdict"] == "not-conformant"
    assert "NOT CONFORMANT" in verdict.words()
    assert "core: not conformant" in verdict.words()
    # The verdict comes before every table.
    order = [element.attributes.get("id") for element in root.iter()]
    assert order.index("overall-verdict") < order.index("profile-table")
    title = root.find_all("title")[0].words()
    assert "Vendor Node 4.2.1" in title
    assert "not conformant" in title


def test_the_page_shows_a_verdict_per_profile() -> None:
    root, _ = parse_page(render_html(make_report()))
    rows = root.by_id("profile-table").find_all("tr", data_profile="core")
    assert len(rows) == 1
    cells = [cell.words() for cell in rows[0].children]
    assert cells[:4] == ["core", "yes", "yes", "✘ not conformant"]
    assert cells[4:8] == ["1", "2", "1", "1"]
    assert "check(s) failed" in cells[8]
    shown = {
        row.attributes["data-profile"]: row.attributes["data-verdict"]
        for row in root.by_id("profile-table").find_all("tr")
        if "data-profile" in row.attributes
    }
    assert shown == {
        "core": "not-conformant",
        "identity": "conformant",
        "anchoring": "not-claimed",
        "consensus": "not-requested",
        "documents": "not-requested",
    }


def test_the_summary_counts_every_outcome() -> None:
    root, _ = parse_page(render_html(make_report()))
    counts = {
        item.attributes["data-count"]: item.find_all("span", **{"class": "n"})[0].words()
        for item in root.by_id("summary").find_all("li")
    }
    assert counts == {
        "passed": "2",
        "failed": "2",
        "blocked": "1",
        "error": "1",
        "skipped": "1",
        "notRun": "0",
        "notSelected": "0",
        "notClaimed": "1",
        "notRequested": "1",
        "knownFailures": "1",
    }
    (deviation,) = root.by_id("deviations").find_all("li")
    assert "compresses responses" in deviation.words()


def test_the_requirements_table_lists_id_level_profile_status_statement_and_tests() -> None:
    root, _ = parse_page(render_html(make_report()))
    table = root.by_id("requirement-table")
    row = root.by_id(f"req-{CORE_040}")
    assert row in table.iter()
    assert row.attributes["data-status"] == "failed"
    cells = [cell.words() for cell in row.children]
    assert cells[:5] == [
        CORE_040,
        "MUST",
        "core",
        "✘ failed",
        "Every 4xx and 5xx body MUST be a TWIN error object.",
    ]
    assert "test_core.py::test_error_shape[bad-did]" in cells[5]
    # The failing test links to its failure; the untested requirement says so.
    (link,) = row.find_all("a")
    assert root.find_all(id=link.attributes["href"][1:])[0].tag == "article"
    assert "test_core.py::test_limits" in root.by_id("req-TWIN-CORE-060").words()
    shown = [row.attributes.get("data-status") for row in table.find_all("tr")[1:]]
    assert shown == [entry["status"] for entry in make_report()["requirements"]]


def test_each_failure_names_the_requirement_message_evidence_and_reproduction() -> None:
    report = make_report()
    root, _ = parse_page(render_html(report))
    failures = root.by_id("failures").find_all("article")
    assert [article.attributes["data-outcome"] for article in failures] == [
        "failed",
        "failed",
        "error",
    ]
    failure = failures[0]
    words = failure.words()
    assert f"{CORE_040} (MUST): Every 4xx and 5xx body MUST be a TWIN error object." in words
    (message,) = failure.find_all("pre", **{"class": "message"})
    assert message.text() == "GET /identity/did:x answered a body without name"
    assert "GET http://127.0.0.1:9/identity/did:x" in words
    (body,) = failure.find_all("pre", **{"class": "response-body"})
    assert body.text() == '{"message": "bad did"}'
    (headers,) = failure.find_all("pre", **{"class": "request-headers"})
    assert "authorization: Bearer …" in headers.text()
    (reproduce,) = failure.find_all("pre", **{"class": "reproduce"})
    assert reproduce.text() == report["tests"][0]["reproduce"]
    assert "no requirement" not in words


def test_every_status_is_shown_in_words_not_only_in_colour() -> None:
    root, _ = parse_page(render_html(make_report()))
    badges = [element for element in root.iter() if "badge" in element.classes()]
    assert badges
    for badge in badges:
        (status_class,) = [name for name in badge.classes() if name.startswith("st-")]
        words = status_class.removeprefix("st-").replace("-", " ")
        assert badge.words().endswith(words), badge.words()


def test_the_page_loads_nothing_and_is_complete_without_scripts() -> None:
    page = render_html(make_report())
    assert_loads_nothing(page)
    root, _ = parse_page(page)
    # Everything is in the markup itself: no element waits for a script to fill it.
    for section in ("overall-verdict", "summary", "profiles", "failures", "requirements", "tests"):
        assert root.by_id(section).words()
    assert len(root.by_id("test-table").find_all("tr")) == 1 + len(make_report()["tests"])


def test_hostile_text_is_escaped_and_inert() -> None:
    page = render_html(hostile_report())
    assert_loads_nothing(page)
    assert HOSTILE not in page  # never raw
    root, _ = parse_page(page)
    assert not root.find_all("img")
    assert not root.find_all("b")
    failure = root.by_id("failures").find_all("article")[0]
    (body,) = failure.find_all("pre", **{"class": "response-body"})[:1]
    text = body.text()
    assert text.startswith(HOSTILE + "\n")
    assert "nul\\x00 bell\\x07 esc\\x1b[31m del\\x7f c1\\x85 rlo\\u202e end" in text
    assert "\\ud800 lone surrogate" in text
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", page)
    headers = failure.find_all("pre", **{"class": "response-headers"})[0].text()
    assert f"x-evil: {HOSTILE}" in headers
    assert HOSTILE in root.find_all("title")[0].text()
    assert "No response: timeout" in failure.words()


def test_very_long_text_renders() -> None:
    report = make_report()
    report["tests"][0]["message"] = "A" * 200_000
    report["tests"][0]["id"] = "test_core.py::test_" + "x" * 5_000
    root, _ = parse_page(render_html(report))
    message = root.by_id("failures").find_all("pre", **{"class": "message"})[0]
    assert len(message.text()) == 200_000


def test_a_conformant_run_without_vectors_or_info_renders() -> None:
    report = make_report(
        verdict="conformant",
        vectors=None,
        target={"url": "http://127.0.0.1:9", "embedded": True, "name": None, "info": None},
    )
    report["tests"] = [test for test in report["tests"] if test["outcome"] == "passed"]
    root, _ = parse_page(render_html(report))
    assert root.by_id("overall-verdict").attributes["data-verdict"] == "conformant"
    assert "No test failed." in root.by_id("failures").words()
    run = root.by_id("run").words()
    assert "none replayed" in run
    assert "unknown (no readable GET /info)" in run
    assert "embedded reference node" in run


# -- JUnit XML ---------------------------------------------------------------------------------


def _junit(report: dict[str, Any]) -> ET.Element:
    """Render and parse the report's JUnit XML (our own output, so the stdlib parser is fine)."""
    return ET.fromstring(render_junit(report).encode("utf-8"))  # noqa: S314


def _cases(root: ET.Element) -> dict[str, ET.Element]:
    return {f"{case.get('classname')}::{case.get('name')}": case for case in root.iter("testcase")}


def test_junit_has_one_suite_per_profile_with_counts() -> None:
    root = _junit(make_report())
    assert root.tag == "testsuites"
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert list(suites) == ["core", "identity", "anchoring", "consensus", "documents"]
    core = suites["core"]
    assert (core.get("tests"), core.get("failures"), core.get("skipped")) == ("6", "2", "2")
    assert core.get("errors") == "1"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("9", "2", "4")
    properties = {p.get("name"): p.get("value") for p in core.find("properties") or []}
    assert properties["verdict"] == "not-conformant"
    assert properties["claimed"] == "true"
    assert properties["seed"] == "3"


def test_junit_testcases_name_module_test_time_and_requirements() -> None:
    cases = _cases(_junit(make_report()))
    case = cases["test_core::test_error_shape[bad-did]"]
    assert case.get("time") == "0.250"
    assert case.get("file") == "test_core.py"
    requirements = [p.get("value") for p in case.iter("property") if p.get("name") == "requirement"]
    assert requirements == [CORE_040]
    assert "test_identity::test_resolve" in cases


def test_junit_failures_carry_requirement_message_evidence_and_reproduction() -> None:
    report = make_report()
    cases = _cases(_junit(report))
    failure = cases["test_core::test_error_shape[bad-did]"].find("failure")
    assert failure is not None
    assert failure.get("message") == f"{CORE_040}: GET /identity/did:x answered a body without name"
    body = failure.text or ""
    assert "> GET http://127.0.0.1:9/identity/did:x" in body
    assert '< 400\n< content-type: text/html\n<\n{"message": "bad did"}' in body
    assert body.rstrip().endswith(report["tests"][0]["reproduce"])
    known = cases["test_core::test_old_bug"].find("failure")
    assert known is not None
    assert "known failure (listed in the baseline)" in (known.get("message") or "")
    error = cases["test_core::test_broken_check"].find("error")
    assert error is not None
    assert cases["test_core::test_info"].find("failure") is None
    assert cases["test_core::test_info"].find("skipped") is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("test_core::test_limits", "skipped: the target sets no body limit to test"),
        ("test_anchoring::test_anchor", "not claimed"),
        ("test_consensus::test_committee", "not requested"),
        ("test_core::test_after_login", "blocked by test_core.py::test_error_shape"),
    ],
)
def test_junit_marks_tests_that_did_not_run_as_skipped_saying_why(name: str, reason: str) -> None:
    case = _cases(_junit(make_report()))[name]
    skipped = case.find("skipped")
    assert skipped is not None
    assert (skipped.get("message") or "").startswith(reason)
    assert case.find("failure") is None


def test_junit_stays_well_formed_with_control_characters_and_markup() -> None:
    report = hostile_report()
    report["tests"][0]["id"] = "test_core.py::test_\x01odd<name>"
    root = _junit(report)
    case = next(case for case in root.iter("testcase") if case.find("failure") is not None)
    assert case.get("name") == "test_\\x01odd<name>"
    failure = case.find("failure")
    assert failure is not None
    assert HOSTILE in (failure.get("message") or "")
    assert "nul\\x00 bell\\x07 esc\\x1b[31m" in (failure.text or "")
    assert "\\ud800 lone surrogate" in (failure.text or "")
    assert f"< x-evil: {HOSTILE}" in (failure.text or "")


# -- console -----------------------------------------------------------------------------------


def _console_text(report: dict[str, Any], width: int = 120) -> str:
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    print_summary(report, console)
    return console.export_text()


def test_the_console_shows_a_table_of_profiles() -> None:
    text = _console_text(make_report())
    rows = {
        line.split()[0]: line
        for line in text.splitlines()
        if line.strip() and line.split()[0] in ("core", "identity", "anchoring", "consensus")
    }
    assert set(rows) == {"core", "identity", "anchoring", "consensus"}
    assert rows["core"].split() == ["core", "not", "conformant", "1", "2", "1", "1", "1"]
    assert rows["anchoring"].split()[:3] == ["anchoring", "not", "claimed"]


def test_the_console_gives_each_failure_one_line_then_the_verdict() -> None:
    report = make_report()
    lines = _console_text(report, width=400).splitlines()
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    assert len(failed) == 3
    by_id = {next(w for w in line.split() if "::" in w).rstrip(":"): line for line in failed}
    first = by_id["test_core.py::test_error_shape[bad-did]"]
    assert first.startswith(f"FAILED {CORE_040} test_core.py::test_error_shape[bad-did]")
    assert first.endswith("reproduce: " + REPRODUCE.format(FAILED_ID))
    assert by_id["test_core.py::test_old_bug"].startswith("FAILED (known) TWIN-CORE-050")
    assert by_id["test_core.py::test_broken_check"].startswith("ERROR harness error")
    assert any("1 check(s) blocked" in line for line in lines)
    assert verdict_line(report).startswith("not conformant; gate failed with 1 known failure")


def test_the_console_prints_hostile_text_literally() -> None:
    report = hostile_report()
    report["tests"][0]["message"] = "[bold red]fake[/] \x1b[2J" + CONTROLS
    output = io.StringIO()
    console = Console(file=output, width=200, force_terminal=True, color_system="standard")
    print_summary(report, console)
    text = output.getvalue()
    assert "[bold red]fake[/] \\x1b[2J" in text
    assert "\x1b[2J" not in text
    assert "\x00" not in text
    assert "\u202e" not in text


def test_rendering_does_not_change_the_report() -> None:
    report = hostile_report()
    before = copy.deepcopy(report)
    render_html(report)
    render_junit(report)
    _console_text(report)
    assert json.dumps(report, sort_keys=True) == json.dumps(before, sort_keys=True)
