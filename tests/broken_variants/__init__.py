"""Deliberately broken variants of the reference node, each one fault the harness must catch.

``catalog.CATALOG`` lists, for every MUST an exchange can observe, at least one variant that
breaks exactly that rule (``tests/lint/test_catalog_coverage.py`` holds it to that);
``catalog.DEVIATIONS`` lists variants about the harness itself (allowed deviations it must
judge conformant, targets it must refuse or judge in bounded time); ``catalog.INTEROP`` lists
faults only a committee shows, caught as clients of ``twin-conformance interop``
(``tests/conformance/test_interop_broken_clients.py``).

Serve one: ``python -m tests.broken_variants FAULT [twin-node serve options]`` (``--help``
lists every fault; ``a+b`` is both at once); :func:`start_variant` starts one as a subprocess
for a test.

Run the harness against the whole catalog::

    python -m tests.broken_variants.run_catalog --out catalog-report.json [--workers N]
        [--only NAME...] [--workdir DIR]

It starts each variant (and the unmodified node once per option set, which must be
conformant), runs ``twin-conformance run`` against it with the profile and fuzzing budget its
entry names, stops it, and writes ``catalog-report.json``: per variant the requirement it
breaks, the exit code, the requirements the harness failed, whether it was killed (exit 1
naming that requirement) and whether unrelated requirements failed; the kill rate per profile
and overall; and the deviations with their expected outcomes. Exit 0 when every variant is
killed cleanly. ``tests/conformance/test_catalog.py`` (``pytest -m slow``) runs it all.
"""

from __future__ import annotations

from tests.broken_variants._process import start_variant
from tests.broken_variants.catalog import (
    CATALOG,
    CAUGHT,
    CONFORMANT,
    COULD_NOT_RUN,
    DEVIATIONS,
    FAULTS,
    INTEROP,
    SMOKE,
    Fault,
    fault_named,
)

__all__ = [
    "CATALOG",
    "CAUGHT",
    "CONFORMANT",
    "COULD_NOT_RUN",
    "DEVIATIONS",
    "FAULTS",
    "INTEROP",
    "SMOKE",
    "Fault",
    "fault_named",
    "start_variant",
]
