"""The pytest plugin (entry point ``pytest11``): target options, markers, fixtures, the report.

A conformance check is a pytest test marked ``twin_profile``; it names the requirements it
checks with ``twin_requirement``. The plugin reaches the target (or starts the embedded
reference node), skips profiles the run did not ask for or the target does not claim (reported
as such, never as failed), keeps each check's HTTP exchanges as evidence, and at the end writes
report.json, junit.xml and report.html. Tests that carry no ``twin_profile`` are left alone, so
the plugin is inert in any other test suite.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from twin_conformance._client import ConformanceFailure, Exchange, TwinClient
from twin_conformance._container import ContainerNode, ContainerSpec
from twin_conformance._contract import OpenApiContract, load_contract
from twin_conformance._registry import PROFILES, load_registry
from twin_conformance._results import TestRecord, apply_expected_failures, build_report
from twin_conformance._target import (
    EmbeddedNode,
    Target,
    TargetError,
    check_url,
    load_target_file,
    login,
    probe,
)
from twin_conformance._version import SUITE_VERSION

_STATE = pytest.StashKey["TwinState"]()
REPORT_FILES = ("report.json", "junit.xml", "report.html")
DEFAULT_FUZZ_EXAMPLES = 10
DEFAULT_REQUEST_TIMEOUT = 10.0


@dataclass
class TwinState:
    """Everything one run shares: options, the target, the records of every check."""

    config: pytest.Config
    requested: set[str]
    seed: int
    fail_on: str
    request_timeout: float
    run_deadline: float
    started: datetime
    target: Target | None = None
    embedded: EmbeddedNode | None = None
    container: ContainerNode | None = None
    info: dict[str, Any] | None = None
    claimed: set[str] = field(default_factory=set)
    client: TwinClient | None = None
    contract: OpenApiContract | None = None
    could_not_run: str | None = None
    records: dict[str, TestRecord] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    vectors: dict[str, Any] | None = None
    twin_items: int = 0

    def record(self, exchange: Exchange) -> None:
        """Keep an exchange as evidence of the check that is running."""
        if len(self.evidence) < 50:
            self.evidence.append(exchange.evidence())


def pytest_addoption(parser: pytest.Parser) -> None:
    """The target and run options (also settable by the ``twin-conformance`` CLI)."""
    group = parser.getgroup("twin-conformance", "TWIN conformance harness")
    group.addoption("--twin-target", default=None, help="URL of the node under test")
    group.addoption("--twin-target-file", default=None, help="target file (YAML or JSON)")
    group.addoption(
        "--twin-email",
        default=os.environ.get("TWIN_TARGET_EMAIL"),
        help="login email (default $TWIN_TARGET_EMAIL)",
    )
    group.addoption(
        "--twin-password",
        default=os.environ.get("TWIN_TARGET_PASSWORD"),
        help="login password (default $TWIN_TARGET_PASSWORD)",
    )
    group.addoption(
        "--twin-token",
        default=os.environ.get("TWIN_TARGET_TOKEN"),
        help="bearer token instead of a login (default $TWIN_TARGET_TOKEN)",
    )
    group.addoption(
        "--twin-profile",
        action="append",
        default=None,
        choices=[*PROFILES, "full"],
        help="profile to check (repeatable; default full; core is always checked)",
    )
    group.addoption("--twin-seed", type=int, default=1, help="seed of every random choice")
    group.addoption("--twin-report-dir", default=None, help="where to write the reports")
    group.addoption(
        "--twin-expected-failures", default=None, help="baseline file of expected failures"
    )
    group.addoption("--twin-fail-on", default="must", choices=["must", "should"])
    group.addoption(
        "--twin-fuzz-examples",
        type=int,
        default=DEFAULT_FUZZ_EXAMPLES,
        help="fuzz cases per operation",
    )
    group.addoption(
        "--twin-request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT, help="seconds"
    )
    group.addoption("--twin-run-timeout", type=float, default=1800.0, help="seconds")
    group.addoption("--twin-vectors", default=None, help="folder of signed vectors")
    group.addoption(
        "--twin-trusted-publishers", default=None, help="trusted vector publishers (JSON)"
    )
    group.addoption(
        "--twin-allow-unsigned-vectors",
        action="store_true",
        help="replay vectors whose manifest is unsigned (never for certification)",
    )
    group.addoption("--twin-command", default=None, help=TWIN_COMMAND_HELP)


TWIN_COMMAND_HELP = "the command line shown in the report (set by twin-conformance run)"


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers and the run's state."""
    config.addinivalue_line(
        "markers", "twin_profile(name): the TWIN profile a conformance check belongs to"
    )
    config.addinivalue_line(
        "markers", "twin_requirement(*ids): the TWIN requirement IDs a conformance check checks"
    )
    # Read the baseline now, so that an unreadable one stops the run before any check.
    _expected_failures(config.getoption("--twin-expected-failures"))
    profiles = config.getoption("--twin-profile") or ["full"]
    requested = set(PROFILES) if "full" in profiles else set(profiles)
    requested.add("core")  # Every node implements core; the others build on it.
    config.stash[_STATE] = TwinState(
        config=config,
        requested=requested,
        seed=int(config.getoption("--twin-seed")),
        fail_on=str(config.getoption("--twin-fail-on")),
        request_timeout=float(config.getoption("--twin-request-timeout")),
        run_deadline=time.monotonic() + float(config.getoption("--twin-run-timeout")),
        started=datetime.now(UTC),
    )


