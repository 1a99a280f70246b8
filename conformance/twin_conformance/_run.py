"""What one conformance run shares, and how it watches every exchange with the target.

:class:`TwinState` holds the run's options, the target, the checks' records and what the run
has learnt (secrets, operations the target does not serve, operations that stopped
answering, contract violations already reported). :class:`RunObserver` sits around every
request of the run's client: it keeps the exchange as evidence, learns the tokens and cookies
the target issues, opens an operation's circuit breaker after two timeouts, and refuses
requests to operations already known to be absent or stuck, or to throttle the harness while
the node asks it to wait, so one root cause gives one failure (SUITE-010, SUITE-022,
SUITE-024).
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from twin_conformance._client import (
    NO_ANSWER_CAUSE,
    TOO_MANY_REQUESTS,
    UNAVAILABLE_CAUSE,
    Exchange,
    TwinClient,
    operation_cause,
)
from twin_conformance._container import ContainerNode
from twin_conformance._contract import ContractViolation, OpenApiContract
from twin_conformance._failures import Blocked, ConformanceFailure
from twin_conformance._head_probe import HeadProbeAhead
from twin_conformance._results import Selection, Stop, TestRecord
from twin_conformance._secrets import Redactor
from twin_conformance._target import EmbeddedNode, Target

MAX_EVIDENCE = 50
TIMEOUTS_BEFORE_BREAKING = 2
AUTH_PATHS = ("/authentication/login", "/authentication/refresh")


@dataclass
class Breaker:
    """An operation's timeouts, and the check that saw the first one."""

    timeouts: int = 0
    first_check: str = ""

    @property
    def open(self) -> bool:
        """Whether the operation has stopped answering (SUITE-022)."""
        return self.timeouts >= TIMEOUTS_BEFORE_BREAKING


