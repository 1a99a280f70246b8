"""A standards body's site: signed verdicts per implementation, history with diffs, badges.

``twin-conformance report publish`` over a signed conformant report, a signed failing one (a
later run of the same implementation) and an unsigned one: each status is shown as such, the
history names the checks that changed, and every page makes no network request in headless
Chromium. ``report diff`` names the same changes on the console.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.test_aggregate import reference_report
from tests.conformance.test_report_html_chromium import _check, needs_chromium
from twin_conformance._report_signing import sign_report
from twin_spec import Ed25519SigningKey, did_key_from_public_key

FAILING_CHECK = "test_1.py::test_TWIN-CORE-050"


def _failing_later(report: dict[str, Any]) -> dict[str, Any]:
    """The same implementation a day later: one check now fails, the run is otherwise alike."""
    later = copy.deepcopy(report)
    later["run"]["startedAt"] = "2026-11-22T07:00:00Z"
    later["run"]["finishedAt"] = "2026-11-22T07:00:05Z"
    test = next(test for test in later["tests"] if test["id"] == FAILING_CHECK)
    test.update(outcome="failed", failedRequirement="TWIN-CORE-050", message="no specVersion")
    later["summary"]["passed"] -= 1
    later["summary"]["failed"] += 1
    later["verdict"] = "not-conformant"
    for entry in later["profiles"]:
        if entry["profile"] == "core":
            entry.update(verdict="not-conformant", reasons=["1 check(s) failed"])
            entry["counts"]["passed"] -= 1
            entry["counts"]["failed"] += 1
    for entry in later["requirements"]:
        if entry["id"] == "TWIN-CORE-050":
            entry["status"] = "failed"
    later["gate"].update(exitCode=1, passed=False, unlistedFailures=[FAILING_CHECK])
    return later


@pytest.fixture
def site_inputs(tmp_path: Path) -> dict[str, Path]:
    """A certifier, its trust file, and three reports: passing and failing signed, unsigned."""
    key = Ed25519SigningKey.generate()
    seed = tmp_path / "certifier.seed"
    seed.write_text(key.seed.hex())
    trust = tmp_path / "certifiers.json"
    trust.write_text(
        json.dumps(
            {
                "certifiers": [
                    {
                        "id": did_key_from_public_key(key.public_key),
                        "name": "Example test lab",
                        "from": "2026-01-01",
                    }
                ]
            }
        )
    )
    passing = reference_report()
    passing["target"]["name"] = "Acme TWIN Node"
    failing = _failing_later(passing)
    other = reference_report()
    other["target"]["name"] = "Other Vendor Node"
    inputs = {
        "passing": sign_report(passing, seed),
        "failing": sign_report(failing, seed),
        "unsigned": other,
    }
    paths = {"trust": trust}
    for name, report in inputs.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(report))
    return paths


def _cli(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twin_conformance", *map(str, arguments)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _publish(site_inputs: dict[str, Path], out: Path) -> subprocess.CompletedProcess[str]:
    return _cli(
        "report", "publish", site_inputs["passing"], site_inputs["failing"],
        site_inputs["unsigned"], "--out", out, "--trusted-certifiers", site_inputs["trust"],
    )  # fmt: skip


def test_the_site_shows_each_status_and_the_history(
    site_inputs: dict[str, Path], tmp_path: Path
) -> None:
    site = tmp_path / "site"
    done = _publish(site_inputs, site)
    assert done.returncode == 0, done.stderr
    index = (site / "index.html").read_text()
    assert 'data-implementation="Acme TWIN Node" data-certification="certified"' in index
    assert 'data-verdict="not-conformant"' in index, "the latest run of Acme fails"
    assert 'data-implementation="Other Vendor Node" data-certification="unsigned"' in index
    assert "conformant (unsigned)" in index, "an unsigned conformant run is never 'certified'"
    (acme,) = [path for path in (site / "implementations").iterdir() if "acme" in path.name]
    history = (acme / "index.html").read_text()
    assert f'data-change="newly-failing">{FAILING_CHECK} (TWIN-CORE-050)' in history
    assert (acme / "1" / "report.html").is_file()
    assert (acme / "2" / "report.json").is_file()
    badge = (site / "badges" / f"{acme.name}-core.svg").read_text()
    assert "not conformant" in badge
    identity = (site / "badges" / f"{acme.name}-identity.svg").read_text()
    assert "conformant (certified)" in identity
    other = next(path for path in (site / "badges").iterdir() if "other" in path.name)
    other_core = other.with_name(other.name.rsplit("-", 1)[0] + "-core.svg")
    assert "conformant (unsigned)" in other_core.read_text()
    matrix = json.loads((site / "matrix.json").read_text())
    assert matrix["summary"]["certified"] == 1


def test_a_bad_input_writes_no_site(site_inputs: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"reportVersion": "2"}))
    done = _cli("report", "publish", site_inputs["passing"], broken, "--out", tmp_path / "site")
    assert done.returncode == 2
    assert "broken.json" in done.stderr
    assert not (tmp_path / "site").exists()


def test_report_diff_names_the_checks_that_changed(site_inputs: dict[str, Path]) -> None:
    done = _cli("report", "diff", site_inputs["passing"], site_inputs["failing"])
    assert done.returncode == 0, done.stderr
    assert "newly failing: 1" in done.stdout
    assert f"  {FAILING_CHECK} (TWIN-CORE-050)" in done.stdout
    assert "profile core: conformant -> not-conformant" in done.stdout
    as_json = json.loads(_cli("report", "diff", site_inputs["passing"],
                              site_inputs["failing"], "--json").stdout)  # fmt: skip
    assert as_json["newlyFailing"] == [{"id": FAILING_CHECK, "failedRequirement": "TWIN-CORE-050"}]


@needs_chromium
def test_every_page_of_the_site_loads_nothing(site_inputs: dict[str, Path], tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert _publish(site_inputs, site).returncode == 0
    pages = [
        site / "index.html",
        site / "matrix.html",
        *sorted(site.glob("implementations/*/index.html")),
        *sorted(site.glob("implementations/*/*/report.html")),
    ]
    seen: set[str] = set()
    for page in pages:
        done = _check(page)
        assert done.returncode == 0, f"{page}: {done.stdout}{done.stderr}"
        assert "network requests by the page: 0" in done.stdout
        for status in ("certified", "unsigned"):
            if "certification: " in done.stdout and status in done.stdout:
                seen.add(status)
    assert seen == {"certified", "unsigned"}
