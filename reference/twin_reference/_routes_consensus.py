"""Consensus routes: the node's blocks, commits and checkpoints, peer input, and evaluation.

The reads serve the ledger tables as stored. ``POST /consensus/transactions`` queues a
transaction and answers 202 at once (it is applied when a commit includes it, like any other);
``POST /consensus/blocks`` takes a peer's block through the spec core's receive rules and
``POST /consensus/checkpoints/{sequence}/signatures`` a peer's checkpoint signature (both
public: a committee key's signature authenticates them); ``GET /consensus/equivocations``
serves the equivocation evidence recorded; and ``POST /consensus/evaluate`` runs the spec
core's commit rule over a DAG the caller sends, with no state of the node involved. The
``consensus`` profile is not claimed in ``/info`` yet.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twin_reference._certifying import SignatureRefusedError
from twin_reference._errors import (
    ApiError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationError,
    transaction_refused,
)
from twin_reference._http import (
    BodyLimit,
    body_object,
    json_bytes,
    json_response,
    parse_body,
    read_body,
    read_json,
    read_json_sized,
)
from twin_reference._ledger_codec import unpack_checkpoint, unpack_commit, unpack_text
from twin_reference._receiving import accept_block, rejection_code
from twin_reference._routes_core import authenticate, node_of
from twin_reference._write_routes import idempotent
from twin_spec import (
    GC_DEPTH,
    MAX_BLOCK_TEXT_BYTES,
    MAX_BLOCK_VALUES,
    MAX_SAFE_INTEGER,
    CommitSequencer,
    Committee,
    Dag,
    JSONValue,
    LeaderDecision,
    LeaderScheduleParameters,
    LedgerError,
    TransactionLimitError,
    TwinSpecError,
    TwoCertifiedBlocksError,
    block_digest,
    check_transaction,
    genesis_blocks,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
EVALUATE_MAX_BLOCKS = 20_000
EVALUATE_MAX_BYTES = 16 * 1024 * 1024
EVALUATE_MAX_VALUES = 1_048_576
"""JSON values an evaluate body may hold: 16 MiB of real blocks holds far fewer."""
SIGNATURE_BODY_BYTES = 8 * 1024
"""A checkpoint signature is a signer index and 64 signature bytes: far under 8 KiB."""
_DIGEST = re.compile(r"[0-9a-f]{64}\Z")
_INTEGER = re.compile(r"(0|[1-9][0-9]{0,15})\Z")


def _integer(text: str | None, field: str, default: int | None, low: int, high: int) -> int:
    if text is None:
        if default is None:
            raise ValidationError(f"{field} is required", field=field)
        return default
    if not _INTEGER.fullmatch(text) or not low <= int(text) <= high:
        raise ValidationError(f"{field} must be an integer from {low} to {high}", field=field)
    return int(text)


def _page(request: Request) -> tuple[int, int]:
    start = _integer(request.query_params.get("from"), "query.from", 1, 1, MAX_SAFE_INTEGER)
    limit = _integer(request.query_params.get("limit"), "query.limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    return start, limit


def _loads(value: object) -> JSONValue:
    """A stored block's JSON (``_ledger_codec.unpack_text``)."""
    loaded: JSONValue = json.loads(unpack_text(value))
    return loaded


def _field(error: LedgerError, prefix: str, default: str) -> str:
    """Map a spec-core field (``block.round``, ``transaction.type``) onto the request."""
    field = error.field
    if not field:
        return default
    head, dot, rest = field.partition(".")
    head, bracket, index = head.partition("[")
    tail = f"[{index}" if bracket else ""
    return f"{prefix}{tail}{dot}{rest}" if head in ("block", "transaction", "body") else default


# -- reads ------------------------------------------------------------------------------------

# TWIN-CONSENSUS-100 "The consensus read routes MUST return the node's signed blocks, commits
# and certified checkpoints exactly as stored, so that the checkpoint a receipt carries equals
# GET /consensus/checkpoints/{sequence} of its sequence."


