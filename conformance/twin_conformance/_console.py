"""What a run prints: progress per phase, then a table of profiles, one line per failure.

Everything a target can influence (messages, test IDs built from its data) is printed as plain
``rich.text.Text`` with control characters spelled out, so neither rich markup such as
``[bold]`` nor terminal escape sequences in a response can change what the console shows.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

_STYLES: dict[str, str] = {
    "conformant": "bold green",
    "passed": "green",
    "not-conformant": "bold red",
    "failed": "bold red",
    "incomplete": "bold yellow",
    "blocked": "yellow",
    "error": "bold yellow",
    "not-run": "yellow",
    "not-claimed": "dim",
    "not-requested": "dim",
    "not-selected": "dim",
}
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_MESSAGE_CHARS = 160


def plain(value: object, limit: int | None = None) -> str:
    """``value`` as one safe line: controls spelled out, newlines as spaces, optionally cut."""
    text = " ".join(str(value).replace("\t", " ").splitlines())
    text = _CONTROL.sub(_spell_out, text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _spell_out(match: re.Match[str]) -> str:
    r"""``\xNN`` for a byte-sized code point, ``\uNNNN`` otherwise."""
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _status(status: str) -> Text:
    """A verdict or outcome in words, coloured (the words carry the meaning on their own)."""
    return Text(status.replace("-", " "), style=_STYLES.get(status, ""))


def _profile_table(report: Mapping[str, Any]) -> Table:
    """One row per profile: its verdict (not claimed and not requested included), its counts."""
    table = Table(title="TWIN conformance", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("profile", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for column in ("passed", "failed", "blocked", "skipped", "not run"):
        table.add_column(column, justify="right", no_wrap=True)
    for entry in report["profiles"]:
        counts = entry["counts"]
        table.add_row(
            Text(plain(entry["profile"])),
            _status(str(entry["verdict"])),
            str(counts["passed"]),
            Text(str(counts["failed"]), style="bold red" if counts["failed"] else ""),
            str(counts["blocked"]),
            str(counts["skipped"]),
            str(counts["notRun"] + counts["error"]),
        )
    return table


def failure_line(test: Mapping[str, Any]) -> Text:
    """One failed or broken check: the requirement, the check, the message, the reproduction."""
    label = "FAILED" if test["outcome"] == "failed" else "ERROR"
    if test.get("baseline") == "known-failure":
        label = "FAILED (known)"
    line = Text()
    line.append(f"{label} ", style="bold red" if test["outcome"] == "failed" else "bold yellow")
    line.append(plain(test.get("failedRequirement") or "harness error"), style="bold")
    line.append(" " + plain(test["id"]))
    if test.get("message"):
        line.append(": " + plain(test["message"], _MESSAGE_CHARS))
    if test.get("reproduce"):
        line.append("  reproduce: ", style="dim")
        line.append(plain(test["reproduce"]), style="cyan")
    return line


def print_summary(report: Mapping[str, Any], console: Console) -> None:
    """Print the profile table, the deviations, and one line per failed or broken check."""
    console.print(_profile_table(report))
    fuzz = report.get("run", {}).get("fuzz")
    if isinstance(fuzz, Mapping) and fuzz.get("checks"):
        cut = fuzz.get("budgetReached") or []
        console.print(
            Text(
                f"fuzzing: {fuzz['examplesRun']} examples ran in {len(fuzz['checks'])} fuzz "
                f"checks within {report['run'].get('fuzzBudgetSeconds', 0):g} s"
                + (f"; the budget cut {len(cut)} short" if cut else "")
                + f" (concurrency {report['run'].get('concurrency', 1)})"
            ),
            soft_wrap=True,
        )
    for deviation in report.get("deviations", []):
        console.print(
            Text("deviation worked around: " + plain(deviation["message"])), soft_wrap=True
        )
    failures = [test for test in report["tests"] if test["outcome"] in ("failed", "error")]
    for test in failures:
        console.print(failure_line(test), soft_wrap=True)
    # SUITE-024: a check the target throttled past the retries did not run; say why, once each.
    throttled = [
        test
        for test in report["tests"]
        if test["outcome"] == "not-run"
        and str(test.get("message") or "").startswith("not run: the target throttled")
    ]
    for test in throttled:
        console.print(
            Text(f"not run {test['id']}: {plain(str(test['message']))[9:]}"), soft_wrap=True
        )
    blocked = sum(test["outcome"] == "blocked" for test in report["tests"])
    if blocked:
        above = "the failures above" if failures else "the checks above"
        console.print(
            Text(f"{blocked} check(s) blocked by {above} (not counted as failures)"),
            soft_wrap=True,
        )
    if failures or blocked or throttled:
        console.print()


def _test_id(nodeid: str) -> str:
    """The check ID of a pytest node ID (module file name and test name)."""
    path, _, rest = nodeid.partition("::")
    return f"{Path(path).name}::{rest}"


class ProgressReporter:
    """A pytest plugin that prints the run's phases and counts instead of pytest's output.

    ``twin-conformance run`` turns pytest's terminal reporter off (no tracebacks, nothing a
    target sent printed raw) and passes this object to ``pytest.main``.
    """

    def __init__(self, console: Console, *, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self.config: pytest.Config | None = None
        self.could_not_run: str | None = None
        self.usage_error: str | None = None
        self.problem: str | None = None
        self.counts: Counter[str] = Counter()
        self.total = {"checks": 0, "fuzzing": 0}
        self.done = {"checks": 0, "fuzzing": 0}
        self._next_line = {"checks": 0.0, "fuzzing": 0.0}
        self._seen: set[str] = set()

    def pytest_configure(self, config: pytest.Config) -> None:
        """Keep the config: the plugin's state tells how each check ended."""
        self.config = config

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A module that cannot be loaded is a harness fault: say so in one line."""
        if report.failed:
            first = str(report.longrepr).strip().splitlines()[-1:] or ["?"]
            self.problem = f"a check module could not be loaded: {report.nodeid}: {first[0]}"
            self.console.print(Text(self.problem, style="bold yellow"), soft_wrap=True)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Announce how many checks and fuzzing checks will run."""
        for item in session.items:
            if item.get_closest_marker("twin_profile") is None:
                continue
            self.total[self._phase(item.nodeid)] += 1
        self.console.print(
            f"checks: {self.total['checks']} to run, then fuzzing: {self.total['fuzzing']}",
            highlight=False,
        )

    @staticmethod
    def _phase(nodeid: str) -> str:
        return "fuzzing" if "test_fuzz.py" in nodeid else "checks"

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Count each check once, when it has ended; print progress now and then."""
        ended = report.when == "teardown" or (report.when == "setup" and not report.passed)
        if not ended or report.nodeid in self._seen or self.config is None:
            return
        self._seen.add(report.nodeid)
        from twin_conformance.plugin import state

        record = state(self.config).records.get(_test_id(report.nodeid))
        if record is None:
            return
        self.counts[record.outcome] += 1
        phase = self._phase(report.nodeid)
        self.done[phase] += 1
        if self.verbose:
            self.console.print(Text(f"{record.outcome:>13} {plain(record.id)}"), soft_wrap=True)
        total = max(self.total[phase], 1)
        fraction = self.done[phase] / total
        if fraction >= self._next_line[phase] or self.done[phase] == total:
            self._next_line[phase] = fraction + 0.1
            counts = ", ".join(
                f"{self.counts[name]} {name}"
                for name in ("passed", "failed", "blocked", "skipped", "error")
                if self.counts[name]
            )
            self.console.print(
                f"{phase}: {self.done[phase]}/{self.total[phase]} ({counts})", highlight=False
            )

    def pytest_internalerror(self, excrepr: object) -> None:
        """Keep the harness's traceback out of the console, in a file beside the reports."""
        text = str(excrepr)
        if self.config is not None:
            from twin_conformance.plugin import state

            text = state(self.config).redactor.text(text)
        folder = self.config.getoption("--twin-report-dir") if self.config else None
        where = ""
        if folder:
            path = Path(str(folder)) / "harness-error.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            where = f" (traceback in {path})"
        last = text.strip().splitlines()[-1:] or ["?"]
        self.problem = f"the harness failed internally: {last[0][:200]}{where}"

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Keep the reason a run could not start, for the CLI's last line."""
        from twin_conformance.plugin import state

        self.could_not_run = state(session.config).could_not_run

    def finish(self) -> None:
        """Nothing is left open; kept so the CLI ends every reporter the same way."""


