"""The TWIN OpenAPI document: valid 3.1, every example validates, and it matches the TWIN node."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.support import (
    OPENAPI_PATH,
    load_openapi,
    load_registry_files,
    openapi_validator,
    read_json,
    upstream_file,
)
from twin_spec import (
    Committee,
    Ed25519PublicKey,
    PresentationError,
    public_key_from_jwk,
    verify_credential_jwt,
    verify_presentation_jwt,
    verify_proof,
    verify_receipt,
)

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
CORE_OPERATIONS = {
    ("get", "/"): "serverRoot",
    ("get", "/health"): "serverHealth",
    ("get", "/info"): "serverInformation",
    ("get", "/spec"): "serverSpec",
    ("post", "/authentication/login"): "authenticationLogin",
    ("get", "/authentication/refresh"): "authenticationRefreshToken",
    ("get", "/authentication/logout"): "authenticationLogout",
}
IDENTITY_OPERATIONS = {
    ("post", "/identity"): "identityCreate",
    ("get", "/identity/{identity}"): "identityResolve",
    ("delete", "/identity/{identity}"): "identityRemove",
    ("post", "/identity/{identity}/verification-method"): "identityVerificationMethodCreate",
    (
        "delete",
        "/identity/{identity}/verification-method/{verificationMethodId}",
    ): "identityVerificationMethodRemove",
    ("post", "/identity/{identity}/service"): "identityServiceCreate",
    ("delete", "/identity/{identity}/service/{serviceId}"): "identityServiceRemove",
    ("post", "/identity/{identity}/proof/{verificationMethodId}"): "identityProofCreate",
    ("post", "/identity/proof/verify"): "identityProofVerify",
    (
        "post",
        "/identity/{identity}/verifiable-credential/{verificationMethodId}",
    ): "identityVerifiableCredentialCreate",
    ("get", "/identity/verifiable-credential/verify"): "identityVerifiableCredentialVerify",
    (
        "get",
        "/identity/{identity}/verifiable-credential/revoke/{revocationIndex}",
    ): "identityVerifiableCredentialRevoke",
    (
        "get",
        "/identity/{identity}/verifiable-credential/unrevoke/{revocationIndex}",
    ): "identityVerifiableCredentialUnrevoke",
    (
        "post",
        "/identity/{identity}/verifiable-presentation/{verificationMethodId}",
    ): "identityVerifiablePresentationCreate",
    ("get", "/identity/verifiable-presentation/verify"): "identityVerifiablePresentationVerify",
    ("post", "/identity/profile"): "identityProfileCreate",
    ("get", "/identity/profile"): "identityProfileGet",
    ("put", "/identity/profile"): "identityProfileUpdate",
    ("delete", "/identity/profile"): "identityProfileRemove",
    ("get", "/identity/profile/{identity}/public"): "identityProfileGetPublic",
    ("get", "/identity/profile/query"): "identitiesProfileList",
}
ANCHORING_OPERATIONS = {
    ("post", "/immutable-proof"): "immutableProofCreate",
    ("get", "/immutable-proof/{id}"): "immutableProofGet",
    ("get", "/immutable-proof/{id}/verify"): "immutableProofVerify",
    ("post", "/verifiable"): "verifiableStorageCreate",
    ("get", "/verifiable/{id}"): "verifiableStorageGet",
    ("put", "/verifiable/{id}"): "verifiableStorageUpdate",
    ("delete", "/verifiable/{id}"): "verifiableStorageRemove",
    ("get", "/consensus/committee"): "consensusCommittee",
}
CONSENSUS_OPERATIONS = {
    ("get", "/consensus/blocks"): "consensusBlockList",
    ("post", "/consensus/blocks"): "consensusBlockSubmit",
    ("get", "/consensus/blocks/{digest}"): "consensusBlockGet",
    ("get", "/consensus/commits"): "consensusCommitList",
    ("get", "/consensus/checkpoints"): "consensusCheckpointList",
    ("get", "/consensus/checkpoints/{sequence}"): "consensusCheckpointGet",
    ("post", "/consensus/checkpoints/{sequence}/signatures"): "consensusCheckpointSignatureSubmit",
    (
        "get",
        "/consensus/checkpoints/{sequence}/transactions",
    ): "consensusCheckpointTransactionList",
    ("get", "/consensus/equivocations"): "consensusEquivocationList",
    ("post", "/consensus/transactions"): "consensusTransactionSubmit",
    ("get", "/consensus/transactions/{digest}"): "consensusTransactionGet",
    ("post", "/consensus/evaluate"): "consensusEvaluate",
}
DOCUMENTS_OPERATIONS = {
    ("post", "/documents"): "DocumentManagementSet",
    ("get", "/documents"): "DocumentManagementQuery",
    ("put", "/documents/{auditableItemGraphDocumentId}"): "DocumentManagementUpdate",
    ("get", "/documents/{auditableItemGraphDocumentId}"): "DocumentManagementGet",
    (
        "get",
        "/documents/{auditableItemGraphDocumentId}/{revision}",
    ): "DocumentManagementGetRevision",
    (
        "delete",
        "/documents/{auditableItemGraphDocumentId}/{revision}",
    ): "DocumentManagementRemove",
}
PROFILE_OPERATIONS = {
    "core": CORE_OPERATIONS,
    "identity": IDENTITY_OPERATIONS,
    "anchoring": ANCHORING_OPERATIONS,
    "consensus": CONSENSUS_OPERATIONS,
    "documents": DOCUMENTS_OPERATIONS,
}

# Operations anyone may call. The contract secures every write except login and proof
# verification, and, of the reads, token refresh and the immutable-proof and verifiable-storage
# reads; every other read is public.
PUBLIC_OPERATIONS = {
    "serverRoot",
    "serverHealth",
    "serverInformation",
    "serverSpec",
    "authenticationLogin",
    "authenticationLogout",
    "identityResolve",
    "identityProofVerify",
    "identityVerifiableCredentialVerify",
    "identityVerifiablePresentationVerify",
    "identityProfileGetPublic",
    "consensusCommittee",
    "consensusBlockList",
    "consensusBlockSubmit",
    "consensusBlockGet",
    "consensusCommitList",
    "consensusCheckpointList",
    "consensusCheckpointGet",
    "consensusCheckpointTransactionList",
    "consensusCheckpointSignatureSubmit",
    "consensusEquivocationList",
    "consensusTransactionGet",
    "consensusEvaluate",
}
# consensusEvaluate is a POST that changes nothing (TWIN-CONSENSUS-102); a peer's block and
# checkpoint signature are authenticated by a committee key's signature (TWIN-CONSENSUS-110).
PUBLIC_WRITES = {
    "authenticationLogin",
    "authenticationLogout",
    "identityProofVerify",
    "consensusBlockSubmit",
    "consensusCheckpointSignatureSubmit",
    "consensusEvaluate",
}
# GET routes of the TWIN node that change state, and so count as writes.
STATE_CHANGING_GETS = {
    "authenticationLogout",
    "identityVerifiableCredentialRevoke",
    "identityVerifiableCredentialUnrevoke",
}
BEARER: list[dict[str, list[str]]] = [{"jwtBearerAuthScheme": []}]
DIFFERENCE_HEADING = "Difference from the TWIN node 0.0.2:"


@dataclass(frozen=True)
class UpstreamDifference:
    """A route of ours that the TWIN node 0.0.2's combined OpenAPI document does not have."""

    operation_id: str
    mention: str
    """Text the operation's description must contain, under DIFFERENCE_HEADING."""
    in_node_0_9: bool
    """Whether the newer TWIN node line (0.9) registers this route."""
    replaces: tuple[str, str] | None = None
    """The 0.0.2 route, with the same operation id, that this route corrects."""
    documented_in: str | None = None
    """Another upstream OpenAPI document that has this route with this operation id."""


