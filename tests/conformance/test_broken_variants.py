"""The harness catches every broken variant of the reference node and names the requirement.

Each variant in ``tests/broken_variants`` and, once per profile, the unmodified reference node
is started as a subprocess on 127.0.0.1 port 0, and ``twin-conformance run`` runs against it
as a real command, limited to the fault's profile: a variant must give exit 1 with the
catalog's requirement named by a failed test, the unmodified node exit 0 with the same options.
The runs share a small thread pool (this machine has two cores); each run stops the node it
started. Two more tests hold the harness to its word about targets that are not there: a closed
port gives exit 2 within 10 s, and a target that accepts and never answers does not hang it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.broken_variants import CATALOG, SMOKE, Fault, start_variant
from tests.conformance.hostile_server import HostileServer
from tests.node_process import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SECOND_EMAIL,
    SECOND_PASSWORD,
    start_node,
)

PROFILES = ("core", "identity", "anchoring", "consensus", "documents")
# Three runs at a time keep both cores busy while one run waits on its node.
WORKERS = 3
HARNESS_TIMEOUT_SECONDS = 240.0
PROFILE_WEIGHT = {"identity": 0, "consensus": 1, "anchoring": 2, "documents": 3, "core": 4}
UNREACHABLE_LIMIT_SECONDS = 10.0
HANG_GUARD_SECONDS = 120.0
SECOND_PASSWORD_ENV = "TWIN_TARGET_SECOND_PASSWORD"


@dataclass(frozen=True)
class RunOptions:
    """What a harness run needs: the catalog's options, and whether a target file claims."""

    profile: str
    arguments: tuple[str, ...]
    claim_in_target_file: bool = False

    @classmethod
    def of(cls, fault: Fault) -> RunOptions:
        """The options a fault's detection needs."""
        arguments = tuple(fault.harness_options())
        return cls(fault.checked_profile, arguments, fault.claim_in_target_file)

    @property
    def key(self) -> str:
        """A name for the run's folder."""
        claim = "-target-file" if self.claim_in_target_file else ""
        return "-".join(argument.lstrip("-") for argument in self.arguments) + claim


# The unmodified node is checked with the options of the faults of each profile.
BASELINES = {
    profile: next(
        RunOptions.of(fault)
        for fault in CATALOG
        if fault.checked_profile == profile and fault.name in SMOKE
    )
    for profile in PROFILES
}


@dataclass(frozen=True)
class HarnessRun:
    """What one ``twin-conformance run`` did: its exit code, report, output and wall time."""

    command: list[str]
    code: int
    report: dict[str, Any] | None
    output: str
    seconds: float

    def failed_tests(self) -> list[dict[str, Any]]:
        """The report's failed tests (none when no report was written)."""
        tests = self.report["tests"] if self.report else []
        return [test for test in tests if test["outcome"] == "failed"]

    def named_requirements(self) -> set[str]:
        """Every requirement a failed test named."""
        return {str(test["failedRequirement"]) for test in self.failed_tests()}

    def describe(self) -> str:
        """The run in a few lines, for assertion messages."""
        lines = [f"exit {self.code} after {self.seconds:.1f} s: {' '.join(self.command[2:])}"]
        lines += [
            f"  failed {test['id']} naming {test['failedRequirement']}: "
            f"{(test['message'] or '')[:200]}"
            for test in self.failed_tests()[:15]
        ]
        if self.report is None:
            lines.append("  no report.json; output ends:")
            lines += [f"  | {line}" for line in self.output.splitlines()[-15:]]
        return "\n".join(lines)


