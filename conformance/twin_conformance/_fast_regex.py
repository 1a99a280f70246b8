r"""Strings for the schemas' regular expressions, drawn a run of characters at a time.

Hypothesis's ``from_regex`` draws ``[0-9a-f]{64}`` as 64 separate choices, each with its own
bookkeeping: a DID or a 64-hex id cost 2 to 10 ms of CPU a string, a fifth of a fuzzing run's
CPU. :func:`fast_from_regex` draws a repeated character class as one text, and a repeated
alternation of single characters and longer items (the DID's ``(%[0-9A-Fa-f]{2}|[A-Za-z0-9._-])*``)
as a list of runs. It takes only patterns it can read exactly: anchored at both ends (or asked
to match in full), made of literals, explicit character classes (no negation, no ``\d``-style
categories), groups, alternatives and repeats, without flags that change what they match.
Anything else, and every bytes pattern, goes to hypothesis's own ``from_regex`` unchanged. Every
value is still filtered by the pattern itself, as hypothesis's are, so none can fail to match.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import hypothesis.strategies as st
from hypothesis.strategies import SearchStrategy

# The parser ``re`` itself uses (Python 3.11+; no type stubs), as hypothesis reads patterns too.
sre: Any = importlib.import_module("re._constants")
sre_parse: Any = importlib.import_module("re._parser")

__all__ = ["fast_from_regex", "fast_strategy", "faster_regex_strings", "plain_regex_strings"]

MAX_CLASS_SIZE = 4096
"""A class naming more characters than this is left to hypothesis (none of the spec's does)."""
_ALLOWED_FLAGS = re.UNICODE | re.ASCII
"""Flags that change nothing for explicit classes and literals."""
_SURROGATES = range(0xD800, 0xE000)


class _Unsupported(Exception):
    """The pattern uses something this reader does not draw exactly."""


def _in_alphabet(alphabet: Any) -> Callable[[str], bool] | None:  # noqa: ANN401
    """Whether a character is in ``alphabet`` (as hypothesis resolves it), or None if unknown.

    Uses hypothesis's ``OneCharStringStrategy.from_alphabet`` (private): without it (another
    hypothesis version) the fast path is off and hypothesis draws every pattern.
    """
    if alphabet is None:
        # from_regex's default alphabet for text: every codepoint UTF-8 can carry.
        return lambda character: ord(character) not in _SURROGATES
    try:
        from hypothesis.strategies._internal.strings import OneCharStringStrategy

        resolved: Any = OneCharStringStrategy.from_alphabet(alphabet)
        intervals = resolved.intervals
    except Exception:  # any change of the private API turns the fast path off
        return None
    return lambda character: character in intervals


class _Reader:
    """Turns one parsed pattern into a strategy, within an alphabet."""

    def __init__(self, allowed: Callable[[str], bool]) -> None:
        self.allowed = allowed

    def sequence(self, nodes: Sequence[tuple[Any, Any]]) -> SearchStrategy[str]:
        """A concatenation: consecutive literals joined into one constant."""
        parts: list[SearchStrategy[str]] = []
        literal = ""
        for op, value in nodes:
            if op is sre.LITERAL:
                literal += self._character(value)
                continue
            if literal:
                parts.append(st.just(literal))
                literal = ""
            parts.append(self.node(op, value))
        if literal:
            parts.append(st.just(literal))
        if not parts:
            return st.just("")
        if len(parts) == 1:
            return parts[0]
        return st.tuples(*parts).map("".join)

    def node(self, op: Any, value: Any) -> SearchStrategy[str]:  # noqa: ANN401 - sre's own
        """One node of the parse tree."""
        if op is sre.IN:
            return st.sampled_from(self.characters(value))
        if op is sre.SUBPATTERN:
            _group, add_flags, del_flags, inner = value
            if add_flags or del_flags:
                raise _Unsupported("inline flags")
            return self.sequence(list(inner))
        if op is sre.BRANCH:
            return st.one_of([self.sequence(list(branch)) for branch in value[1]])
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
            return self.repeat(*value)
        raise _Unsupported(str(op))

    def repeat(self, least: int, most: int, inner: Any) -> SearchStrategy[str]:  # noqa: ANN401
        """``inner`` repeated ``least`` to ``most`` times (``MAXREPEAT``: unbounded)."""
        top = None if most == sre.MAXREPEAT else int(most)
        items = list(inner)
        single = self._single_class(items)
        if single is not None:
            # A run of one class: one text, one draw.
            return st.text(alphabet=single, min_size=least, max_size=top)
        return st.lists(self.sequence(items), min_size=least, max_size=top).map("".join)

    def _single_class(self, items: list[tuple[Any, Any]]) -> str | None:
        """The characters of a one-node class or literal, or None if ``items`` is not one."""
        if len(items) != 1:
            return None
        op, value = items[0]
        if op is sre.IN:
            return self.characters(value)
        if op is sre.LITERAL:
            return self._character(value)
        return None

    def characters(self, items: Sequence[tuple[Any, Any]]) -> str:
        """The characters an explicit class names, within the alphabet, in a stable order."""
        found: set[str] = set()
        for op, value in items:
            if op is sre.LITERAL:
                found.add(chr(value))
            elif op is sre.RANGE:
                low, high = value
                if high - low + 1 + len(found) > MAX_CLASS_SIZE:
                    raise _Unsupported("a large class")
                found.update(chr(code) for code in range(low, high + 1))
            else:  # NEGATE, CATEGORY: left to hypothesis's intervals.
                raise _Unsupported(str(op))
        kept = "".join(sorted(character for character in found if self.allowed(character)))
        if not kept:
            raise _Unsupported("a class outside the alphabet")
        return kept

    def _character(self, code: int) -> str:
        character = chr(code)
        if not self.allowed(character):
            raise _Unsupported("a literal outside the alphabet")
        return character


def _body(parsed: list[tuple[Any, Any]], fullmatch: bool) -> list[tuple[Any, Any]]:
    r"""The pattern without its anchors, if it can only match a whole string; else unsupported.

    ``^`` at the start and ``\Z`` at the end (``$`` too when the whole string must match)
    leave no room for padding, so values of the body are exactly the values hypothesis pads.
    """
    body = list(parsed)
    if body and body[0][0] is sre.AT and body[0][1] in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING):
        body = body[1:]
        starts = True
    else:
        starts = False
    ends_at = (sre.AT_END_STRING, sre.AT_END) if fullmatch else (sre.AT_END_STRING,)
    if body and body[-1][0] is sre.AT and body[-1][1] in ends_at:
        body = body[:-1]
        ends = True
    else:
        ends = False
    if not fullmatch and not (starts and ends):
        raise _Unsupported("not anchored at both ends")
    return body


