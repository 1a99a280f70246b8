"""The console summary at the end of a run: a table of profiles, the failures, the verdict.

Everything a target can influence (messages, test IDs built from its data) is printed as plain
``rich.text.Text`` with control characters spelled out, so neither rich markup such as
``[bold]`` nor terminal escape sequences in a response can change what the console shows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

_STYLES: dict[str, str] = {
    "conformant": "bold green",
    "passed": "green",
    "not-conformant": "bold red",
    "failed": "bold red",
    "unexpected-pass": "bold red",
    "expected-failure": "yellow",
    "not-claimed": "dim",
    "not-requested": "dim",
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
    """One row per profile: claimed, requested, verdict and the test counts."""
    table = Table(title="TWIN conformance", title_justify="left")
    table.add_column("profile")
    table.add_column("claimed")
    table.add_column("requested")
    table.add_column("verdict")
    table.add_column("passed", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("skipped", justify="right")
    for entry in report["profiles"]:
        counts = entry["counts"]
        table.add_row(
            Text(plain(entry["profile"])),
            "yes" if entry["claimed"] else "no",
            "yes" if entry["requested"] else "no",
            _status(str(entry["verdict"])),
            str(counts["passed"]),
            Text(str(counts["failed"]), style="bold red" if counts["failed"] else ""),
            str(counts["skipped"]),
        )
    return table


def _failure_line(test: Mapping[str, Any]) -> Text:
    """One failed test: what failed, the requirement, the message, and how to reproduce it."""
    label = "FAILED" if test["outcome"] == "failed" else "UNEXPECTED PASS"
    line = Text()
    line.append(f"{label} ", style="bold red")
    line.append(plain(test.get("failedRequirement") or "no requirement named"), style="bold")
    line.append(" " + plain(test["id"]))
    if test.get("message"):
        line.append(": " + plain(test["message"], _MESSAGE_CHARS))
    if test.get("reproduce"):
        line.append("  reproduce: ", style="dim")
        line.append(plain(test["reproduce"]), style="cyan")
    return line


def _verdict_line(report: Mapping[str, Any]) -> Text:
    """The overall verdict with the headline counts."""
    summary = report["summary"]
    line = Text("Verdict: ", style="bold")
    verdict = str(report["verdict"])
    line.append(verdict.replace("-", " ").upper(), style=_STYLES.get(verdict, "bold"))
    parts = [
        f"{summary['passed']} passed",
        f"{summary['failed']} failed",
        f"{summary['skipped']} skipped",
        f"{summary['notClaimed']} not claimed",
        f"{summary['notRequested']} not requested",
    ]
    if summary["expectedFailures"]:
        parts.append(f"{summary['expectedFailures']} expected failures")
    if summary["unexpectedPasses"]:
        parts.append(f"{summary['unexpectedPasses']} unexpected passes")
    line.append(" (" + ", ".join(parts) + ")")
    return line


def print_summary(report: Mapping[str, Any], console: Console) -> None:
    """Print the profile table, one line per failed test, and the overall verdict line."""
    console.print(_profile_table(report))
    failures = [
        test for test in report["tests"] if test["outcome"] in ("failed", "unexpected-pass")
    ]
    for test in failures:
        console.print(_failure_line(test), soft_wrap=True)
    if failures:
        console.print()
    console.print(_verdict_line(report), soft_wrap=True)