async def get_block(request: Request) -> Response:
    """GET /consensus/blocks/{digest}: one signed block (genesis blocks included)."""
    digest = str(request.path_params["digest"])
    if not _DIGEST.fullmatch(digest):
        raise ValidationError(
            "path.digest must be 64 lowercase hex characters", field="path.digest"
        )
    node = node_of(request)
    row = node.store.one("SELECT body FROM blocks WHERE digest = ?", bytes.fromhex(digest))
    if row is not None:
        return json_response(_loads(row[0]))
    for block in genesis_blocks(node.committee):
        if block_digest(block).hex() == digest:
            return json_response(block)
    raise NotFoundError(f"no block has digest {digest}", notFoundId=digest)


async def list_blocks(request: Request) -> Response:
    """GET /consensus/blocks?round=N: the blocks of one round, by author then digest."""
    round_ = _integer(request.query_params.get("round"), "query.round", None, 0, MAX_SAFE_INTEGER)
    node = node_of(request)
    if round_ == 0:
        return json_response({"blocks": genesis_blocks(node.committee)})
    rows = node.store.all("SELECT body FROM blocks WHERE round = ? ORDER BY author, digest", round_)
    return json_response({"blocks": [_loads(row[0]) for row in rows]})


async def list_commits(request: Request) -> Response:
    """GET /consensus/commits?from=I&limit=L: commits from index I, in index order."""
    start, limit = _page(request)
    rows = node_of(request).store.all(
        "SELECT body FROM commits WHERE commit_index >= ? ORDER BY commit_index LIMIT ?",
        start,
        limit,
    )
    return json_response({"commits": [unpack_commit(row[0]) for row in rows]})


async def list_checkpoints(request: Request) -> Response:
    """GET /consensus/checkpoints?from=S&limit=L: certified checkpoints from sequence S."""
    start, limit = _page(request)
    rows = node_of(request).store.all(
        "SELECT body FROM checkpoints WHERE sequence >= ? ORDER BY sequence LIMIT ?",
        start,
        limit,
    )
    return json_response({"checkpoints": [unpack_checkpoint(row[0]) for row in rows]})


async def get_checkpoint(request: Request) -> Response:
    """GET /consensus/checkpoints/{sequence}: one certified checkpoint."""
    text = str(request.path_params["sequence"])
    sequence = _integer(text, "path.sequence", None, 1, MAX_SAFE_INTEGER)
    row = node_of(request).store.one("SELECT body FROM checkpoints WHERE sequence = ?", sequence)
    if row is None:
        raise NotFoundError(f"no checkpoint has sequence {sequence}", notFoundId=text)
    return json_response(unpack_checkpoint(row[0]))


async def list_checkpoint_transactions(request: Request) -> Response:
    """GET /consensus/checkpoints/{sequence}/transactions: a certified checkpoint's transactions.

    From position ``from`` (1 the first), in commit order, as committed (each stored once).
    """
    # TWIN-CONSENSUS-134 "A validator MUST serve the transactions of each certified checkpoint
    # it holds in commit order and exactly as committed (GET
    # /consensus/checkpoints/{sequence}/transactions), so that their digests, in that order,
    # are the leaves of the summary's transactionsRoot and their number its transactionCount."
    text = str(request.path_params["sequence"])
    sequence = _integer(text, "path.sequence", None, 1, MAX_SAFE_INTEGER)
    start, limit = _page(request)
    store = node_of(request).store
    row = store.one("SELECT body FROM checkpoints WHERE sequence = ?", sequence)
    if row is None:
        raise NotFoundError(f"no certified checkpoint has sequence {sequence}", notFoundId=text)
    summary = unpack_checkpoint(row[0])["summary"]
    assert isinstance(summary, dict)  # noqa: S101 - stored certified
    rows = store.all(
        "SELECT body FROM transactions WHERE checkpoint = ? AND position >= ?"
        " ORDER BY position LIMIT ?",
        sequence,
        start - 1,
        limit,
    )
    return json_response(
        {
            "sequence": sequence,
            "transactionCount": summary["transactionCount"],
            "transactions": [_loads(row[0]) for row in rows],
        }
    )


# -- writes -----------------------------------------------------------------------------------


