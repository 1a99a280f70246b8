"""The requirement registry: well formed, unique, cited by code, prose and tests."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support import (
    PROSE_DIR,
    REPO_ROOT,
    SCHEMAS_DIR,
    load_registry_files,
    load_requirements,
    read_json,
)

ID_PATTERN = re.compile(r"TWIN-(CORE|IDENTITY|ANCHORING|CONSENSUS|DOCUMENTS)-\d{3}")
PROFILE_OF_PREFIX = {
    "CORE": "core",
    "IDENTITY": "identity",
    "ANCHORING": "anchoring",
    "CONSENSUS": "consensus",
    "DOCUMENTS": "documents",
}
# Python sources where the code enforcing (or, for the harness, checking) a rule lives.
ENFORCING_CODE = [
    REPO_ROOT / "spec" / "twin_spec",
    REPO_ROOT / "reference" / "twin_reference",
    REPO_ROOT / "conformance" / "twin_conformance",
]
TESTS_DIR = REPO_ROOT / "tests"


def _python_files(folders: list[Path]) -> list[Path]:
    return sorted(path for folder in folders for path in folder.rglob("*.py"))


def _requirement_markers(path: Path) -> set[str]:
    """Return the IDs named by pytest.mark.requirement(...) anywhere in a test file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "requirement"
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "mark"
        ):
            found.update(
                arg.value
                for arg in node.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            )
    return found


def test_every_registry_file_matches_the_registry_schema() -> None:
    schema = read_json(SCHEMAS_DIR / "requirement-registry.schema.json")
    files = load_registry_files()
    assert files, "spec/requirements holds no registry files"
    for name, registry in files.items():
        jsonschema.validate(registry, schema)
        assert Path(name).stem == registry["profile"], f"{name} must hold its own profile only"


def test_requirement_ids_are_unique_well_formed_and_in_their_profile() -> None:
    ids: Counter[str] = Counter()
    for name, registry in load_registry_files().items():
        for entry in registry["requirements"]:
            ids[entry["id"]] += 1
            assert ID_PATTERN.fullmatch(entry["id"]), entry["id"]
            prefix = entry["id"].split("-")[1]
            assert PROFILE_OF_PREFIX[prefix] == registry["profile"], f"{entry['id']} in {name}"
            assert entry["level"] in entry["statement"], (
                f"{entry['id']}: the statement must contain its level keyword {entry['level']}"
            )
    duplicates = [requirement_id for requirement_id, count in ids.items() if count > 1]
    assert not duplicates, f"requirement IDs used twice: {duplicates}"


def test_every_must_has_a_test_that_names_it() -> None:
    named: set[str] = set()
    for path in _python_files([TESTS_DIR]):
        named |= _requirement_markers(path)
    untested = sorted(
        requirement_id
        for requirement_id, entry in load_requirements().items()
        if entry["level"] == "MUST" and requirement_id not in named
    )
    assert not untested, f"MUST requirements no test names with a requirement marker: {untested}"


def test_every_requirement_sits_beside_the_code_that_enforces_it() -> None:
    cited: set[str] = set()
    for path in _python_files(ENFORCING_CODE):
        cited.update(match.group(0) for match in ID_PATTERN.finditer(path.read_text()))
    missing = sorted(set(load_requirements()) - cited)
    assert not missing, f"requirements no code comment cites: {missing}"
    unknown = sorted(cited - set(load_requirements()))
    assert not unknown, f"code cites requirement IDs that are not registered: {unknown}"


def test_code_quotes_requirements_by_their_registered_level() -> None:
    # A comment quoting a rule ("TWIN-X-NNN "... MUST ..."") must not contradict its level.
    requirements = load_requirements()
    for path in _python_files(ENFORCING_CODE):
        for match in re.finditer(r"# (TWIN-[A-Z]+-\d{3}) \"([^\"]+)", path.read_text()):
            level = requirements[match.group(1)]["level"]
            for other in {"MUST", "SHOULD", "MAY"} - {level}:
                assert f" {other} " not in f" {match.group(2)} ", (path.name, match.group(1))


def _prose_citations() -> dict[str, set[str]]:
    citations: dict[str, set[str]] = {}
    for path in sorted(PROSE_DIR.glob("*.md")):
        citations[path.name] = {match.group(0) for match in ID_PATTERN.finditer(path.read_text())}
    return citations


def test_every_requirement_is_cited_in_the_prose() -> None:
    cited = set().union(*_prose_citations().values())
    uncited = sorted(set(load_requirements()) - cited)
    assert not uncited, f"requirements the normative prose never cites: {uncited}"


def test_the_prose_cites_only_registered_requirements() -> None:
    known = set(load_requirements())
    for name, cited in _prose_citations().items():
        assert cited <= known, f"{name} cites unregistered IDs: {sorted(cited - known)}"


REQUIREMENTS = sorted(load_requirements().items())


@pytest.mark.parametrize(
    "entry", [entry for _, entry in REQUIREMENTS], ids=[i for i, _ in REQUIREMENTS]
)
def test_each_requirement_reads_as_a_normative_statement(entry: dict[str, Any]) -> None:
    assert entry["statement"].strip().endswith("."), "a statement is a full sentence"
    assert "  " not in entry["statement"]
