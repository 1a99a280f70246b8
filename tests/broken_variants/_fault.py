"""What a broken variant is: a named fault, the rule it breaks, and what catching it takes.

Every fault module declares its entries with :func:`fault`, beside the code of the fault, and
``catalog.py`` gathers them. An entry names the one requirement the variant breaks; where a
variant cannot break that rule without breaking another, ``also`` names the other and the
description says why (a failure naming it is then not counted as unrelated).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette

from tests.broken_variants._asgi import FaultMiddleware, Rule

CAUGHT, CONFORMANT, COULD_NOT_RUN = "caught", "conformant", "could-not-run"
"""What the harness must say of a variant: it fails the requirement (exit 1), it is judged
conformant (a deviation the spec allows; exit 0), or it cannot be judged (exit 2)."""

PROFILES = ("core", "identity", "anchoring", "consensus", "documents")


@dataclass(frozen=True)
class Fault:
    """One broken variant and what detecting it takes."""

    name: str
    profile: str
    description: str
    requirement: str | None
    # The profile the run must select, when the checks that catch the fault belong to another
    # profile than the requirement (a core rule checked on identity routes, say).
    run_profile: str | None = None
    # The fuzzing budget the detection needs (0: no fuzzing).
    fuzz_examples: int = 0
    # The reference node does not claim this profile in /info, so the run claims it for the
    # node in a target file.
    claim_in_target_file: bool = False
    rules: tuple[Rule, ...] = field(default=(), repr=False)
    patch: Callable[[], None] | None = field(default=None, repr=False)
    expect: str = CAUGHT
    max_failures: int | None = None
    """At most this many failed checks (one root cause, one failure), when set."""
    also: tuple[str, ...] = ()
    """Requirements the variant breaks too, unavoidably (its description says why)."""
    fail_on_should: bool = False
    """The rule broken is a SHOULD: the run fails on SHOULDs (``--fail-on should``)."""
    destructive: bool = False
    """The check that catches it runs only with ``--destructive``."""
    interop: str | None = None
    """Why no run against one node can catch it, and the interop scenario that will: such a
    variant breaks a rule the registry marks unobservable; the catalog run lists it, runs it
    not, and leaves it out of the kill rates."""

    @property
    def checked_profile(self) -> str:
        """The profile a run selects to catch the fault."""
        return self.run_profile or self.profile

    @property
    def related(self) -> frozenset[str]:
        """The requirements a failure may name without being unrelated to the fault."""
        return frozenset(filter(None, (self.requirement, *self.also)))

    def harness_options(self) -> list[str]:
        """The ``twin-conformance run`` options that detection needs (target aside)."""
        return [
            "--profile",
            self.checked_profile,
            "--fuzz-examples",
            str(self.fuzz_examples),
            *(["--fail-on", "should"] if self.fail_on_should else []),
            *(["--destructive"] if self.destructive else []),
        ]

    def wrap(self, app: Starlette) -> FaultMiddleware | Starlette:
        """The node's app with this fault's rules around it."""
        return FaultMiddleware(app, self.rules) if self.rules else app


def fault(
    name: str,
    profile: str,
    requirement: str | None,
    description: str,
    *,
    rules: tuple[Rule, ...] = (),
    patch: Callable[[], None] | None = None,
    also: tuple[str, ...] = (),
    run_profile: str | None = None,
    fuzz_examples: int = 0,
    expect: str = CAUGHT,
    max_failures: int | None = None,
    fail_on_should: bool = False,
    destructive: bool = False,
    interop: str | None = None,
) -> Fault:
    """A catalog entry (a run checking consensus claims it in a target file)."""
    return Fault(
        name=name,
        profile=profile,
        description=description,
        requirement=requirement,
        run_profile=run_profile,
        fuzz_examples=fuzz_examples,
        claim_in_target_file=(run_profile or profile) == "consensus",
        rules=rules,
        patch=patch,
        expect=expect,
        max_failures=max_failures,
        also=also,
        fail_on_should=fail_on_should,
        destructive=destructive,
        interop=interop,
    )
