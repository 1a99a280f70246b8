"""The TWIN error body, as the executable spec checks it."""

from __future__ import annotations

import pytest

from tests.support import upstream_file
from twin_spec import TwinSpecError, check_error_body, parse_json


@pytest.mark.requirement("TWIN-CORE-040")
@pytest.mark.parametrize(
    "body",
    [
        {"name": "UnauthorizedError", "message": "authentication.missingToken"},
        {"name": "GeneralError", "message": "", "properties": {"foo": "bar"}, "source": "X"},
        {"name": "A", "message": "b", "inner": {"name": "B", "message": "c", "stack": "..."}},
    ],
)
def test_well_formed_error_bodies_pass(body: dict[str, object]) -> None:
    check_error_body(body)


@pytest.mark.requirement("TWIN-CORE-040")
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "an error body is a JSON object, got list"),
        ({"message": "m"}, "$.name must be a non-empty string, got None"),
        ({"name": "", "message": "m"}, "$.name must be a non-empty string"),
        ({"name": "E"}, "$.message must be a string, got None"),
        ({"name": "E", "message": "m", "code": 4}, "members code are not part of the error format"),
        ({"name": "E", "message": "m", "stack": ["frame"]}, "$.stack must be a string"),
        ({"name": "E", "message": "m", "properties": []}, "$.properties must be an object"),
        ({"name": "E", "message": "m", "inner": {"name": "I"}}, "$.inner.message must be a string"),
    ],
)
def test_malformed_error_bodies_are_named(body: object, message: str) -> None:
    with pytest.raises(TwinSpecError) as caught:
        check_error_body(body)
    assert message in str(caught.value)
    assert caught.value.requirement == "TWIN-CORE-040"


def test_runaway_nesting_is_refused() -> None:
    body: dict[str, object] = {"name": "E", "message": "m"}
    for _ in range(40):
        body = {"name": "E", "message": "m", "inner": body}
    with pytest.raises(TwinSpecError, match="nest deeper than 32"):
        check_error_body(body)


@pytest.mark.requirement("TWIN-CORE-040")
def test_the_upstream_nodes_real_500_body_has_the_format() -> None:
    capture = upstream_file("samples/immutable-proof-create.txt").read_text(encoding="utf-8")
    body = capture.split("\n", 1)[1]
    check_error_body(parse_json(body))
