"""Where the harness finds the spec's documents and the signed vectors.

An installed wheel carries copies under ``twin_conformance/_spec`` and ``_vectors``; a source
checkout (and an editable install) uses the repository's ``spec/`` and ``vectors/`` folders.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def spec_dir() -> Path:
    """The folder holding ``requirements/``, ``openapi/`` and ``schemas/``."""
    for candidate in (_HERE / "_spec", _HERE.parents[1] / "spec"):
        if (candidate / "requirements").is_dir() and (candidate / "openapi").is_dir():
            return candidate
    raise FileNotFoundError("the TWIN spec documents are not installed beside twin_conformance")


def vectors_dir() -> Path:
    """The folder of signed vectors shipped with the suite."""
    for candidate in (_HERE / "_vectors", _HERE.parents[1] / "vectors"):
        if (candidate / "manifest.json").is_file() or (candidate / "README.md").is_file():
            return candidate
    raise FileNotFoundError("the TWIN vectors are not installed beside twin_conformance")


def checks_dir() -> Path:
    """The folder of conformance checks (pytest modules) the plugin runs."""
    return _HERE / "checks"
