"""The TWIN error body: what every 4xx and 5xx response carries (the TWIN node's Error model)."""

from __future__ import annotations

from collections.abc import Mapping

from twin_spec._errors import TwinSpecError

ERROR_MEMBERS = frozenset({"name", "message", "source", "properties", "stack", "inner"})
# Nested errors deeper than this are refused; the upstream node nests two or three.
MAX_INNER_DEPTH = 32


def check_error_body(body: object) -> None:
    """Raise :class:`TwinSpecError` unless ``body`` is a well-formed TWIN error object."""
    # TWIN-CORE-040 "The body of every 4xx and 5xx response MUST be a JSON object with a
    # non-empty string name and a string message, and no members other than source,
    # properties, stack and inner."
    _check(body, "$", 0)


def _check(body: object, path: str, depth: int) -> None:
    if depth > MAX_INNER_DEPTH:
        raise _invalid(f"{path}: errors nest deeper than {MAX_INNER_DEPTH} levels")
    if not isinstance(body, Mapping):
        raise _invalid(f"{path}: an error body is a JSON object, got {type(body).__name__}")
    unknown = sorted(str(name) for name in body if name not in ERROR_MEMBERS)
    if unknown:
        raise _invalid(f"{path}: members {', '.join(unknown)} are not part of the error format")
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise _invalid(f"{path}.name must be a non-empty string, got {name!r}")
    if not isinstance(body.get("message"), str):
        raise _invalid(f"{path}.message must be a string, got {body.get('message')!r}")
    for member in ("source", "stack"):
        if member in body and not isinstance(body[member], str):
            raise _invalid(f"{path}.{member} must be a string")
    if "properties" in body and not isinstance(body["properties"], Mapping):
        raise _invalid(f"{path}.properties must be an object")
    if "inner" in body:
        _check(body["inner"], f"{path}.inner", depth + 1)


def _invalid(message: str) -> TwinSpecError:
    return TwinSpecError(f"malformed error body: {message}", requirement="TWIN-CORE-040")