@idempotent
async def submit_transaction(request: Request) -> Response:
    """POST /consensus/transactions: queue a transaction; 202 with its digest, not waiting."""
    caller = authenticate(request)
    node = node_of(request)
    body = await read_json(request, node.settings.body_limit)
    if not isinstance(body, dict):
        raise ValidationError("the body must be a transaction (a JSON object)", field="body")
    # TWIN-CONSENSUS-104 "POST /consensus/transactions MUST check the transaction's shape and
    # that its sender is the caller, answering 400 naming the field otherwise, and
    # MUST answer 202 with its digest once queued; the transaction is applied when committed."
    # TWIN-ANCHORING-061: the transaction limits, with the code of the limit broken.
    try:
        check_transaction(body, "body")
    except TransactionLimitError as exc:
        raise transaction_refused(exc, "body") from None
    except LedgerError as exc:
        raise ValidationError(exc.message, field=_field(exc, "body", "body")) from None
    if body["sender"] != caller:
        raise ValidationError(
            f"body.sender must be the caller's identity {caller}", field="body.sender"
        )
    digest = node.ledger.enqueue(body)
    return json_response({"digest": digest.hex()}, 202)


async def submit_block(request: Request) -> Response:
    """POST /consensus/blocks: a peer's block, checked by the receive rules; 202 if accepted.

    Public: the block's signature by a committee key is what authenticates it
    (TWIN-CONSENSUS-110), and a peer validator holds no token of this node.
    """
    node = node_of(request)
    # TWIN-CONSENSUS-133: a block of up to 2 MiB and 262144 JSON values is taken from a peer.
    limit = BodyLimit(
        max(MAX_BLOCK_TEXT_BYTES, node.settings.max_body_bytes),
        MAX_BLOCK_VALUES,
        node.settings.body_timeout_seconds,
    )
    block, size = await read_json_sized(request, limit)
    # TWIN-CONSENSUS-101 "A node MUST answer 400 with properties.code naming the broken rule to a
    # peer block that a receive rule refuses, leaving its DAG unchanged, and 202 to an accepted
    # block, which it adds to its DAG and stores."
    try:
        ref, _added = node.ledger.receive_block(block, size)
    except LedgerError as exc:
        raise ValidationError(
            exc.message, field=_field(exc, "body", "body"), code=rejection_code(exc)
        ) from None
    return json_response({"block": ref.to_json()}, 202)


async def submit_signature(request: Request) -> Response:
    """POST /consensus/checkpoints/{sequence}/signatures: a peer's checkpoint signature."""
    text = str(request.path_params["sequence"])
    sequence = _integer(text, "path.sequence", None, 1, MAX_SAFE_INTEGER)
    node = node_of(request)
    raw = await read_json(request, node.settings.small_body_limit(SIGNATURE_BODY_BYTES, 64))
    body = body_object(raw, allowed={"signer", "signature"}, required={"signer", "signature"})
    # TWIN-CONSENSUS-110 "POST /consensus/blocks and POST
    # /consensus/checkpoints/{sequence}/signatures MUST NOT require a bearer token: a committee
    # key's signature authenticates what they carry, and nothing unsigned changes state."
    try:
        status = node.ledger.receive_signature(sequence, body)
    except SignatureRefusedError as exc:
        raise ValidationError(exc.message, field=exc.field, code=exc.code) from None
    return json_response({"sequence": sequence, "signer": body["signer"], "status": status}, 202)


async def get_transaction(request: Request) -> Response:
    """GET /consensus/transactions/{digest}: where a transaction is (TWIN-CONSENSUS-132)."""
    digest = str(request.path_params["digest"])
    if not _DIGEST.fullmatch(digest):
        raise ValidationError(
            "path.digest must be 64 lowercase hex characters", field="path.digest"
        )
    status = node_of(request).ledger.transaction_status(bytes.fromhex(digest))
    if status is None:
        raise NotFoundError(f"the node knows no transaction {digest}", notFoundId=digest)
    return json_response(status)


async def list_equivocations(request: Request) -> Response:
    """GET /consensus/equivocations?from=I&limit=L: recorded equivocation evidence."""
    start, limit = _page(request)
    evidence = node_of(request).ledger.equivocations(start, limit)
    return json_response({"equivocations": evidence})


