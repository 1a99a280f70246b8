"""The pytest plugin (entry point ``pytest11``): target options, markers, fixtures, the report.

A conformance check is a pytest test marked ``twin_profile``; it names the requirements it
checks with ``twin_requirement``, says it writes nothing with ``twin_read_only`` and that it
may halt a node that fails it with ``twin_destructive``. The plugin reaches the target (or
starts the embedded reference node) after checking the credentials, skips profiles the run did
not ask for or the target does not claim (reported as such, never as failed), blocks the
checks whose prerequisite failed, keeps each check's HTTP exchanges as evidence with every
secret redacted, and at the end writes report.json, junit.xml and report.html and sets the exit
code from the report (:func:`twin_conformance._results.exit_code`, the same function the CLI
uses).

This module is loaded in every pytest session of an environment where the suite is installed,
so it imports nothing heavy: a session that holds no check marked ``twin_profile`` pays nothing
for it. The work is in ``_session.py``, imported the first time a session turns out to hold
checks.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from twin_conformance._failures import PREREQUISITE_ATTRIBUTE

if TYPE_CHECKING:
    from twin_conformance._client import TwinClient
    from twin_conformance._run import TwinState

__all__ = ["TwinState", "state", "test_id"]

PROFILE_CHOICES = ("core", "identity", "anchoring", "consensus", "documents", "full")
_STATE = pytest.StashKey["TwinState"]()
_STARTED = pytest.StashKey[tuple[datetime, float]]()
REPORT_FILES = ("report.json", "junit.xml", "report.html")
DEFAULT_FUZZ_EXAMPLES = 10
DEFAULT_FUZZ_BUDGET = 60.0
"""Seconds of fuzzing per run: with the other checks, a run against a node answering in 30 ms
stays under two minutes (bench/bench_slow_target.py measures it)."""
DEFAULT_CONCURRENCY = 4
"""Connections at once to the target: enough to hide a slow network, few enough to be polite."""
MAX_CONCURRENCY = 64
DEFAULT_REQUEST_TIMEOUT = 10.0
DEFAULT_FAIL_ON = "must"


def pytest_addoption(parser: pytest.Parser) -> None:
    """The target and run options (also set by the ``twin-conformance`` CLI)."""
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
        "--twin-second-email",
        default=os.environ.get("TWIN_TARGET_SECOND_EMAIL"),
        help="login email of a second, ordinary user, for the rules about other users' data "
        "(default $TWIN_TARGET_SECOND_EMAIL); its password is read from "
        "$TWIN_TARGET_SECOND_PASSWORD only",
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
        choices=list(PROFILE_CHOICES),
        help="profile to check (repeatable; default full; core is always checked)",
    )
    group.addoption("--twin-seed", type=int, default=1, help="seed of every random choice")
    group.addoption("--twin-report-dir", default=None, help="where to write the reports")
    group.addoption(
        "--twin-expected-failures", default=None, help="baseline file of known failures"
    )
    group.addoption("--twin-fail-on", default=DEFAULT_FAIL_ON, choices=["must", "should"])
    group.addoption(
        "--twin-fuzz-examples",
        type=int,
        default=DEFAULT_FUZZ_EXAMPLES,
        help="generated fuzz cases per operation, beyond the examples and coverage cases",
    )
    group.addoption(
        "--twin-fuzz-budget",
        type=_positive_seconds,
        default=DEFAULT_FUZZ_BUDGET,
        help="seconds for all fuzzing (operations, then the stateful phase); the report "
        "says how many examples ran",
    )
    group.addoption(
        "--twin-concurrency",
        type=_concurrency,
        default=DEFAULT_CONCURRENCY,
        help="connections at once to the target for checks that do not depend on each other "
        f"(1 to {MAX_CONCURRENCY}; 1 runs everything in order)",
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
    group.addoption(
        "--twin-select",
        action="append",
        default=None,
        help="run only this check ID or module (repeatable); the verdict is then incomplete",
    )
    group.addoption(
        "--twin-read-only",
        action="store_true",
        help="run only checks that write nothing (for production nodes); verdict incomplete",
    )
    group.addoption(
        "--twin-destructive",
        action="store_true",
        help="also run, last, the checks that may halt a node that fails them",
    )
    group.addoption(
        "--twin-sign-key", default=None, help="certifier's key file: sign report.json with it"
    )
    group.addoption("--twin-command", default=None, help=TWIN_COMMAND_HELP)
    group.addoption(
        "--twin-interop-network",
        default=None,
        help="the interop network (JSON) these checks run on (set by twin-conformance interop)",
    )


def _positive_seconds(text: str) -> float:
    """A fuzzing budget: a finite number of seconds above 0 (argparse names the option)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 86_400 or value != value:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds from 0 to 86400")
    return value


