"""The fast strings for the schemas' patterns: every one matches, they vary, a seed repeats them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy

from twin_conformance._bundle import bundled_document
from twin_conformance._fast_regex import (
    fast_from_regex,
    fast_strategy,
    faster_regex_strings,
    plain_regex_strings,
)

DRAWS = 200
ALPHABET = st.characters(codec="utf-8")


def _patterns(value: Any) -> Iterator[str]:
    """Every ``pattern`` keyword in a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "pattern" and isinstance(item, str):
                yield item
            else:
                yield from _patterns(item)
    elif isinstance(value, list):
        for item in value:
            yield from _patterns(item)


SPEC_PATTERNS = sorted(set(_patterns(bundled_document())))
"""The patterns of the document the harness fuzzes, schema files bundled in."""


def _as_schemathesis_draws(pattern: str) -> str:
    r"""The pattern as schemathesis hands it to hypothesis: a final ``$`` is ``\Z`` (ECMA)."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + "\\Z"
    return pattern


def _draw(strategy: SearchStrategy[str], count: int = DRAWS) -> list[str]:
    """``count`` values of ``strategy``, the same ones every time (derandomized)."""
    drawn: list[str] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: str) -> None:
        drawn.append(value)

    collect()
    return drawn


def test_the_spec_has_patterns_the_fast_path_reads() -> None:
    fast = [
        pattern
        for pattern in SPEC_PATTERNS
        if fast_strategy(_as_schemathesis_draws(pattern), alphabet=ALPHABET) is not None
    ]
    # The identifiers the fuzzer draws most: 64-hex ids, DIDs, DID URLs, multibase keys.
    for expected in ("^[0-9a-f]{64}$", "^z[1-9A-HJ-NP-Za-km-z]+$"):
        assert expected in fast
    assert any(p.startswith("^did:") for p in fast)
    assert len(fast) >= len(SPEC_PATTERNS) // 2, (fast, SPEC_PATTERNS)


@pytest.mark.parametrize("pattern", SPEC_PATTERNS)
def test_every_value_matches_the_pattern_and_they_vary(pattern: str) -> None:
    drawn_pattern = _as_schemathesis_draws(pattern)
    # What the fuzzer draws: the fast path where it reads the pattern, else hypothesis's own
    # from_regex (fewer draws: it costs up to 10 ms a string).
    fast = fast_strategy(drawn_pattern, alphabet=ALPHABET)
    count = DRAWS if fast is not None else DRAWS // 4
    values = _draw(fast_from_regex(drawn_pattern, alphabet=ALPHABET), count)
    compiled = re.compile(pattern)
    for value in values:
        # The schema's own pattern (JSON Schema searches); the fast path takes only anchored
        # patterns, whose values match in full.
        assert compiled.search(value), (pattern, value)
        assert fast is None or re.fullmatch(drawn_pattern, value), (pattern, value)
    assert len(set(values)) >= min(count // 4, 20), (pattern, sorted(set(values))[:10])


@pytest.mark.parametrize(
    ("pattern", "fullmatch"),
    [
        (
            r"^did:([a-z0-9]+|entity-storage):((%[0-9A-Fa-f]{2}|[A-Za-z0-9._-])*:)*"
            r"(%[0-9A-Fa-f]{2}|[A-Za-z0-9._-])+\Z",
            False,
        ),
        (r"^[ -~]{1,255}\Z", False),
        (r"^[ -~]{255}\Z", True),
        (r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", True),
        (
            r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?\Z",
            False,
        ),
        (r"^(0|[1-9][0-9]{0,8})\Z", False),
    ],
)
def test_patterns_as_schemathesis_asks_for_them(pattern: str, fullmatch: bool) -> None:
    strategy = fast_strategy(pattern, fullmatch=fullmatch, alphabet=ALPHABET)
    assert strategy is not None
    values = _draw(strategy)
    assert all(re.fullmatch(pattern, value) for value in values)
    assert len(set(values)) >= DRAWS // 4


@pytest.mark.parametrize(
    "pattern",
    [
        r"^https?://[^/?#\s]+",  # not anchored at the end: hypothesis pads it
        r"^\d{4}-\d{2}-\d{2}\Z",  # \d is every Unicode digit
        r"^[^,]+\Z",  # a negated class
        r"^(a)\1\Z",  # a back-reference
        r"(?i)^abc\Z",  # a flag
        r"^.+\Z",
    ],
)
def test_other_patterns_are_left_to_hypothesis(pattern: str) -> None:
    assert fast_strategy(pattern, alphabet=ALPHABET) is None
    values = _draw(fast_from_regex(pattern, alphabet=ALPHABET), 50)
    assert all(re.search(pattern, value) for value in values)


def test_an_alphabet_narrows_the_classes() -> None:
    narrow = st.characters(codec="ascii", min_codepoint=0x41, max_codepoint=0x5A)
    strategy = fast_strategy(r"^[A-Za-z]{3,8}\Z", alphabet=narrow)
    assert strategy is not None
    assert all(value.isupper() for value in _draw(strategy))
    assert fast_strategy(r"^[a-z]+\Z", alphabet=narrow) is None  # nothing left: hypothesis says so


def test_the_same_seed_draws_the_same_values() -> None:
    pattern = r"^did:twin:[1-9A-HJ-NP-Za-km-z]{44}(#[A-Za-z0-9._-]{1,64})?\Z"
    first = _draw(fast_from_regex(pattern, alphabet=ALPHABET))
    again = _draw(fast_from_regex(pattern, alphabet=ALPHABET))
    assert first == again


def test_the_swap_is_undone_and_the_stateful_phase_draws_hypothesis_own() -> None:
    original = st.from_regex
    forgotten: list[int] = []
    with faster_regex_strings():
        assert st.from_regex is not original
        fast = st.from_regex(r"^[0-9a-f]{64}\Z", alphabet=ALPHABET)
        with plain_regex_strings(lambda: forgotten.append(1)):
            plain = st.from_regex(r"^[0-9a-f]{64}\Z", alphabet=ALPHABET)
        assert forgotten == [1, 1]
        assert fast_strategy(r"^[0-9a-f]{64}\Z", alphabet=ALPHABET) is not None
        assert repr(plain) == repr(original(r"^[0-9a-f]{64}\Z", alphabet=ALPHABET))
        assert repr(fast) != repr(plain)
    assert st.from_regex is original
