"""Canonical JSON per RFC 8785 (JCS), and a strict I-JSON parser to feed it.

Everything TWIN hashes or signs as JSON goes through :func:`canonicalize`. JCS is not
``json.dumps(sort_keys=True)``: member names sort by UTF-16 code units, numbers print as
ECMAScript does, and only the characters JSON requires are escaped.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeAlias, cast

from twin_spec._errors import CanonicalizationError, JsonLimit

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None

# TWIN-CORE-002 "Integers outside the IEEE-754 safe range cannot be represented exactly."
MAX_SAFE_INTEGER = 2**53 - 1
# Nesting deeper than this is refused rather than risking the interpreter's recursion limit.
MAX_DEPTH = 256

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
# RFC 8785 section 3.2.2.2: only '"', '\\' and the control characters are escaped.
_MUST_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def canonicalize(value: object) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    Accepts dicts with string keys, lists and tuples, strings, ints, floats, bools and None.
    Anything JCS cannot represent raises :class:`CanonicalizationError` naming the JSON path.
    """
    # TWIN-CORE-001 "JSON that is hashed or signed MUST be serialized with RFC 8785 (JCS)."
    return canonical_text(value).encode("utf-8")


def canonical_text(value: object) -> str:
    """Return the canonical form as text (the same characters as :func:`canonicalize`)."""
    if _plain(value, 0):
        # For ASCII names and strings, safe integers, booleans and null, JCS and the standard
        # library's sorted, compact, unescaped-Unicode form are the same characters: code
        # point order is UTF-16 order for ASCII names, and both escape exactly '"', '\\' and
        # the control characters, with the same short forms and lower-case hex. Anything else
        # (floats, non-ASCII, other types, errors) goes the general way below.
        return str(json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True))
    return _general_text(value)


def _general_text(value: object) -> str:
    """The canonical text, written member by member with a JSON path for every error."""
    parts: list[str] = []
    _write(value, "$", 0, parts)
    return "".join(parts)


def _plain(value: object, depth: int) -> bool:
    """Whether ``value`` holds only ASCII strings, safe integers, booleans, null, lists, dicts.

    A loop over a stack of containers rather than a call per value: this runs before every
    hash and signature (about twenty times per anchored document), so it is kept cheap.
    """
    pending: list[tuple[object, int]] = [(value, depth)]
    while pending:
        container, level = pending.pop()
        kind = type(container)
        if kind is dict:
            if level >= MAX_DEPTH:
                return False
            for key in cast(dict[object, object], container):
                if type(key) is not str or not key.isascii():
                    return False
            members: Iterable[object] = cast(dict[str, object], container).values()
        elif kind is list or kind is tuple:
            if level >= MAX_DEPTH:
                return False
            members = cast(Sequence[object], container)
        else:
            members = (container,)
            level -= 1
        for member in members:
            member_kind = type(member)
            if member_kind is str:
                if not cast(str, member).isascii():
                    return False
            elif member_kind is int:
                if not -MAX_SAFE_INTEGER <= cast(int, member) <= MAX_SAFE_INTEGER:
                    return False
            elif member_kind is dict or member_kind is list or member_kind is tuple:
                pending.append((member, level + 1))
            elif member is not None and member_kind is not bool:
                return False
    return True


def _write(value: object, path: str, depth: int, out: list[str]) -> None:
    if depth > MAX_DEPTH:
        raise CanonicalizationError(
            f"{path}: nesting deeper than {MAX_DEPTH} levels is refused",
            requirement="TWIN-CORE-002",
            limit=JsonLimit.NESTING_TOO_DEEP,
        )
    # bool is a subclass of int, so it must be tested first.
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value, path))
    elif isinstance(value, int):
        out.append(_integer(value, path))
    elif isinstance(value, float):
        out.append(format_number(value, path))
    elif isinstance(value, Mapping):
        _write_object(value, path, depth, out)
    elif isinstance(value, list | tuple):
        _write_array(value, path, depth, out)
    else:
        raise CanonicalizationError(
            f"{path}: a {type(value).__name__} is not a JSON value",
            requirement="TWIN-CORE-002",
        )


def _write_object(value: Mapping[object, object], path: str, depth: int, out: list[str]) -> None:
    for key in value:
        if not isinstance(key, str):
            raise CanonicalizationError(
                f"{path}: member name {key!r} is a {type(key).__name__}, JSON names are strings",
                requirement="TWIN-CORE-002",
            )
    # RFC 8785 section 3.2.3: sort by the UTF-16 code units of the names. Big-endian UTF-16
    # compares bytewise exactly as unsigned 16-bit code units do.
    names = sorted(value, key=lambda k: str(k).encode("utf-16-be", "surrogatepass"))
    out.append("{")
    for index, name in enumerate(names):
        if index:
            out.append(",")
        member_path = f"{path}.{_shown(str(name))}"
        out.append(_string(str(name), member_path))
        out.append(":")
        _write(value[name], member_path, depth + 1, out)
    out.append("}")


def _write_array(value: Sequence[object], path: str, depth: int, out: list[str]) -> None:
    out.append("[")
    for index, item in enumerate(value):
        if index:
            out.append(",")
        _write(item, f"{path}[{index}]", depth + 1, out)
    out.append("]")


