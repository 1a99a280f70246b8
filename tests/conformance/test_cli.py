"""``twin-conformance`` end to end, as a real subprocess: the main run, exit codes, baselines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support import REPO_ROOT, SCHEMAS_DIR

RUN_TIMEOUT_SECONDS = 600


def _cli(*args: str, timeout: float = RUN_TIMEOUT_SECONDS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twin_conformance", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO_ROOT,
    )


def _report(folder: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    return report


def _outcomes(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(test["id"], test["outcome"]) for test in report["tests"]]


@pytest.fixture(scope="module")
def main_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The README's main command (a full run against the embedded node), into a temp folder."""
    out = tmp_path_factory.mktemp("main-run")
    return _cli("run", "--seed", "1", "--out", str(out)), out


def test_the_main_run_is_conformant_and_writes_all_three_reports(
    main_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, out = main_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = _report(out)
    schema = json.loads((SCHEMAS_DIR / "conformance-report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(report)
    assert report["verdict"] == "conformant"
    assert report["target"]["embedded"] is True
    claimed = set(report["target"]["info"]["profiles"])
    for profile in report["profiles"]:
        if profile["profile"] in claimed:
            assert profile["verdict"] == "conformant", profile
        else:
            assert profile["verdict"] == "not-claimed", profile
    assert report["summary"]["failed"] == 0
    assert report["vectors"]["verified"] is True
    assert not [entry for entry in report["requirements"] if entry["status"] == "failed"]
    # The embedded node has a second user, so the rule about another user's document is checked.
    other = "test_documents.py::test_another_user_cannot_remove_a_revision"
    assert {test["id"]: test["outcome"] for test in report["tests"]}[other] == "passed"
    junit = ElementTree.parse(out / "junit.xml").getroot()  # noqa: S314 - our own output
    assert junit.iter("testcase")
    assert "conformant" in (out / "report.html").read_text(encoding="utf-8").lower()
    assert "conformant" in result.stdout.lower()


def test_the_same_seed_gives_the_same_outcomes(
    main_run: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path
) -> None:
    _, first = main_run
    again = _cli("run", "--seed", "1", "--out", str(tmp_path))
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert _outcomes(_report(tmp_path)) == _outcomes(_report(first))


@pytest.mark.suite("SUITE-005")
def test_a_baseline_listing_a_passing_check_only_reports_it(tmp_path: Path) -> None:
    baseline = tmp_path / "expected-failures.txt"
    baseline.write_text("# expected to fail, but it passes\ntest_core.py::test_health_answers\n")
    result = _cli(
        "run",
        "--select",
        "test_core.py::test_health_answers",
        "--expected-failures",
        str(baseline),
        "--out",
        str(tmp_path / "out"),
    )
    # The baseline changes the gate, never the verdict: a listed check that passes is
    # reported as now passing, and the run (narrowed, so incomplete) still exits 0.
    assert result.returncode == 0, result.stdout + result.stderr
    report = _report(tmp_path / "out")
    (test,) = [test for test in report["tests"] if test["outcome"] != "not-selected"]
    assert (test["outcome"], test["baseline"]) == ("passed", "now-passing")
    assert report["gate"]["nowPassing"] == ["test_core.py::test_health_answers"]
    assert report["verdict"] == "incomplete"
    assert "now pass, remove them from the baseline" in result.stdout


def test_an_unreachable_target_is_exit_2_within_seconds(tmp_path: Path) -> None:
    started = time.monotonic()
    result = _cli("run", "--target", "http://127.0.0.1:9", "--out", str(tmp_path), timeout=60)
    assert result.returncode == 2
    assert time.monotonic() - started < 10
    assert "could not run" in result.stderr
    assert "unreachable" in result.stderr
    assert not (tmp_path / "report.json").exists()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["run", "--target", "ftp://example.test"], "not an http"),
        (["run", "--profile", "everything"], "everything"),
        (["run", "--fuzz-examples", "-1"], "fuzz-examples"),
        (["run", "--fuzz-budget", "-5"], "--fuzz-budget"),
        (["run", "--fuzz-budget", "0"], "--fuzz-budget"),
        (["run", "--fuzz-budget", "nan"], "--fuzz-budget"),
        (["run", "--concurrency", "-1"], "--concurrency"),
        (["run", "--concurrency", "0"], "--concurrency"),
        (["run", "--concurrency", "many"], "--concurrency"),
        (["run", "--target", "http://127.0.0.1:9", "--target-file", "x.yaml"], "not both"),
        (["run", "--target-file", "/nonexistent/target.yaml"], "target file"),
    ],
)
def test_bad_arguments_are_exit_2_with_a_reason(args: list[str], named: str) -> None:
    result = _cli(*args, timeout=60)
    assert result.returncode == 2
    assert named in result.stderr