# -- evaluation -------------------------------------------------------------------------------


def _error_json(error: LedgerError) -> dict[str, JSONValue]:
    found: dict[str, JSONValue] = {"code": rejection_code(error), "message": error.message}
    if error.requirement:
        found["requirement"] = error.requirement
    if error.field:
        found["field"] = error.field
    return found


def _fault_json(fault: TwoCertifiedBlocksError) -> dict[str, JSONValue]:
    return {"code": fault.code, "message": fault.message, "requirement": "TWIN-CONSENSUS-027"}


def _digest_of(block: JSONValue) -> JSONValue:
    try:
        return block_digest(block).hex() if isinstance(block, dict) else None
    except TwinSpecError:
        return None


def evaluate(
    committee: Committee,
    blocks: list[JSONValue],
    gc_depth: int = GC_DEPTH,
    schedule: LeaderScheduleParameters | None = None,
) -> dict[str, JSONValue]:
    """Check each block in order into a fresh DAG, then decide and linearise from round 0."""
    # TWIN-CONSENSUS-102 "POST /consensus/evaluate MUST change no state and MUST answer one
    # verdict per block in the order given, add each valid block to a fresh DAG, and give the
    # decisions of the commit rule from round 0 and each committed leader's linearised blocks,
    # with the garbage-collection depth and leader-schedule parameters given, and the leader
    # schedules brought in."
    dag = Dag(committee)
    verdicts: list[JSONValue] = []
    for block in blocks:
        verdict: dict[str, JSONValue] = {"digest": None}
        try:
            ref = accept_block(block, committee, dag)
        except LedgerError as exc:
            verdict["digest"] = _digest_of(block)
            verdict["result"] = "invalid"
            verdict["error"] = _error_json(exc)
        else:
            verdict["digest"] = ref.digest.hex()
            verdict["result"] = "valid"
        verdicts.append(verdict)
    result: dict[str, JSONValue] = {
        "verdicts": verdicts,
        "decisions": [],
        "commits": [],
        "leaderSchedules": [],
    }
    try:
        output = CommitSequencer(committee, gc_depth=gc_depth, schedule=schedule).advance(dag)
    except TwoCertifiedBlocksError as exc:
        # TWIN-CONSENSUS-027 "When two blocks of one leader slot are both certified, an
        # implementation MUST NOT commit either and MUST report the fault": its code is
        # twoCertifiedBlocks, as in the fixed list and the commit-rule vectors.
        result["fault"] = _fault_json(exc)
        return result
    result["decisions"] = [_decision_json(decision) for decision in output.decisions]
    result["commits"] = [
        {"leader": commit.leader.to_json(), "blocks": [ref.to_json() for ref in commit.blocks]}
        for commit in output.commits
    ]
    result["leaderSchedules"] = [table.to_json() for table in output.schedules]
    return result


def _decision_json(decision: LeaderDecision) -> dict[str, JSONValue]:
    entry: dict[str, JSONValue] = {
        "round": decision.round,
        "leader": decision.leader,
        "kind": decision.kind.value,
        "direct": decision.direct,
    }
    if decision.block is not None:
        entry["block"] = decision.block.to_json()
    return entry


def _schedule(body: dict[str, Any]) -> LeaderScheduleParameters:
    try:
        return LeaderScheduleParameters.from_json(body.get("leaderSchedule", {}))
    except LedgerError as exc:
        raise ValidationError(
            f"body.{exc.message}", field=f"body.{exc.field or 'leaderSchedule'}"
        ) from None


def _gc_depth(body: dict[str, Any]) -> int:
    value = body.get("gcDepth", GC_DEPTH)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SAFE_INTEGER:
        raise ValidationError(
            "body.gcDepth must be an integer from 1 to 2^53 - 1", field="body.gcDepth"
        )
    return value


COMMITTEES_KEPT = 32
COMMITTEE_KEY_MAX_CHARS = 64 * 1024


@functools.lru_cache(maxsize=COMMITTEES_KEPT)
def _committee_from_text(text: str) -> Committee:
    return Committee.from_json(json.loads(text))


