"""The harness's side of a pytest session that holds conformance checks (the heavy part).

``plugin.py`` is the ``pytest11`` entry point and stays light, so that a pytest session without
conformance checks pays nothing for it; the first time a session turns out to hold checks, it
builds the run's state here and hands every hook to these functions: connecting to the target,
selecting and ordering the checks, recording each outcome (failed, blocked, broken, and the
prerequisites that are checks of their own) with its evidence, and writing the reports.
"""

from __future__ import annotations

import json
import os
import shlex
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from twin_conformance._client import TwinClient, server_error_cause
from twin_conformance._container import ContainerNode, ContainerSpec
from twin_conformance._contract import ERROR_SHAPE, error_body_signature, load_contract
from twin_conformance._failures import (
    PASSED_PREREQUISITES,
    Blocked,
    ConformanceFailure,
    PrerequisiteFailed,
    Throttled,
)
from twin_conformance._registry import PROFILES, load_registry
from twin_conformance._results import (
    EXIT_COULD_NOT_RUN,
    Selection,
    Stop,
    TestRecord,
    build_report,
    exit_code,
)
from twin_conformance._run import RunObserver, TwinState, contract_validator
from twin_conformance._target import (
    SECOND_PASSWORD_ENV,
    EmbeddedNode,
    Target,
    TargetError,
    check_second_user,
    check_token,
    check_url,
    load_target_file,
    login,
    probe,
)
from twin_conformance._version import SUITE_VERSION
from twin_conformance.plugin import (
    DEFAULT_CONCURRENCY,
    DEFAULT_FAIL_ON,
    DEFAULT_FUZZ_BUDGET,
    DEFAULT_FUZZ_EXAMPLES,
    DEFAULT_REQUEST_TIMEOUT,
    _prerequisites,
    _profile,
    _requirements,
    read_baseline,
    test_id,
)

BAD_INPUT_SERVER_ERROR = "TWIN-CORE-054"
"""A 5xx answer to bad input: keyed by operation, so one such operation is one failure."""
PRESENCE_MODULE = "test_routes.py"
FUZZ_MODULE = "test_fuzz.py"
NOT_RUN = "not run: "
DESTRUCTIVE_SKIP = "destructive: runs only with --destructive"


def new_state(config: pytest.Config, started: datetime, clock: float) -> TwinState:
    """The run's state, built the first time the session turns out to hold checks."""
    PASSED_PREREQUISITES.clear()
    profiles = config.getoption("--twin-profile") or ["full"]
    requested = set(PROFILES) if "full" in profiles else set(profiles)
    requested.add("core")  # Every node implements core; the others build on it.
    run = TwinState(
        config=config,
        requested=requested,
        seed=int(config.getoption("--twin-seed")),
        fail_on=str(config.getoption("--twin-fail-on")),
        request_timeout=float(config.getoption("--twin-request-timeout")),
        run_deadline=clock + float(config.getoption("--twin-run-timeout")),
        started=started,
        selection=Selection(
            checks=tuple(config.getoption("--twin-select") or ()),
            keyword=config.option.keyword or None,
            read_only=bool(config.getoption("--twin-read-only")),
            destructive=bool(config.getoption("--twin-destructive")),
        ),
    )
    run.baseline = read_baseline(config.getoption("--twin-expected-failures"))
    run.redactor.add(config.getoption("--twin-password"))
    run.redactor.add(config.getoption("--twin-token"))
    run.redactor.add(os.environ.get(SECOND_PASSWORD_ENV))
    return run


def _stop_before_checks(run: TwinState, reason: str) -> None:
    """End the run with exit 2 and the reason on the last line (no report is written)."""
    run.could_not_run = reason
    pytest.exit(f"could not run: {reason}", returncode=EXIT_COULD_NOT_RUN)


# --- connecting -----------------------------------------------------------------------------