def _concurrency(text: str) -> int:
    """A number of connections from 1 to MAX_CONCURRENCY (argparse names the option)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"{value} is not from 1 to {MAX_CONCURRENCY}")
    return value


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


def _prerequisites(item: pytest.Item) -> list[tuple[str, str, bool]]:
    """The (check ID, title, read-only) of every prerequisite fixture the item uses."""
    info = getattr(item, "_fixtureinfo", None)
    found: list[tuple[str, str, bool]] = []
    if info is None:
        return found
    for name in info.names_closure:
        for definition in info.name2fixturedefs.get(name, ()):
            marker = getattr(definition.func, PREREQUISITE_ATTRIBUTE, None)
            if marker is not None and marker not in found:
                found.append(marker)
    return found


def read_baseline(path: str | None) -> set[str] | None:
    """The check IDs of a baseline file (one per line, ``#`` starts a comment)."""
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise pytest.UsageError(f"baseline file {path}: {error}") from None
    return {
        line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()
    }


TWIN_COMMAND_HELP = "the command line shown in the report (set by twin-conformance run)"


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers, note when the run started, read the baseline before any check."""
    for line in (
        "twin_profile(name): the TWIN profile a conformance check belongs to",
        "twin_requirement(*ids): the TWIN requirement IDs a conformance check checks",
        "twin_read_only: the check writes nothing to the target (it runs in --read-only runs)",
        "twin_destructive: the check may halt a node that fails it (only with --destructive)",
        "twin_judged_late: the check judges what a probe saw while other checks ran (it runs "
        "after fuzzing)",
        "twin_throttles_logins: the check makes the node refuse the harness's logins for a "
        "while (it runs after every other check but the destructive ones)",
    ):
        config.addinivalue_line("markers", line)
    config.stash[_STARTED] = (datetime.now(UTC), time.monotonic())
    # An unreadable baseline stops the run here, before any check (exit 4, usage error).
    read_baseline(config.getoption("--twin-expected-failures"))


def state(config: pytest.Config) -> TwinState:
    """The run's shared state (built, with the heavy modules, on first use)."""
    if _STATE not in config.stash:
        from twin_conformance._session import new_state

        started, clock = config.stash[_STARTED]
        config.stash[_STATE] = new_state(config, started, clock)
    return config.stash[_STATE]


def _active(config: pytest.Config) -> bool:
    return _STATE in config.stash


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Record every check, check the baseline, apply the selection, and order the run."""
    if not any(_profile(item) is not None for item in items):
        return
    from twin_conformance._session import on_collection

    on_collection(state(config), config, items)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Checks that ``-k`` left out are not selected (the run is narrowed)."""
    if _active(session.config):
        from twin_conformance._session import on_collection_finish

        on_collection_finish(state(session.config), session)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip unrequested and unclaimed profiles; connect on the first check; stop in time."""
    profile = _profile(item)
    if profile is None:
        return
    from twin_conformance._session import on_setup

    on_setup(state(item.config), item, profile)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Record each check's outcome, failed requirement, blocker, evidence and reproduction."""
    report: pytest.TestReport = yield
    profile = _profile(item)
    if profile is not None:
        from twin_conformance._session import on_report

        on_report(state(item.config), item, call, report, profile)
    return report


@pytest.fixture(scope="session")
def twin(request: pytest.FixtureRequest) -> TwinClient:
    """The client of the node under test, with the run's bearer token."""
    from twin_conformance._session import connected

    run = connected(state(request.config))
    if run.client is None:
        raise RuntimeError("the target is not connected")
    return run.client


@pytest.fixture(scope="session")
def twin_state(request: pytest.FixtureRequest) -> TwinState:
    """The run's shared state: target, ``/info``, claimed profiles, seed."""
    from twin_conformance._session import connected

    return connected(state(request.config))


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """A random generator seeded by the run's seed and the check's ID (order-independent)."""
    seed = int(request.config.getoption("--twin-seed"))
    return random.Random(f"{seed}:{test_id(request.node)}")  # noqa: S311 - test data only


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the reports, stop the embedded node, and set the run's exit code."""
    if _active(session.config):
        from twin_conformance._session import on_finish

        on_finish(state(session.config), session, exitstatus)
