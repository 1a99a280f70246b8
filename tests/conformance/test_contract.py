"""The contract check: responses are validated against the OpenAPI document and its schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest

from twin_conformance import ConformanceFailure, Exchange
from twin_conformance._contract import OpenApiContract
from twin_spec import (
    Ed25519SigningKey,
    certify_checkpoint,
    make_checkpoint_summary,
    make_receipt,
    sign_checkpoint,
)

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


DID = "did:twin:0x" + "ab" * 32


@pytest.mark.requirement("TWIN-IDENTITY-014")
def test_a_did_document_breaking_its_schema_breaks_the_document_rule(
    contract: OpenApiContract,
) -> None:
    document = {"@context": "https://www.w3.org/ns/did/v1", "id": DID, "assertionMethod": "x"}
    failure = _failure(contract, _exchange("GET", f"/identity/{DID}", 200, document))
    assert failure.requirement == "TWIN-IDENTITY-014"
    failure = _failure(contract, _exchange("POST", "/identity", 200, {"service": []}))
    assert failure.requirement == "TWIN-IDENTITY-014"


def _receipt() -> dict[str, Any]:
    """A real receipt of the first of two transactions, certified by a committee of one."""
    key = Ed25519SigningKey(bytes(32))
    digests = [bytes([1]) * 32, bytes([2]) * 32]
    summary = make_checkpoint_summary(0, 1, 1, bytes(32), digests, bytes(32), 0)
    certified = certify_checkpoint(summary, [sign_checkpoint(key, 0, summary)])
    return make_receipt(digests[0], digests, certified)


@pytest.mark.requirement("TWIN-ANCHORING-012", "TWIN-ANCHORING-028")
def test_a_receipt_breaking_its_schema_breaks_the_receipt_rules(
    contract: OpenApiContract,
) -> None:
    path = "/verifiable/verifiable:twin:" + "0" * 64
    contract.check(_exchange("PUT", path, 200, _receipt()))
    uppercase = _receipt()
    uppercase["inclusionProof"]["auditPath"][0] = uppercase["inclusionProof"]["auditPath"][
        0
    ].upper()
    failure = _failure(contract, _exchange("PUT", path, 200, uppercase))
    assert failure.requirement == "TWIN-ANCHORING-012"
    failure = _failure(contract, _exchange("PUT", path, 200, {**_receipt(), "extra": 1}))
    assert failure.requirement == "TWIN-ANCHORING-028"


def test_literal_paths_win_over_templates(contract: OpenApiContract) -> None:
    operation = contract.find("POST", "http://h/identity/proof/verify")
    assert operation is not None
    assert operation.operation_id == "identityProofVerify"
    resolve = contract.find("GET", "http://h/identity/did:twin:0x00?x=1")
    assert resolve is not None
    assert resolve.operation_id == "identityResolve"


def test_paths_outside_the_document_are_not_judged(contract: OpenApiContract) -> None:
    contract.check(_exchange("GET", "/no-such-route", 404, {"name": "NotFound", "message": "x"}))


@pytest.mark.requirement("TWIN-CORE-056")
def test_a_201_without_its_location_header_fails_the_contract(contract: OpenApiContract) -> None:
    created = Exchange("POST", "http://127.0.0.1:1/immutable-proof", {}, None, 201, {}, b"")
    failure = _failure(contract, created)
    assert failure.requirement == "TWIN-CORE-056"
    assert "Location" in failure.message
    created.headers["location"] = "immutable-proof:" + "0" * 64
    contract.check(created)


@pytest.mark.requirement("TWIN-CORE-052")
def test_a_405_without_allow_fails_and_with_it_passes(contract: OpenApiContract) -> None:
    body = {"name": "MethodNotAllowedError", "message": "PUT is not allowed on /info"}
    answer = _exchange("PUT", "/info", 405, body)
    failure = _failure(contract, answer)
    assert failure.requirement == "TWIN-CORE-052"
    assert "Allow" in failure.message
    answer.headers["allow"] = "GET"
    contract.check(answer)
    no_name = _exchange("PUT", "/info", 405, {"message": "nope"})
    no_name.headers["allow"] = "GET"
    assert _failure(contract, no_name).requirement == "TWIN-CORE-040"


def test_the_contract_uses_openapi_core_to_find_operations(contract: OpenApiContract) -> None:
    verify = contract.find("GET", "http://127.0.0.1:1/identity/verifiable-credential/verify")
    assert verify is not None
    assert verify.operation_id == "identityVerifiableCredentialVerify"
    resolve = contract.find("GET", "http://127.0.0.1:1/identity/did:twin:0x00")
    assert resolve is not None
    assert resolve.operation_id == "identityResolve"
    assert contract.find("PUT", "http://127.0.0.1:1/info") is None
    assert contract.find("GET", "http://127.0.0.1:1/no-such-route") is None


def test_the_bundled_document_is_valid_openapi_3_1() -> None:
    # The run does not validate the document it checks with (a fixed part of the suite): this does.
    from openapi_spec_validator import validate

    from twin_conformance._bundle import bundled_document
    from twin_conformance._paths import spec_dir

    validate(
        bundled_document(),
        base_uri=(spec_dir() / "openapi" / "twin.openapi.yaml").resolve().as_uri(),
    )


@pytest.mark.requirement("TWIN-CORE-056")
def test_a_response_judged_again_is_judged_the_same(contract: OpenApiContract) -> None:
    # What the check remembers (operations, responses, media types, validators) depends on the
    # document only: a failure stays a failure however often it is seen, and in any order.
    bad = _exchange("GET", "/info", 200, {"name": "x"})
    good = _exchange("GET", "/info", 200, INFO)
    undocumented = _exchange("GET", "/info", 418, INFO)
    other_media = _exchange("GET", "/info", 200, INFO, media="text/plain")
    first = [_failure(contract, each) for each in (bad, undocumented, other_media)]
    for _ in range(3):
        contract.check(good)
        again = [_failure(contract, each) for each in (other_media, undocumented, bad)]
        assert [(f.requirement, f.signature) for f in reversed(again)] == [
            (f.requirement, f.signature) for f in first
        ]


def test_each_bundled_document_is_a_fresh_deep_copy() -> None:
    import copy

    from twin_conformance._bundle import _bundled, bundled_document
    from twin_conformance._paths import spec_dir

    original = _bundled(spec_dir().resolve())
    first, second = bundled_document(), bundled_document()
    assert first == second == copy.deepcopy(original)
    first["components"]["schemas"]["error.schema.json"]["required"].append("changed")
    first["paths"].clear()
    assert second == original
    assert bundled_document() == original
