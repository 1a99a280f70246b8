"""YAML documents read with the safe loader, libyaml's where it is built in (five times faster)."""

from __future__ import annotations

from typing import Any

import yaml

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:  # noqa: ANN401 - a YAML document is any value
    """Parse ``text`` as YAML, building plain values only (the safe loader)."""
    return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - the safe loader