def _copy_vectors(tmp_path: Path) -> Path:
    folder = tmp_path / "vectors"
    shutil.copytree(REPO_ROOT / "vectors", folder)
    return folder


def test_tampered_vectors_are_refused_with_exit_2(tmp_path: Path) -> None:
    folder = _copy_vectors(tmp_path)
    victim = sorted(folder.rglob("*.json"))[0]
    if victim.name == "manifest.json":
        victim = sorted(folder.rglob("*.json"))[1]
    victim.write_bytes(victim.read_bytes().replace(b'"', b"'", 1))
    result = _cli("run", "--vectors", str(folder), "--out", str(tmp_path / "out"), timeout=60)
    assert result.returncode == 2
    assert "vectors refused" in result.stderr
    assert victim.name in result.stderr
    verify = _cli("vectors", "verify", "--vectors", str(folder), timeout=60)
    assert verify.returncode == 2


def test_unsigned_vectors_are_refused_unless_allowed(tmp_path: Path) -> None:
    folder = _copy_vectors(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.pop("proof")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    refused = _cli("run", "--vectors", str(folder), "--out", str(tmp_path / "a"), timeout=60)
    assert refused.returncode == 2
    assert "unsigned" in refused.stderr
    allowed = _cli(
        "run",
        "--vectors",
        str(folder),
        "--allow-unsigned-vectors",
        "--select",
        "test_vectors.py",
        "--out",
        str(tmp_path / "b"),
    )
    assert allowed.returncode == 0, allowed.stdout[-2000:] + allowed.stderr[-2000:]
    assert _report(tmp_path / "b")["vectors"]["verified"] is False


def test_the_committed_vectors_verify() -> None:
    result = _cli("vectors", "verify", timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK:")


def test_report_render_and_aggregate(
    main_run: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path
) -> None:
    _, out = main_run
    rendered = _cli("report", "render", str(out / "report.json"), "--out", str(tmp_path / "r"))
    assert rendered.returncode == 0, rendered.stderr
    assert (tmp_path / "r" / "report.html").is_file()
    assert (tmp_path / "r" / "junit.xml").is_file()
    matrix_dir = tmp_path / "matrix"
    aggregated = _cli(
        "report",
        "aggregate",
        str(out / "report.json"),
        str(out / "report.json"),
        "--out",
        str(matrix_dir),
    )
    assert aggregated.returncode == 0, aggregated.stderr
    matrix = json.loads((matrix_dir / "matrix.json").read_text())
    schema = json.loads((SCHEMAS_DIR / "conformance-matrix.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(matrix)
    broken = tmp_path / "broken.json"
    broken.write_text('{"reportVersion": "1"}')
    refused = _cli("report", "aggregate", str(broken), "--out", str(tmp_path / "m2"))
    assert refused.returncode == 2
    assert "broken.json" in refused.stderr


def test_an_unreadable_baseline_is_exit_2_before_any_check(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.txt"
    baseline.write_bytes(b"\xff\xfe not text")
    result = _cli(
        "run",
        "--expected-failures",
        str(baseline),
        "--out",
        str(tmp_path / "out"),
        timeout=120,
    )
    assert result.returncode == 2
    assert "baseline file" in result.stdout + result.stderr
    assert not (tmp_path / "out" / "report.json").exists()
