"""Faults of the consensus profile's ledger and routes: what the node signs, stores and serves.

Commit order, the committee, signed blocks and their digests, genesis, commits and
checkpoints as stored, equivocation evidence, evaluation, transactions and the peer routes.
The faults of the rules themselves, as evaluation applies them, are in
``_consensus_rule_faults.py``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
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
from tests.broken_variants._patching import patched_copy, rebind
from twin_spec import (
    Ed25519SigningKey,
    MessageKind,
    TwinSpecError,
    block_digest,
    canonicalize,
    multibase_encode,
    sign_block,
    sign_message,
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


async def committee_indices_from_one(request: HttpRequest, context: Context) -> HttpResponse:
    """Number the committee's validators from 1, not 0."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return response
    validators = [{**entry, "index": entry["index"] + 1} for entry in body.get("validators", [])]
    return with_json(response, {**body, "validators": validators})


def patch_block_signed_with_signature_member() -> None:
    """Make the node sign its blocks with an empty signature member in the signed bytes."""
    from twin_reference import _ledger

    def sign(key: Ed25519SigningKey, unsigned: dict[str, Any]) -> dict[str, Any]:
        signature = sign_message(key, MessageKind.BLOCK, {**unsigned, "signature": ""})
        return {**unsigned, "signature": multibase_encode(signature)}

    rebind(_ledger, "sign_block", sign)


def patch_block_digest_without_signature() -> None:
    """Make the node name its blocks by SHA-256 of the block without its signature."""
    from twin_reference import _ledger

    def digest(block: dict[str, Any]) -> bytes:
        unsigned = {name: value for name, value in block.items() if name != "signature"}
        return hashlib.sha256(canonicalize(unsigned)).digest()

    rebind(_ledger, "block_digest", digest)


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


def patch_commit_blocks_without_leader() -> None:
    """Make the node's commits list the leader's history in blocks, without the leader."""
    from twin_reference import _ledger

    def make(index: int, previous: bytes, timestamp: int, leader: Any, refs: Any) -> Any:
        return {
            "index": index,
            "previousDigest": previous.hex(),
            "timestampMs": timestamp,
            "leader": leader.to_json(),
            "blocks": [ref.to_json() for ref in refs if ref != leader],
        }

    rebind(_ledger, "make_commit", make)


