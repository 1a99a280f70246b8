"""report.html in a real headless Chromium: it renders the verdicts and makes no network request.

Runs ``conformance/tools/check_report_html.py`` as a subprocess, as a person would. The
pages that do load something check the tool itself: that this Chromium's net log shows the
requests a page makes, and that the tool tells them from Chromium's own background traffic.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conformance.test_aggregate import reference_report, vendor_report
from tests.conformance.test_report_rendering import hostile_report
from tests.support import REPO_ROOT
from twin_conformance._aggregate import aggregate, render_matrix_html
from twin_conformance._render_html import render_html

TOOL = REPO_ROOT / "conformance" / "tools" / "check_report_html.py"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _chromium() -> str | None:
    names = [os.environ.get("CHROMIUM", ""), *CHROMIUM_NAMES]
    return next((found for name in names if name and (found := shutil.which(name))), None)


needs_chromium = pytest.mark.skipif(
    _chromium() is None,
    reason="no Chromium binary (apt-get install chromium, or set $CHROMIUM) to open report.html",
)


def _check(
    *arguments: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def _write_report(folder: Path, report: dict[str, object]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
    page = folder / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    return page


@needs_chromium
def test_a_hostile_report_renders_its_verdicts_and_loads_nothing(tmp_path: Path) -> None:
    page = _write_report(tmp_path, hostile_report())
    done = _check(page)
    assert done.returncode == 0, done.stderr
    assert "overall verdict: not-conformant" in done.stdout
    assert "profile core: not-conformant" in done.stdout
    assert "profile anchoring: not-claimed" in done.stdout
    assert "network requests by the page: 0" in done.stdout
    assert "inline filter script ran: yes" in done.stdout  # the CSP hashes match
    assert f"verdicts match {tmp_path / 'report.json'}" in done.stdout


@needs_chromium
def test_a_matrix_page_renders_and_loads_nothing(tmp_path: Path) -> None:
    matrix = aggregate([("a.json", reference_report()), ("b.json", vendor_report())])
    page = tmp_path / "matrix.html"
    page.write_text(render_matrix_html(matrix), encoding="utf-8")
    done = _check(page)
    assert done.returncode == 0, done.stderr
    assert "2 implementations, 14 requirement cells" in done.stdout


@needs_chromium
def test_a_page_that_disagrees_with_its_report_fails(tmp_path: Path) -> None:
    report = vendor_report()
    page = _write_report(tmp_path, report)
    report["verdict"] = "conformant"
    (tmp_path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    done = _check(page)
    assert done.returncode == 1
    assert "the page says 'not-conformant', report.json 'conformant'" in done.stderr


LOADS = {
    "image": '<img src="http://example.invalid/a.png">',
    "stylesheet": '<link rel="stylesheet" href="https://example.invalid/a.css">',
    "script": '<script src="https://example.invalid/a.js"></script>',
    "iframe": '<iframe src="http://example.invalid/"></iframe>',
    "fetch after a second": (
        '<script>setTimeout(function () { fetch("http://example.invalid/f"); }, 1000)</script>'
    ),
    "loopback address": '<script>new Image().src = "http://127.0.0.1:9/x";</script>',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=http://example.invalid/">',
}


@needs_chromium
@pytest.mark.parametrize("markup", LOADS.values(), ids=list(LOADS))
def test_a_page_that_loads_something_fails(tmp_path: Path, markup: str) -> None:
    page = tmp_path / "report.html"
    # A real report page with one loading element slipped in before </body>.
    html = render_html(vendor_report()).replace("</body>", markup + "</body>")
    # Without the page's Content-Security-Policy, so that Chromium does try the load.
    html = html.replace('http-equiv="Content-Security-Policy"', 'name="x-removed"')
    page.write_text(html, encoding="utf-8")
    done = _check(page)
    assert done.returncode == 1, done.stdout
    assert "the page made network requests" in done.stderr
    assert "example.invalid" in done.stderr or "127.0.0.1:9" in done.stderr


@needs_chromium
def test_a_preconnect_hint_fails_the_static_check(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    html = render_html(vendor_report()).replace(
        "</head>", '<link rel="preconnect" href="https://example.invalid"></head>'
    )
    page.write_text(html, encoding="utf-8")
    done = _check(page)
    assert done.returncode == 1
    assert "the page names resources to load" in done.stderr


def test_without_chromium_the_check_exits_2(tmp_path: Path) -> None:
    page = _write_report(tmp_path, vendor_report())
    env = {key: value for key, value in os.environ.items() if key != "CHROMIUM"}
    env["PATH"] = str(tmp_path / "empty")
    done = _check(page, env=env)
    assert done.returncode == 2
    assert "no Chromium found" in done.stderr
