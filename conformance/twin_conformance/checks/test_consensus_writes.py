"""Consensus checks of writes: transaction limits, where a transaction is, block bounds, poison.

Issue 13: a node that acknowledges a transaction must be able to commit it (the limits of
TWIN-ANCHORING-060 are checked at admission, TWIN-ANCHORING-061), must say where each
transaction is (TWIN-CONSENSUS-132), must keep its blocks within the bounds every peer takes
(TWIN-CONSENSUS-133), and must never stop on a transaction it cannot apply
(TWIN-CONSENSUS-131; that check could halt a node that fails it, so it runs only with
``--destructive``, last). Receipts are verified offline with the spec core.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from twin_conformance._client import Exchange, TwinClient, require
from twin_conformance._run import TwinState
from twin_conformance.checks._support import (
    DID_RESOLUTION,
    body_object,
    caller_identity,
    check_receipt,
    error_code,
    error_field,
    fresh_random,
    require_status,
)
from twin_conformance.checks.test_consensus import commit_parts, get_block, read_pages
from twin_spec import (
    MAX_BLOCK_TEXT_BYTES,
    MAX_BLOCK_VALUES,
    MAX_TRANSACTION_BYTES,
    MAX_TRANSACTION_DEPTH,
    Committee,
    canonicalize,
    json_value_count,
    transaction_digest,
)

pytestmark = pytest.mark.twin_profile("consensus")

COMMIT_BOUND_SECONDS = 30.0
"""How long after its 202 an acknowledged transaction may take to be committed."""
BIG_TRANSACTIONS = 40
BIG_PAYLOAD_BYTES = 60_000
"""40 transactions of about 60 kB: 2.4 MB, more than one block may carry (2 MiB)."""
SUBMITTERS = 8
RECENT_COMMITS = 50
"""The newest commits whose blocks are checked against the block bounds too."""


def _sender(client: TwinClient) -> str:
    sender = caller_identity(client)
    if sender is None:
        pytest.skip("the session token names no caller identity to send transactions as")
    return sender


def _transaction(sender: str, rng: random.Random, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "conformance.noop",
        "sender": sender,
        "nonce": f"{rng.getrandbits(128):032x}",
        "timestampMs": 1_767_225_600_000,
        "payload": payload,
    }


def _nested(levels: int) -> dict[str, Any]:
    """An object nesting ``levels`` levels deep (``{}`` is one level)."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def _of_size(transaction: dict[str, Any], size: int) -> dict[str, Any]:
    """``transaction`` with a ``pad`` string in its payload making its JCS ``size`` bytes."""
    padded = {**transaction, "payload": {**transaction["payload"], "pad": ""}}
    missing = size - len(canonicalize(padded))
    padded["payload"]["pad"] = "x" * missing
    assert len(canonicalize(padded)) == size  # ASCII padding adds one byte a character
    return padded


def submit(client: TwinClient, transaction: dict[str, Any], what: str) -> str:
    """POST the transaction; 202 with its digest (SHA-256 of its JCS) as hex."""
    exchange = client.post("/consensus/transactions", json_body=transaction, auth=True)
    require_status(exchange, 202, "TWIN-CONSENSUS-104", what)
    digest = transaction_digest(transaction).hex()
    answered = body_object(exchange, "TWIN-CONSENSUS-104", what).get("digest")
    require(
        answered == digest,
        "TWIN-ANCHORING-020",
        f"{what}: answered digest {answered!r}, not SHA-256 of its JCS form {digest}",
    )
    return digest


def transaction_status(client: TwinClient, digest: str) -> dict[str, Any]:
    """GET /consensus/transactions/{digest}: 200 and one of the statuses the spec has."""
    exchange = client.get(f"/consensus/transactions/{digest}")
    require_status(exchange, 200, "TWIN-CONSENSUS-132", "the status of a submitted transaction")
    status = body_object(exchange, "TWIN-CONSENSUS-132", "the transaction's status")
    require(
        status.get("digest") == digest,
        "TWIN-CONSENSUS-132",
        f"the status of {digest} names digest {status.get('digest')!r}",
    )
    return status


def wait_committed(client: TwinClient, digest: str, requirement: str, what: str) -> dict[str, Any]:
    """Poll the transaction's status until it is committed, within ``COMMIT_BOUND_SECONDS``."""
    deadline = time.monotonic() + COMMIT_BOUND_SECONDS
    pause = 0.05
    while True:
        status = transaction_status(client, digest)
        state = status.get("status")
        if state == "committed":
            return status
        require(
            state == "pending",
            requirement,
            f"{what}: acknowledged with 202, then {state!r}: {status.get('reason', '')!r}",
        )
        require(
            time.monotonic() < deadline,
            requirement,
            f"{what}: acknowledged with 202 but still pending {COMMIT_BOUND_SECONDS:g} s later",
        )
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


