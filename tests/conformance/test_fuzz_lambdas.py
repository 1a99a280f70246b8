"""Hypothesis's lambda descriptions while fuzzing: each lambda described once, the same text."""

from __future__ import annotations

from typing import Any

from hypothesis.internal import lambda_sources as _sources

from twin_conformance._fuzz import _lambda_descriptions_once

lambda_sources: Any = _sources


def _closures() -> list[Any]:
    made: list[Any] = [(lambda value, limit=limit: value < limit) for limit in (1, 1, 2)]
    return made


def test_descriptions_are_those_hypothesis_gives_and_each_is_made_once() -> None:
    plain = [lambda_sources._lambda_description(f) for f in _closures()]
    made: list[object] = []
    original: Any = lambda_sources._lambda_description

    def counting(f: object, *args: object, **kwargs: object) -> str:
        made.append(f)
        return str(original(f, *args, **kwargs))

    lambda_sources._lambda_description = counting
    try:
        with _lambda_descriptions_once():
            described = [lambda_sources._lambda_description(f) for f in _closures()]
            again = [lambda_sources._lambda_description(f) for f in _closures()]
    finally:
        lambda_sources._lambda_description = original
    assert described == again == plain
    assert "value < limit" in plain[0]
    assert plain[0] != plain[2]  # the default differs, so does the signature and the text
    assert len(made) == 2  # one per distinct code and signature
    assert lambda_sources._lambda_description is original
