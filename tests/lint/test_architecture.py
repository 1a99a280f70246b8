"""Layering rules from ARCHITECTURE.md, and the rule that public vectors are never copied in."""

from __future__ import annotations

import ast
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, external_vectors_dir

SPEC_CORE = REPO_ROOT / "spec" / "twin_spec"
# The spec core may use the standard library and PyNaCl (libsodium) only.
ALLOWED_THIRD_PARTY = {"nacl"}
OUR_PACKAGES = {"twin_reference", "twin_conformance", "tests"}
# Standard-library modules that do I/O, read clocks or the environment.
IO_MODULES = {
    "os",
    "io",
    "pathlib",
    "socket",
    "subprocess",
    "shutil",
    "tempfile",
    "sqlite3",
    "urllib",
    "http",
    "ssl",
    "select",
    "asyncio",
    "logging",
    "time",
    "datetime",
    "random",
    "secrets",
    "glob",
    "fileinput",
}
IO_BUILTINS = {"open", "print", "input", "exec", "eval", "breakpoint", "__import__"}
SKIPPED_DIRS = {
    ".git",
    ".venv",
    ".tox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "__pycache__",
}


def _core_modules() -> list[Path]:
    return sorted(SPEC_CORE.glob("*.py"))


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", _core_modules(), ids=lambda path: path.name)
def test_the_spec_core_imports_nothing_of_ours_and_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = _imported_roots(tree) - {"__future__", "twin_spec"}
    assert not roots & OUR_PACKAGES, f"{path.name} imports {roots & OUR_PACKAGES}"
    assert not roots & IO_MODULES, f"{path.name} imports I/O modules {roots & IO_MODULES}"
    third_party = {root for root in roots if root not in sys.stdlib_module_names}
    assert third_party <= ALLOWED_THIRD_PARTY, f"{path.name} depends on {third_party}"
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not calls & IO_BUILTINS, f"{path.name} calls {calls & IO_BUILTINS}"


REFERENCE = REPO_ROOT / "reference" / "twin_reference"


@pytest.mark.parametrize("path", sorted(REFERENCE.glob("*.py")), ids=lambda path: path.name)
def test_the_reference_node_imports_the_spec_core_but_not_the_harness(path: Path) -> None:
    roots = _imported_roots(ast.parse(path.read_text(encoding="utf-8")))
    assert not roots & {"twin_conformance", "tests"}, f"{path.name} imports {roots}"


HARNESS = REPO_ROOT / "conformance" / "twin_conformance"


@pytest.mark.parametrize(
    "path",
    sorted(HARNESS.rglob("*.py")),
    ids=lambda path: str(path.relative_to(HARNESS)),
)
def test_the_harness_imports_the_spec_core_but_not_the_reference_node(path: Path) -> None:
    roots = _imported_roots(ast.parse(path.read_text(encoding="utf-8")))
    assert "twin_reference" not in roots, f"{path.name} imports the reference node"
    assert "tests" not in roots, f"{path.name} imports the tests"


VECTOR_GENERATORS = REPO_ROOT / "conformance" / "twin_vectors"


@pytest.mark.parametrize(
    "path",
    sorted(VECTOR_GENERATORS.rglob("*.py")),
    ids=lambda path: str(path.relative_to(VECTOR_GENERATORS)),
)
def test_the_vector_generators_import_only_the_spec_core(path: Path) -> None:
    roots = _imported_roots(ast.parse(path.read_text(encoding="utf-8")))
    assert not roots & (OUR_PACKAGES | {"twin_conformance"}), f"{path.name} imports {roots}"


def test_the_public_surface_lists_what_it_imports() -> None:
    import twin_spec

    exported = set(twin_spec.__all__)
    public = {name for name in vars(twin_spec) if not name.startswith("_")}
    # Submodules appear as attributes once imported; they are not part of the surface.
    public -= {name for name in public if isinstance(getattr(twin_spec, name), type(twin_spec))}
    assert exported == public, f"surface and __all__ differ: {exported ^ public}"


def _repository_files() -> list[Path]:
    """The files the repository holds: tracked or about to be (never a virtual environment)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],  # noqa: S607
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout.decode()
    except (OSError, subprocess.SubprocessError):
        pytest.skip("git cannot list the repository's files here (not a git checkout)")
    paths = [REPO_ROOT / name for name in listed.split("\0") if name]
    # A virtual environment under any name (.gitignore knows only .venv) is not the repository.
    environments = {cfg.parent for cfg in REPO_ROOT.glob("*/pyvenv.cfg")}
    return [
        path
        for path in paths
        if path.is_file() and not any(env in path.parents for env in environments)
    ]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _json_fingerprint(path: Path) -> str | None:
    """Hash a JSON file's parsed content, so a reformatted copy still matches."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def test_no_public_vector_file_is_copied_into_the_repository() -> None:
    folder = external_vectors_dir()
    if not folder.is_dir():
        pytest.skip(f"public vectors not found at {folder}, nothing to compare against")
    external_files = [path for path in folder.rglob("*") if path.is_file()]
    by_bytes = {_sha256(path): path for path in external_files if path.stat().st_size > 64}
    by_json = {
        fingerprint: path
        for path in external_files
        if path.suffix == ".json" and (fingerprint := _json_fingerprint(path)) is not None
    }
    copies = []
    for path in _repository_files():
        original = by_bytes.get(_sha256(path)) if path.stat().st_size > 64 else None
        if original is None and path.suffix == ".json":
            fingerprint = _json_fingerprint(path)
            original = by_json.get(fingerprint) if fingerprint else None
        if original is not None:
            copies.append(f"{path.relative_to(REPO_ROOT)} copies {original.relative_to(folder)}")
    assert not copies, copies
