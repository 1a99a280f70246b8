"""Anchoring profile checks: immutable proofs and verifiable storage with offline receipts.

A receipt is never judged by asking the node: ``twin_spec.verify_receipt`` checks it against the
committee (the target file's when it names one, else ``GET /consensus/committee``), and each
part that fails blames its own requirement. The node's Data Integrity proof is verified with
the key of the node's DID document as the target resolves it.
"""

from __future__ import annotations

import base64
import json
import random
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from twin_conformance._client import TwinClient, fail, require
from twin_conformance._run import TwinState
from twin_conformance.checks._support import (
    BASE58,
    HEX,
    PROOF_ID,
    Anchored,
    TargetResolver,
    body_object,
    caller_identity,
    check_receipt,
    harness_key,
    mutate_string,
    require_status,
    spec_failure_requirement,
)
from twin_spec import (
    Committee,
    DidError,
    KeyFormatError,
    ProofVerificationError,
    ReceiptFailure,
    ReceiptVerificationError,
    TwinSpecError,
    did_key_from_public_key,
    proof_object_hash,
    verify_proof,
    verify_receipt,
)

pytestmark = pytest.mark.twin_profile("anchoring")

STORAGE_ID = re.compile(r"verifiable:twin:[0-9a-f]{64}\Z")
RECEIPT_REQUIREMENTS = (
    "TWIN-ANCHORING-010",
    "TWIN-ANCHORING-011",
    "TWIN-ANCHORING-012",
    "TWIN-ANCHORING-021",
    "TWIN-ANCHORING-024",
    "TWIN-ANCHORING-025",
    "TWIN-ANCHORING-026",
    "TWIN-ANCHORING-027",
    "TWIN-ANCHORING-028",
    "TWIN-ANCHORING-029",
    "TWIN-ANCHORING-030",
)


@pytest.mark.twin_requirement("TWIN-ANCHORING-050")
def test_anchoring_answers_201_with_the_proof_id_and_the_proof_exists(
    anchored: list[Anchored],
) -> None:
    for item in anchored:
        match = PROOF_ID.match(item.location)
        assert match is not None
        require(
            item.proof.get("id") == match.group(1) and item.proof.get("type") == "ImmutableProof",
            "TWIN-ANCHORING-050",
            f"GET {item.location} answered the proof {item.proof.get('id')!r} of type "
            f"{item.proof.get('type')!r}",
        )
        require(
            isinstance(item.proof.get("immutableReceipt"), dict),
            "TWIN-ANCHORING-050",
            f"the proof {item.location} has no receipt right after its 201",
        )


@pytest.mark.twin_requirement("TWIN-ANCHORING-001", "TWIN-ANCHORING-050")
def test_an_immutable_proof_names_the_document_hash_and_both_parties(
    client: TwinClient, anchored: list[Anchored], run: TwinState
) -> None:
    node = run.info.get("nodeIdentity") if run.info else None
    user = caller_identity(client)
    for item in anchored:
        expected = proof_object_hash(item.document)
        require(
            item.proof.get("proofObjectHash") == expected,
            "TWIN-ANCHORING-001",
            f"proofObjectHash is {item.proof.get('proofObjectHash')!r}; the document hashes to "
            f"{expected}",
        )
        require(
            item.proof.get("proofObjectId") == item.document.get("id"),
            "TWIN-ANCHORING-050",
            f"proofObjectId is {item.proof.get('proofObjectId')!r}, the document's id is "
            f"{item.document.get('id')!r}",
        )
        if isinstance(node, str):
            require(
                item.proof.get("nodeIdentity") == node,
                "TWIN-ANCHORING-050",
                f"nodeIdentity is {item.proof.get('nodeIdentity')!r}, /info names {node}",
            )
        if user is not None:
            require(
                item.proof.get("userIdentity") == user,
                "TWIN-ANCHORING-050",
                f"userIdentity is {item.proof.get('userIdentity')!r}, the caller is {user}",
            )