@dataclass
class Throttle:
    """An operation that throttled the harness past its retries (SUITE-024)."""

    first_check: str
    """The check that met it (not run); later uses are blocked by it."""
    until: float
    """When (``time.monotonic()``) the node's Retry-After has passed; infinity without one."""


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
    selection: Selection = field(default_factory=Selection)
    target: Target | None = None
    embedded: EmbeddedNode | None = None
    container: ContainerNode | None = None
    info: dict[str, Any] | None = None
    claimed: set[str] = field(default_factory=set)
    client: TwinClient | None = None
    second_token: str | None = None
    """The second user's bearer token (``--second-email``), for the rules about other users'
    data; None when the run has no second user."""
    contract: OpenApiContract | None = None
    could_not_run: str | None = None
    stopped: Stop | None = None
    records: dict[str, TestRecord] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    vectors: dict[str, Any] | None = None
    twin_items: int = 0
    current: str = ""
    """The ID of the check that is running (blamed for what its exchanges show)."""
    redactor: Redactor = field(default_factory=Redactor)
    deviations: list[dict[str, Any]] = field(default_factory=list)
    absent: dict[str, str] = field(default_factory=dict)
    """Operations the target does not serve → the check that found it."""
    breakers: dict[str, Breaker] = field(default_factory=dict)
    throttles: dict[str, Throttle] = field(default_factory=dict)
    """Operations that throttled the harness past its retries → who met it and until when."""
    causes: dict[str, str] = field(default_factory=dict)
    """Root causes already failed (a contract violation, a wrong status) → the check that
    failed for it; a later check showing the same cause is blocked by it (SUITE-010)."""
    failed_requirements: dict[tuple[str, str], str] = field(default_factory=dict)
    """(requirement, operation) a non-fuzz check failed → that check, for the fuzzer."""
    last_exchange: list[Exchange] = field(default_factory=list)
    """The check's last exchange with the target (raw, for deriving a root cause)."""
    baseline: set[str] | None = None
    known_ids: set[str] = field(default_factory=set)
    head_probe: HeadProbeAhead | None = None
    """The trickled-head probe when it runs ahead of its check (``_head_probe.py``)."""
    fuzzed: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Fuzz check ID → the examples that actually ran, its seconds, whether the budget ended it."""

    def record(self, exchange: Exchange) -> None:
        """Keep an exchange as evidence of the check that is running."""
        if len(self.evidence) < MAX_EVIDENCE:
            self.evidence.append(self.redactor.value(exchange.evidence(self.redactor.text)))

    def deviation(self, key: str, message: str, requirement: str | None = None) -> None:
        """Note, once, a deviation the harness worked around (SUITE-011)."""
        if any(entry["id"] == key for entry in self.deviations):
            return
        self.deviations.append(
            {
                "id": key,
                "check": self.current or None,
                "requirement": requirement,
                "message": message,
            }
        )

    def unavailable(self, operation: str) -> str | None:
        """The check that found ``operation`` answering 503 through its retries, or None."""
        return self.causes.get(operation_cause(UNAVAILABLE_CAUSE, operation))

    def throttled(self, operation: str) -> str | None:
        """The check that met ``operation`` throttling the harness, while it asks to wait."""
        throttle = self.throttles.get(operation)
        if throttle is None or time.monotonic() >= throttle.until:
            return None
        return throttle.first_check

    def throttled_until(self, operation: str, check: str, retry_after: float | None) -> None:
        """Note that ``check`` met ``operation`` throttling the harness (SUITE-024)."""
        until = time.monotonic() + retry_after if retry_after is not None else float("inf")
        first = self.throttles.get(operation)
        self.throttles[operation] = Throttle(first.first_check if first else check, until)

    def operation_of(self, method: str, url: str) -> str:
        """The operationId a request goes to, or ``METHOD /path`` outside the document."""
        if self.contract is not None:
            operation = self.contract.find(method, url)
            if operation is not None:
                return operation.operation_id
        return f"{method} {urllib.parse.urlsplit(url).path}"


class RunObserver:
    """The run's eyes on every exchange: evidence, secrets, absent and stuck operations."""

    def __init__(self, run: TwinState) -> None:
        self.run = run

    def before(self, method: str, url: str, *, expect_throttling: bool = False) -> None:
        """Refuse a request to an operation the run already knows it cannot use.

        ``expect_throttling``: the check provokes 429 to judge it, so an operation that
        throttles the harness does not stop it (SUITE-024).
        """
        run = self.run
        operation = run.operation_of(method, url)
        if operation in run.absent and run.absent[operation] != run.current:
            raise Blocked(run.absent[operation], f"the target does not serve {operation}")
        unavailable = run.unavailable(operation)
        if unavailable is not None and unavailable != run.current:
            # SUITE-023: one unavailable operation is one failure, its other uses blocked.
            raise Blocked(unavailable, f"{operation} answered 503 (unavailable) in {unavailable}")
        throttled = None if expect_throttling else run.throttled(operation)
        if throttled is not None and throttled != run.current:
            # SUITE-024: while the node asks the harness to wait, the operation is not asked.
            raise Blocked(
                throttled,
                f"{operation} answered 429 (too many requests) in {throttled}, and the node "
                "asked the harness to wait longer than it does",
            )
        breaker = run.breakers.get(operation)
        if breaker is not None and breaker.open:
            # SUITE-022: an operation that timed out twice is not asked again; what needs it
            # is blocked by the check that saw it time out first (one cause, one failure).
            stopped = (
                f"operation {operation} stopped answering: it timed out "
                f"{breaker.timeouts} times, first in {breaker.first_check}"
            )
            if breaker.first_check != run.current:
                raise Blocked(breaker.first_check, stopped)
            raise ConformanceFailure(None, stopped, operation_cause(NO_ANSWER_CAUSE, operation))
        if time.monotonic() > run.run_deadline + run.request_timeout:
            raise ConformanceFailure(None, "the whole-run time limit was reached")

    def operation_of(self, method: str, url: str) -> str:
        """The operation a request goes to (see :meth:`TwinState.operation_of`)."""
        return self.run.operation_of(method, url)

    def after(self, exchange: Exchange) -> None:
        """Learn secrets, count timeouts, and keep the exchange as evidence."""
        run = self.run
        path = urllib.parse.urlsplit(exchange.url).path
        if exchange.set_cookies:
            run.redactor.learn_from_cookies(exchange.set_cookies)
        if path.endswith(AUTH_PATHS) and exchange.body:
            run.redactor.learn_from_body(exchange.body)
        authorization = exchange.request_headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            run.redactor.add(authorization[7:].strip())
        if exchange.timed_out:
            operation = run.operation_of(exchange.method, exchange.url)
            breaker = run.breakers.setdefault(operation, Breaker(first_check=run.current))
            breaker.timeouts += 1
        if exchange.status == TOO_MANY_REQUESTS and exchange.retry_in is not None:
            operation = run.operation_of(exchange.method, exchange.url)
            run.deviation(
                f"throttled:{operation}",
                f"{operation} answered 429 (too many requests): the harness waited its "
                f"Retry-After ({exchange.retry_in:g} s) and sent the request again, as a real "
                "client does (SUITE-024)",
            )
        encoding = exchange.headers.get("content-encoding", "").strip().lower()
        if encoding and encoding != "identity" and exchange.decoding_error is None:
            run.deviation(
                f"content-encoding:{encoding}",
                f"the target compresses responses ({encoding}); the harness decodes them",
            )
        run.record(exchange)
        run.last_exchange[:] = [exchange]


def contract_validator(run: TwinState, contract: OpenApiContract) -> Any:  # noqa: ANN401
    """The client's validator: each contract violation fails once, repeats are blocked."""

    def validate(exchange: Exchange, _expect_rejection: bool) -> None:
        try:
            contract.check(exchange)
        except ContractViolation as violation:
            first = run.causes.get(violation.signature)
            if first is not None and first != run.current:
                raise Blocked(
                    first, f"the same contract violation ({violation.message[:160]})"
                ) from None
            run.causes[violation.signature] = run.current
            raise

    return validate