def _shown(name: str) -> str:
    """A member name as it may appear in an error's path: with a UTF-8 form, whatever it holds."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _string(text: str, path: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalizationError(
            f"{path}: string holds a lone surrogate U+{ord(text[exc.start]):04X}, "
            "which has no UTF-8 form",
            requirement="TWIN-CORE-002",
            limit=JsonLimit.INVALID_STRING,
        ) from None
    return '"' + _MUST_ESCAPE.sub(_escape, text) + '"'


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def _integer(value: int, path: str) -> str:
    if abs(value) > MAX_SAFE_INTEGER:
        raise CanonicalizationError(
            f"{path}: integer {value} is outside the IEEE-754 safe range +/-(2**53 - 1)",
            requirement="TWIN-CORE-002",
            limit=JsonLimit.NUMBER_OUT_OF_RANGE,
        )
    return str(value)


def format_number(value: float, path: str = "$") -> str:
    """Serialize a double as ECMAScript's Number.prototype.toString does (RFC 8785 3.2.2.3)."""
    if math.isnan(value) or math.isinf(value):
        raise CanonicalizationError(
            f"{path}: {value} is not a JSON number (NaN and Infinity have no JSON form)",
            requirement="TWIN-CORE-002",
            limit=JsonLimit.NUMBER_OUT_OF_RANGE,
        )
    if value == 0:
        return "0"  # Also for -0.0, as ECMAScript prints it.
    sign = "-" if value < 0 else ""
    digits, exponent = _shortest_digits(abs(value))
    # ECMAScript: value = digits x 10**(n - k), with k digits and n the decimal point position.
    k = len(digits)
    n = exponent + k
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return sign + text


def _shortest_digits(value: float) -> tuple[str, int]:
    """Return the shortest round-trip decimal digits of a positive double and their exponent.

    Python's ``repr`` gives the shortest string that reads back as the same double, choosing
    the nearest when several qualify, which is what ECMAScript requires.
    """
    text = repr(value)
    mantissa, _, exp_text = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    exponent = (int(exp_text) if exp_text else 0) - len(fraction)
    stripped = digits.lstrip("0")
    trimmed = stripped.rstrip("0")
    exponent += len(stripped) - len(trimmed)
    return trimmed, exponent


def parse_json(text: str | bytes) -> JSONValue:
    """Parse I-JSON text strictly: UTF-8 only, no duplicate names, no NaN or Infinity.

    What a peer sends for verification is parsed with this, so that two parties cannot read
    different values out of the same bytes.
    """
    # TWIN-CORE-003 "JSON to be verified MUST be I-JSON: UTF-8, without duplicate member names."
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CanonicalizationError(
                f"JSON text is not UTF-8: byte {exc.object[exc.start]:#04x} at offset {exc.start}",
                requirement="TWIN-CORE-003",
                limit=JsonLimit.INVALID_STRING,
            ) from None
    try:
        value: JSONValue = json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
            parse_int=_parse_integer,
        )
    except json.JSONDecodeError as exc:
        raise CanonicalizationError(
            f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            requirement="TWIN-CORE-003",
        ) from None
    except RecursionError:
        raise CanonicalizationError(
            "JSON nesting is too deep to parse",
            requirement="TWIN-CORE-003",
            limit=JsonLimit.NESTING_TOO_DEEP,
        ) from None
    # Walk it once so that lone surrogates and unsafe integers are reported at parse time.
    canonicalize(value)
    return value


def _reject_duplicates(pairs: list[tuple[str, JSONValue]]) -> dict[str, JSONValue]:
    result: dict[str, JSONValue] = {}
    for name, item in pairs:
        if name in result:
            raise CanonicalizationError(
                f"duplicate member name {name!r} in a JSON object", requirement="TWIN-CORE-003"
            )
        result[name] = item
    return result


_SAFE_DIGITS = len(str(MAX_SAFE_INTEGER))


def _parse_integer(text: str) -> int | float:
    """Read an integer literal; beyond the safe range it is the nearest double, as in JSON.

    I-JSON numbers are IEEE-754 doubles, so 9007199254740993 reads as 9007199254740992.0, as
    every ECMAScript reader would read it; one too large for any double is refused. A literal
    longer than any safe integer is read as a double directly: Python refuses ``int()`` of
    more than 4300 digits, and the value could not be exact anyway.
    """
    if len(text) - text.startswith("-") <= _SAFE_DIGITS:
        value = int(text)
        if abs(value) <= MAX_SAFE_INTEGER:
            return value
    return _parse_float(text)


def _parse_float(text: str) -> float:
    """Read an integer literal as the nearest double; one beyond every finite double is refused.

    (Fraction and exponent literals are read by ``json`` itself; one beyond every double reads
    as infinity, which the walk after parsing refuses, TWIN-CORE-002.)
    """
    value = float(text)
    if math.isinf(value):
        shown = text if len(text) <= 40 else f"{text[:40]}... ({len(text)} characters)"
        raise CanonicalizationError(
            f"number {shown} is too large for an IEEE-754 double",
            requirement="TWIN-CORE-003",
            limit=JsonLimit.NUMBER_OUT_OF_RANGE,
        )
    return value


def _reject_constant(name: str) -> JSONValue:
    raise CanonicalizationError(f"{name} is not a JSON number", requirement="TWIN-CORE-003")