def _connect(run: TwinState) -> None:
    """Reach the target, check the credentials, read ``/info``; failures are exit 2."""
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
        run.redactor.add(target.password)
        run.redactor.add(target.token)
        run.redactor.add(target.second_password)
        run.info = probe(target.url, run.request_timeout)
        token = _session_token(run, target)
        check_second_user(target)
        run.second_token = _second_token(run, target)
        if target.profiles is not None:
            run.claimed = set(target.profiles)
        elif run.info and isinstance(run.info.get("profiles"), list):
            run.claimed = {str(p) for p in run.info["profiles"]}
        run.claimed.add("core")
        run.contract = load_contract()
        run.client = TwinClient(
            target.url,
            token=token,
            timeout=run.request_timeout,
            observer=RunObserver(run),
            validator=contract_validator(run, run.contract),
        )
    except TargetError as error:
        run.could_not_run = run.redactor.text(str(error))
    if run.could_not_run is not None:
        _stop_before_checks(run, run.could_not_run)


def _session_token(run: TwinState, target: Target) -> str:
    """The run's bearer token: given, or from a login; refused or missing credentials stop."""
    if target.token:
        check_token(target.url, target.token, run.request_timeout)
        return target.token
    if not (target.email and target.password):
        raise TargetError(
            "no credentials for the target: give --email with the password in "
            "$TWIN_TARGET_PASSWORD, or a token in $TWIN_TARGET_TOKEN (a run without them "
            "cannot test the authenticated operations, so it cannot give a verdict)"
        )
    session = login(target.url, target.email, target.password, run.request_timeout)
    run.redactor.add(session.token)
    if session.cookie is not None:
        run.deviation(
            "login-token-in-cookie",
            f"POST /authentication/login answered the token only in the {session.cookie} "
            "cookie; the harness uses it as a bearer token",
            "TWIN-CORE-056",
        )
    return session.token


def _second_token(run: TwinState, target: Target) -> str | None:
    """The second user's bearer token, when the run has a second user; refused credentials stop.

    Its login answer is not judged (the run's own login is); the token is a secret like any.
    """
    if not (target.second_email and target.second_password):
        return None
    try:
        session = login(
            target.url, target.second_email, target.second_password, run.request_timeout
        )
    except TargetError as error:
        raise TargetError(f"the second user (--second-email): {error}") from None
    run.redactor.add(session.token)
    return session.token


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
    second_email = config.getoption("--twin-second-email")
    if second_email:
        # The option names the user; its password comes from the environment only.
        target.second_email = str(second_email)
        target.second_password = os.environ.get(SECOND_PASSWORD_ENV) or None
        target.second_password_env = SECOND_PASSWORD_ENV
    return target


# --- collecting and selecting ----------------------------------------------------------------


def _order(item: pytest.Item) -> int:
    """Route presence first; fuzzing (which changes state) late; destructive checks last.

    A check that judges what a probe saw while the others ran comes after fuzzing. A check
    that makes the node refuse the harness's logins for a while (throttling) runs after every
    other check but the destructive ones, so that no check needing a login meets the throttle
    it set off.
    """
    if item.get_closest_marker("twin_destructive") is not None:
        return 5
    if item.get_closest_marker("twin_throttles_logins") is not None:
        return 4
    if item.get_closest_marker("twin_judged_late") is not None:
        return 3
    name = Path(str(item.path)).name
    return 0 if name == PRESENCE_MODULE else 2 if name == FUZZ_MODULE else 1


def _selected(check_id: str, item: pytest.Item, wanted: tuple[str, ...]) -> bool:
    """Whether ``--select`` picks the item: its module, its name, or its exact ID."""
    module = check_id.split("::", 1)[0]
    original = f"{module}::{getattr(item, 'originalname', item.name)}"
    return any(entry in (check_id, module, original) for entry in wanted)


