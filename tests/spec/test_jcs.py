"""RFC 8785 canonical JSON: the public test data, ECMAScript numbers, refusals, and rfc8785."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from tests.support import vector_cases
from twin_spec import (
    MAX_SAFE_INTEGER,
    CanonicalizationError,
    canonicalize,
    format_number,
    parse_json,
)


def _jcs_cases(folder: Path) -> list[tuple[str, Any]]:
    inputs = sorted((folder / "input").glob("*.json"))
    return [(path.stem, path) for path in inputs]


@pytest.mark.external_vectors("jcs-rfc8785")
@pytest.mark.requirement("TWIN-CORE-001")
@pytest.mark.parametrize("input_path", vector_cases("jcs-rfc8785/testdata", _jcs_cases))
def test_cyberphone_inputs_give_the_expected_bytes(input_path: Path) -> None:
    testdata = input_path.parent.parent
    expected = (testdata / "output" / input_path.name).read_bytes()
    hex_dump = (testdata / "outhex" / f"{input_path.stem}.txt").read_text().split()
    assert bytes.fromhex("".join(hex_dump)) == expected
    assert canonicalize(parse_json(input_path.read_bytes())) == expected


@pytest.mark.requirement("TWIN-CORE-001")
def test_names_sort_by_utf16_code_units_not_code_points() -> None:
    # U+1F600 is the surrogate pair D83D DE00, which sorts before U+FB33 in UTF-16 although
    # its code point is larger; json.dumps(sort_keys=True) gets this wrong.
    value = {"\ufb33": 1, "\U0001f600": 2, "a": 3}
    assert canonicalize(value) == '{"a":3,"\U0001f600":2,"\ufb33":1}'.encode()
    assert json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")) == (
        '{"a":3,"\ufb33":1,"\U0001f600":2}'
    )


@pytest.mark.requirement("TWIN-CORE-001")
def test_strings_escape_only_what_json_requires() -> None:
    text = 'quote" backslash\\ slash/ tab\t nl\n bell\x07 del\x7f euro\u20ac'
    assert canonicalize(text) == (
        b'"quote\\" backslash\\\\ slash/ tab\\t nl\\n bell\\u0007 del\x7f euro\xe2\x82\xac"'
    )


@pytest.mark.requirement("TWIN-CORE-001")
@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (4.50, "4.5"),
        (2e-3, "0.002"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1e30, "1e+30"),
        (333333333.33333329, "333333333.3333333"),
        (123456789012345680000.0, "123456789012345680000"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (-1.5e-9, "-1.5e-9"),
        (9007199254740992.0, "9007199254740992"),
    ],
)
def test_numbers_print_as_ecmascript_does(number: float, text: str) -> None:
    assert format_number(number) == text
    assert canonicalize(number) == text.encode()


@pytest.mark.requirement("TWIN-CORE-002")
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": [1, math.nan]}, "$.a[1]: nan is not a JSON number"),
        ({"a": math.inf}, "$.a: inf is not a JSON number"),
        ({"n": MAX_SAFE_INTEGER + 1}, "$.n: integer 9007199254740992 is outside"),
        ({"n": -(MAX_SAFE_INTEGER + 1)}, "$.n: integer -9007199254740992 is outside"),
        ({"s": "lone \ud800 surrogate"}, "$.s: string holds a lone surrogate U+D800"),
        ({1: "x"}, "$: member name 1 is a int"),
        ({"b": b"bytes"}, "$.b: a bytes is not a JSON value"),
        ({"set": {1, 2}}, "$.set: a set is not a JSON value"),
    ],
)
def test_values_jcs_cannot_represent_are_refused_with_their_path(
    value: object, message: str
) -> None:
    with pytest.raises(CanonicalizationError, match=None) as caught:
        canonicalize(value)
    assert message in str(caught.value)
    assert caught.value.requirement == "TWIN-CORE-002"


@pytest.mark.requirement("TWIN-CORE-002")
def test_pathological_nesting_is_refused_not_a_crash() -> None:
    value: object = []
    for _ in range(10_000):
        value = [value]
    with pytest.raises(CanonicalizationError, match="nesting deeper than"):
        canonicalize(value)


@pytest.mark.requirement("TWIN-CORE-003")
def test_parse_json_reads_large_exact_integers_as_the_double_they_are() -> None:
    assert parse_json('{"n": 9007199254740992}') == {"n": 9007199254740992.0}
    # As in ECMAScript, a literal no double holds reads as the nearest double.
    assert canonicalize(parse_json("[9007199254740993]")) == b"[9007199254740992]"
    assert canonicalize(parse_json("[1e21, 100000000000000000000000]")) == b"[1e+21,1e+23]"


@pytest.mark.requirement("TWIN-CORE-003")
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1, "a": 2}', "duplicate member name 'a'"),
        ('{"a": NaN}', "NaN is not a JSON number"),
        ('{"a": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"a": "\xff"}', "not UTF-8: byte 0xff at offset 7"),
        ('{"a": 1', "not JSON: Expecting ',' delimiter at line 1 column 8"),
        ('{"a": 1' + "0" * 400 + "}", "is too large for an IEEE-754 double"),
        ('"\\ud800"', "lone surrogate"),
        ("[" * 100_000 + "]" * 100_000, "nesting"),
    ],
)
def test_parse_json_rejects_what_is_not_i_json(text: str | bytes, message: str) -> None:
    with pytest.raises(CanonicalizationError) as caught:
        parse_json(text)
    assert message in str(caught.value)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


@pytest.mark.requirement("TWIN-CORE-001")
@given(json_values)
def test_agrees_with_the_rfc8785_package(value: object) -> None:
    assert canonicalize(value) == rfc8785.dumps(value)  # type: ignore[arg-type]


@pytest.mark.requirement("TWIN-CORE-001")
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_double_round_trips_through_its_canonical_text(number: float) -> None:
    assert float(format_number(number)) == number


@pytest.mark.requirement("TWIN-CORE-001", "TWIN-CORE-003")
@given(json_values)
def test_canonical_text_is_a_fixed_point(value: object) -> None:
    canonical = canonicalize(value)
    assert canonicalize(parse_json(canonical)) == canonical


ascii_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.text(alphabet=st.characters(max_codepoint=127)),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.text(alphabet=st.characters(max_codepoint=127), max_size=8), children, max_size=5
        )
    ),
    max_leaves=25,
)


@pytest.mark.requirement("TWIN-CORE-001")
@given(ascii_values)
def test_the_fast_path_for_ascii_values_writes_what_the_general_one_writes(value: object) -> None:
    from twin_spec._jcs import _general_text, _plain

    assert _plain(value, 0)
    assert canonicalize(value) == _general_text(value).encode("utf-8")
    assert canonicalize(value) == rfc8785.dumps(value)  # type: ignore[arg-type]


@pytest.mark.requirement("TWIN-CORE-002")
def test_the_fast_path_leaves_what_it_cannot_judge_to_the_general_one() -> None:
    from twin_spec._jcs import _plain

    assert not _plain({"n": 2**53}, 0)
    assert not _plain({"x": 1.5}, 0)
    assert not _plain({"é": 1}, 0)
    assert not _plain(["\ud800"], 0)
    assert not _plain({1: "a"}, 0)
    assert not _plain((True, {"a": [None, 3.0]}), 0)
