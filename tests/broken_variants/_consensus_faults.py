"""Faults of the consensus profile's routes: what the node serves and how it takes requests.

Commit order as served, the committee, genesis, checkpoints served late or off by one,
equivocation evidence, evaluation, transactions and the peer routes. The faults inside the
ledger are in ``_consensus_ledger_faults.py``; those of the rules as evaluation applies them
in ``_consensus_rule_faults.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

from tests.broken_variants._asgi import (
    Context,
    HttpRequest,
    HttpResponse,
    json_response,
    rule,
    with_json,
)
from tests.broken_variants._fault import fault
from tests.broken_variants._patching import rebind
from twin_spec import (
    TwinSpecError,
    block_digest,
    canonicalize,
    multibase_encode,
)


def _reverse_commit_blocks(commits: object) -> None:
    """Reverse each commit's block list: the leader comes first, rounds run backwards."""
    for commit in commits if isinstance(commits, list) else []:
        if isinstance(commit, dict) and isinstance(commit.get("blocks"), list):
            commit["blocks"].reverse()


async def wrong_commit_order(request: HttpRequest, context: Context) -> HttpResponse:
    """Linearise every commit in reverse order, in evaluation results and in /commits."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return response
    _reverse_commit_blocks(body.get("commits"))
    return with_json(response, body)


async def duplicate_author_ancestor_accepted(
    request: HttpRequest, context: Context
) -> HttpResponse:
    """Report a block with two ancestors by one author as valid in evaluation verdicts."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return response
    for verdict in body.get("verdicts", []):
        error = verdict.get("error") if isinstance(verdict, dict) else None
        if isinstance(error, dict) and error.get("code") == "duplicateAncestorAuthor":
            verdict["result"] = "valid"
            del verdict["error"]
    return with_json(response, body)