def state(config: pytest.Config) -> TwinState:
    """The run's shared state."""
    return config.stash[_STATE]


def _profile(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("twin_profile")
    return str(marker.args[0]) if marker and marker.args else None


def _requirements(item: pytest.Item) -> list[str]:
    found: list[str] = []
    for marker in item.iter_markers("twin_requirement"):
        found.extend(str(arg) for arg in marker.args if str(arg) not in found)
    return found


def test_id(item: pytest.Item) -> str:
    """A check's stable ID: its module file and name, as ``--select`` takes it."""
    return f"{Path(str(item.path)).name}::{item.name}"


def _connect(run: TwinState) -> None:
    """Reach the target, log in and read ``/info`` once; failures end the run with code 2."""
    if run.client is not None or run.could_not_run is not None:
        return
    config = run.config
    try:
        target = _target_from_options(config)
        if target is None:
            run.embedded = EmbeddedNode()
            target = run.embedded.start()
        elif target.image:
            run.container = ContainerNode(
                ContainerSpec(
                    image=target.image,
                    port=int(target.container.get("port", 8080)),
                    network=str(target.container.get("network", "bridge")),
                    env=dict(target.container.get("env", {})),
                    command=list(target.container.get("command", [])),
                )
            )
            target.url = run.container.start()
        run.target = target
        run.info = probe(target.url, run.request_timeout)
        token = target.token
        if token is None and target.email and target.password:
            token = login(target.url, target.email, target.password, run.request_timeout)
        if target.profiles is not None:
            run.claimed = set(target.profiles)
        elif run.info and isinstance(run.info.get("profiles"), list):
            run.claimed = {str(p) for p in run.info["profiles"]}
        run.claimed.add("core")
        run.contract = load_contract()
        contract = run.contract
        run.client = TwinClient(
            target.url,
            token=token,
            timeout=run.request_timeout,
            recorder=run.record,
            validator=lambda exchange, _bad: contract.check(exchange),
        )
    except TargetError as error:
        run.could_not_run = str(error)
    if run.could_not_run is not None:
        pytest.exit(f"could not run: {run.could_not_run}", returncode=2)


def _target_from_options(config: pytest.Config) -> Target | None:
    url = config.getoption("--twin-target")
    target_file = config.getoption("--twin-target-file")
    if url and target_file:
        raise TargetError("give --twin-target or --twin-target-file, not both")
    if target_file:
        target = load_target_file(Path(target_file))
    elif url:
        target = Target(url=check_url(str(url)))
    else:
        return None
    target.email = config.getoption("--twin-email") or target.email
    target.password = config.getoption("--twin-password") or target.password
    target.token = config.getoption("--twin-token") or target.token
    return target


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Count the conformance checks (the plugin acts only when there are some); fuzz last.

    Fuzzing creates, changes and removes state on the target, so it runs after every other
    check, whatever order the modules were collected in.
    """
    state(config).twin_items = sum(1 for item in items if _profile(item) is not None)
    items.sort(key=lambda item: Path(str(item.path)).name == "test_fuzz.py")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip unrequested and unclaimed profiles; connect to the target on the first check."""
    profile = _profile(item)
    if profile is None:
        return
    run = state(item.config)
    run.evidence = []
    if profile not in run.requested:
        pytest.skip(f"not requested: profile {profile} was not asked for")
    if time.monotonic() > run.run_deadline:
        pytest.exit("could not run: the whole-run time limit was reached", returncode=2)
    _connect(run)
    if profile not in run.claimed:
        pytest.skip(f"not claimed: the target does not claim profile {profile}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Record each check's outcome, failed requirement, evidence and reproduction."""
    report: pytest.TestReport = yield
    profile = _profile(item)
    if profile is None:
        return report
    run = state(item.config)
    key = test_id(item)
    requirements = _requirements(item)
    record = run.records.get(key)
    if record is None:
        record = TestRecord(
            id=key,
            name=item.name,
            profile=profile,
            requirements=requirements,
            reproduce=_reproduce(run, key),
        )
        run.records[key] = record
    record.duration += report.duration
    if report.skipped and record.outcome == "passed":
        reason = _skip_reason(report)
        if reason.startswith("not claimed"):
            record.outcome = "not-claimed"
        elif reason.startswith("not requested"):
            record.outcome = "not-requested"
        else:
            record.outcome = "skipped"
        record.message = reason
        record.reproduce = None
    elif report.failed and record.outcome != "failed":
        record.outcome = "failed"
        error = call.excinfo.value if call.excinfo is not None else None
        if isinstance(error, ConformanceFailure):
            record.failed_requirement = error.requirement or (
                requirements[0] if requirements else None
            )
            record.message = error.message
        else:
            # A plain assertion blames the check's first requirement; any other exception is
            # a fault of the check or the harness, so it blames no requirement of the target
            # (and still fails the run, since nothing explains it).
            is_assertion = error is None or isinstance(error, AssertionError)
            record.failed_requirement = requirements[0] if requirements and is_assertion else None
            text = str(error) if error is not None else report.longreprtext
            first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
            if not is_assertion:
                first = f"the check raised {type(error).__name__}: {first}"
            record.message = first[:1000]
    if report.when == "teardown" or (report.when == "setup" and not report.passed):
        record.evidence = list(run.evidence)
        if record.outcome == "passed":
            record.evidence = record.evidence[:3]
    return report


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _reproduce(run: TwinState, key: str) -> str:
    """The command that runs one check alone against the same target with the same seed."""
    parts = ["twin-conformance", "run"]
    target_file = run.config.getoption("--twin-target-file")
    url = run.config.getoption("--twin-target")
    if target_file:
        parts += ["--target-file", str(target_file)]
    elif url:
        parts += ["--target", str(url)]
    parts += ["--seed", str(run.seed)]
    # Options that change what a check sends, when they differ from the defaults.
    fuzz_examples = int(run.config.getoption("--twin-fuzz-examples"))
    if fuzz_examples != DEFAULT_FUZZ_EXAMPLES:
        parts += ["--fuzz-examples", str(fuzz_examples)]
    if run.request_timeout != DEFAULT_REQUEST_TIMEOUT:
        parts += ["--request-timeout", f"{run.request_timeout:g}"]
    parts += ["--select", key]
    return shlex.join(parts)


@pytest.fixture(scope="session")
def twin(request: pytest.FixtureRequest) -> TwinClient:
    """The client of the node under test, with the run's bearer token."""
    run = state(request.config)
    _connect(run)
    if run.client is None:
        raise RuntimeError("the target is not connected")
    return run.client


@pytest.fixture(scope="session")
def twin_state(request: pytest.FixtureRequest) -> TwinState:
    """The run's shared state: target, ``/info``, claimed profiles, seed."""
    run = state(request.config)
    _connect(run)
    return run


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """A random generator seeded by the run's seed and the check's ID (order-independent)."""
    run = state(request.config)
    return random.Random(f"{run.seed}:{test_id(request.node)}")  # noqa: S311 - test data only


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the reports and stop the embedded node."""
    run = state(session.config)
    try:
        if run.twin_items and run.could_not_run is None and run.records:
            _write_reports(run)
    finally:
        if run.client is not None:
            run.client.close()
        if run.embedded is not None:
            run.embedded.stop()
        if run.container is not None:
            run.container.stop()


def _expected_failures(path: str | None) -> set[str] | None:
    """The check IDs of a baseline file (one per line, ``#`` starts a comment)."""
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise pytest.UsageError(f"expected-failures file {path}: {error}") from None
    return {
        line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()
    }


def build_run_report(run: TwinState) -> dict[str, Any]:
    """The report of this run so far."""
    from twin_spec import SPEC_VERSION

    config = run.config
    records = sorted(run.records.values(), key=lambda record: record.id)
    expected_path = config.getoption("--twin-expected-failures")
    expected = _expected_failures(expected_path)
    if expected is not None:
        apply_expected_failures(records, expected)
    finished = datetime.now(UTC)
    target = run.target
    return build_report(
        records=records,
        registry=load_registry(),
        claimed=run.claimed,
        requested=run.requested,
        fail_on=run.fail_on,
        suite_version=SUITE_VERSION,
        spec_version=SPEC_VERSION,
        vectors=run.vectors,
        target={
            "url": target.url if target else "",
            "embedded": bool(target and target.embedded),
            "info": run.info,
        },
        run={
            "seed": run.seed,
            "startedAt": run.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "finishedAt": finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "durationSeconds": round((finished - run.started).total_seconds(), 3),
            "profiles": [p for p in PROFILES if p in run.requested],
            "failOn": run.fail_on,
            "fuzzExamples": int(config.getoption("--twin-fuzz-examples")),
            "command": config.getoption("--twin-command")
            or shlex.join(["pytest", *config.invocation_params.args]),
            "expectedFailures": str(expected_path) if expected_path else None,
        },
    )


def _write_reports(run: TwinState) -> None:
    """Write report.json, junit.xml and report.html into the report folder, atomically each."""
    folder = run.config.getoption("--twin-report-dir")
    if not folder:
        return
    from twin_conformance._render_html import render_html
    from twin_conformance._render_junit import render_junit

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    report = build_run_report(run)
    texts = {
        "report.json": json.dumps(report, indent=2, ensure_ascii=False) + "\n",
        "junit.xml": render_junit(report),
        "report.html": render_html(report),
    }
    for name, text in texts.items():
        temporary = out / f".{name}.tmp"
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, out / name)