def on_collection(run: TwinState, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Record every check, check the baseline, apply the selection, and order the run."""
    checks = [item for item in items if _profile(item) is not None]
    run.twin_items = len(checks)
    for item in checks:
        key = test_id(item)
        run.known_ids.add(key)
        run.known_ids.update(check_id for check_id, _, _ in _prerequisites(item))
        run.records[key] = TestRecord(
            id=key,
            name=item.name,
            profile=str(_profile(item)),
            requirements=_requirements(item),
            read_only=item.get_closest_marker("twin_read_only") is not None,
        )
    if run.baseline is not None:
        unknown = sorted(run.baseline - run.known_ids)
        if unknown:
            _stop_before_checks(
                run,
                f"the baseline names {len(unknown)} check(s) this suite does not have: "
                + ", ".join(unknown[:5]),
            )
    unknown_selection = [
        entry
        for entry in run.selection.checks
        if not any(_selected(test_id(item), item, (entry,)) for item in checks)
    ]
    if unknown_selection:
        _stop_before_checks(run, f"--select names no check: {', '.join(unknown_selection)}")
    kept: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        if _profile(item) is None:
            kept.append(item)
            continue
        record = run.records[test_id(item)]
        if run.selection.checks and not _selected(record.id, item, run.selection.checks):
            record.outcome = "not-selected"
        elif run.selection.read_only and not record.read_only:
            record.outcome = "not-selected"
            record.message = "not selected: --read-only runs only checks that write nothing"
        elif (
            item.get_closest_marker("twin_destructive") is not None
            and not run.selection.destructive
        ):
            record.outcome = "skipped"
            record.message = DESTRUCTIVE_SKIP
        else:
            kept.append(item)
            continue
        deselected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    kept.sort(key=_order)
    items[:] = kept


def on_collection_finish(run: TwinState, session: pytest.Session) -> None:
    """Checks that ``-k`` left out are not selected (the run is narrowed)."""
    remaining = {test_id(item) for item in session.items if _profile(item) is not None}
    for record in run.records.values():
        if record.outcome == "not-run" and record.id not in remaining:
            record.outcome = "not-selected"


# --- running --------------------------------------------------------------------------------


def on_setup(run: TwinState, item: pytest.Item, profile: str) -> None:
    """Skip unrequested and unclaimed profiles; connect on the first check; stop in time."""
    run.evidence = []
    run.last_exchange = []
    run.current = test_id(item)
    if profile not in run.requested:
        pytest.skip(f"not requested: profile {profile} was not asked for")
    # Connected before the time limit is looked at: a run stopped before its first check
    # still knows what the target claims, and writes a report that says it is incomplete.
    _connect(run)
    if time.monotonic() > run.run_deadline:
        if run.stopped is None:
            run.stopped = Stop(
                "run-timeout", "the whole-run time limit (--run-timeout) was reached"
            )
        item.session.shouldstop = run.stopped.message
        pytest.skip(NOT_RUN + run.stopped.message)
    if profile not in run.claimed:
        pytest.skip(f"not claimed: the target does not claim profile {profile}")


def on_report(
    run: TwinState,
    item: pytest.Item,
    call: pytest.CallInfo[None],
    report: pytest.TestReport,
    profile: str,
) -> None:
    """Record each check's outcome, failed requirement, blocker, evidence and reproduction."""
    key = test_id(item)
    record = run.records.setdefault(
        key, TestRecord(id=key, name=item.name, profile=profile, requirements=_requirements(item))
    )
    record.duration += report.duration
    if report.when == "setup" and record.outcome == "not-run" and not report.skipped:
        record.outcome = "passed"
    error = call.excinfo.value if call.excinfo is not None else None
    if report.skipped and record.outcome in ("passed", "not-run"):
        _skipped(record, _skip_reason(report))
    elif report.failed and record.outcome not in ("failed", "blocked", "error"):
        _not_passed(run, item, record, error, report)
    if record.outcome == "passed" and report.when == "call":
        record.reproduce = None
    if report.when == "teardown" or (report.when == "setup" and not report.passed):
        record.evidence = list(run.evidence)
        if record.outcome == "passed":
            record.evidence = record.evidence[:3]
    if report.failed:
        # pytest's own output (a vendor's terminal, its --junitxml) gets the redacted text.
        prefix = f"{record.failed_requirement}: " if record.failed_requirement else ""
        report.longrepr = run.redactor.text(prefix + (record.message or str(report.longrepr)))


def _skipped(record: TestRecord, reason: str) -> None:
    if reason.startswith(NOT_RUN):
        record.outcome = "not-run"
    elif reason.startswith("not applicable"):
        record.outcome = "not-applicable"
    elif reason.startswith("not claimed"):
        record.outcome = "not-claimed"
    elif reason.startswith("not requested"):
        record.outcome = "not-requested"
    else:
        record.outcome = "skipped"
    record.message = reason
    record.reproduce = None


def _not_passed(
    run: TwinState,
    item: pytest.Item,
    record: TestRecord,
    error: BaseException | None,
    report: pytest.TestReport,
) -> None:
    """A check that did not pass: failed, blocked by another check, or broken (an error)."""
    requirements = record.requirements
    if isinstance(error, PrerequisiteFailed):
        _prerequisite_failed(run, item, record, error)
        return
    if isinstance(error, Blocked):
        record.outcome = "blocked"
        record.blocked_by = error.by
        record.message = f"blocked by {error.by}: {error.reason}"
        return
    if isinstance(error, Throttled):
        _throttled(run, record, error)
        return
    if isinstance(error, ConformanceFailure):
        requirement = error.requirement or (requirements[0] if requirements else None)
        cause = (
            error.cause
            or _error_shape_cause(run, requirement)
            or _bad_input_server_error_cause(run, requirement)
        )
        if cause is not None and cause.startswith("None|"):
            cause = f"{requirement}|{cause.removeprefix('None|')}"
        first = run.causes.get(cause) if cause else None
        if first is not None and first != record.id:
            record.outcome = "blocked"
            record.blocked_by = first
            record.message = f"blocked by {first}: the same root cause ({error.message[:160]})"
            return
        if cause:
            run.causes[cause] = record.id
    record.reproduce = _reproduce(run, record.id)
    if isinstance(error, ConformanceFailure):
        record.outcome = "failed"
        record.failed_requirement = error.requirement or (requirements[0] if requirements else None)
        record.message = run.redactor.text(error.message)
    elif error is None or isinstance(error, AssertionError):
        # A plain assertion blames the check's first requirement.
        record.outcome = "failed" if requirements else "error"
        record.failed_requirement = requirements[0] if requirements else None
        text = str(error) if error is not None else report.longreprtext
        record.message = run.redactor.text(_first_line(text, error))
    else:
        # Any other exception is a fault of the check or the harness: it blames no requirement
        # of the target and makes the run incomplete (SUITE-003).
        record.outcome = "error"
        record.message = run.redactor.text(
            f"the check raised {type(error).__name__}: {_first_line(str(error), error)}"
        )
    if record.outcome == "failed" and record.failed_requirement is not None:
        operation = _failed_operation(run)
        if operation is not None:
            run.failed_requirements.setdefault((record.failed_requirement, operation), record.id)


def _throttled(run: TwinState, record: TestRecord, error: Throttled) -> None:
    """A check the target throttled past the harness's retries did not run (SUITE-024).

    The first check (or prerequisite) that meets an operation throttling the harness is
    ``not-run`` with the reason, which makes its profile incomplete, never failed; a later one
    meeting the same operation throttling again is blocked by it.
    """
    first = run.causes.get(error.cause)
    run.throttled_until(error.operation, first or record.id, error.retry_after)
    if first is not None and first != record.id:
        record.outcome = "blocked"
        record.blocked_by = first
        record.message = run.redactor.text(
            f"blocked by {first}: {error.operation} throttles the harness ({error.message[:200]})"
        )
        return
    run.causes[error.cause] = record.id
    record.outcome = "not-run"
    record.failed_requirement = None
    record.reproduce = None
    record.message = run.redactor.text(NOT_RUN + error.message)


def _error_shape_cause(run: TwinState, requirement: str | None) -> str | None:
    """The root cause of an error-shape failure, from the last error body the check saw."""
    if requirement != ERROR_SHAPE or not run.last_exchange:
        return None
    exchange = run.last_exchange[-1]
    if exchange.status is None or exchange.status < 400:
        return None
    return error_body_signature(exchange.status, exchange.body)


def _bad_input_server_error_cause(run: TwinState, requirement: str | None) -> str | None:
    """The root cause of a 5xx answer to bad input that a check judged itself (a vector)."""
    if requirement != BAD_INPUT_SERVER_ERROR or not run.last_exchange:
        return None
    exchange = run.last_exchange[-1]
    if exchange.status is None or exchange.status < 500 or exchange.status == 501:
        return None
    return server_error_cause(run.operation_of(exchange.method, exchange.url), bad_input=True)


def _failed_operation(run: TwinState) -> str | None:
    """The operation of the last exchange of the failing check, if it made one."""
    if not run.evidence:
        return None
    request = run.evidence[-1]["request"]
    return run.operation_of(str(request["method"]), str(request["url"]))


def _prerequisite_failed(
    run: TwinState, item: pytest.Item, record: TestRecord, error: PrerequisiteFailed
) -> None:
    """Report a failed prerequisite once, under its own ID; block the check that needed it."""
    record.outcome = "blocked"
    record.blocked_by = error.check_id
    record.message = f"blocked by {error.check_id}: prerequisite {error.title!r} failed"
    # What the prerequisite found while this check was setting up is the prerequisite's.
    for table in (run.causes, run.absent):
        for key, owner in list(table.items()):
            if owner == record.id:
                table[key] = error.check_id
    for breaker in run.breakers.values():
        if breaker.first_check == record.id:
            breaker.first_check = error.check_id
    if error.check_id in run.records:
        return
    cause = error.cause
    prerequisite = TestRecord(
        id=error.check_id,
        name=error.check_id.split("::", 1)[1],
        kind="prerequisite",
        profile=record.profile,
        requirements=[],
        read_only=error.read_only,
        evidence=list(run.evidence),
    )
    if isinstance(cause, Throttled):
        # SUITE-024: the prerequisite did not run; the check that needed it is blocked by it.
        _throttled(run, prerequisite, cause)
        if prerequisite.outcome == "not-run":
            prerequisite.message = run.redactor.text(f"{NOT_RUN}{error.title}: {cause.message}")
        run.records[error.check_id] = prerequisite
        return
    prerequisite.reproduce = _reproduce(run, record.id)
    if isinstance(cause, ConformanceFailure):
        prerequisite.outcome = "failed"
        prerequisite.failed_requirement = cause.requirement or (
            record.requirements[0] if record.requirements else None
        )
        prerequisite.message = run.redactor.text(f"{error.title}: {cause.message}")
    elif isinstance(cause, AssertionError) and record.requirements:
        prerequisite.outcome = "failed"
        prerequisite.failed_requirement = record.requirements[0]
        prerequisite.message = run.redactor.text(f"{error.title}: {_first_line(str(cause), cause)}")
    else:
        prerequisite.outcome = "error"
        prerequisite.message = run.redactor.text(
            f"{error.title}: the prerequisite raised {type(cause).__name__}: "
            f"{_first_line(str(cause), cause)}"
        )
    if prerequisite.failed_requirement:
        prerequisite.requirements = [prerequisite.failed_requirement]
        if isinstance(cause, ConformanceFailure) and cause.cause:
            key = cause.cause.replace("None|", f"{prerequisite.failed_requirement}|", 1)
            run.causes.setdefault(key, error.check_id)
    run.records[error.check_id] = prerequisite


def _first_line(text: str, error: BaseException | None) -> str:
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return first[:1000]


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _reproduce(run: TwinState, key: str) -> str:
    """The command that runs one check alone, with every option the run used but secrets.

    Credentials are named by their environment variables (SUITE-040), so the command can be
    pasted where those are set, and never carries a password or a token.
    """
    config = run.config
    interop = _interop(config)
    if interop is not None:
        # An interop scenario reproduces with the same clients and harness validators.
        return run.redactor.text(f"{interop['command']} --select {shlex.quote(key)}")
    parts = ["twin-conformance", "run"]
    target_file = config.getoption("--twin-target-file")
    url = config.getoption("--twin-target")
    if target_file:
        parts += ["--target-file", str(target_file)]
    elif url:
        parts += ["--target", str(url)]
    email = config.getoption("--twin-email")
    if email and not target_file:
        parts += ["--email", str(email)]
    second_email = config.getoption("--twin-second-email")
    if second_email:
        # Its password travels in $TWIN_TARGET_SECOND_PASSWORD, read from the environment.
        parts += ["--second-email", str(second_email)]
    parts += ["--seed", str(run.seed)]
    for profile in config.getoption("--twin-profile") or []:
        parts += ["--profile", str(profile)]
    if run.fail_on != DEFAULT_FAIL_ON:
        parts += ["--fail-on", run.fail_on]
    fuzz_examples = int(config.getoption("--twin-fuzz-examples"))
    if fuzz_examples != DEFAULT_FUZZ_EXAMPLES:
        parts += ["--fuzz-examples", str(fuzz_examples)]
    fuzz_budget = float(config.getoption("--twin-fuzz-budget"))
    if fuzz_budget != DEFAULT_FUZZ_BUDGET:
        parts += ["--fuzz-budget", f"{fuzz_budget:g}"]
    concurrency = int(config.getoption("--twin-concurrency"))
    if concurrency != DEFAULT_CONCURRENCY:
        parts += ["--concurrency", str(concurrency)]
    if run.request_timeout != DEFAULT_REQUEST_TIMEOUT:
        parts += ["--request-timeout", f"{run.request_timeout:g}"]
    for option, flag in (
        ("--twin-vectors", "--vectors"),
        ("--twin-trusted-publishers", "--trusted-publishers"),
    ):
        value = config.getoption(option)
        if value:
            parts += [flag, str(value)]
    if config.getoption("--twin-allow-unsigned-vectors"):
        parts.append("--allow-unsigned-vectors")
    if run.selection.read_only:
        parts.append("--read-only")
    if run.selection.destructive:
        parts.append("--destructive")
    parts += ["--select", key]
    command = shlex.join(parts)
    # The credentials travel in the environment, named here and never spelt out.
    target = run.target
    if url and not target_file and target is not None and not target.embedded:
        if config.getoption("--twin-token"):
            command += ' --token "$TWIN_TARGET_TOKEN"'
        elif config.getoption("--twin-password"):
            command += ' --password "$TWIN_TARGET_PASSWORD"'
    return run.redactor.text(command)


# --- fixtures --------------------------------------------------------------------------------


def connected(run: TwinState) -> TwinState:
    """The run, connected to its target (or stopped with exit 2 if it cannot be)."""
    _connect(run)
    return run


# --- finishing ------------------------------------------------------------------------------


def on_finish(run: TwinState, session: pytest.Session, exitstatus: int) -> None:
    """Write the reports, stop the embedded node, and set the run's exit code."""
    if not run.twin_items:
        return
    try:
        if run.could_not_run is None and run.client is not None:
            if run.stopped is None and exitstatus == pytest.ExitCode.INTERRUPTED:
                run.stopped = Stop("interrupted", "the run was interrupted before it finished")
            elif run.stopped is None and exitstatus == pytest.ExitCode.INTERNAL_ERROR:
                run.stopped = Stop("crash", "the harness failed internally")
            report = build_run_report(run)
            _write_reports(run, report)
            session.exitstatus = exit_code(report)
        elif run.could_not_run is not None:
            session.exitstatus = EXIT_COULD_NOT_RUN
    finally:
        if run.head_probe is not None:
            run.head_probe.close()
        if run.client is not None:
            run.client.close()
        if run.embedded is not None:
            run.embedded.stop()
        if run.container is not None:
            run.container.stop()


def _prerequisite_records(run: TwinState) -> None:
    """Report each prerequisite that succeeded as a passed check of its own."""
    for check_id, (_title, read_only) in PASSED_PREREQUISITES.items():
        if check_id in run.records:
            continue
        module = check_id.split("::", 1)[0]
        profile = next(
            (r.profile for r in run.records.values() if r.id.startswith(module + "::")), "core"
        )
        run.records[check_id] = TestRecord(
            id=check_id,
            name=check_id.split("::", 1)[1],
            kind="prerequisite",
            profile=profile,
            requirements=[],
            outcome="passed",
            read_only=read_only,
        )


def build_run_report(run: TwinState) -> dict[str, Any]:
    """The report of this run so far, with every secret redacted."""
    from twin_spec import SPEC_VERSION

    _prerequisite_records(run)
    config = run.config
    records = sorted(run.records.values(), key=lambda record: record.id)
    registry = load_registry()
    interop = _interop(config)
    if interop is not None:
        # An interop run judges the requirements its scenarios name, and only those: the
        # single-node run judges the rest (spec/prose/suite.md, SUITE-070).
        named = {requirement for record in records for requirement in record.requirements}
        registry = {key: value for key, value in registry.items() if key in named}
        # A profile that no applicable scenario, nor a requirement one names, belongs to was
        # not tested by this run (one client has no other to consume what it made): it is not
        # requested, rather than conformant on nothing.
        applicable = [record for record in records if record.outcome != "not-applicable"]
        tested = {record.profile for record in applicable}
        tested |= {
            registry[requirement].profile
            for record in applicable
            for requirement in record.requirements
            if requirement in registry
        }
        run.requested = tested & run.requested
    finished = datetime.now(UTC)
    target = run.target
    for record in records:
        for exchange in record.evidence:
            _learn_from_evidence(run, exchange)
    report = build_report(
        records=records,
        registry=registry,
        claimed=run.claimed,
        requested=run.requested,
        fail_on=run.fail_on,
        selection=run.selection,
        stopped=run.stopped,
        baseline=run.baseline,
        deviations=run.deviations,
        suite_version=SUITE_VERSION,
        spec_version=SPEC_VERSION,
        vectors=run.vectors,
        target={
            "url": target.url if target else "",
            "embedded": bool(target and target.embedded),
            "name": _implementation_name(target, run.info),
            "info": run.info,
        },
        run={
            "seed": run.seed,
            "startedAt": run.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "finishedAt": finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "durationSeconds": round((finished - run.started).total_seconds(), 3),
            "profiles": [p for p in PROFILES if p in run.requested],
            "fuzzExamples": int(config.getoption("--twin-fuzz-examples")),
            "fuzzBudgetSeconds": float(config.getoption("--twin-fuzz-budget")),
            "concurrency": int(config.getoption("--twin-concurrency")),
            "fuzz": _fuzz_summary(run),
            "command": config.getoption("--twin-command")
            or shlex.join(["pytest", *config.invocation_params.args]),
            "baseline": config.getoption("--twin-expected-failures") or None,
        },
    )
    if interop is not None:
        report["interop"] = {key: value for key, value in interop.items() if key != "command"}
    redacted: dict[str, Any] = run.redactor.value(report)
    return redacted


def _fuzz_summary(run: TwinState) -> dict[str, Any]:
    """What fuzzing actually ran: examples per fuzz check, and the checks the budget cut short."""
    checks = dict(sorted(run.fuzzed.items()))
    return {
        "examplesRun": sum(int(entry["examples"]) for entry in checks.values()),
        "budgetReached": [check for check, entry in checks.items() if entry["budgetReached"]],
        "checks": checks,
    }


def _interop(config: pytest.Config) -> dict[str, Any] | None:
    """The interop network of an interop run (``--twin-interop-network``), else None."""
    path = config.getoption("--twin-interop-network")
    if not path:
        return None
    loaded: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return loaded


def _learn_from_evidence(run: TwinState, exchange: dict[str, Any]) -> None:
    """Take the tokens and cookies of evidence the client did not see (fuzzing) as secrets."""
    response = exchange.get("response") or {}
    cookie = (response.get("headers") or {}).get("set-cookie")
    if isinstance(cookie, str):
        run.redactor.learn_from_cookies(cookie.split(" | "))
    url = str(exchange.get("request", {}).get("url", ""))
    body = response.get("body")
    if isinstance(body, str) and any(path in url for path in ("/authentication/",)):
        run.redactor.learn_from_body(body.encode("utf-8"))


def _implementation_name(target: Target | None, info: dict[str, Any] | None) -> str | None:
    """The implementation's name: the vendor's, from the target file, else ``/info``'s."""
    if target is not None and target.name:
        return target.name
    if target is not None and target.embedded:
        return "TWIN reference node (embedded)"
    if isinstance(info, dict) and isinstance(info.get("name"), str):
        version = info.get("version")
        return " ".join(
            part
            for part in (str(info["name"]), str(version) if isinstance(version, str) else "")
            if part
        )
    return None


def _write_reports(run: TwinState, report: dict[str, Any]) -> None:
    """Sign report.json when asked, then write it, junit.xml and report.html, atomically."""
    folder = run.config.getoption("--twin-report-dir")
    if not folder:
        return
    from twin_conformance._render_html import render_html
    from twin_conformance._render_junit import render_junit
    from twin_conformance._report_signing import sign_report

    sign_key = run.config.getoption("--twin-sign-key") or (
        str(run.target.sign_key) if run.target is not None and run.target.sign_key else None
    )
    if sign_key:
        report = sign_report(report, Path(sign_key))
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    texts = {
        "report.json": json.dumps(report, indent=2, ensure_ascii=False) + "\n",
        "junit.xml": render_junit(report),
        "report.html": render_html(report),
    }
    for name, text in texts.items():
        temporary = out / f".{name}.tmp"
        # report.json is redacted (and signed) already; the rendered files get one more pass.
        safe = text if name == "report.json" else run.redactor.text(text)
        temporary.write_text(safe, encoding="utf-8")
        os.replace(temporary, out / name)