def _require_not_accepted(exchange: Exchange, what: str) -> None:
    """A transaction past a limit acknowledged (2xx) breaks the limit itself."""
    require(
        not 200 <= (exchange.status or 0) < 300,
        "TWIN-ANCHORING-060",
        f"{what} was acknowledged ({exchange.status}): the node takes transactions past the "
        "limits every validator applies",
    )


@pytest.mark.twin_requirement("TWIN-ANCHORING-061", "TWIN-ANCHORING-060", "TWIN-CONSENSUS-104")
def test_a_transaction_past_a_limit_is_refused_and_one_at_it_committed(
    client: TwinClient, run: TwinState
) -> None:
    """Past a limit: refused naming it; at both limits: acknowledged and committed in 30 s.

    65 levels deep: 400 transactionTooDeep; 65537 bytes of JCS: 413 transactionTooLarge.
    """
    sender = _sender(client)
    rng = fresh_random(run, "consensus:limits")
    # The transaction object is level 1 and its payload level 2.
    deep = _transaction(sender, rng, {"deep": _nested(MAX_TRANSACTION_DEPTH - 1)})
    exchange = client.post(
        "/consensus/transactions", json_body=deep, auth=True, expect_rejection=True
    )
    _require_not_accepted(exchange, "a transaction 65 levels deep")
    require_status(exchange, 400, "TWIN-ANCHORING-061", "a transaction 65 levels deep")
    require(
        error_code(exchange) == "transactionTooDeep",
        "TWIN-ANCHORING-061",
        f"a transaction 65 levels deep was refused as {error_code(exchange)!r}, not "
        "transactionTooDeep",
    )
    large = _of_size(_transaction(sender, rng, {}), MAX_TRANSACTION_BYTES + 1)
    exchange = client.post(
        "/consensus/transactions", json_body=large, auth=True, expect_rejection=True
    )
    what = f"a transaction of {MAX_TRANSACTION_BYTES + 1} bytes of JCS"
    _require_not_accepted(exchange, what)
    require_status(exchange, 413, "TWIN-ANCHORING-061", what)
    require(
        error_code(exchange) == "transactionTooLarge",
        "TWIN-ANCHORING-061",
        f"{what} was refused as {error_code(exchange)!r}, not transactionTooLarge",
    )
    body = exchange.json("TWIN-ANCHORING-061")
    limit = body.get("properties", {}).get("limit") if isinstance(body, dict) else None
    require(
        limit == MAX_TRANSACTION_BYTES,
        "TWIN-ANCHORING-061",
        f"{what}: the 413 states limit {limit!r}, not {MAX_TRANSACTION_BYTES}",
    )
    at_depth = _transaction(sender, rng, {"deep": _nested(MAX_TRANSACTION_DEPTH - 2)})
    at_size = _of_size(_transaction(sender, rng, {}), MAX_TRANSACTION_BYTES)
    for transaction, name in ((at_depth, "64 levels deep"), (at_size, "of 65536 bytes")):
        digest = submit(client, transaction, f"a transaction {name}")
        wait_committed(client, digest, "TWIN-ANCHORING-061", f"a transaction {name}")


@pytest.mark.twin_requirement("TWIN-CONSENSUS-132")
def test_the_status_of_a_transaction_says_where_it_is(
    client: TwinClient, run: TwinState, committee: Committee
) -> None:
    """A submitted transaction is pending or committed; unknown is 404, malformed 400.

    A committed one's receipt verifies offline; the 400 names path.digest.
    """
    sender = _sender(client)
    rng = fresh_random(run, "consensus:status")
    transaction = _transaction(sender, rng, {"note": "where is it"})
    digest = submit(client, transaction, "a transaction")
    first = transaction_status(client, digest)
    require(
        first.get("status") in ("pending", "committed"),
        "TWIN-CONSENSUS-132",
        f"a transaction just acknowledged is {first.get('status')!r}, not pending or committed",
    )
    committed = wait_committed(client, digest, "TWIN-CONSENSUS-132", "a transaction")
    outcome = committed.get("outcome")
    require(
        isinstance(outcome, dict) and outcome.get("status") in ("success", "failure"),
        "TWIN-CONSENSUS-132",
        f"a committed transaction's status carries no outcome ({outcome!r})",
    )
    require(
        isinstance(committed.get("checkpoint"), int),
        "TWIN-CONSENSUS-132",
        "a committed transaction's status names no checkpoint",
    )
    verified = check_receipt(
        committed.get("receipt"),
        committee,
        "the receipt of a committed transaction",
        transaction_digest=bytes.fromhex(digest),
    )
    sequence = verified.get("sequence") if isinstance(verified, dict) else None
    require(
        sequence is None or sequence == committed["checkpoint"],
        "TWIN-CONSENSUS-132",
        f"the status names checkpoint {committed['checkpoint']}, its receipt's checkpoint is "
        f"{sequence}",
    )
    unknown = f"{rng.getrandbits(256):064x}"
    exchange = client.get(f"/consensus/transactions/{unknown}", expect_rejection=True)
    require_status(exchange, 404, "TWIN-CONSENSUS-132", "the status of a digest nobody submitted")
    exchange = client.get("/consensus/transactions/not-a-digest", expect_rejection=True)
    require_status(exchange, 400, "TWIN-CONSENSUS-132", "the status of a malformed digest")
    require(
        error_field(exchange) == "path.digest",
        "TWIN-CONSENSUS-132",
        f"the 400 to a malformed digest names {error_field(exchange)!r}, not path.digest",
    )