# Deliberate differences from openapi/twin-node-spec.json, each explained in the operation's
# description. Every other operation must match that document's route and operation id.
UPSTREAM_DIFFERENCES = {
    # The node answers at / (its route table lists it) but documents no operation for it.
    ("get", "/"): UpstreamDifference(
        "serverRoot", "no operation of its OpenAPI document describes that route", in_node_0_9=True
    ),
    # The 0.0.2 proof and credential routes lack the verification method to sign with; the 0.9
    # line added it as a path parameter, which the spec adopts.
    ("post", "/identity/{identity}/proof/{verificationMethodId}"): UpstreamDifference(
        "identityProofCreate",
        "`/identity/{identity}/proof`",
        in_node_0_9=True,
        replaces=("post", "/identity/{identity}/proof"),
    ),
    ("post", "/identity/{identity}/verifiable-credential/{verificationMethodId}"): (
        UpstreamDifference(
            "identityVerifiableCredentialCreate",
            "`/identity/{identity}/verifiable-credential`",
            in_node_0_9=True,
            replaces=("post", "/identity/{identity}/verifiable-credential"),
        )
    ),
    ("post", "/identity/{identity}/verifiable-presentation/{verificationMethodId}"): (
        UpstreamDifference(
            "identityVerifiablePresentationCreate",
            "`/identity/{identity}/verifiable-presentation`",
            in_node_0_9=True,
            replaces=("post", "/identity/{identity}/verifiable-presentation"),
        )
    ),
    # Only the identity service's own document has this route; the spec makes it deactivate.
    ("delete", "/identity/{identity}"): UpstreamDifference(
        "identityRemove",
        "not in the node's combined OpenAPI document",
        in_node_0_9=True,
        documented_in="openapi/identity-service-spec.main.json",
    ),
    # Ours: the committee against which ledger receipts verify offline.
    ("get", "/consensus/committee"): UpstreamDifference(
        "consensusCommittee", "there is no such route", in_node_0_9=False
    ),
    # Ours too: the consensus profile's ledger reads, peer input and pure evaluation.
    **{
        route: UpstreamDifference(operation_id, "there is no such route", in_node_0_9=False)
        for route, operation_id in CONSENSUS_OPERATIONS.items()
    },
}
# The node serves its document routes at /documents (its route table), while its OpenAPI
# document says /document-management; the spec follows the node. Its 0.9 line keeps /documents
# but updates with PATCH.
UPSTREAM_DIFFERENCES.update(
    {
        (method, path): UpstreamDifference(
            operation_id,
            "`/document-management`",
            in_node_0_9=method != "put",
            replaces=(method, path.replace("/documents", "/document-management", 1)),
        )
        for (method, path), operation_id in DOCUMENTS_OPERATIONS.items()
    }
)
# Links a stateful client needs: (operation, response status, linked operation).
REQUIRED_LINKS = {
    ("identityCreate", "200", "identityResolve"),
    ("identityCreate", "200", "identityVerificationMethodCreate"),
    ("identityCreate", "200", "identityServiceCreate"),
    ("identityCreate", "200", "identityRemove"),
    ("identityVerificationMethodCreate", "200", "identityVerificationMethodRemove"),
    ("identityVerificationMethodCreate", "200", "identityProofCreate"),
    ("identityServiceCreate", "200", "identityServiceRemove"),
    ("immutableProofCreate", "201", "immutableProofGet"),
    ("immutableProofCreate", "201", "immutableProofVerify"),
    ("verifiableStorageCreate", "201", "verifiableStorageGet"),
    ("verifiableStorageCreate", "201", "verifiableStorageUpdate"),
    ("verifiableStorageCreate", "201", "verifiableStorageRemove"),
    ("consensusCheckpointGet", "200", "consensusCommitList"),
    ("DocumentManagementSet", "201", "DocumentManagementGet"),
    ("DocumentManagementSet", "201", "DocumentManagementUpdate"),
    ("DocumentManagementSet", "201", "DocumentManagementGetRevision"),
}


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method, path, item[method]