async def refused_block_accepted(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer 202 to a peer block the receive rules refuse (it is still not stored)."""
    response = await context.forward(request)
    body = response.json()
    properties = body.get("properties") if isinstance(body, dict) else None
    if response.status != 400 or not isinstance(properties, dict) or "code" not in properties:
        return response
    try:
        block: Any = json.loads(request.body)
        digest = block_digest(block).hex()
    except (ValueError, TwinSpecError, TypeError):
        return response
    if not isinstance(block, dict):
        return response
    round_, author = block.get("round"), block.get("author")
    if not (isinstance(round_, int) and isinstance(author, int) and round_ >= 0 <= author):
        return response  # No block reference the answer could carry.
    reference = {"round": round_, "author": author, "digest": digest}
    return with_json(response, {"block": reference}, status=202)


async def checkpoint_served_differs(request: HttpRequest, context: Context) -> HttpResponse:
    """Serve GET /consensus/checkpoints/{n} with the checkpoint of sequence n - 1 (from 2)."""
    sequence = request.params["sequence"]
    if sequence.isdigit() and int(sequence) > 1:
        request = HttpRequest("GET", f"/consensus/checkpoints/{int(sequence) - 1}")
    return await context.forward(request)


async def checkpoint_transaction_left_out(request: HttpRequest, context: Context) -> HttpResponse:
    """Leave the first transaction out of every page of a checkpoint's transactions."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return response
    transactions = body.get("transactions")
    if isinstance(transactions, list) and transactions:
        body["transactions"] = transactions[1:]
    return with_json(response, body)


async def committee_indices_from_one(request: HttpRequest, context: Context) -> HttpResponse:
    """Number the committee's validators from 1, not 0."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return response
    validators = [{**entry, "index": entry["index"] + 1} for entry in body.get("validators", [])]
    return with_json(response, {**body, "validators": validators})


async def genesis_timestamp_one(request: HttpRequest, context: Context) -> HttpResponse:
    """Serve the genesis blocks (round 0) with timestampMs 1, not 0."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return response
    blocks = body.get("blocks", [body])
    for block in blocks if isinstance(blocks, list) else []:
        if isinstance(block, dict) and block.get("round") == 0:
            block["timestampMs"] = 1
    return with_json(response, body)


async def evidence_with_unsigned_blocks(request: HttpRequest, context: Context) -> HttpResponse:
    """Serve, besides what it recorded, evidence of two blocks whose signatures do not verify."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return response
    committee = await context.forward(HttpRequest("GET", "/consensus/committee"))
    epoch = (committee.json() or {}).get("epoch", 0)
    blocks = []
    for stamp in (1, 2):
        blocks.append(
            {
                "epoch": epoch,
                "round": 7,
                "author": 0,
                "timestampMs": stamp,
                "ancestors": [],
                "transactions": [],
                "signature": multibase_encode(bytes(64)),
            }
        )
    blocks.sort(key=block_digest)
    evidence = {"type": "EquivocationEvidence", "epoch": epoch, "round": 7, "author": 0}
    return with_json(response, {**body, "equivocations": [{**evidence, "blocks": blocks}]})


async def evaluate_keeps_blocks(request: HttpRequest, context: Context) -> HttpResponse:
    """Evaluate as asked, and keep the blocks it found valid: they are served by digest after."""
    kept: dict[str, bytes] = context.memory.setdefault("evaluated", {})
    if request.method == "GET":
        block = kept.get(request.path.rsplit("/", 1)[1])
        if block is not None:
            return HttpResponse(200, [("content-type", "application/json")], block)
        return await context.forward(request)
    response = await context.forward(request)
    answer, body = response.json(), json.loads(request.body or b"null")
    if response.status != 200 or not isinstance(answer, dict) or not isinstance(body, dict):
        return response
    for block, verdict in zip(body.get("blocks", []), answer.get("verdicts", []), strict=False):
        if isinstance(verdict, dict) and verdict.get("result") == "valid":
            kept[str(verdict["digest"])] = json.dumps(block, separators=(",", ":")).encode()
    return response


def patch_evaluate_without_block_limit() -> None:
    """Make evaluation take any number of blocks (no 413 over 20000)."""
    from twin_reference import _routes_consensus

    rebind(_routes_consensus, "EVALUATE_MAX_BLOCKS", 10**9)


def _token_subject(request: HttpRequest) -> str | None:
    """The sub of the request's bearer token (read, not verified: the node verifies it)."""
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    except (IndexError, ValueError):
        return None
    sub = payload.get("sub") if isinstance(payload, dict) else None
    return sub if isinstance(sub, str) else None


async def transaction_sender_unchecked(request: HttpRequest, context: Context) -> HttpResponse:
    """Queue a transaction of another sender in the caller's name, and answer 202 to it."""
    try:
        body = json.loads(request.body)
    except ValueError:
        return await context.forward(request)
    caller = _token_subject(request)
    if not isinstance(body, dict) or caller is None or body.get("sender") in (None, caller):
        return await context.forward(request)
    mine = json.dumps({**body, "sender": caller}).encode()
    response = await context.forward(
        HttpRequest(request.method, request.path, request.query, request.headers, mine)
    )
    if response.status != 202:
        return response
    try:
        digest = hashlib.sha256(canonicalize(body)).hexdigest()
    except TwinSpecError:
        return response
    return json_response({"digest": digest}, 202)


async def refused_signature_pending(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer a checkpoint signature the node refuses 202 pending (kept unchecked), not 400."""
    response = await context.forward(request)
    body, sent = response.json(), json.loads(request.body or b"null")
    properties = body.get("properties") if isinstance(body, dict) else None
    code = properties.get("code") if isinstance(properties, dict) else None
    if response.status != 400 or code is None or not isinstance(sent, dict):
        return response
    sequence = int(request.path.split("/")[3])
    signer = sent.get("signer")
    if not isinstance(signer, int) or not 0 <= signer <= 1023:
        return response  # No signer the answer could name.
    return json_response({"sequence": sequence, "signer": signer, "status": "pending"}, 202)


def patch_peer_body_limit_one_mib() -> None:
    """Make the node take a peer's block up to its ordinary 1 MiB body limit, not 2 MiB."""
    from twin_reference import _routes_consensus

    rebind(_routes_consensus, "MAX_BLOCK_TEXT_BYTES", 1024 * 1024)


async def transaction_digest_of_raw_body(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer a queued transaction with SHA-256 of the request body as sent, not of its JCS."""
    response = await context.forward(request)
    if response.status != 202:
        return response
    return with_json(response, {"digest": hashlib.sha256(request.body).hexdigest()})


CHECKPOINT_LATE_SECONDS = 5.0
"""How long after answering a write's receipt the checkpoint-stored-late variant hides it."""


async def checkpoint_stored_late(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer receipts at once, and serve their checkpoints only some seconds later."""
    answered: dict[int, float] = context.memory.setdefault("answered", {})
    if request.path.startswith("/consensus/checkpoints/"):
        sequence = request.path.rsplit("/", 1)[1]
        since = answered.get(int(sequence)) if sequence.isdigit() else None
        if since is not None and time.monotonic() - since < CHECKPOINT_LATE_SECONDS:
            return json_response(
                {"name": "NotFoundError", "message": f"no checkpoint {sequence} yet"}, 404
            )
        return await context.forward(request)
    response = await context.forward(request)
    body = response.json()
    receipt = body.get("immutableReceipt") if isinstance(body, dict) else None
    if isinstance(receipt, dict):
        sequence = receipt["checkpoint"]["summary"]["sequence"]
        answered.setdefault(int(sequence), time.monotonic())
    return response


FAULTS = (
    fault(
        "wrong-commit-order",
        "consensus",
        "TWIN-CONSENSUS-029",
        "commits list their blocks in reverse order (evaluate and GET /consensus/commits)",
        rules=(
            rule("POST", "/consensus/evaluate", wrong_commit_order),
            rule("GET", "/consensus/commits", wrong_commit_order),
        ),
    ),
    fault(
        "duplicate-author-ancestor-accepted",
        "consensus",
        "TWIN-CONSENSUS-009",
        "evaluation calls a block with two ancestors by one author valid",
        rules=(rule("POST", "/consensus/evaluate", duplicate_author_ancestor_accepted),),
    ),
    fault(
        "refused-block-accepted",
        "consensus",
        "TWIN-CONSENSUS-101",
        "POST /consensus/blocks answers 202 to a block the receive rules refuse",
        rules=(rule("POST", "/consensus/blocks", refused_block_accepted),),
    ),
    fault(
        "checkpoint-served-differs",
        "consensus",
        "TWIN-CONSENSUS-100",
        "GET /consensus/checkpoints/{n} serves the certified checkpoint of sequence n - 1",
        rules=(
            rule("GET", "/consensus/checkpoints/(?P<sequence>[^/]+)", checkpoint_served_differs),
        ),
    ),
    fault(
        "checkpoint-transaction-left-out",
        "consensus",
        "TWIN-CONSENSUS-134",
        "GET /consensus/checkpoints/{n}/transactions leaves the first transaction of a page out",
        rules=(
            rule(
                "GET",
                "/consensus/checkpoints/[^/]+/transactions",
                checkpoint_transaction_left_out,
            ),
        ),
    ),
    fault(
        "committee-indices-from-one",
        "consensus",
        "TWIN-CONSENSUS-001",
        "GET /consensus/committee numbers its validators from 1, not 0",
        rules=(rule("GET", "/consensus/committee", committee_indices_from_one),),
    ),
    fault(
        "genesis-timestamp-one",
        "consensus",
        "TWIN-CONSENSUS-007",
        "the genesis blocks are served with timestampMs 1, not 0",
        rules=(
            rule("GET", "/consensus/blocks", genesis_timestamp_one),
            rule("GET", "/consensus/blocks/[^/]+", genesis_timestamp_one),
        ),
    ),
    fault(
        "evidence-of-unsigned-blocks",
        "consensus",
        "TWIN-CONSENSUS-030",
        "GET /consensus/equivocations serves evidence of two blocks whose signatures fail",
        rules=(rule("GET", "/consensus/equivocations", evidence_with_unsigned_blocks),),
    ),
    fault(
        "evaluate-keeps-blocks",
        "consensus",
        "TWIN-CONSENSUS-102",
        "POST /consensus/evaluate keeps the blocks it finds valid: GET by digest serves them",
        rules=(
            rule("POST", "/consensus/evaluate", evaluate_keeps_blocks),
            rule("GET", "/consensus/blocks/[^/]+", evaluate_keeps_blocks),
        ),
    ),
    fault(
        "evaluate-without-block-limit",
        "consensus",
        "TWIN-CONSENSUS-103",
        "POST /consensus/evaluate takes more than 20000 blocks (no 413)",
        patch=patch_evaluate_without_block_limit,
    ),
    fault(
        "transaction-sender-unchecked",
        "consensus",
        "TWIN-CONSENSUS-104",
        "POST /consensus/transactions queues a transaction of another sender (202, not 400)",
        rules=(rule("POST", "/consensus/transactions", transaction_sender_unchecked),),
    ),
    fault(
        "refused-signature-kept-pending",
        "consensus",
        "TWIN-CONSENSUS-105",
        "a checkpoint signature that does not check (malformed, bad) is answered 202 pending "
        "and kept unchecked, not refused 400",
        rules=(rule("POST", "/consensus/checkpoints/[^/]+/signatures", refused_signature_pending),),
    ),
    fault(
        "peer-block-limit-one-mib",
        "consensus",
        "TWIN-CONSENSUS-110",
        "POST /consensus/blocks refuses a peer's block over 1 MiB (413), not over 2 MiB",
        patch=patch_peer_body_limit_one_mib,
    ),
    fault(
        "transaction-digest-of-raw-body",
        "anchoring",
        "TWIN-ANCHORING-020",
        "POST /consensus/transactions answers SHA-256 of the body as sent, not of its JCS",
        rules=(rule("POST", "/consensus/transactions", transaction_digest_of_raw_body),),
        run_profile="consensus",
    ),
    fault(
        "checkpoint-stored-late",
        "consensus",
        "TWIN-CONSENSUS-106",
        "the node answers a write's receipt at once and serves its checkpoint only 5 s later",
        rules=(
            rule("GET", "/immutable-proof/[^/]+", checkpoint_stored_late),
            rule("GET", "/consensus/checkpoints/[^/]+", checkpoint_stored_late),
        ),
    ),
)