class _Collector:
    """A pytest plugin that keeps the collected checks (for ``checks list``)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from twin_conformance.plugin import _prerequisites, _profile, _requirements, test_id

        seen: set[str] = set()
        for item in session.items:
            profile = _profile(item)
            if profile is None:
                continue
            for check_id, title, read_only in _prerequisites(item):
                if check_id not in seen:
                    seen.add(check_id)
                    self.rows.append(
                        {
                            "id": check_id,
                            "kind": "prerequisite",
                            "profile": profile,
                            "requirements": [],
                            "title": title,
                            "readOnly": read_only,
                            "destructive": False,
                        }
                    )
            self.rows.append(
                {
                    "id": test_id(item),
                    "kind": "check",
                    "profile": profile,
                    "requirements": _requirements(item),
                    "readOnly": item.get_closest_marker("twin_read_only") is not None,
                    "destructive": item.get_closest_marker("twin_destructive") is not None,
                }
            )


def collect_checks() -> list[dict[str, Any]] | None:
    """Every check of the suite (and every prerequisite), collected without a target."""
    from twin_conformance._paths import checks_dir

    collector = _Collector()
    code = pytest.main(
        [
            str(checks_dir()),
            "-c",
            str(checks_dir() / "pytest.ini"),
            "--rootdir",
            str(checks_dir()),
            "-p",
            "no:cacheprovider",
            "-p",
            "no:terminal",
            "--import-mode=importlib",
            "--collect-only",
            "--twin-destructive",
        ],
        plugins=[collector],
    )
    return collector.rows if code == 0 else None
