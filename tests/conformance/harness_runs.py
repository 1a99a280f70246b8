"""Running ``twin-conformance`` as a real command against real node processes, for the tests.

Every run is a subprocess with a time limit (killed after it, code -9), its report read back
when it wrote one; every node a helper starts is stopped when its ``with`` block ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.broken_variants import start_variant
from tests.node_process import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SECOND_EMAIL,
    SECOND_PASSWORD,
    RunningNode,
    start_node,
)
from tests.support import REPO_ROOT

HARNESS = [sys.executable, "-m", "twin_conformance"]


@dataclass(frozen=True)
class HarnessRun:
    """What one harness command did: its exit code, report, output and wall time."""

    command: list[str]
    code: int
    report: dict[str, Any] | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        """Standard output and error together."""
        return self.stdout + self.stderr

    def tests(self, outcome: str | None = None) -> list[dict[str, Any]]:
        """The report's checks (with ``outcome`` only, when given)."""
        tests = self.report["tests"] if self.report else []
        return [test for test in tests if outcome is None or test["outcome"] == outcome]

    def failed_tests(self) -> list[dict[str, Any]]:
        """The report's failed checks."""
        return self.tests("failed")

    def named_requirements(self) -> set[str]:
        """Every requirement a failed check named."""
        return {str(test["failedRequirement"]) for test in self.failed_tests()}

    def profile(self, name: str) -> dict[str, Any]:
        """The report's entry of one profile."""
        assert self.report is not None
        return next(entry for entry in self.report["profiles"] if entry["profile"] == name)

    def describe(self) -> str:
        """The run in a few lines, for assertion messages."""
        lines = [f"exit {self.code} after {self.seconds:.1f} s: {' '.join(self.command[2:])}"]
        lines += [
            f"  failed {test['id']} naming {test['failedRequirement']}: "
            f"{(test['message'] or '')[:200]}"
            for test in self.failed_tests()[:15]
        ]
        lines += [f"  error {test['id']}: {test['message']}" for test in self.tests("error")[:5]]
        if self.report is None or self.code not in (0, 1):
            lines.append("  output ends:")
            lines += [f"  | {line}" for line in self.output.splitlines()[-15:]]
        return "\n".join(lines)


def run_command(
    command: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    report_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> HarnessRun:
    """Run a command within ``timeout`` (killed after it: code -9) and read its report."""
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    started = time.monotonic()
    try:
        completed = subprocess.run(
            list(command), cwd=cwd, capture_output=True, timeout=timeout, env=environment
        )
        code, out, err = completed.returncode, completed.stdout, completed.stderr
    except subprocess.TimeoutExpired as expired:
        code, out = -9, expired.stdout or b""
        err = (expired.stderr or b"") + f"\n(killed after {timeout:.0f} s)".encode()
    seconds = time.monotonic() - started
    report = None
    if report_dir is not None and (report_dir / "report.json").is_file():
        report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    return HarnessRun(
        list(command),
        code,
        report,
        out.decode(errors="replace"),
        err.decode(errors="replace"),
        seconds,
    )


def harness(
    workdir: Path,
    *arguments: str,
    timeout: float = 400.0,
    env: Mapping[str, str] | None = None,
    out: str = "report",
) -> HarnessRun:
    """``twin-conformance <arguments> --out workdir/<out>`` for ``run``; other commands as is."""
    workdir.mkdir(parents=True, exist_ok=True)
    report_dir = workdir / out
    command = [*HARNESS, *arguments]
    if arguments and arguments[0] == "run":
        command += ["--out", str(report_dir)]
    return run_command(command, cwd=workdir, timeout=timeout, report_dir=report_dir, env=env)


def against(node: RunningNode) -> list[str]:
    """The options that point a run at ``node``: admin login and second user (passwords: env)."""
    return ["--target", node.url, "--email", ADMIN_EMAIL, "--second-email", SECOND_EMAIL]


PASSWORD_ENV = {
    "TWIN_TARGET_PASSWORD": ADMIN_PASSWORD,
    "TWIN_TARGET_SECOND_PASSWORD": SECOND_PASSWORD,
}


@contextmanager
def node(workdir: Path, fault: str | None = None, *, healthy: bool = True) -> Iterator[RunningNode]:
    """The reference node (or its variant with ``fault``) for the length of the block.

    ``healthy`` False does not wait for ``/health`` (a variant that answers 404 to it).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / "node-data"
    running = (
        start_variant(fault, data_dir, wait_healthy=healthy) if fault else start_node(data_dir)
    )
    try:
        yield running
    finally:
        running.stop()
