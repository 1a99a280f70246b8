"""Deliberately broken variants of the reference node, each one fault the harness must catch.

``catalog.CATALOG`` lists the faults; ``python -m tests.broken_variants FAULT [twin-node serve
options]`` serves the reference node with one of them, and :func:`start_variant` starts that
as a subprocess for a test.
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
    "SMOKE",
    "Fault",
    "fault_named",
    "start_variant",
]