def run_harness(url: str, workdir: Path, options: RunOptions) -> HarnessRun:
    """Run ``twin-conformance run`` as a subprocess against ``url`` and read its report."""
    out = workdir / "report"
    arguments = list(options.arguments)
    if options.claim_in_target_file:
        target_file = workdir / "target.yaml"
        target = {
            "url": url,
            "auth": {
                "email": ADMIN_EMAIL,
                "password": ADMIN_PASSWORD,
                "secondUser": {"email": SECOND_EMAIL, "passwordEnv": SECOND_PASSWORD_ENV},
            },
            "profiles": list(PROFILES),
        }
        target_file.write_text(yaml.safe_dump(target), encoding="utf-8")
        arguments += ["--target-file", str(target_file)]
    else:
        arguments += ["--target", url, "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD]
        arguments += ["--second-email", SECOND_EMAIL]
    command = [
        sys.executable,
        "-m",
        "twin_conformance",
        "run",
        "--seed",
        "1",
        "--out",
        str(out),
        *arguments,
    ]
    # The second user's password reaches the harness through the environment only.
    env = {**os.environ, SECOND_PASSWORD_ENV: SECOND_PASSWORD}
    return _run(command, workdir, HARNESS_TIMEOUT_SECONDS, out / "report.json", env)


def _run(
    command: list[str],
    cwd: Path,
    timeout: float,
    report_path: Path | None,
    env: dict[str, str] | None = None,
) -> HarnessRun:
    """Run a harness command within ``timeout`` (killed after it, code -9) and time it."""
    started = time.monotonic()
    try:
        completed = subprocess.run(command, cwd=cwd, capture_output=True, timeout=timeout, env=env)
        code, streams = completed.returncode, [completed.stdout, completed.stderr]
    except subprocess.TimeoutExpired as expired:
        code, streams = -9, [expired.stdout or b"", expired.stderr or b""]
        streams.append(f"\n(killed after {timeout:.0f} s)".encode())
    output = b"".join(streams).decode(errors="replace")
    seconds = time.monotonic() - started
    report = None
    if report_path is not None and report_path.is_file():
        report = json.loads(report_path.read_text(encoding="utf-8"))
    return HarnessRun(command, code, report, output, seconds)


def check_node(workdir: Path, fault: Fault | None, options: RunOptions) -> HarnessRun:
    """Start the variant (or, with no fault, the unmodified node), run the harness, stop it."""
    workdir.mkdir(parents=True)
    data_dir = workdir / "data"
    node = start_variant(fault.name, data_dir) if fault else start_node(data_dir)
    try:
        return run_harness(node.url, workdir, options)
    finally:
        node.stop()


class RunBook:
    """Harness runs by key, each started once in a shared thread pool and awaited by tests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="harness-run")
        self.runs: dict[str, Future[HarnessRun]] = {}
        self.lock = threading.Lock()

    def _submit(self, key: str, job: Callable[[], HarnessRun]) -> Future[HarnessRun]:
        with self.lock:
            if key not in self.runs:
                self.runs[key] = self.pool.submit(job)
            return self.runs[key]

    def baseline(self, options: RunOptions) -> Future[HarnessRun]:
        """The run against the unmodified node with ``options``."""
        key = f"baseline-{options.key}"
        return self._submit(key, lambda: check_node(self.root / key, None, options))

    def variant(self, fault: Fault) -> Future[HarnessRun]:
        """The run against the variant with ``fault``."""
        key = f"variant-{fault.name}"
        return self._submit(key, lambda: check_node(self.root / key, fault, RunOptions.of(fault)))

    def close(self) -> None:
        """Drop runs not started yet and wait for the running ones (each stops its node)."""
        self.pool.shutdown(wait=True, cancel_futures=True)


def _weight(fault: Fault) -> int:
    """Where a variant's run stands in the pool's queue (its profile's weight)."""
    return PROFILE_WEIGHT[fault.checked_profile]


def _selected_parameters(request: pytest.FixtureRequest, name: str) -> list[Any]:
    """The values of parameter ``name`` in this module's tests that the session will run."""
    values = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and item.path == request.path and name in callspec.params:
            values.append(callspec.params[name])
    return values


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunBook]:
    """Every run the selected tests need, started at once (baselines first) and shared."""
    book = RunBook(tmp_path_factory.mktemp("harness-runs"))
    faults: list[Fault] = _selected_parameters(request, "fault")
    profiles = {*_selected_parameters(request, "profile"), *(f.checked_profile for f in faults)}
    for profile in PROFILES:
        if profile in profiles:
            book.baseline(BASELINES[profile])
    # The profiles with the most checks go first, so the pool does not end on a long run.
    for fault in sorted(faults, key=_weight):
        book.variant(fault)
    yield book
    book.close()


@pytest.mark.parametrize("profile", PROFILES)
def test_the_unmodified_reference_node_is_conformant(runs: RunBook, profile: str) -> None:
    run = runs.baseline(BASELINES[profile]).result()
    assert run.code == 0, run.describe()
    assert run.report is not None
    assert run.report["verdict"] == "conformant", run.describe()


@pytest.mark.suite("SUITE-060", "SUITE-012")
@pytest.mark.parametrize(
    "fault",
    # In the order the pool runs them, so that each test waits for its own run rather than
    # for the whole queue ahead of it (the first test awaited used to be charged with it).
    [
        pytest.param(fault, id=fault.name)
        for fault in sorted(CATALOG, key=_weight)
        if fault.name in SMOKE
    ],
)
def test_the_harness_catches_the_broken_variant(runs: RunBook, fault: Fault) -> None:
    baseline = runs.baseline(RunOptions.of(fault)).result()
    if baseline.code != 0:
        pytest.fail(
            "the unmodified node fails these checks too, so catching the variant shows "
            f"nothing:\n{baseline.describe()}"
        )
    run = runs.variant(fault).result()
    catching = [t["id"] for t in run.failed_tests() if t["failedRequirement"] == fault.requirement]
    more = f" and {len(catching) - 3} more" if len(catching) > 3 else ""
    print(
        f"{fault.name}: exit {run.code} in {run.seconds:.1f} s; {fault.requirement} named by "
        f"{', '.join(catching[:3]) + more or 'no check'}; "
        f"named in all: {sorted(map(str, run.named_requirements()))}"
    )
    assert run.code == 1, f"{fault.name} ({fault.description}) was not caught:\n{run.describe()}"
    assert catching, (
        f"{fault.name} was caught, but no failed test names {fault.requirement}:\n{run.describe()}"
    )
    if fault.max_failures is not None:
        assert len(run.failed_tests()) <= fault.max_failures, (
            f"{fault.name}: one root cause, {len(run.failed_tests())} failures:\n{run.describe()}"
        )


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unreachable_target_is_exit_2_within_10_seconds(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    command = [sys.executable, "-m", "twin_conformance", "run", "--target", url]
    run = _run([*command, "--out", str(tmp_path / "report")], tmp_path, 60.0, None)
    print(f"unreachable target: exit {run.code} after {run.seconds:.2f} s")
    assert run.code == 2, run.describe()
    assert run.seconds < UNREACHABLE_LIMIT_SECONDS, run.describe()
    assert "could not run" in run.output, run.describe()


def test_a_target_that_never_answers_does_not_hang_the_harness(tmp_path: Path) -> None:
    with HostileServer("hang") as server:
        command = [
            sys.executable,
            "-m",
            "twin_conformance",
            "run",
            "--target",
            server.url,
            "--request-timeout",
            "2",
            "--run-timeout",
            "60",
            "--out",
            str(tmp_path / "report"),
        ]
        run = _run(command, tmp_path, HANG_GUARD_SECONDS, tmp_path / "report" / "report.json")
    print(f"silent target: exit {run.code} after {run.seconds:.2f} s: {run.output.strip()[-300:]}")
    assert run.code != -9, f"the harness hung on a silent target:\n{run.describe()}"
    assert run.code in (1, 2), run.describe()
