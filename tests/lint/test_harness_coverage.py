"""Every requirement has at least one check in the harness that can fail on it.

A check names its requirements with ``pytest.mark.twin_requirement(...)`` in
``conformance/twin_conformance/checks/``; a live vector (replayed against the target by
``checks/test_vectors.py``) counts for the requirements it lists.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from tests.support import REPO_ROOT

CHECKS = REPO_ROOT / "conformance" / "twin_conformance" / "checks"
INTEROP_CHECKS = REPO_ROOT / "conformance" / "twin_conformance" / "interop_checks"
CHECKED_BY_INTEROP = "checked by interop"
"""How a registry reason says that the interop scenarios check a requirement no single-node
run can observe (spec/prose/launch.md)."""
MANIFEST = REPO_ROOT / "vectors" / "manifest.json"


def _registry_ids() -> list[str]:
    ids: list[str] = []
    for path in sorted((REPO_ROOT / "spec" / "requirements").glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        ids.extend(str(entry["id"]) for entry in document["requirements"])
    return ids


def _marked_in_checks(folder: Path = CHECKS) -> dict[str, set[str]]:
    """Requirement ID → the check modules whose ``twin_requirement`` markers name it."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _string_sequences(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "twin_requirement"
            ):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found.setdefault(arg.value, set()).add(path.name)
                    elif isinstance(arg, ast.Starred) and isinstance(arg.value, ast.Name):
                        for value in constants.get(arg.value.id, []):
                            found.setdefault(value, set()).add(path.name)
    return found


def _string_sequences(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level ``NAME = ("...", ...)`` constants, for ``twin_requirement(*NAME)``."""
    constants: dict[str, list[str]] = {}
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Tuple | ast.List)
        ):
            values = [
                element.value
                for element in statement.value.elts
                if isinstance(element, ast.Constant) and isinstance(element.value, str)
            ]
            constants[statement.targets[0].id] = values
    return constants


def _live_vector_requirements() -> set[str]:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return {
        requirement
        for entry in manifest["files"]
        if entry.get("live")
        for requirement in entry.get("requirements", [])
    }


def _unobservable() -> dict[str, str]:
    """Requirements no exchange with a target can observe, with the registry's reason.

    Their vectors are offline (a vendor replays them against its own code) or their test runs
    the reference node; a report shows them as unobservable (spec/prose/suite.md, SUITE-006).
    """
    found: dict[str, str] = {}
    for path in sorted((REPO_ROOT / "spec" / "requirements").glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for entry in document["requirements"]:
            if "unobservable" in entry:
                found[str(entry["id"])] = str(entry["unobservable"])
    return found


NOT_OBSERVABLE_ON_A_TARGET = _unobservable()


def test_every_requirement_has_a_harness_check() -> None:
    checked = set(_marked_in_checks()) | _live_vector_requirements()
    missing = [
        requirement
        for requirement in _registry_ids()
        if requirement not in checked and requirement not in NOT_OBSERVABLE_ON_A_TARGET
    ]
    assert not missing, (
        "requirements no harness check names (add a check marked "
        f"pytest.mark.twin_requirement or a live vector): {', '.join(missing)}"
    )


def test_the_unobservable_list_holds_only_unchecked_registered_requirements() -> None:
    known = set(_registry_ids())
    checked = set(_marked_in_checks()) | _live_vector_requirements()
    for requirement in NOT_OBSERVABLE_ON_A_TARGET:
        assert requirement in known, f"{requirement} is not in the registry"
        assert requirement not in checked, f"{requirement} has a check now: drop it from the list"


@pytest.mark.parametrize("module", sorted(path.name for path in CHECKS.glob("test_*.py")))
def test_checks_name_only_registered_requirements(module: str) -> None:
    known = set(_registry_ids())
    named = {
        requirement for requirement, modules in _marked_in_checks().items() if module in modules
    }
    assert named <= known, f"{module} names unknown requirements {sorted(named - known)}"


def test_every_check_module_belongs_to_a_profile() -> None:
    for path in sorted(CHECKS.glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        assert "twin_profile(" in text, f"{path.name} marks no twin_profile"


@pytest.mark.parametrize("module", sorted(p.name for p in INTEROP_CHECKS.glob("test_*.py")))
def test_interop_scenarios_name_only_registered_requirements(module: str) -> None:
    known = set(_registry_ids())
    named = {
        requirement
        for requirement, modules in _marked_in_checks(INTEROP_CHECKS).items()
        if module in modules
    }
    assert named, f"{module} names no requirement"
    assert named <= known, f"{module} names unknown requirements {sorted(named - known)}"
    text = (INTEROP_CHECKS / module).read_text(encoding="utf-8")
    assert "twin_profile(" in text, f"{module} marks no twin_profile"


def test_what_the_registry_says_interop_checks_an_interop_scenario_names() -> None:
    by_interop = set(_marked_in_checks(INTEROP_CHECKS))
    said = [
        requirement
        for requirement, reason in NOT_OBSERVABLE_ON_A_TARGET.items()
        if CHECKED_BY_INTEROP in reason
    ]
    assert said, "no registry reason says the interop scenarios check it"
    missing = [requirement for requirement in said if requirement not in by_interop]
    assert not missing, (
        f"the registry says interop checks these, but no scenario names them: {missing}"
    )
    # A requirement only the interop scenarios check is unobservable in a single-node run,
    # and its registry reason says where it is checked.
    only_interop = by_interop - set(_marked_in_checks()) - _live_vector_requirements()
    unexplained = [
        requirement
        for requirement in sorted(only_interop)
        if CHECKED_BY_INTEROP not in NOT_OBSERVABLE_ON_A_TARGET.get(requirement, "")
    ]
    assert not unexplained, (
        f"checked only by interop scenarios, but the registry does not say '{CHECKED_BY_INTEROP}'"
        f" in their unobservable reason: {unexplained}"
    )