@pytest.mark.twin_requirement("TWIN-ANCHORING-050")
def test_an_immutable_proof_is_signed_by_the_node_assertion_method(
    client: TwinClient, anchored: list[Anchored]
) -> None:
    resolver = TargetResolver(client)
    for item in anchored:
        node = item.proof.get("nodeIdentity")
        signature = item.proof.get("proof")
        require(isinstance(signature, dict), "TWIN-ANCHORING-050", "the proof has no proof member")
        assert isinstance(signature, dict)
        require(
            signature.get("verificationMethod") == f"{node}#immutable-proof-assertion"
            and signature.get("cryptosuite") == "eddsa-jcs-2022",
            "TWIN-ANCHORING-050",
            f"the proof is signed by {signature.get('verificationMethod')!r} with "
            f"{signature.get('cryptosuite')!r}, not {node}#immutable-proof-assertion with "
            "eddsa-jcs-2022",
        )
        signed = {name: value for name, value in item.proof.items() if name != "immutableReceipt"}
        try:
            verify_proof(signed, resolver.key, expected_purpose="assertionMethod")
        except (ProofVerificationError, DidError, KeyFormatError) as exc:
            fail(
                "TWIN-ANCHORING-050",
                f"{item.location}: the node's signature does not verify offline with "
                f"{node}'s resolved key ({spec_failure_requirement(exc, 'TWIN-IDENTITY-025')}): "
                f"{exc.message}",
            )


@pytest.mark.twin_requirement(*RECEIPT_REQUIREMENTS)
def test_an_immutable_proof_receipt_verifies_offline(
    anchored: list[Anchored], committee: Committee
) -> None:
    for item in anchored:
        check_receipt(item.proof.get("immutableReceipt"), committee, item.location)


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a string or integer inside a JSON value."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _leaf_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _leaf_paths(item, (*path, index))]
    if isinstance(value, bool) or value is None:
        return []
    return [path] if isinstance(value, str | int) else []


def _flip(receipt: Any, path: tuple[Any, ...], rng: random.Random) -> Any:
    """A copy of the receipt with the value at ``path`` changed by one character or one unit."""
    copy = json.loads(json.dumps(receipt))
    holder = copy
    for key in path[:-1]:
        holder = holder[key]
    value = holder[path[-1]]
    if isinstance(value, int):
        holder[path[-1]] = value + 1
    elif re.fullmatch(r"[0-9a-f]+", value):
        holder[path[-1]] = mutate_string(value, rng, HEX)
    elif value.startswith("z"):
        holder[path[-1]] = mutate_string(value, rng, BASE58, start=1)
    else:
        holder[path[-1]] = value[:-1] + chr(ord(value[-1]) ^ 1)
    return copy


def test_the_receipt_oracle_refuses_a_receipt_with_one_changed_value(
    anchored: list[Anchored], committee: Committee, rng: random.Random
) -> None:
    """Harness self-check on a real receipt: a changed value must fail offline verification.

    A failure here is the harness's fault, not the target's, so it names no requirement.
    """
    receipt = anchored[0].proof.get("immutableReceipt")
    try:
        verify_receipt(receipt, committee)
    except ReceiptVerificationError:
        pytest.skip("the target's receipt does not verify; its own check reports why")
    paths = _leaf_paths(receipt)
    for path in [*rng.sample(paths, min(12, len(paths))), ("transactionDigest",)]:
        tampered = _flip(receipt, path, rng)
        try:
            verify_receipt(tampered, committee)
        except ReceiptVerificationError:
            continue
        except TwinSpecError as exc:
            pytest.fail(
                f"harness fault: changing {'/'.join(map(str, path))} made the receipt oracle "
                f"raise {type(exc).__name__} instead of a receipt failure: {exc}"
            )
        pytest.fail(
            f"harness fault: the receipt oracle accepts the receipt with "
            f"{'/'.join(map(str, path))} changed"
        )


RECEIPT_PARTS = {part.value for part in ReceiptFailure}