def _require_within_block_bounds(block: dict[str, Any], where: str) -> None:
    text = canonicalize(block)
    require(
        len(text) <= MAX_BLOCK_TEXT_BYTES,
        "TWIN-CONSENSUS-133",
        f"{where} is {len(text)} bytes of JSON, over {MAX_BLOCK_TEXT_BYTES}",
    )
    values = json_value_count(text)
    require(
        values <= MAX_BLOCK_VALUES,
        "TWIN-CONSENSUS-133",
        f"{where} holds {values} JSON values, over {MAX_BLOCK_VALUES}",
    )


@pytest.mark.twin_requirement("TWIN-CONSENSUS-133", "TWIN-CONSENSUS-104")
def test_blocks_stay_within_the_bounds_every_peer_takes(client: TwinClient, run: TwinState) -> None:
    """No block is over 2 MiB of JSON or 262144 JSON values, even under 2.4 MB of writes.

    The harness submits 2.4 MB of transactions at once, then checks every block of the commits
    since (and of the newest commits).
    """
    sender = _sender(client)
    rng = fresh_random(run, "consensus:block-bounds")
    known = len(read_pages(client, "/consensus/commits", "commits"))
    transactions = [
        _of_size(_transaction(sender, rng, {"position": position}), BIG_PAYLOAD_BYTES)
        for position in range(BIG_TRANSACTIONS)
    ]
    with ThreadPoolExecutor(SUBMITTERS, thread_name_prefix="submit") as pool:
        digests = list(
            pool.map(
                lambda tx: submit(client, tx, "a transaction of 60 kB"),
                transactions,
            )
        )
    for digest in digests:
        wait_committed(client, digest, "TWIN-CONSENSUS-104", "a transaction of 60 kB")
    commits = read_pages(client, "/consensus/commits", "commits")
    checked: set[str] = set()
    for commit in commits[min(known, max(0, len(commits) - RECENT_COMMITS)) :]:
        index, _previous, _timestamp, _leader, refs = commit_parts(commit)
        for ref in refs:
            if ref.digest.hex() in checked:
                continue
            checked.add(ref.digest.hex())
            block = get_block(client, ref.to_json())
            _require_within_block_bounds(block, f"block {ref.to_json()} of commit {index}")


@pytest.mark.twin_requirement("TWIN-CONSENSUS-131", "TWIN-CONSENSUS-104")
def test_a_transaction_of_a_type_no_node_applies_is_recorded_as_failed(
    client: TwinClient, run: TwinState
) -> None:
    """An unknown type is ordered and recorded as failed, with its reason; commits go on.

    The harness's own type, ``conformance.noop``, is one no node applies; the destructive
    check below tries a type the node knows with a payload that breaks it.
    """
    sender = _sender(client)
    rng = fresh_random(run, "consensus:unknown-type")
    digest = submit(client, _transaction(sender, rng, {"note": "no node applies this"}), "a noop")
    status = wait_committed(client, digest, "TWIN-CONSENSUS-131", "a transaction of no known type")
    outcome = status.get("outcome")
    error = outcome.get("error") if isinstance(outcome, dict) else None
    require(
        isinstance(outcome, dict)
        and outcome.get("status") == "failure"
        and isinstance(error, dict)
        and bool(error.get("message")),
        "TWIN-CONSENSUS-131",
        f"a transaction of a type no node applies was committed with outcome {outcome!r}, not "
        "failure with its reason",
    )
    later = _transaction(sender, rng, {"note": "after the unknown type"})
    digest = submit(client, later, "a transaction after one of no known type")
    wait_committed(client, digest, "TWIN-CONSENSUS-131", "a transaction after one that failed")


