"""The contract check: responses are validated against the OpenAPI document and its schemas."""

from __future__ import annotations

import json

import pytest

from twin_conformance import ConformanceFailure, Exchange
from twin_conformance._contract import OpenApiContract

INFO = {
    "name": "Vendor Node",
    "version": "1.0.0",
    "specVersion": "0.1.0",
    "profiles": ["core"],
}


@pytest.fixture(scope="module")
def contract() -> OpenApiContract:
    return OpenApiContract()


def _exchange(
    method: str, path: str, status: int, body: object, media: str = "application/json"
) -> Exchange:
    return Exchange(
        method,
        f"http://127.0.0.1:1{path}",
        {},
        None,
        status,
        {"content-type": media},
        json.dumps(body).encode(),
    )


def _failure(contract: OpenApiContract, exchange: Exchange) -> ConformanceFailure:
    with pytest.raises(ConformanceFailure) as caught:
        contract.check(exchange)
    return caught.value


@pytest.mark.requirement("TWIN-CORE-056")
def test_a_valid_response_passes(contract: OpenApiContract) -> None:
    contract.check(_exchange("GET", "/info", 200, INFO))


@pytest.mark.requirement("TWIN-CORE-056")
def test_a_body_breaking_its_schema_fails_the_contract(contract: OpenApiContract) -> None:
    failure = _failure(contract, _exchange("GET", "/info", 200, {"name": "x"}))
    assert failure.requirement == "TWIN-CORE-056"
    assert "serverInformation" in failure.message


@pytest.mark.requirement("TWIN-CORE-056")
def test_an_undocumented_status_fails_the_contract(contract: OpenApiContract) -> None:
    failure = _failure(contract, _exchange("GET", "/info", 418, {"name": "Teapot", "message": "x"}))
    assert failure.requirement == "TWIN-CORE-056"
    assert "418" in failure.message


@pytest.mark.requirement("TWIN-CORE-056")
def test_an_undocumented_media_type_fails_the_contract(contract: OpenApiContract) -> None:
    failure = _failure(contract, _exchange("GET", "/info", 200, INFO, media="text/html"))
    assert failure.requirement == "TWIN-CORE-056"


@pytest.mark.requirement("TWIN-CORE-040")
def test_an_error_body_without_a_name_breaks_the_error_shape(contract: OpenApiContract) -> None:
    failure = _failure(
        contract, _exchange("POST", "/authentication/login", 400, {"message": "bad"})
    )
    assert failure.requirement == "TWIN-CORE-040"


def test_literal_paths_win_over_templates(contract: OpenApiContract) -> None:
    operation = contract.find("POST", "http://h/identity/proof/verify")
    assert operation is not None
    assert operation.operation_id == "identityProofVerify"
    resolve = contract.find("GET", "http://h/identity/did:twin:0x00?x=1")
    assert resolve is not None
    assert resolve.operation_id == "identityResolve"


def test_paths_outside_the_document_are_not_judged(contract: OpenApiContract) -> None:
    contract.check(_exchange("GET", "/no-such-route", 404, {"name": "NotFound", "message": "x"}))