@pytest.mark.twin_requirement("TWIN-ANCHORING-050", "TWIN-ANCHORING-030")
def test_the_verify_route_confirms_an_anchored_proof(
    client: TwinClient, anchored: list[Anchored], committee: Committee
) -> None:
    for item in anchored:
        exchange = client.get(f"/immutable-proof/{item.location}/verify", auth=True)
        require_status(exchange, 200, "TWIN-ANCHORING-050", "verifying an anchored proof")
        answer = body_object(exchange, "TWIN-ANCHORING-050", "the verification")
        # A receipt part named as the failure is the node's receipt verification speaking: it
        # must be the part the spec's offline verification fails first, if any.
        failure = answer.get("failure")
        if failure in RECEIPT_PARTS:
            try:
                verify_receipt(item.proof.get("immutableReceipt"), committee)
            except ReceiptVerificationError as exc:
                spec_part: str | None = exc.part.value
            else:
                spec_part = None
            require(
                failure == spec_part,
                "TWIN-ANCHORING-030",
                f"the node verifies {item.location}'s receipt as failing {failure}; offline, "
                f"the receipt {'fails first as ' + spec_part if spec_part else 'verifies'}",
            )
        require(
            answer.get("verified") is True,
            "TWIN-ANCHORING-050",
            f"the node does not verify its own anchored proof {item.location}: failure "
            f"{answer.get('failure')!r}",
        )


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CORE-052", "TWIN-CORE-054")
@pytest.mark.parametrize("suffix", ["", "/verify"])
@pytest.mark.parametrize(
    ("make", "status"),
    [
        pytest.param(lambda rng: f"immutable-proof:{rng.getrandbits(256):064x}", 404, id="unknown"),
        pytest.param(lambda rng: "immutable-proof:XYZ", 400, id="malformed"),
        pytest.param(lambda rng: f"{rng.getrandbits(256):064x}", 400, id="without-prefix"),
    ],
)
def test_an_unknown_or_malformed_proof_id_is_refused(
    client: TwinClient,
    rng: random.Random,
    make: Callable[[random.Random], str],
    suffix: str,
    status: int,
) -> None:
    exchange = client.get(f"/immutable-proof/{make(rng)}{suffix}", auth=True, expect_rejection=True)
    require_status(exchange, status, "TWIN-CORE-052", "asking for a bad immutable-proof id")


@pytest.mark.twin_requirement("TWIN-CORE-052", "TWIN-CORE-054")
@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no-document"),
        pytest.param({"document": [1, 2]}, id="document-array"),
        pytest.param({"document": "text"}, id="document-string"),
        pytest.param({"document": {"a": 1}, "namespace": "x"}, id="extra-member"),
        pytest.param(b'{"document": {"a": 1}', id="truncated-json"),
    ],
)
def test_a_malformed_anchoring_request_is_400(client: TwinClient, body: object) -> None:
    kwargs: dict[str, Any] = (
        {"content": body, "headers": {"content-type": "application/json"}}
        if isinstance(body, bytes)
        else {"json_body": body}
    )
    exchange = client.post("/immutable-proof", auth=True, expect_rejection=True, **kwargs)
    require_status(exchange, 400, "TWIN-CORE-052", "a malformed anchoring request")
    require(
        "location" not in exchange.headers,
        "TWIN-CORE-054",
        "a refused anchoring request answered a Location",
    )


# --- verifiable storage --------------------------------------------------------------------------


def _data(rng: random.Random, size: int) -> str:
    """``size`` seeded bytes as standard padded base64."""
    return base64.b64encode(bytes(rng.randrange(256) for _ in range(size))).decode("ascii")


