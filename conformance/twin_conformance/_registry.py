"""The requirement registry: every normative requirement with its ID, profile and level."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from twin_conformance._paths import spec_dir
from twin_conformance._yaml import load_yaml

PROFILES: tuple[str, ...] = ("core", "identity", "anchoring", "consensus", "documents")
"""The profiles the harness knows, in the order reports list them."""


@dataclass(frozen=True)
class Requirement:
    """One normative requirement of ``spec/requirements``."""

    id: str
    profile: str
    level: str
    statement: str
    unobservable: str | None = None
    """Why no exchange with a target can observe the rule, when none can (SUITE-006)."""


@functools.cache
def load_registry(root: Path | None = None) -> dict[str, Requirement]:
    """Every requirement by ID, read from ``requirements/<profile>.yaml``."""
    folder = (root or spec_dir()) / "requirements"
    registry: dict[str, Requirement] = {}
    for path in sorted(folder.glob("*.yaml")):
        document = load_yaml(path.read_text(encoding="utf-8"))
        profile = str(document["profile"])
        for entry in document["requirements"]:
            requirement = Requirement(
                id=str(entry["id"]),
                profile=profile,
                level=str(entry["level"]),
                statement=" ".join(str(entry["statement"]).split()),
                unobservable=(
                    " ".join(str(entry["unobservable"]).split())
                    if "unobservable" in entry
                    else None
                ),
            )
            registry[requirement.id] = requirement
    return registry


def profile_of(requirement_id: str) -> str:
    """The profile a requirement ID belongs to (``TWIN-CORE-040`` → ``core``)."""
    parts = requirement_id.split("-")
    return parts[1].lower() if len(parts) == 3 else "core"
