"""Aggregating vendors' reports into a requirement x implementation matrix (JSON and HTML)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.conformance.test_report_rendering import (
    HOSTILE,
    REGISTRY,
    Record,
    assert_loads_nothing,
    make_report,
    parse_page,
)
from tests.support import SCHEMAS_DIR, read_json, schema_validator
from twin_conformance._aggregate import AggregateError, aggregate, render_matrix_html
from twin_conformance._results import Selection, build_report

CORE_040 = "TWIN-CORE-040"


def reference_report() -> dict[str, Any]:
    """The reference node: every claimed profile conformant, every tested requirement passed."""
    records = [
        Record(f"test_{index}.py::test_{requirement.id}", f"test_{requirement.id}",
               requirement.profile, [requirement.id], outcome="passed")
        for index, requirement in enumerate(REGISTRY.values())
        if requirement.profile != "consensus" and requirement.unobservable is None
    ]  # fmt: skip
    sample = make_report()
    return build_report(
        records=records,
        registry=REGISTRY,
        claimed={"core", "identity", "anchoring"},
        requested={"core", "identity", "anchoring"},
        fail_on="must",
        selection=Selection(),
        stopped=None,
        baseline=None,
        deviations=[],
        suite_version="0.1.0",
        spec_version="0.1.0",
        vectors=sample["vectors"],
        target={
            "url": "http://127.0.0.1:8",
            "embedded": True,
            "name": "TWIN Reference Node 0.1.0",
            "info": {
                "name": "TWIN Reference Node",
                "version": "0.1.0",
                "specVersion": "0.1.0",
                "profiles": ["core", "identity", "anchoring"],
            },
        },
        run={**sample["run"], "baseline": None},
    )


def vendor_report() -> dict[str, Any]:
    """A vendor failing TWIN-CORE-040 (make_report as it is)."""
    return make_report()


def anonymous_report() -> dict[str, Any]:
    """A target that gave no /info, tested by another spec version, reporting fewer rows."""
    report = make_report(specVersion="0.2.0")
    report["target"]["info"] = None
    report["target"]["name"] = None
    report["requirements"] = [
        entry for entry in report["requirements"] if entry["id"] != "TWIN-CONSENSUS-001"
    ]
    report["profiles"] = [entry for entry in report["profiles"] if entry["profile"] != "consensus"]
    report["requirements"][0]["statement"] = "Reworded in 0.2.0: error bodies are TWIN errors."
    return report


@pytest.fixture
def matrix() -> dict[str, Any]:
    return aggregate(
        [
            ("reports/reference.json", reference_report()),
            ("reports/vendor.json", vendor_report()),
            ("reports/anonymous.json", anonymous_report()),
        ]
    )


REFERENCE = "TWIN Reference Node 0.1.0"
VENDOR = "Vendor Node 4.2.1"
ANONYMOUS = "reports/anonymous.json"


def test_the_matrix_is_valid_against_its_schema(matrix: dict[str, Any]) -> None:
    schema_validator("conformance-matrix.schema.json").validate(matrix)
    # The schema is self-contained: a reader can check a matrix with nothing but this file.
    schema = read_json(SCHEMAS_DIR / "conformance-matrix.schema.json")
    Draft202012Validator(schema).validate(matrix)


def test_implementations_are_named_by_info_or_by_source(matrix: dict[str, Any]) -> None:
    assert [item["name"] for item in matrix["implementations"]] == [REFERENCE, VENDOR, ANONYMOUS]
    reference, vendor, anonymous = matrix["implementations"]
    assert (reference["product"], reference["productVersion"]) == ("TWIN Reference Node", "0.1.0")
    assert reference["verdict"] == "conformant"
    assert vendor["verdict"] == "not-conformant"
    assert vendor["summary"]["failed"] == 2
    assert [item["certification"] for item in matrix["implementations"]] == ["unsigned"] * 3
    assert vendor["flags"] == ["unsigned", "baselined"]
    assert (anonymous["product"], anonymous["source"]) == (None, ANONYMOUS)
    assert anonymous["specVersion"] == "0.2.0"


def test_each_requirement_has_a_status_per_implementation(matrix: dict[str, Any]) -> None:
    rows = {row["id"]: row for row in matrix["requirements"]}
    assert rows[CORE_040]["statuses"] == {
        REFERENCE: "passed",
        VENDOR: "failed",
        ANONYMOUS: "failed",
    }
    assert rows["TWIN-CORE-002"]["statuses"][VENDOR] == "unobservable"
    assert rows[CORE_040]["counts"]["passed"] == 1
    assert rows[CORE_040]["counts"]["failed"] == 2
    assert rows[CORE_040]["level"] == "MUST"
    assert rows["TWIN-CONSENSUS-001"]["statuses"] == {
        REFERENCE: "not-requested",
        VENDOR: "not-requested",
        ANONYMOUS: "not-reported",
    }
    assert rows["TWIN-ANCHORING-001"]["statuses"][REFERENCE] == "passed"
    assert rows["TWIN-ANCHORING-001"]["statuses"][VENDOR] == "not-claimed"
    # Ordered by profile, then ID.
    assert [row["id"] for row in matrix["requirements"]] == [
        "TWIN-CORE-002",
        CORE_040,
        "TWIN-CORE-050",
        "TWIN-CORE-060",
        "TWIN-IDENTITY-001",
        "TWIN-ANCHORING-001",
        "TWIN-CONSENSUS-001",
    ]
    for row in matrix["requirements"]:
        assert sum(row["counts"].values()) == 3


def test_each_profile_has_a_verdict_per_implementation(matrix: dict[str, Any]) -> None:
    profiles = {row["profile"]: row for row in matrix["profiles"]}
    assert list(profiles) == ["core", "identity", "anchoring", "consensus", "documents"]
    assert profiles["core"]["verdicts"] == {
        REFERENCE: "conformant",
        VENDOR: "not-conformant",
        ANONYMOUS: "not-conformant",
    }
    assert profiles["anchoring"]["verdicts"][VENDOR] == "not-claimed"
    assert profiles["consensus"]["verdicts"][ANONYMOUS] == "not-reported"
    assert profiles["core"]["counts"] == {
        "conformant": 1,
        "not-conformant": 2,
        "incomplete": 0,
        "not-claimed": 0,
        "not-requested": 0,
        "not-reported": 0,
    }


def test_the_summary_counts_and_the_warnings(matrix: dict[str, Any]) -> None:
    assert matrix["summary"] == {
        "implementations": 3,
        "certified": 0,
        "certifiedConformant": 0,
        "conformant": 1,
        "notConformant": 2,
        "requirements": 7,
        "requirementsPassedByAll": 1,  # TWIN-IDENTITY-001
        "requirementsFailedBySome": 2,  # TWIN-CORE-040 and TWIN-CORE-050
    }
    assert any("is not certified: unsigned" in line for line in matrix["warnings"])
    assert matrix["specVersions"] == ["0.1.0", "0.2.0"]
    assert any("different spec versions (0.1.0, 0.2.0)" in line for line in matrix["warnings"])
    assert any(
        line.startswith(f"{CORE_040} reads differently in reports/reference.json")
        for line in matrix["warnings"]
    )


def test_clashing_names_are_made_distinct() -> None:
    matrix = aggregate(
        [
            ("a/report.json", vendor_report()),
            ("b/report.json", vendor_report()),
            ("b/report.json", vendor_report()),
        ]
    )
    schema_validator("conformance-matrix.schema.json").validate(matrix)
    assert [item["name"] for item in matrix["implementations"]] == [
        f"{VENDOR} (a/report.json)",
        f"{VENDOR} (b/report.json)",
        f"{VENDOR} (b/report.json) #2",
    ]
    for row in matrix["requirements"]:
        assert len(row["statuses"]) == 3


def test_aggregating_leaves_the_reports_unchanged() -> None:
    reports = [("a.json", vendor_report()), ("b.json", reference_report())]
    before = copy.deepcopy(reports)
    aggregate(reports)
    assert reports == before


def _broken(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    report = make_report()
    node: Any = report
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return report


@pytest.mark.parametrize(
    ("report", "where"),
    [
        (_broken(("verdict",), "maybe"), "$.verdict"),
        (_broken(("reportVersion",), "1"), "$.reportVersion"),
        (_broken(("profiles", 1, "verdict"), "failed"), "$.profiles[1].verdict"),
        (
            _broken(("tests", 0, "evidence", 0, "response", "status"), "400"),
            "$.tests[0].evidence[0].response",
        ),
        (_broken(("requirements", 1, "id"), CORE_040), "$.requirements[1].id"),
        ({k: v for k, v in make_report().items() if k != "summary"}, "$"),
        ([1, 2], "$"),
    ],
)
def test_a_bad_report_names_the_file_and_the_json_path(report: Any, where: str) -> None:
    with pytest.raises(AggregateError) as raised:
        aggregate([("good.json", make_report()), ("vendors/bad.json", report)])
    message = str(raised.value)
    assert message.startswith(f"vendors/bad.json: {where}")
    assert "good.json" not in message


def test_nothing_to_aggregate_is_an_error() -> None:
    with pytest.raises(AggregateError, match="no reports"):
        aggregate([])


def test_the_error_message_stays_short_for_huge_values() -> None:
    report = _broken(("verdict",), "x" * 100_000)
    with pytest.raises(AggregateError) as raised:
        aggregate([("big.json", report)])
    assert len(str(raised.value)) < 400


# -- the matrix page ---------------------------------------------------------------------------


def test_the_matrix_page_shows_every_implementation_and_status(matrix: dict[str, Any]) -> None:
    page = render_matrix_html(matrix)
    assert_loads_nothing(page)
    root, _ = parse_page(page)
    implementations = root.by_id("implementation-table").find_all("tr")[1:]
    assert [row.attributes["data-implementation"] for row in implementations] == [
        REFERENCE,
        VENDOR,
        ANONYMOUS,
    ]
    assert [row.attributes["data-verdict"] for row in implementations] == [
        "conformant",
        "not-conformant",
        "not-conformant",
    ]
    assert "✘ not conformant" in implementations[1].words()
    row = root.by_id(f"req-{CORE_040}")
    cells = {
        cell.attributes["data-implementation"]: cell.words()
        for cell in row.find_all("td")
        if "data-implementation" in cell.attributes
    }
    assert cells == {REFERENCE: "✔ passed", VENDOR: "✘ failed", ANONYMOUS: "✘ failed"}
    header = [cell.words() for cell in root.by_id("requirement-matrix").find_all("th")[:6]]
    assert header == ["ID", "Level", "Profile", REFERENCE, VENDOR, ANONYMOUS]
    consensus = root.find_all("tr", data_profile="consensus")[0]
    assert "? not reported" in consensus.words()
    counts = {
        item.attributes["data-count"]: item.words().split()[0]
        for item in root.by_id("summary").find_all("li")
        if "data-count" in item.attributes
    }
    assert counts == {
        "implementations": "3",
        "certified": "0",
        "certifiedConformant": "0",
        "conformant": "1",
        "notConformant": "2",
        "requirementsPassedByAll": "1",
        "requirementsFailedBySome": "2",
    }
    warnings = root.by_id("warnings").words()
    assert "different spec versions" in warnings


def test_the_matrix_page_escapes_hostile_names() -> None:
    report = vendor_report()
    report["target"]["name"] = None
    report["target"]["info"]["name"] = HOSTILE
    report["target"]["info"]["version"] = "\u202e1.0\x00"
    page = render_matrix_html(aggregate([("evil.json", report), ("ok.json", vendor_report())]))
    assert_loads_nothing(page)
    assert HOSTILE not in page
    assert not re.search("[\x00\u202e]", page)
    root, _ = parse_page(page)
    assert not root.find_all("img")
    first = root.by_id("implementation-table").find_all("tr")[1]
    assert first.attributes["data-implementation"] == f"{HOSTILE} \\u202e1.0\\x00"
