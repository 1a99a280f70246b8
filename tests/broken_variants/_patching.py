"""Narrow patches of the reference node, applied in the variant's own process before it starts.

A patch rebinds one name where the node looks it up (never the spec core's own definition for
everyone), and :func:`scoped` confines a replacement to the calls made while one function of
the node runs: a fault of ``POST /consensus/evaluate`` must not reach the node's own ledger,
which calls the same spec functions in another task. :func:`patched_copy` runs a spec module's
source again with one line changed, for a fault inside a function that has no hook, and the
variant points only the route it breaks at the copy.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

_ACTIVE: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "broken_variant_scopes", default=frozenset()
)


def rebind(module: ModuleType, name: str, value: object) -> None:
    """Point ``module.name`` at ``value``; the name must exist (a rename fails loudly)."""
    if not hasattr(module, name):
        raise AttributeError(f"{module.__name__} has no {name} to patch")
    setattr(module, name, value)


def mark_scope(module: ModuleType, name: str, scope: str) -> None:
    """Make ``module.name`` (sync or async) run with ``scope`` active in its context."""
    original = getattr(module, name)
    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def async_marked(*args: Any, **kwargs: Any) -> Any:
            token = _ACTIVE.set(_ACTIVE.get() | {scope})
            try:
                return await original(*args, **kwargs)
            finally:
                _ACTIVE.reset(token)

        rebind(module, name, async_marked)
        return

    @functools.wraps(original)
    def marked(*args: Any, **kwargs: Any) -> Any:
        token = _ACTIVE.set(_ACTIVE.get() | {scope})
        try:
            return original(*args, **kwargs)
        finally:
            _ACTIVE.reset(token)

    rebind(module, name, marked)


def in_scope(scope: str) -> bool:
    """Whether the current call runs inside a function marked with ``scope``."""
    return scope in _ACTIVE.get()


def scoped(module: ModuleType, name: str, scope: str, replacement: Callable[..., Any]) -> None:
    """Use ``replacement`` for ``module.name`` only inside ``scope``; elsewhere the original."""
    original = getattr(module, name)

    @functools.wraps(original)
    def dispatch(*args: Any, **kwargs: Any) -> Any:
        chosen = replacement if in_scope(scope) else original
        return chosen(*args, **kwargs)

    rebind(module, name, dispatch)


def patched_copy(
    name: str, replacements: dict[str, str], *, keep: tuple[str, ...] = ()
) -> ModuleType:
    """A fresh copy of module ``name`` with each ``old`` text of its source replaced by ``new``.

    Every ``old`` must occur in the source (a changed spec fails loudly, never silently); the
    names in ``keep`` (classes, enums) are taken back from the original module, so that what
    the copy returns is of the types the rest of the node compares against.
    """
    original = importlib.import_module(name)
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ImportError(f"no source for {name}")
    with open(spec.origin, encoding="utf-8") as source_file:
        source = source_file.read()
    for old, new in replacements.items():
        if old not in source:
            raise ValueError(f"{name} no longer holds {old!r}; the fault needs updating")
        source = source.replace(old, new)
    copy = ModuleType(f"{name}_broken_copy")
    copy.__dict__["__package__"] = original.__package__
    sys.modules[copy.__name__] = copy  # Dataclasses look their module up while being made.
    exec(compile(source, f"{spec.origin} (broken copy)", "exec"), copy.__dict__)  # noqa: S102
    for kept in keep:
        setattr(copy, kept, getattr(original, kept))
    return copy
