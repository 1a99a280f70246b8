"""The evaluate route reuses a committee it has read, and only an identical one.

Reading a committee checks every public key, so ``POST /consensus/evaluate`` keeps the last
committees it read (bounded): a body with the same committee JSON gets the same object, one
that differs in anything gets its own, and a refused committee is refused every time.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from twin_reference._http import BodyLimit
from twin_reference._routes_consensus import COMMITTEE_KEY_MAX_CHARS, _committee, evaluate_body
from twin_spec import Committee, Ed25519SigningKey, TwinSpecError, Validator

LIMIT = BodyLimit(16 * 1024 * 1024, 1_048_576, 10.0)


def _committee_json(size: int, seed: int) -> dict[str, Any]:
    keys = [Ed25519SigningKey(bytes([seed, index]) * 16) for index in range(size)]
    validators = tuple(Validator(index, key.public_key, 1) for index, key in enumerate(keys))
    return dict(Committee(0, validators).to_json())


def test_the_same_committee_json_is_read_once_and_another_is_not_confused_with_it() -> None:
    first = _committee_json(4, 1)
    reordered = json.loads(json.dumps(first))  # equal JSON, another object
    assert _committee(first) is _committee(reordered)
    other_stake = copy.deepcopy(first)
    other_stake["validators"][0]["stake"] = 2
    assert _committee(other_stake) is not _committee(first)
    assert _committee(other_stake).validators[0].stake == 2
    assert _committee(first).validators[0].stake == 1


def test_a_refused_committee_is_refused_every_time() -> None:
    bad = _committee_json(4, 2)
    bad["validators"][1]["index"] = 3
    for _ in range(2):
        with pytest.raises(TwinSpecError):
            _committee(bad)
        status, answer = evaluate_body(json.dumps({"committee": bad, "blocks": []}).encode(), LIMIT)
        assert status == 400
        assert json.loads(answer)["properties"]["field"] == "body.committee.validators[1].index"


def test_a_committee_too_large_to_key_is_read_without_the_cache() -> None:
    large = _committee_json(4, 3)
    for entry in large["validators"]:
        entry["address"] = "https://validator.example/" + "a" * (COMMITTEE_KEY_MAX_CHARS // 4)
    assert _committee(large) is not _committee(large)
    assert _committee(large) == _committee(large)