def _media_types(node: object, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (pointer, media type object) for every content map in the document."""
    if isinstance(node, dict):
        content = node.get("content")
        if isinstance(content, dict):
            for media_type, media in content.items():
                if isinstance(media, dict) and "schema" in media:
                    yield f"{pointer}/content/{_escape(media_type)}", media
        for key, value in node.items():
            yield from _media_types(value, f"{pointer}/{_escape(str(key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _media_types(value, f"{pointer}/{index}")


MEDIA_TYPES = list(_media_types(load_openapi()))


def test_the_document_is_valid_openapi_3_1() -> None:
    document = load_openapi()
    assert document["openapi"].startswith("3.1.")
    validate(document, base_uri=OPENAPI_PATH.as_uri())


def _text(description: str) -> str:
    """Collapse line breaks and runs of spaces, so that phrases match across wrapped lines."""
    return " ".join(description.split())


def _by_id(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {op["operationId"]: (method, path, op) for method, path, op in _operations(document)}


def _parameters(
    document: dict[str, Any], method: str, path: str
) -> list[tuple[str, dict[str, Any]]]:
    """The operation's parameters (path-level ones first), each with its JSON pointer."""
    found = []
    for owner in (f"/paths/{_escape(path)}", f"/paths/{_escape(path)}/{method}"):
        node = document["paths"][path] if owner.count("/") == 2 else document["paths"][path][method]
        for index, parameter in enumerate(node.get("parameters", [])):
            pointer = f"{owner}/parameters/{index}"
            if "$ref" in parameter:
                name = parameter["$ref"].rsplit("/", 1)[1]
                pointer = f"/components/parameters/{name}"
                parameter = document["components"]["parameters"][name]
            found.append((pointer, parameter))
    return found


@pytest.mark.parametrize("profile", sorted(PROFILE_OPERATIONS))
def test_the_operations_of_each_profile_are_all_there(profile: str) -> None:
    found = {(method, path): op for method, path, op in _operations(load_openapi())}
    for route, operation_id in PROFILE_OPERATIONS[profile].items():
        assert route in found, route
        assert found[route]["operationId"] == operation_id, route
        assert found[route]["x-twin-profile"] == profile, route


def test_every_operation_names_a_known_profile_and_a_unique_id() -> None:
    profiles = {registry["profile"] for registry in load_registry_files().values()}
    profiles |= {"consensus", "documents"}
    seen: set[str] = set()
    for method, path, operation in _operations(load_openapi()):
        assert operation.get("x-twin-profile") in profiles, (method, path)
        assert operation["operationId"] not in seen
        seen.add(operation["operationId"])


@pytest.mark.parametrize(("pointer", "media"), MEDIA_TYPES, ids=[p for p, _ in MEDIA_TYPES])
def test_every_media_type_has_examples_that_validate(pointer: str, media: dict[str, Any]) -> None:
    examples = [entry["value"] for entry in media.get("examples", {}).values()]
    if "example" in media:
        examples.append(media["example"])
    assert examples, f"{pointer} has a schema but no example"
    validator = openapi_validator(f"{pointer}/schema")
    for example in examples:
        errors = [error.message for error in validator.iter_errors(example)]
        assert not errors, errors


@pytest.mark.requirement("TWIN-CORE-040")
def test_every_error_response_uses_the_error_format() -> None:
    document = load_openapi()
    responses = document["components"]["responses"]
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            if "$ref" in response:
                response = responses[response["$ref"].rsplit("/", 1)[1]]
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
    assert document["components"]["schemas"]["Error"] == {"$ref": "../schemas/error.schema.json"}


def test_server_info_claims_profiles_from_the_registry() -> None:
    validator = openapi_validator("/components/schemas/ServerInfo")
    claim = {"name": "n", "version": "1.0.0", "specVersion": "0.1.0", "profiles": ["core"]}
    assert validator.is_valid(claim)
    assert not validator.is_valid({**claim, "profiles": ["identity"]}), "core is always claimed"
    assert not validator.is_valid({**claim, "profiles": ["core", "banking"]})
    assert not validator.is_valid({"name": "API Server", "version": "1.0.0"}), (
        "the upstream shape lacks specVersion and profiles"
    )
    identity = "did:twin:0x" + "ab" * 32
    for profile in ("identity", "anchoring"):
        claimed = {**claim, "profiles": ["core", profile]}
        assert not validator.is_valid(claimed), "a node with an identity names it"
        assert validator.is_valid({**claimed, "nodeIdentity": identity})


def test_routes_and_operation_ids_match_the_twin_node() -> None:
    upstream = read_json(upstream_file("openapi/twin-node-spec.json"))
    for method, path, operation in _operations(load_openapi()):
        upstream_operation = upstream["paths"].get(path, {}).get(method)
        difference = UPSTREAM_DIFFERENCES.get((method, path))
        if difference is None:
            assert upstream_operation is not None, (
                f"{method.upper()} {path} is not a TWIN node route"
            )
            assert upstream_operation["operationId"] == operation["operationId"]
            continue
        assert upstream_operation is None, f"{method.upper()} {path} is no longer a difference"
        assert operation["operationId"] == difference.operation_id
        if difference.replaces is not None:
            old_method, old_path = difference.replaces
            assert upstream["paths"][old_path][old_method]["operationId"] == difference.operation_id


def test_every_difference_from_the_twin_node_is_explained() -> None:
    document = load_openapi()
    for (method, path), difference in UPSTREAM_DIFFERENCES.items():
        operation = document["paths"][path][method]
        description = _text(operation["description"])
        assert DIFFERENCE_HEADING in description, (method, path)
        assert difference.mention in description.split(DIFFERENCE_HEADING, 1)[1], (method, path)


def test_differences_from_the_twin_node_are_upstream_facts() -> None:
    """Each allow-listed route is in the node's 0.9 route list or another upstream document."""
    newer_routes = upstream_file("openapi/newer-node-routes-0.9.x.txt").read_text(encoding="utf-8")
    listed = {
        tuple(line.split()[:2]) for line in newer_routes.splitlines() if line and line[0].isupper()
    }
    for (method, path), difference in UPSTREAM_DIFFERENCES.items():
        express_path = re.sub(r"\{(\w+)\}", r":\1", path)
        assert ((method.upper(), express_path) in listed) == difference.in_node_0_9, path
        if difference.documented_in is not None:
            other = read_json(upstream_file(difference.documented_in))
            assert other["paths"][path][method]["operationId"] == difference.operation_id


def test_writes_and_protected_reads_need_a_bearer_token() -> None:
    document = load_openapi()
    assert "security" not in document, "security is declared per operation"
    writes = set()
    for method, path, operation in _operations(document):
        operation_id = operation["operationId"]
        if method in ("post", "put", "patch", "delete") or operation_id in STATE_CHANGING_GETS:
            writes.add(operation_id)
        if operation_id in PUBLIC_OPERATIONS:
            assert not operation.get("security"), (method, path)
        else:
            assert operation.get("security") == BEARER, (method, path)
            assert "401" in operation["responses"], (method, path)
    assert writes & PUBLIC_OPERATIONS == PUBLIC_WRITES


def test_every_201_response_names_the_created_resource_in_location() -> None:
    document = load_openapi()
    created = 0
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if status != "201":
                continue
            created += 1
            header = response.get("headers", {}).get("Location")
            assert header is not None, (method, path)
            if "$ref" in header:
                header = document["components"]["headers"][header["$ref"].rsplit("/", 1)[1]]
            assert header.get("required") is True, (method, path)
    assert created >= 2


def test_every_operation_with_a_body_states_the_body_errors() -> None:
    for method, path, operation in _operations(load_openapi()):
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(operation["responses"]), (method, path)
            assert list(operation["requestBody"]["content"]) == ["application/json"], (method, path)


def test_every_link_names_an_operation_and_its_parameters() -> None:
    document = load_openapi()
    operations = _by_id(document)
    found = set()
    for method, path, operation in _operations(document):
        source_parameters = {p["name"] for _, p in _parameters(document, method, path)}
        for status, response in operation["responses"].items():
            for name, link in response.get("links", {}).items():
                target = link.get("operationId")
                assert target in operations, (method, path, name)
                found.add((operation["operationId"], status, target))
                target_method, target_path, _ = operations[target]
                target_parameters = {
                    (p["in"], p["name"])
                    for _, p in _parameters(document, target_method, target_path)
                }
                assert link["parameters"], (method, path, name)
                for key, expression in link["parameters"].items():
                    location, _, parameter = key.rpartition(".")
                    assert any(
                        parameter == known and location in ("", where)
                        for where, known in target_parameters
                    ), (method, path, name, key)
                    # A runtime expression, or a constant (such as a status-list index).
                    if not expression.startswith("$"):
                        continue
                    assert expression.startswith(("$response.", "$request.")), expression
                    if expression.startswith("$request.path."):
                        assert expression.removeprefix("$request.path.") in source_parameters
    assert found >= REQUIRED_LINKS, REQUIRED_LINKS - found


@pytest.mark.parametrize(
    "status", ["200", "400", "404", "410", "500", "501"], ids=lambda status: f"status-{status}"
)
def test_resolution_offers_the_did_resolution_result_for_every_outcome(status: str) -> None:
    operation = load_openapi()["paths"]["/identity/{identity}"]["get"]
    content = operation["responses"][status]["content"]
    assert set(content) == {"application/json", "application/did-resolution"}


def test_parameter_examples_match_their_schemas() -> None:
    document = load_openapi()
    checked = 0
    for method, path, _ in _operations(document):
        for pointer, parameter in _parameters(document, method, path):
            if "example" in parameter:
                validator = openapi_validator(f"{pointer}/schema")
                errors = [error.message for error in validator.iter_errors(parameter["example"])]
                assert not errors, (method, path, parameter["name"], errors)
                checked += 1
    assert checked


def _examples(document: dict[str, Any], path: str, method: str, *where: str) -> dict[str, Any]:
    """The values of the examples at paths/<path>/<method>/<where...>/examples."""
    node: Any = document["paths"][path][method]
    for key in where:
        node = node[key]
    return {name: example["value"] for name, example in node["examples"].items()}


def test_the_signed_examples_verify() -> None:
    """Proofs, VC-JWTs and receipts in the examples are real, made with the example keys."""
    document = load_openapi()
    json_200 = ("responses", "200", "content", "application/json")
    keys: dict[str, Ed25519PublicKey] = {}
    for did_document in _examples(document, "/identity/{identity}", "get", *json_200).values():
        for method in did_document.get("assertionMethod", []):
            if isinstance(method, dict) and "publicKeyJwk" in method:
                keys[method["id"]] = public_key_from_jwk(method["publicKeyJwk"])

    def resolve(method: str, purpose: str = "assertionMethod") -> Ed25519PublicKey:
        assert purpose == "assertionMethod"
        return keys[method]

    proof_path = "/identity/{identity}/proof/{verificationMethodId}"
    request = _examples(document, proof_path, "post", "requestBody", "content", "application/json")
    (proof,) = _examples(document, proof_path, "post", *json_200).values()
    verify_proof({**request["credential"]["document"], "proof": proof}, resolve)

    credential_path = "/identity/{identity}/verifiable-credential/{verificationMethodId}"
    (issued,) = _examples(document, credential_path, "post", *json_200).values()
    verified = verify_credential_jwt(issued["jwt"], resolve, now_seconds=1795256200)
    assert verified["credentialSubject"] == issued["verifiableCredential"]["credentialSubject"]

    presentation_path = "/identity/{identity}/verifiable-presentation/{verificationMethodId}"
    (presented,) = _examples(document, presentation_path, "post", *json_200).values()
    verify_examples = _examples(
        document, "/identity/verifiable-presentation/verify", "get", *json_200
    )
    issuer_document = verify_examples["verified"]["issuers"][0]
    checked = verify_presentation_jwt(
        presented["jwt"], {issuer_document["id"]: issuer_document}, now_seconds=1795256200
    )
    assert checked.presentation == presented["verifiablePresentation"]
    assert checked.presentation == verify_examples["verified"]["verifiablePresentation"]
    assert checked.issuers == [issuer_document]
    assert checked.credentials[0]["issuer"] == issuer_document["id"]
    # The resolution example is the same issuer after entry 5 was set: the credential is revoked.
    (published,) = [
        value
        for value in _examples(document, "/identity/{identity}", "get", *json_200).values()
        if value["id"] == issuer_document["id"]
    ]
    with pytest.raises(PresentationError) as revoked:
        verify_presentation_jwt(presented["jwt"], {published["id"]: published}, 1795256200)
    assert revoked.value.reason == verify_examples["revoked"]["failure"]

    committee_examples = _examples(document, "/consensus/committee", "get", *json_200)
    committee = Committee.from_json(committee_examples["fourValidators"])
    for proof_example in _examples(document, "/immutable-proof/{id}", "get", *json_200).values():
        unsigned = {
            name: value for name, value in proof_example.items() if name != "immutableReceipt"
        }
        verify_proof(unsigned, resolve)
        verify_receipt(proof_example["immutableReceipt"], committee)
    created = _examples(document, "/verifiable", "post", "responses", "201", *json_200[2:])
    receipts = [created["created"]["receipt"]]
    receipts += _examples(document, "/verifiable/{id}", "put", *json_200).values()
    for receipt in receipts:
        verify_receipt(receipt, committee)