def patch_commit_timestamp_wall_clock() -> None:
    """Make the node stamp each commit with its wall clock, not its leader's timestamp."""
    from twin_reference import _ledger

    original = getattr(_ledger, "make_commit")  # noqa: B009 - a name it imports

    def make(index: int, previous: bytes, timestamp: int, leader: Any, refs: Any) -> Any:
        return original(index, previous, max(timestamp, time.time_ns() // 1_000_000), leader, refs)

    rebind(_ledger, "make_commit", make)


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

    rebind(_routes_consensus, "PEER_BODY_LIMIT", 1024 * 1024)


async def transaction_digest_of_raw_body(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer a queued transaction with SHA-256 of the request body as sent, not of its JCS."""
    response = await context.forward(request)
    if response.status != 202:
        return response
    return with_json(response, {"digest": hashlib.sha256(request.body).hexdigest()})


def patch_commit_index_off_by_one() -> None:
    """Make each checkpoint name the commit after the one it certifies as commitIndex."""
    from twin_reference import _ledger

    original = getattr(_ledger, "make_checkpoint_summary")  # noqa: B009 - a name it imports

    def summary(*args: Any) -> Any:
        return original(*args[:2], args[2] + 1, *args[3:])

    rebind(_ledger, "make_checkpoint_summary", summary)


def patch_batch_and_sort_transactions() -> None:
    """Gather queued transactions for 300 ms and certify each commit's in digest order."""
    from twin_reference import _ledger

    engine = _ledger.LedgerEngine
    queue = engine._queue
    waiting: list[dict[str, Any]] = []

    def flush(self: Any) -> None:
        while waiting:
            queue(self, waiting.pop(0))

    def enqueue(self: Any, transaction: dict[str, Any]) -> bytes:
        if not waiting:
            asyncio.get_running_loop().call_later(0.3, flush, self)
        waiting.append(transaction)
        return hashlib.sha256(canonicalize(transaction)).digest()

    original = getattr(_ledger, "make_checkpoint_summary")  # noqa: B009 - a name it imports

    def summary(*args: Any) -> Any:
        return original(*args[:4], sorted(args[4]), *args[5:])

    setattr(engine, "enqueue", enqueue)  # noqa: B010 - the method is replaced on purpose
    rebind(_ledger, "make_checkpoint_summary", summary)


def patch_second_block_per_round() -> None:
    """Make the node sign and store a second block for every round it proposes in."""
    from twin_reference import _ledger

    engine = _ledger.LedgerEngine
    propose = engine._propose

    def propose_twice(self: Any, round_: int, now: float) -> None:
        propose(self, round_, now)
        row = self._store.one("SELECT body FROM blocks WHERE digest = ?", self._last_block.digest)
        first = json.loads(str(row[0]))
        unsigned = {name: value for name, value in first.items() if name != "signature"}
        twin = sign_block(self._key, {**unsigned, "timestampMs": first["timestampMs"] + 1})
        with self._store.write(durable=False) as connection:
            connection.execute(
                "INSERT OR IGNORE INTO blocks (digest, round, author, body) VALUES (?, ?, ?, ?)",
                (block_digest(twin), round_, first["author"], json.dumps(twin)),
            )

    setattr(engine, "_propose", propose_twice)  # noqa: B010 - the method is replaced on purpose


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


def _stale_round_two_block(engine: Any) -> Any:
    """A second block of round 2 the node signs and stores but never adds to its DAG."""
    from twin_spec import BlockRef

    row = engine._store.one("SELECT body FROM blocks WHERE round = 2 AND author = ?", engine._own)
    first = json.loads(str(row[0]))
    unsigned = {name: value for name, value in first.items() if name != "signature"}
    stale = sign_block(engine._key, {**unsigned, "transactions": [], "timestampMs": 1})
    ref = BlockRef(2, first["author"], block_digest(stale))
    with engine._store.write(durable=False) as connection:
        connection.execute(
            "INSERT OR IGNORE INTO blocks (digest, round, author, body) VALUES (?, ?, ?, ?)",
            (ref.digest, 2, first["author"], json.dumps(stale)),
        )
    return ref


def patch_stale_block_committed_late() -> None:
    """Make the node run 60 rounds at start, then commit a round-2 block below the GC round."""
    from twin_reference import _ledger
    from twin_reference._node import now_ms
    from twin_reference._transactions import new_transaction

    engine = _ledger.LedgerEngine
    start = engine.start
    original = getattr(_ledger, "make_commit")  # noqa: B009 - a name it imports
    state: dict[str, Any] = {}

    async def pump(self: Any) -> None:
        state["engine"] = self
        for position in range(25):
            transaction = new_transaction("conformance.pump", "did:example:pump", {}, now_ms())
            transaction["payload"] = {"position": position}
            with contextlib.suppress(Exception):
                await self.submit(transaction)

    async def start_and_pump(self: Any) -> None:
        await start(self)
        state["pump"] = asyncio.get_running_loop().create_task(pump(self))

    def make(index: int, previous: bytes, timestamp: int, leader: Any, refs: Any) -> Any:
        if "engine" in state and "stale" not in state and leader.round >= 60:
            state["stale"] = _stale_round_two_block(state["engine"])
            refs = [state["stale"], *refs]
        return original(index, previous, timestamp, leader, refs)

    setattr(engine, "start", start_and_pump)  # noqa: B010 - the method is replaced on purpose
    rebind(_ledger, "make_commit", make)


def patch_synced_blocks_unchecked() -> None:
    """Make the node put the blocks it fetches from peers in its DAG without the receive rules."""
    from twin_reference import _sync
    from twin_spec import block_ref

    def offer(self: Any, block: Any) -> Any:
        try:
            ref = block_ref(block)
            self._engine.dag.add(block, ref)
        except (TwinSpecError, KeyError, TypeError):
            return None
        return ref

    setattr(_sync.Synchronizer, "_offer", offer)  # noqa: B010 - the method is replaced on purpose


def patch_commit_applied_in_reverse() -> None:
    """Make the node apply each commit's transactions last to first."""
    from twin_reference import _ledger

    ledger = patched_copy(
        "twin_reference._ledger",
        {
            "for position, (tx_digest, transaction) in enumerate(transactions):": (
                "for position, (tx_digest, transaction) in enumerate(transactions[::-1]):"
            )
        },
    )
    setattr(_ledger.LedgerEngine, "_commit", ledger.LedgerEngine._commit)  # noqa: B010


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
        "committee-indices-from-one",
        "consensus",
        "TWIN-CONSENSUS-001",
        "GET /consensus/committee numbers its validators from 1, not 0",
        rules=(rule("GET", "/consensus/committee", committee_indices_from_one),),
    ),
    fault(
        "block-signed-with-signature-member",
        "consensus",
        "TWIN-CONSENSUS-005",
        "the node signs its blocks over the block with an empty signature member in it",
        patch=patch_block_signed_with_signature_member,
    ),
    fault(
        "block-digest-without-signature",
        "consensus",
        "TWIN-CONSENSUS-006",
        "the node names its blocks by SHA-256 of the block without its signature",
        patch=patch_block_digest_without_signature,
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
        "commit-without-leader-block",
        "consensus",
        "TWIN-CONSENSUS-010",
        "the node's commits list the leader's history in blocks without the leader itself",
        patch=patch_commit_blocks_without_leader,
    ),
    fault(
        "commit-timestamp-wall-clock",
        "consensus",
        "TWIN-CONSENSUS-011",
        "the node stamps each commit with its wall clock, not the leader block's timestamp",
        patch=patch_commit_timestamp_wall_clock,
    ),
    fault(
        "transactions-sorted-in-commit",
        "consensus",
        "TWIN-CONSENSUS-012",
        "the node gathers queued transactions for 300 ms and certifies each commit's "
        "transactions in digest order, not in block order",
        patch=patch_batch_and_sort_transactions,
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
        "checkpoint-commit-index-ahead",
        "anchoring",
        "TWIN-ANCHORING-021",
        "each checkpoint names as commitIndex the commit after the one it certifies",
        patch=patch_commit_index_off_by_one,
        run_profile="consensus",
    ),
    fault(
        "second-block-per-round",
        "consensus",
        "TWIN-CONSENSUS-107",
        "the node signs and stores a second block for every round it proposes in, and records "
        "no evidence of it",
        patch=patch_second_block_per_round,
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
    fault(
        "stale-block-committed-late",
        "consensus",
        "TWIN-CONSENSUS-108",
        "the node runs 60 rounds at start, then commits a block of round 2, below its "
        "garbage-collection round; a one-validator node holds no uncommitted block of round 2 "
        "but one it signs beside its own, so it equivocates too (TWIN-CONSENSUS-107)",
        patch=patch_stale_block_committed_late,
        also=("TWIN-CONSENSUS-107",),
    ),
    fault(
        "synced-blocks-unchecked",
        "consensus",
        "TWIN-CONSENSUS-112",
        "blocks fetched from peers join the DAG without the receive rules (a validator of a "
        "committee of one fetches nothing)",
        patch=patch_synced_blocks_unchecked,
    ),
    fault(
        "commit-applied-in-reverse",
        "consensus",
        "TWIN-CONSENSUS-113",
        "each commit's transactions are applied last to first (a commit of one transaction is "
        "the same either way)",
        patch=patch_commit_applied_in_reverse,
    ),
)