def _committee(value: object) -> Committee:
    """The committee of an evaluate body, reused across requests that send the same one.

    Reading a committee checks every public key (a point decompression each), which was a
    tenth of an evaluate request's time; callers evaluate many DAGs of one committee. The
    cache is bounded in entries and in the size of what it keys (a committee's JSON text, with
    sorted members: two bodies share an entry only when their committees are the same JSON);
    a committee that is refused is not kept.
    """
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if len(text) > COMMITTEE_KEY_MAX_CHARS:
        return Committee.from_json(value)
    return _committee_from_text(text)


def evaluate_body(raw: bytes, limit: BodyLimit) -> tuple[int, bytes]:
    """Parse, check and evaluate an evaluate body; return the answer's status and JSON.

    It runs in the worker process (``_offload.py``), so that neither parsing up to 16 MiB nor
    the commit rule over up to 20000 blocks holds the node's event loop.
    """
    try:
        body = body_object(
            parse_body(raw, limit),
            allowed={"committee", "blocks", "gcDepth", "leaderSchedule"},
            required={"committee", "blocks"},
        )
        try:
            committee = _committee(body["committee"])
        except TwinSpecError as exc:
            field = str(getattr(exc, "field", None) or "").removeprefix("committee").lstrip(".")
            raise ValidationError(
                f"body.committee is not a committee: {exc.message}",
                field=f"body.committee.{field}" if field else "body.committee",
            ) from None
        blocks = body["blocks"]
        if not isinstance(blocks, list):
            raise ValidationError("body.blocks must be an array of blocks", field="body.blocks")
        if len(blocks) > EVALUATE_MAX_BLOCKS:
            raise PayloadTooLargeError(
                f"body.blocks has {len(blocks)} blocks, over the limit of {EVALUATE_MAX_BLOCKS}",
                limit=EVALUATE_MAX_BLOCKS,
            )
        gc_depth, schedule = _gc_depth(body), _schedule(body)
        return 200, json_bytes(evaluate(committee, blocks, gc_depth, schedule))
    except ApiError as exc:
        return exc.status, json_bytes(exc.body())


async def evaluate_route(request: Request) -> Response:
    """POST /consensus/evaluate: verdicts, decisions and commits for a given DAG (pure)."""
    # TWIN-CONSENSUS-103 "POST /consensus/evaluate MUST answer 413 to a body over 16 MiB or
    # with more than 20000 blocks, and 400 naming the field to a malformed committee, block list
    # or setting (gcDepth, leaderSchedule)."
    node = node_of(request)
    limit = BodyLimit(
        max(EVALUATE_MAX_BYTES, node.settings.max_body_bytes),
        EVALUATE_MAX_VALUES,
        node.settings.body_timeout_seconds,
    )
    # The body is read here and everything else done in the worker process; the number of
    # bodies held at once is bounded by the worker's places (503 beyond).
    async with node.evaluator.admitted():
        raw = await read_body(request, limit)
        status, answer = await node.evaluator.run(evaluate_body, raw, limit)
    return Response(answer, status_code=status, media_type="application/json")


ROUTES = [
    Route("/consensus/blocks", list_blocks, methods=["GET"]),
    Route("/consensus/blocks", submit_block, methods=["POST"]),
    Route("/consensus/blocks/{digest}", get_block, methods=["GET"]),
    Route("/consensus/commits", list_commits, methods=["GET"]),
    Route("/consensus/checkpoints", list_checkpoints, methods=["GET"]),
    Route("/consensus/checkpoints/{sequence}", get_checkpoint, methods=["GET"]),
    Route("/consensus/checkpoints/{sequence}/signatures", submit_signature, methods=["POST"]),
    Route(
        "/consensus/checkpoints/{sequence}/transactions",
        list_checkpoint_transactions,
        methods=["GET"],
    ),
    Route("/consensus/equivocations", list_equivocations, methods=["GET"]),
    Route("/consensus/transactions", submit_transaction, methods=["POST"]),
    Route("/consensus/transactions/{digest}", get_transaction, methods=["GET"]),
    Route("/consensus/evaluate", evaluate_route, methods=["POST"]),
]
