"""Fuzzing within the user's time budget, several operations at once, then the stateful phase.

The fuzz checks are one pytest check per operation and one for the stateful phase, reported in
their order. The work behind them starts when the first of them runs: a background thread
fuzzes the selected operations, ``concurrency`` resources at a time, then runs the stateful
phase alone, because its chains change state in order. Each check waits for its own result.

Operations on one resource (one OpenAPI tag: the identity profile, documents, ...) run one after
another in check order, because each changes what the others see (a profile created or not
turns a 201 into a 409). Each operation is its own schemathesis run seeded by the run's seed, so
any concurrency sends each operation the same requests and finds the same node state.

Time: the operations share ``OPERATIONS_SHARE`` of the budget. An operation that starts may use
its share of the operations' time left: that time spread over the operations not yet started,
as many at once as there are resources still waiting (up to ``concurrency``), and never more
than its own resource's operations still to run can leave it. Time an early operation leaves
unused flows to later ones, and none is starved by an early one that could use it all; the
stateful phase gets whatever remains of the whole budget.

Floors: on a loaded machine each operation overruns its time a little (the case in flight
finishes), and the last ones would find nothing left and not run, leaving a default run
incomplete. So an operation always gets at least its fair slot (its even part of the
operations' share) and the stateful phase a quarter of its part: a run overruns its budget by
at most those floors, and a budget too small to fuzz anything still leaves checks not run. A
run that reaches the budget keeps what it ran and says so: each result counts the examples
that actually ran.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from twin_conformance._fuzz import Fuzzer, FuzzResult

OPERATIONS_SHARE = 0.6
"""The part of the budget the operations share; the stateful phase has the rest (at least)."""
STATEFUL_FLOOR_SHARE = 0.25
"""Of the stateful phase's part, what it gets even when the operations used all the time."""
WAIT_MARGIN_SECONDS = 60.0
"""How much longer than the budget a check waits for its result before giving up on it."""


@dataclass(frozen=True)
class FuzzPlan:
    """What a run fuzzes: the operations (in check order) and whether the stateful phase runs."""

    operations: tuple[str, ...]
    stateful: bool
    excluded: frozenset[str] = frozenset()
    """Operations left out of the stateful phase (absent, or stopped answering)."""


