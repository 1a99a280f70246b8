"""One harness run against one node: start it (a variant or the unmodified node), run, stop it.

Each run is ``twin-conformance run`` as a real subprocess with a deadline (``--run-timeout``
and a kill after a grace period), against a node on 127.0.0.1 port 0 that the run starts and
always stops. The passwords reach the harness through ``$TWIN_TARGET_PASSWORD`` and
``$TWIN_TARGET_SECOND_PASSWORD`` (the node's ordinary second user) only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.broken_variants._fault import PROFILES, Fault
from tests.broken_variants._process import start_variant
from tests.node_process import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SECOND_EMAIL,
    SECOND_PASSWORD,
    RunningNode,
    start_node,
)

RUN_TIMEOUT_SECONDS = 300.0
"""The harness's own ``--run-timeout``; the process is killed a minute after it."""
KILL_GRACE_SECONDS = 60.0
PASSWORD_ENV = "TWIN_TARGET_PASSWORD"
SECOND_PASSWORD_ENV = "TWIN_TARGET_SECOND_PASSWORD"


@dataclass(frozen=True)
class RunOptions:
    """What a run checks: the profile, the fuzzing budget, a target file claiming profiles."""

    profile: str
    fuzz_examples: int = 0
    claim_in_target_file: bool = False
    fail_on_should: bool = False
    destructive: bool = False

    @classmethod
    def of(cls, fault: Fault) -> RunOptions:
        """The options that catching ``fault`` needs."""
        return cls(
            fault.checked_profile,
            fault.fuzz_examples,
            fault.claim_in_target_file,
            fault.fail_on_should,
            fault.destructive,
        )

    @property
    def key(self) -> str:
        """A short name for the options, for folders and reports."""
        claim = "-target-file" if self.claim_in_target_file else ""
        should = "-should" if self.fail_on_should else ""
        destructive = "-destructive" if self.destructive else ""
        return f"{self.profile}-fuzz{self.fuzz_examples}{claim}{should}{destructive}"

    def harness_options(self) -> list[str]:
        """The options the harness run gets besides the target and the output."""
        return [
            "--profile",
            self.profile,
            "--fuzz-examples",
            str(self.fuzz_examples),
            *(["--fail-on", "should"] if self.fail_on_should else []),
            *(["--destructive"] if self.destructive else []),
        ]

    def to_json(self) -> dict[str, Any]:
        """The options as the catalog report shows them."""
        return {
            "profile": self.profile,
            "fuzzExamples": self.fuzz_examples,
            "targetFile": self.claim_in_target_file,
            "failOnShould": self.fail_on_should,
            "destructive": self.destructive,
        }


@dataclass(frozen=True)
class FailedCheck:
    """A check the harness failed, and the requirement it named."""

    check: str
    requirement: str


@dataclass
class RunResult:
    """What one harness run said: exit code, verdict, failed checks, output tail, wall time."""

    code: int
    verdict: str | None
    failed: list[FailedCheck] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    output_tail: str = ""
    seconds: float = 0.0

    @property
    def failed_requirements(self) -> list[str]:
        """Every requirement a failed check named, sorted, once each."""
        return sorted({failure.requirement for failure in self.failed})


def _target_arguments(url: str, options: RunOptions, workdir: Path) -> list[str]:
    """How the run names the target: a URL and login, or a target file claiming profiles."""
    if not options.claim_in_target_file:
        return ["--target", url, "--email", ADMIN_EMAIL, "--second-email", SECOND_EMAIL]
    target = {
        "name": "reference node variant",
        "url": url,
        "auth": {
            "email": ADMIN_EMAIL,
            "passwordEnv": PASSWORD_ENV,
            "secondUser": {"email": SECOND_EMAIL, "passwordEnv": SECOND_PASSWORD_ENV},
        },
        "profiles": list(PROFILES),
    }
    target_file = workdir / "target.yaml"
    target_file.write_text(yaml.safe_dump(target), encoding="utf-8")
    return ["--target-file", str(target_file)]


def _read_report(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


def run_harness(url: str, options: RunOptions, workdir: Path) -> RunResult:
    """Run ``twin-conformance run`` against ``url`` within the time limit; read its report."""
    out = workdir / "report"
    command = [
        sys.executable,
        "-m",
        "twin_conformance",
        "run",
        "--seed",
        "1",
        "--out",
        str(out),
        "--run-timeout",
        str(RUN_TIMEOUT_SECONDS),
        *options.harness_options(),
        *_target_arguments(url, options, workdir),
    ]
    environment = {
        **os.environ,
        PASSWORD_ENV: ADMIN_PASSWORD,
        SECOND_PASSWORD_ENV: SECOND_PASSWORD,
    }
    started = time.monotonic()
    try:
        completed = subprocess.run(
            command,
            cwd=workdir,
            capture_output=True,
            timeout=RUN_TIMEOUT_SECONDS + KILL_GRACE_SECONDS,
            env=environment,
            check=False,
        )
        code, output = completed.returncode, completed.stdout + completed.stderr
    except subprocess.TimeoutExpired as expired:
        code = -9
        output = (expired.stdout or b"") + (expired.stderr or b"") + b"\n(killed: no end in time)"
    seconds = time.monotonic() - started
    report = _read_report(out / "report.json")
    tests = report["tests"] if report else []
    return RunResult(
        code=code,
        verdict=report["verdict"] if report else None,
        failed=[
            FailedCheck(str(test["id"]), str(test["failedRequirement"]))
            for test in tests
            if test["outcome"] == "failed"
        ],
        errors=[str(test["id"]) for test in tests if test["outcome"] == "error"],
        output_tail="\n".join(output.decode(errors="replace").splitlines()[-12:]),
        seconds=round(seconds, 1),
    )


def check_node(fault: Fault | None, options: RunOptions, workdir: Path) -> RunResult:
    """Start the variant (or, with no fault, the unmodified node), run the harness, stop it."""
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / "node-data"
    node: RunningNode | None = None
    try:
        if fault is None:
            node = start_node(data_dir)
        else:
            # A variant that refuses /health (404 everywhere) is still a target to judge.
            healthy = fault.name != "not-found-everywhere"
            node = start_variant(fault.name, data_dir, wait_healthy=healthy)
        return run_harness(node.url, options, workdir)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        return RunResult(code=-1, verdict=None, output_tail=f"the node did not start: {exc}")
    finally:
        if node is not None:
            node.stop()
