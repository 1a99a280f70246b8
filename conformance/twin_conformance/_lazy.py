"""Deferred imports of what a run rarely uses, without changing what it does when it does.

jsonschema imports ``rfc3987_syntax`` for its ``iri`` and ``iri-reference`` formats, and that
package builds 39 lark grammars at import (about a quarter of a run's start-up CPU). No schema
of the spec uses those formats, so a run that meets none never needs the package: a stand-in
module takes its place and imports the real one the first time any of its names is used.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

DEFERRED = "rfc3987_syntax"


class _Deferred(types.ModuleType):
    """A stand-in for a module not imported yet: the first attribute looked up imports it."""

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - whatever the real module has
        """The real module's attribute, importing the real module first if it is not yet."""
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_real(), name)


def _is_valid_syntax(term: str, value: str) -> bool:
    """``rfc3987_syntax.is_valid_syntax``, importing the package on its first use."""
    return bool(_real().is_valid_syntax(term, value))


def _real() -> Any:  # noqa: ANN401 - the real module, whatever it defines
    """The real package, imported now if only the stand-in was."""
    if isinstance(sys.modules.get(DEFERRED), _Deferred):
        del sys.modules[DEFERRED]
    return importlib.import_module(DEFERRED)


def defer_rfc3987_syntax() -> None:
    """Put the stand-in in place, unless jsonschema or the package is already imported."""
    if DEFERRED in sys.modules or "jsonschema" in sys.modules:
        return
    spec = importlib.util.find_spec(DEFERRED)
    if spec is None or importlib.util.find_spec("lark") is None:
        return  # Not importable: jsonschema does without it, as it would anyway.
    stand_in = _Deferred(DEFERRED)
    stand_in.__spec__ = spec
    stand_in.__file__ = spec.origin
    stand_in.__path__ = list(spec.submodule_search_locations or [])
    # jsonschema imports this one name; it must exist on the stand-in for `from ... import`.
    stand_in.is_valid_syntax = _is_valid_syntax  # type: ignore[attr-defined]
    sys.modules[DEFERRED] = stand_in
