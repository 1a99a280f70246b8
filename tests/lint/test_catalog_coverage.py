"""Every observable MUST has a broken variant that breaks it; the catalog names only real rules.

The catalog (``tests/broken_variants``) proves each MUST catchable: for every requirement of
level MUST that an exchange can observe (its registry entry carries no ``unobservable``
reason), at least one variant names it as the rule it breaks. Fast: reads the registry and the
catalog, runs nothing (``python -m tests.broken_variants.run_catalog`` runs the harness).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.broken_variants import CATALOG, DEVIATIONS, FAULTS
from tests.broken_variants._fault import PROFILES
from tests.broken_variants.catalog import INTEROP
from tests.support import REQUIREMENTS_DIR


def _registry() -> dict[str, dict[str, Any]]:
    """Every requirement of the registry by ID."""
    entries: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(REQUIREMENTS_DIR).glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for entry in document["requirements"]:
            entries[str(entry["id"])] = entry
    return entries


REGISTRY = _registry()
OBSERVABLE_MUSTS = sorted(
    requirement
    for requirement, entry in REGISTRY.items()
    if entry["level"] == "MUST" and not entry.get("unobservable")
)


@pytest.mark.suite("SUITE-060")
def test_every_observable_must_has_a_variant_that_breaks_it() -> None:
    broken = {fault.requirement for fault in CATALOG if fault.interop is None}
    missing = [requirement for requirement in OBSERVABLE_MUSTS if requirement not in broken]
    assert not missing, f"observable MUSTs no catalog variant breaks: {missing}"


@pytest.mark.suite("SUITE-060")
def test_every_requirement_the_catalog_names_is_registered() -> None:
    named = {
        requirement
        for fault in (*CATALOG, *DEVIATIONS, *INTEROP)
        for requirement in (fault.requirement, *fault.also)
        if requirement is not None
    }
    unknown = sorted(named - set(REGISTRY))
    assert not unknown, f"the catalog names requirements the registry does not hold: {unknown}"


@pytest.mark.suite("SUITE-060")
def test_catalog_variants_break_a_rule_of_their_profile_and_name_it_once() -> None:
    for fault in CATALOG:
        assert fault.requirement is not None, f"{fault.name} breaks no requirement"
        assert fault.profile in PROFILES, f"{fault.name}: unknown profile {fault.profile}"
        assert fault.requirement.startswith(f"TWIN-{fault.profile.upper()}-"), (
            f"{fault.name} breaks {fault.requirement}, not a rule of the {fault.profile} profile"
        )
        assert fault.requirement not in fault.also, f"{fault.name} names its rule twice"
        assert fault.description, f"{fault.name} has no description"
        assert fault.checked_profile in (*PROFILES, "full"), f"{fault.name}: unknown run profile"


def test_fault_names_are_unique() -> None:
    names = [fault.name for fault in (*CATALOG, *DEVIATIONS, *INTEROP)]
    assert len(names) == len(set(names)) == len(FAULTS)


@pytest.mark.suite("SUITE-060")
def test_variants_only_interop_catches_break_an_unobservable_rule() -> None:
    """A variant left to interop names why and breaks a rule the registry marks unobservable."""
    for fault in CATALOG:
        if fault.interop is None:
            continue
        assert fault.interop.strip(), f"{fault.name}: no reason why only interop catches it"
        entry = REGISTRY[str(fault.requirement)]
        assert entry.get("unobservable"), (
            f"{fault.name} is left to interop, but {fault.requirement} is observable: a run "
            "against one node must catch it"
        )
