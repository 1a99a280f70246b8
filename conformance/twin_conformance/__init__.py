"""The TWIN conformance harness: a pytest plugin and the ``twin-conformance`` CLI.

It targets any vendor's TWIN node (or, by default, the embedded reference node), checks every
response against the OpenAPI document, replays the signed vectors, fuzzes the API from the
spec, and writes reports a vendor, a CI pipeline and a standards body can use. It uses the
executable spec (``twin_spec``) as its oracle and never imports the reference node.

The names below load on first use: the package is imported by the pytest plugin in every
pytest session of an environment where the suite is installed, and must cost nothing there.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "SUITE_VERSION",
    "ConformanceFailure",
    "Exchange",
    "TwinClient",
    "fail",
    "main",
    "require",
]

_WHERE = {
    "SUITE_VERSION": "twin_conformance._version",
    "ConformanceFailure": "twin_conformance._failures",
    "Exchange": "twin_conformance._client",
    "TwinClient": "twin_conformance._client",
    "fail": "twin_conformance._failures",
    "main": "twin_conformance._cli",
    "require": "twin_conformance._failures",
}


def __getattr__(name: str) -> Any:  # noqa: ANN401 - whatever the named module defines
    """Import a public name from its module the first time it is asked for."""
    if name not in _WHERE:
        raise AttributeError(f"module 'twin_conformance' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