def _caller_document(client: TwinClient, sender: str) -> tuple[dict[str, Any], int]:
    """The caller's DID document and its integer versionId, as the node resolves them."""
    resolved = client.get(f"/identity/{sender}", headers={"accept": DID_RESOLUTION})
    require_status(resolved, 200, None, "resolving the caller's DID")
    resolution = body_object(resolved, None, "the resolution")
    metadata = resolution.get("didDocumentMetadata")
    version = metadata.get("versionId") if isinstance(metadata, dict) else None
    document = resolution.get("didDocument")
    if not (isinstance(version, str) and version.isdigit() and isinstance(document, dict)):
        pytest.skip(
            "the node's resolution of the caller's DID gives no integer versionId to chain "
            "updates from"
        )
    return document, int(version)


CHAIN = 6
"""Chained updates submitted at once, so that a block (and a commit) holds several."""


@pytest.mark.twin_requirement("TWIN-CONSENSUS-113")
def test_dependent_transactions_apply_in_their_certified_order(
    client: TwinClient, run: TwinState, committee: Committee
) -> None:
    """Chained did.update transactions, submitted at once, succeed exactly as their order says.

    Each updates the caller's DID from the version the previous one makes. Applied in the
    order their receipts certify (checkpoint, then leaf index), the first of each version
    succeeds and the others fail; a node that applies a commit's transactions in another
    order gets other outcomes. A node that applies no did.update is not judged here.
    """
    sender = _sender(client)
    rng = fresh_random(run, "consensus:chain")
    document, version = _caller_document(client, sender)
    chain = []
    for step in range(CHAIN):
        update = _transaction(
            sender, rng, {"did": sender, "version": version + step, "document": document}
        )
        update["type"] = "did.update"
        chain.append(update)
    start = threading.Barrier(CHAIN)

    def send(update: dict[str, Any]) -> str:
        start.wait(10)
        return submit(client, update, "a chained did.update")

    with ThreadPoolExecutor(CHAIN, thread_name_prefix="chain") as pool:
        digests = list(pool.map(send, chain))
    statuses = [
        wait_committed(client, digest, "TWIN-CONSENSUS-104", "a chained did.update")
        for digest in digests
    ]
    places = []
    for digest, status in zip(digests, statuses, strict=True):
        receipt = status.get("receipt")
        check_receipt(
            receipt,
            committee,
            "a chained update's receipt",
            transaction_digest=bytes.fromhex(digest),
        )
        assert isinstance(receipt, dict)
        places.append((int(status["checkpoint"]), int(receipt["inclusionProof"]["leafIndex"])))
    succeeded = [
        isinstance(status.get("outcome"), dict) and status["outcome"].get("status") == "success"
        for status in statuses
    ]
    if not any(succeeded):
        pytest.skip("the node applied none of the did.update transactions (not its type)")
    current = version
    for position in sorted(range(CHAIN), key=lambda index: places[index]):
        expected = chain[position]["payload"]["version"] == current
        require(
            succeeded[position] == expected,
            "TWIN-CONSENSUS-113",
            f"the update from version {chain[position]['payload']['version']}, certified at "
            f"checkpoint {places[position][0]} leaf {places[position][1]} while the DID was at "
            f"version {current}, {'failed' if expected else 'succeeded'}; applied in certified "
            f"order it {'succeeds' if expected else 'fails'}",
        )
        current += 1 if expected else 0


@pytest.mark.twin_destructive
@pytest.mark.twin_requirement("TWIN-CONSENSUS-131")
def test_a_transaction_that_cannot_be_applied_fails_and_commits_go_on(
    client: TwinClient, run: TwinState
) -> None:
    """A did.update whose document is a string fails, and later transactions still commit.

    A node that retries such a transaction for ever halts here (hence --destructive only).
    """
    sender = _sender(client)
    rng = fresh_random(run, "consensus:poison")
    resolved = client.get(f"/identity/{sender}", headers={"accept": DID_RESOLUTION})
    require_status(resolved, 200, None, "resolving the caller's DID")
    metadata = body_object(resolved, None, "the resolution").get("didDocumentMetadata")
    version = metadata.get("versionId") if isinstance(metadata, dict) else None
    require(
        isinstance(version, str) and version.isdigit(),
        None,
        f"the caller's DID has no integer versionId to update from ({version!r})",
    )
    assert isinstance(version, str)
    poison = _transaction(sender, rng, {"did": sender, "version": int(version), "document": "x"})
    poison["type"] = "did.update"
    digest = submit(client, poison, "a did.update whose document is a string")
    status = wait_committed(
        client, digest, "TWIN-CONSENSUS-131", "a did.update whose document is a string"
    )
    outcome = status.get("outcome")
    require(
        isinstance(outcome, dict) and outcome.get("status") == "failure",
        "TWIN-CONSENSUS-131",
        f"a did.update whose document is a string was committed with outcome {outcome!r}, "
        "not failure",
    )
    later = _transaction(sender, rng, {"note": "after the poison"})
    digest = submit(client, later, "a transaction after the poison")
    wait_committed(client, digest, "TWIN-CONSENSUS-131", "a transaction after the poison")
