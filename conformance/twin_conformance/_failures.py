"""How a check ends other than by passing: failed, blocked, or broken by a prerequisite.

A check fails by raising :class:`ConformanceFailure` naming the requirement the target broke.
It is *blocked* (:class:`Blocked`) when something it depends on already failed elsewhere: an
operation the target does not serve, an operation that stopped answering, a contract
violation another check already reported. It did not run (:class:`Throttled`) when the
target throttled the harness for longer than a real client waits. A fixture marked with
:func:`prerequisite` (a DID the node created, an anchored proof) is a check of its own: when
it fails, it is reported once under its own ID and every check that uses it is blocked by
that ID (SUITE-010), so one divergence gives one failure.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, NoReturn, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

PREREQUISITE_ATTRIBUTE = "__twin_prerequisite__"


class ConformanceFailure(AssertionError):
    """A target broke a requirement; ``requirement`` names it (None: the check's own).

    ``cause`` names the root cause when the same divergence can show in several checks (a
    404 where every 405 is due, an error body without ``name``): the first check that shows
    it fails, and the others are blocked by it (SUITE-010).
    """

    def __init__(self, requirement: str | None, message: str, cause: str | None = None) -> None:
        super().__init__(f"{requirement}: {message}" if requirement else message)
        self.requirement = requirement
        self.message = message
        self.cause = cause


class Blocked(Exception):
    """The check cannot run because ``by`` (another check's ID) already failed for it."""

    def __init__(self, by: str, reason: str) -> None:
        super().__init__(f"blocked by {by}: {reason}")
        self.by = by
        self.reason = reason


class Throttled(Exception):
    """The target answered 429 (too many requests) past what a real client waits (SUITE-024).

    Not a failure of the target: 429 says the *client* asked too much, which the harness
    cannot disprove (a run moments before from the same address, the harness's own checks).
    The check that meets it did not run; every later use of ``operation`` is blocked by that
    check until ``retry_after`` seconds have passed (None: for the rest of the run).
    """

    def __init__(self, operation: str, message: str, cause: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.operation = operation
        self.message = message
        self.cause = cause
        self.retry_after = retry_after


class PrerequisiteFailed(Exception):
    """A prerequisite fixture failed; the checks that use it are blocked by ``check_id``."""

    def __init__(self, check_id: str, title: str, cause: Exception, read_only: bool) -> None:
        super().__init__(f"prerequisite {title!r} failed: {cause}")
        self.check_id = check_id
        self.title = title
        self.cause = cause
        self.read_only = read_only


def fail(requirement: str | None, message: str, cause: str | None = None) -> NoReturn:
    """Fail the current check, naming the requirement the target broke (and the cause)."""
    raise ConformanceFailure(requirement, message, cause)


def require(
    condition: object, requirement: str | None, message: str, cause: str | None = None
) -> None:
    """Fail the current check unless ``condition`` holds."""
    if not condition:
        raise ConformanceFailure(requirement, message, cause)


def status_cause(requirement: str | None, expected: object, actual: object) -> str:
    """The root-cause key of a wrong status: the same rule, expected and actual status."""
    return f"{requirement}|status expected {expected}|got {actual}"


PASSED_PREREQUISITES: dict[str, tuple[str, bool]] = {}
"""Prerequisites that succeeded in this process's current run: ID → (title, read-only). The
plugin clears it when a run starts and reports each as a passed check."""


def prerequisite_id(function: Callable[..., Any]) -> str:
    """The check ID of a prerequisite fixture: ``<module file>::prerequisite[<name>]``."""
    return f"{Path(inspect.getfile(function)).name}::prerequisite[{function.__name__}]"


def prerequisite(title: str, *, read_only: bool = False) -> Callable[[F], F]:
    """Make a fixture function a prerequisite check named ``title`` (SUITE-010).

    Apply it under ``@pytest.fixture``. A failure inside the fixture (a
    :class:`ConformanceFailure` or any other exception) becomes :class:`PrerequisiteFailed`,
    which the plugin reports once as this prerequisite's failure and as ``blocked`` for every
    check that needed it. Blocked and failed prerequisites it depends on pass through as they
    are, so a chain of prerequisites is blocked at its first broken link. ``read_only`` says
    the fixture writes nothing (it may serve checks of a ``--read-only`` run).
    """

    def decorate(function: F) -> F:
        check_id = prerequisite_id(function)

        def failed(error: Exception) -> Exception:
            if isinstance(error, Blocked | PrerequisiteFailed):
                return error
            return PrerequisiteFailed(check_id, title, error, read_only)

        if inspect.isgeneratorfunction(function):

            @functools.wraps(function)
            def generator_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, None, None]:  # noqa: ANN401
                generator = function(*args, **kwargs)
                try:
                    value = next(generator)
                except Exception as error:
                    raise failed(error) from error
                PASSED_PREREQUISITES[check_id] = (title, read_only)
                yield value
                yield from generator

            wrapper: Callable[..., Any] = generator_wrapper
        else:

            @functools.wraps(function)
            def plain_wrapper(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
                try:
                    value = function(*args, **kwargs)
                except Exception as error:
                    raise failed(error) from error
                PASSED_PREREQUISITES[check_id] = (title, read_only)
                return value

            wrapper = plain_wrapper
        setattr(wrapper, PREREQUISITE_ATTRIBUTE, (check_id, title, read_only))
        return wrapper  # type: ignore[return-value]

    return decorate