def _matcher(compiled: re.Pattern[str], *, fullmatch: bool) -> Callable[[str], bool]:
    """Whether a value matches the pattern (in full, or anywhere as ``re.search`` does)."""
    find = compiled.fullmatch if fullmatch else compiled.search

    def matches_pattern(value: str) -> bool:
        return find(value) is not None

    return matches_pattern


def fast_strategy(
    regex: str | bytes | re.Pattern[Any],
    *,
    fullmatch: bool = False,
    alphabet: Any = None,  # noqa: ANN401 - whatever from_regex takes
) -> SearchStrategy[str] | None:
    """The fast strategy for a pattern this module reads exactly, or None for any other."""
    compiled: re.Pattern[Any] = regex if isinstance(regex, re.Pattern) else re.compile(regex)
    if not isinstance(compiled.pattern, str) or compiled.flags & ~_ALLOWED_FLAGS:
        return None
    text_pattern: re.Pattern[str] = compiled
    allowed = _in_alphabet(alphabet)
    if allowed is None:
        return None
    try:
        parsed = list(sre_parse.parse(text_pattern.pattern, text_pattern.flags))
        strategy = _Reader(allowed).sequence(_body(parsed, fullmatch))
    except (_Unsupported, re.error, RecursionError):
        return None
    # As hypothesis does: the pattern itself has the last word on every value. (A function of
    # ours, not the bound method: hypothesis would turn a text strategy filtered by
    # ``pattern.search`` back into its own from_regex.)
    return strategy.filter(_matcher(text_pattern, fullmatch=fullmatch))


def fast_from_regex(
    regex: str | bytes | re.Pattern[Any],
    *,
    fullmatch: bool = False,
    alphabet: Any = None,  # noqa: ANN401 - whatever from_regex takes
    fallback: Callable[..., SearchStrategy[Any]] | None = None,
) -> SearchStrategy[Any]:
    """``st.from_regex`` with the fast path above; hypothesis's own (or ``fallback``) else."""
    strategy = fast_strategy(regex, fullmatch=fullmatch, alphabet=alphabet)
    if strategy is not None:
        return strategy
    draw: Callable[..., SearchStrategy[Any]] = fallback or st.from_regex
    return draw(regex, fullmatch=fullmatch, alphabet=alphabet)


_PLAIN = threading.Event()
"""Set while hypothesis's own ``from_regex`` draws every pattern (:func:`plain_regex_strings`)."""


@contextmanager
def faster_regex_strings() -> Iterator[None]:
    """``hypothesis.strategies.from_regex`` is :func:`fast_from_regex` meanwhile.

    Schemathesis calls it as ``st.from_regex`` (the module attribute), so the swap reaches every
    pattern it draws for, positive, negative and coverage alike; nothing else changes.
    """
    original: Callable[..., SearchStrategy[Any]] = st.from_regex

    def from_regex(
        regex: str | bytes | re.Pattern[Any],
        *,
        fullmatch: bool = False,
        alphabet: Any = None,  # noqa: ANN401 - whatever from_regex takes
    ) -> SearchStrategy[Any]:
        if _PLAIN.is_set():
            return original(regex, fullmatch=fullmatch, alphabet=alphabet)
        return fast_from_regex(regex, fullmatch=fullmatch, alphabet=alphabet, fallback=original)

    setattr(st, "from_regex", from_regex)  # noqa: B010 - the module attribute, on purpose
    try:
        yield
    finally:
        setattr(st, "from_regex", original)  # noqa: B010


@contextmanager
def plain_regex_strings(forget: Callable[[], None]) -> Iterator[None]:
    """Hypothesis's own ``from_regex`` meanwhile, with strategies built before ``forget``-ten.

    For the stateful phase: hypothesis ends a chain of steps once the choices drawn fill 80 %
    of its buffer, so how strings are drawn changes how many steps the chains run. Strategies
    schemathesis built and kept for the operations drew with the fast path; ``forget`` drops
    them, and the same schemas build the same strategies hypothesis's way again. Call it when
    no other fuzzing runs (the stateful phase runs alone).
    """
    _PLAIN.set()
    forget()
    try:
        yield
    finally:
        forget()
        _PLAIN.clear()
