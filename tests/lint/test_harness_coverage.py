"""Every requirement has at least one check in the harness that can fail on it.

A check names its requirements with ``pytest.mark.twin_requirement(...)`` in
``conformance/twin_conformance/checks/``; a live vector (replayed against the target by
``checks/test_vectors.py``) counts for the requirements it lists.
"""

from __future__ import annotations

import ast
import json

import pytest
import yaml

from tests.support import REPO_ROOT

CHECKS = REPO_ROOT / "conformance" / "twin_conformance" / "checks"
MANIFEST = REPO_ROOT / "vectors" / "manifest.json"


def _registry_ids() -> list[str]:
    ids: list[str] = []
    for path in sorted((REPO_ROOT / "spec" / "requirements").glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        ids.extend(str(entry["id"]) for entry in document["requirements"])
    return ids


def _marked_in_checks() -> dict[str, set[str]]:
    """Requirement ID → the check modules whose ``twin_requirement`` markers name it."""
    found: dict[str, set[str]] = {}
    for path in sorted(CHECKS.glob("*.py")):
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


# Requirements no exchange with a target can observe, each with the reason. Their vectors are
# offline (a vendor replays them against its own code) or their test runs the reference node.
NOT_OBSERVABLE_ON_A_TARGET = {
    "TWIN-CORE-002": "about canonicalizing in-memory values; JSON text always parses to "
    "doubles (RFC 8785 3.2.2.3), so no request carries an unrepresentable value "
    "(offline vectors core/jcs)",
    "TWIN-CORE-015": "a node signs with keys and timestamps the harness does not choose, so "
    "determinism cannot be observed (offline vectors core/ed25519)",
    "TWIN-CORE-055": "durability needs killing the node; the harness does not kill a vendor's "
    "node (tests/reference/test_durability.py does it to the reference node)",
    "TWIN-IDENTITY-005": "a MAY: a resolver may or may not add the X25519 method "
    "(the did-key-resolve vectors accept both)",
    "TWIN-IDENTITY-052": "a node decodes only status lists its own ledger wrote "
    "(offline vectors identity/status-list)",
    "TWIN-ANCHORING-031": "how a receipt verifier reports failures; a node verifies no "
    "foreign receipt (offline vectors anchoring/receipt)",
    "TWIN-ANCHORING-032": "how a receipt verifier reports failures; a node verifies no "
    "foreign receipt (offline vectors anchoring/receipt)",
    "TWIN-CONSENSUS-109": "a SHOULD on proposal timing between validators",
    "TWIN-CONSENSUS-111": "the genesis file a node is started with, not an API exchange "
    "(offline vectors consensus/genesis; tests/reference/test_cluster.py)",
    "TWIN-ANCHORING-061": "harness check pending (issue 13 item 8)",
    "TWIN-CONSENSUS-131": "harness check pending (issue 13 item 8)",
    "TWIN-CONSENSUS-132": "harness check pending (issue 13 item 8)",
    "TWIN-CONSENSUS-133": "harness check pending (issue 13 item 8)",
    "TWIN-CORE-061": "harness check pending (issue 13 item 8)",
    "TWIN-CORE-062": "harness check pending (issue 13 item 8)",
    "TWIN-CORE-063": "harness check pending (issue 13 item 8)",
    "TWIN-CORE-064": "harness check pending (issue 13 item 8)",
    "TWIN-CORE-065": "harness check pending (issue 13 item 8)",
    "TWIN-CORE-066": "harness check pending (issue 13 item 8)",
    "TWIN-CORE-067": "harness check pending (issue 13 item 8)",
    "TWIN-CORE-068": "harness check pending (issue 13 item 8)",
}


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