@pytest.mark.twin_requirement("TWIN-ANCHORING-051", *RECEIPT_REQUIREMENTS)
def test_verifiable_storage_writes_are_committed_with_receipts(
    client: TwinClient, committee: Committee, run: TwinState, rng: random.Random
) -> None:
    other = did_key_from_public_key(harness_key(run, "anchoring").public_key)
    data = _data(rng, rng.randrange(1, 512))
    created = client.post("/verifiable", json_body={"data": data}, auth=True)
    require_status(created, 201, "TWIN-ANCHORING-051", "storing data")
    body = body_object(created, "TWIN-ANCHORING-051", "the created item")
    item_id = body.get("id")
    require(
        isinstance(item_id, str) and STORAGE_ID.match(item_id) is not None,
        "TWIN-ANCHORING-051",
        f"the new item's id is {item_id!r}, not verifiable:twin:<64 hex>",
    )
    require(
        created.headers.get("location") == item_id,
        "TWIN-ANCHORING-051",
        f"Location is {created.headers.get('location')!r}, the body's id is {item_id!r}",
    )
    create_receipt = body.get("receipt")
    first = check_receipt(create_receipt, committee, "the create receipt")

    fetched = client.get(f"/verifiable/{item_id}", auth=True)
    require_status(fetched, 200, "TWIN-ANCHORING-051", "getting a stored item")
    item = body_object(fetched, "TWIN-ANCHORING-051", "the item")
    require(item.get("data") == data, "TWIN-ANCHORING-051", "the stored data came back changed")
    require(
        item.get("receipt") == create_receipt,
        "TWIN-ANCHORING-051",
        "the item's receipt is not the receipt of its latest change (its creation)",
    )

    new_data = _data(rng, rng.randrange(1, 512))
    updated = client.put(
        f"/verifiable/{item_id}", json_body={"data": new_data, "allowList": [other]}, auth=True
    )
    require_status(updated, 200, "TWIN-ANCHORING-051", "updating a stored item")
    update_receipt = updated.json("TWIN-ANCHORING-051")
    second = check_receipt(update_receipt, committee, "the update receipt")
    assert isinstance(create_receipt, dict)
    require(
        isinstance(update_receipt, dict)
        and update_receipt.get("transactionDigest") != create_receipt.get("transactionDigest")
        and int(second["sequence"]) > int(first["sequence"]),
        "TWIN-ANCHORING-051",
        "the update's receipt is not for a new transaction in a later checkpoint",
    )
    fetched = client.get(f"/verifiable/{item_id}", auth=True)
    require_status(fetched, 200, "TWIN-ANCHORING-051", "getting an updated item")
    item = body_object(fetched, "TWIN-ANCHORING-051", "the item")
    require(
        item.get("data") == new_data
        and item.get("receipt") == update_receipt
        and item.get("allowList") == [other],
        "TWIN-ANCHORING-051",
        "after the update the item does not have the new data, allow list and receipt",
    )

    removed = client.delete(f"/verifiable/{item_id}", auth=True)
    require_status(removed, 204, "TWIN-ANCHORING-051", "removing a stored item")
    gone = client.get(f"/verifiable/{item_id}", auth=True, expect_rejection=True)
    require_status(gone, 404, "TWIN-ANCHORING-051", "getting a removed item")
    again = client.delete(f"/verifiable/{item_id}", auth=True, expect_rejection=True)
    require_status(again, 404, "TWIN-CORE-052", "removing an item twice")
    late = client.put(
        f"/verifiable/{item_id}", json_body={"data": data}, auth=True, expect_rejection=True
    )
    require_status(late, 404, "TWIN-CORE-052", "updating a removed item")


@pytest.mark.twin_requirement("TWIN-CORE-052", "TWIN-CORE-054")
@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        pytest.param("POST", "/verifiable", {"data": "not base64!"}, 400, id="data-not-base64"),
        pytest.param("POST", "/verifiable", {"data": "SGk"}, 400, id="data-unpadded"),
        pytest.param("POST", "/verifiable", {}, 400, id="no-data"),
        pytest.param(
            "POST",
            "/verifiable",
            {"data": "SGk=", "allowList": [f"did:example:{i}" for i in range(101)]},
            400,
            id="allow-list-too-long",
        ),
        pytest.param(
            "POST", "/verifiable", {"data": "SGk=", "namespace": "x"}, 400, id="extra-member"
        ),
        pytest.param("GET", "/verifiable/verifiable:twin:XYZ", None, 400, id="get-malformed-id"),
        pytest.param("GET", "UNKNOWN", None, 404, id="get-unknown-id"),
        pytest.param("PUT", "UNKNOWN", {"data": "SGk="}, 404, id="update-unknown-id"),
        pytest.param("DELETE", "UNKNOWN", None, 404, id="remove-unknown-id"),
    ],
)
def test_a_bad_verifiable_storage_request_is_refused(
    client: TwinClient,
    rng: random.Random,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
) -> None:
    if path == "UNKNOWN":
        path = f"/verifiable/verifiable:twin:{uuid.UUID(int=rng.getrandbits(128)).hex * 2}"
    kwargs: dict[str, Any] = {"json_body": body} if body is not None else {}
    exchange = client.request(method, path, auth=True, expect_rejection=True, **kwargs)
    require_status(exchange, status, "TWIN-CORE-052", "a bad verifiable storage request")