class FuzzSchedule:
    """The run's fuzzing, started once in the background; each check takes its own result."""

    def __init__(self, fuzzer: Fuzzer, budget: float, concurrency: int) -> None:
        if budget <= 0:
            raise ValueError(f"the fuzzing budget must be above 0 seconds, got {budget}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.fuzzer = fuzzer
        self.budget = budget
        self.concurrency = concurrency
        self._results: dict[str, Future[FuzzResult]] = {}
        self._stateful: Future[FuzzResult] = Future()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._waiting: dict[str, int] = {}
        self._fair_slot = 0.0
        self._stateful_floor = 0.0
        self._started = 0.0

    @property
    def started(self) -> bool:
        """Whether the plan is running (or ran)."""
        return self._thread is not None

    def start(self, plan: FuzzPlan) -> None:
        """Start fuzzing the plan in a background thread (once)."""
        if self._thread is not None:
            return
        self._results = {operation: Future() for operation in plan.operations}
        share = OPERATIONS_SHARE if plan.stateful else 1.0
        self._fair_slot = self.budget * share / max(len(plan.operations), 1)
        self._stateful_floor = self.budget * (1 - share) * STATEFUL_FLOOR_SHARE
        self._waiting = {}
        for operation in plan.operations:
            resource = self._resource(operation)
            self._waiting[resource] = self._waiting.get(resource, 0) + 1
        self._started = time.monotonic()
        self._thread = threading.Thread(
            target=self._run, args=(plan,), name="twin-fuzz-schedule", daemon=True
        )
        self._thread.start()

    def operation(self, operation_id: str) -> FuzzResult:
        """The result of one operation of the plan (waits for it)."""
        future = self._results.get(operation_id)
        if future is None:
            raise KeyError(f"{operation_id} is not in the fuzzing plan")
        return future.result(timeout=self._wait_seconds())

    def stateful(self) -> FuzzResult:
        """The result of the stateful phase (waits for it)."""
        return self._stateful.result(timeout=self._wait_seconds())

    def stop(self) -> None:
        """Start nothing more (a run that ends early), and wait briefly for what is running."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.fuzzer.settings.request_timeout * 2 + 5)

    def _wait_seconds(self) -> float:
        request_timeout = self.fuzzer.settings.request_timeout
        elapsed = time.monotonic() - self._started
        # The most the floors can add to the budget: every operation's fair slot, and the
        # stateful phase's floor.
        floors = self._fair_slot * sum(self._waiting.values()) + self._stateful_floor
        return max(self.budget + floors - elapsed, 0.0) + request_timeout * 2 + WAIT_MARGIN_SECONDS

    def _run(self, plan: FuzzPlan) -> None:
        """Fuzz every operation, ``concurrency`` at once, then the stateful phase alone."""
        end = self._started + self.budget
        operations_end = self._started + self.budget * (OPERATIONS_SHARE if plan.stateful else 1)
        try:
            with self.fuzzer.context():
                with ThreadPoolExecutor(
                    max_workers=self.concurrency, thread_name_prefix="twin-fuzz"
                ) as pool:
                    # The longest lanes first, so that they do not finish alone at the end.
                    lanes = sorted(self._lanes(plan.operations), key=len, reverse=True)
                    for lane in lanes:
                        pool.submit(self._lane, lane, operations_end)
                if plan.stateful and self._stopping.is_set():
                    self._stateful.set_result(FuzzResult(budget_reached=True))
                elif plan.stateful:
                    seconds = max(end - time.monotonic(), self._stateful_floor)
                    self._settle(
                        self._stateful, lambda: self.fuzzer.stateful(seconds, plan.excluded)
                    )
        finally:
            for future in [*self._results.values(), self._stateful]:
                if not future.done():
                    future.set_exception(RuntimeError("the fuzzing schedule ended without it"))

    def _resource(self, operation: str) -> str:
        """The resource an operation acts on (its lane): its first OpenAPI tag."""
        known = self.fuzzer.operations.get(operation)
        return known.resource if known else operation

    def _lanes(self, operations: tuple[str, ...]) -> list[list[str]]:
        """The operations grouped by resource, in check order within each group."""
        lanes: dict[str, list[str]] = {}
        for operation in operations:
            lanes.setdefault(self._resource(operation), []).append(operation)
        return list(lanes.values())

    def _lane(self, operations: list[str], operations_end: float) -> None:
        """Fuzz one resource's operations one after another."""
        for operation in operations:
            self._one(operation, operations_end)

    def _one(self, operation: str, operations_end: float) -> None:
        """Fuzz one operation for its share of the time left to the operations."""
        with self._lock:
            # The time left, spread over the operations not yet started (this one included),
            # as many running at once as resources are waiting; and no more than this one's
            # own resource can give it, since its operations run one after another.
            resource = self._resource(operation)
            remaining = sum(self._waiting.values())
            lanes = sum(1 for count in self._waiting.values() if count > 0)
            own = self._waiting[resource]
            self._waiting[resource] -= 1
            left = max(operations_end - time.monotonic(), 0.0)
            parallel = max(min(self.concurrency, lanes), 1)
            seconds = min(left, left * parallel / max(remaining, 1), left / max(own, 1))
            seconds = max(seconds, self._fair_slot)
        if seconds <= 0 or self._stopping.is_set():
            self._results[operation].set_result(FuzzResult(budget_reached=True))
            return
        self._settle(self._results[operation], lambda: self.fuzzer.operation(operation, seconds))

    @staticmethod
    def _settle(future: Future[FuzzResult], work: Callable[[], FuzzResult]) -> None:
        """Run ``work`` and hand its result (or its exception) to the waiting check."""
        try:
            future.set_result(work())
        except BaseException as error:  # handed to the check, which reports it
            future.set_exception(error)
