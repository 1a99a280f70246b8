"""Faults of the anchoring profile's ledger artefacts: Merkle trees, checkpoints, receipts.

The patches change how the node builds what it certifies (its tree hashing, its leaves, its
checkpoint chain and signing domain) and keep its own receipt verification consistent with the
change, as a node with that bug would be; the ASGI rules change what it answers (a receipt's
shape or leaf index, the committee it publishes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from tests.broken_variants._asgi import Context, Handler, HttpRequest, HttpResponse, rule, with_json
from tests.broken_variants._fault import fault
from tests.broken_variants._patching import rebind
from twin_spec import Ed25519SigningKey, MessageKind, did_key_from_public_key

RECEIPT_ROUTES = (
    ("GET", "/immutable-proof/[^/]+", "immutableReceipt"),
    ("POST", "/verifiable", "receipt"),
    ("GET", "/verifiable/[^/]+", "receipt"),
    ("PUT", "/verifiable/[^/]+", None),
)
"""Where receipts travel: the method, path, and the member holding it (None: the body)."""


def _receipts_changed(change: Callable[[dict[str, Any]], None]) -> tuple[Any, ...]:
    """Rules that apply ``change`` to every receipt a 2xx answer carries."""

    def handler_for(member: str | None) -> Handler:
        async def handler(request: HttpRequest, context: Context) -> HttpResponse:
            response = await context.forward(request)
            body = response.json()
            if not 200 <= response.status < 300 or not isinstance(body, dict):
                return response
            receipt = body.get(member) if member else body
            if not isinstance(receipt, dict) or "inclusionProof" not in receipt:
                return response
            change(receipt)
            return with_json(response, body)

        handler.__doc__ = f"Answer receipts changed by {change.__name__}."
        return handler

    return tuple(rule(method, path, handler_for(member)) for method, path, member in RECEIPT_ROUTES)


def patch_merkle_without_prefixes() -> None:
    """Make the node hash Merkle leaves and nodes with no 0x00 / 0x01 prefix byte."""
    from twin_spec import _merkle, _receipts

    def leaf(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    def node(left: bytes, right: bytes) -> bytes:
        return hashlib.sha256(left + right).digest()

    rebind(_merkle, "leaf_hash", leaf)
    rebind(_merkle, "node_hash", node)
    rebind(_receipts, "leaf_hash", leaf)


def leaf_index_from_one(receipt: dict[str, Any]) -> None:
    """Count the leaf index from 1, as a node that numbers transactions from 1 does."""
    receipt["inclusionProof"]["leafIndex"] += 1


def hash_algorithm_upper_case(receipt: dict[str, Any]) -> None:
    """Name the hash algorithm SHA-256, not sha-256."""
    receipt["inclusionProof"]["hashAlgorithm"] = "SHA-256"


def receipt_type_renamed(receipt: dict[str, Any]) -> None:
    """Call the receipt a LedgerReceipt, not a TwinLedgerReceipt."""
    receipt["type"] = "LedgerReceipt"


def patch_hex_text_leaves() -> None:
    """Make the node's Merkle leaves the digests' hex text instead of their 32 raw bytes."""
    from twin_spec import _checkpoints, _merkle, _receipts

    tree_hash, proof_of, leaf = _merkle.merkle_tree_hash, _merkle.inclusion_proof, _merkle.leaf_hash

    def as_text(digests: Sequence[bytes]) -> list[bytes]:
        return [digest.hex().encode("ascii") for digest in digests]

    rebind(_checkpoints, "merkle_tree_hash", lambda digests: tree_hash(as_text(digests)))
    rebind(_receipts, "merkle_tree_hash", lambda digests: tree_hash(as_text(digests)))
    rebind(_receipts, "inclusion_proof", lambda digests, i: proof_of(as_text(digests), i))
    rebind(_receipts, "leaf_hash", lambda digest: leaf(digest.hex().encode("ascii")))


def patch_previous_digest_is_commit_digest() -> None:
    """Chain each checkpoint to the previous one's commitDigest, not to its own digest."""
    from twin_reference import _committing

    original: Callable[..., dict[str, Any]] = getattr(_committing, "make_checkpoint_summary")  # noqa: B009
    last: dict[str, bytes] = {}

    def summary(*args: Any) -> dict[str, Any]:
        chained = (*args[:5], last["digest"], *args[6:]) if last else args
        made = original(*chained)
        last["digest"] = bytes.fromhex(str(made["commitDigest"]))
        return made

    rebind(_committing, "make_checkpoint_summary", summary)


def patch_checkpoint_in_commit_vote_domain() -> None:
    """Make the node sign (and check) checkpoints in the commit-vote signing domain."""
    from twin_spec import _checkpoints

    sign = getattr(_checkpoints, "sign_message")  # noqa: B009 - a name it imports
    verify = getattr(_checkpoints, "verify_message")  # noqa: B009 - a name it imports

    def other(kind: MessageKind) -> MessageKind:
        return MessageKind.COMMIT_VOTE if kind is MessageKind.CHECKPOINT else kind

    rebind(_checkpoints, "sign_message", lambda key, kind, message: sign(key, other(kind), message))
    rebind(
        _checkpoints,
        "verify_message",
        lambda key, kind, message, signature: verify(key, other(kind), message, signature),
    )


def _extra_validators(count: int) -> list[dict[str, Any]]:
    """Validators of fixed made-up keys, as a committee file copied from elsewhere holds."""
    keys = [Ed25519SigningKey(hashlib.sha256(b"absent-%d" % i).digest()) for i in range(count)]
    return [
        {"publicKey": did_key_from_public_key(key.public_key).removeprefix("did:key:"), "stake": 1}
        for key in keys
    ]


async def committee_of_four(request: HttpRequest, context: Context) -> HttpResponse:
    """Publish a committee of four (three absent validators) while the node signs alone."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return response
    validators = list(body.get("validators", []))
    for extra in _extra_validators(3):
        validators.append({"index": len(validators), **extra})
    return with_json(response, {**body, "validators": validators})


async def committee_of_next_epoch(request: HttpRequest, context: Context) -> HttpResponse:
    """Publish the committee with an epoch one above the one the node certifies in."""
    response = await context.forward(request)
    body = response.json()
    if (
        response.status != 200
        or not isinstance(body, dict)
        or not isinstance(body.get("epoch"), int)
    ):
        return response
    return with_json(response, {**body, "epoch": body["epoch"] + 1})


async def verify_reports_epoch_mismatch(request: HttpRequest, context: Context) -> HttpResponse:
    """Report every receipt as checkpointEpochMismatch (checked against the next epoch)."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict) or body.get("verified") is not True:
        return response
    return with_json(response, {**body, "verified": False, "failure": "checkpointEpochMismatch"})


FAULTS = (
    fault(
        "merkle-without-prefixes",
        "anchoring",
        "TWIN-ANCHORING-010",
        "Merkle leaves and nodes are hashed with no 0x00 / 0x01 prefix (roots and proofs alike)",
        patch=patch_merkle_without_prefixes,
    ),
    fault(
        "leaf-index-from-one",
        "anchoring",
        "TWIN-ANCHORING-011",
        "receipts count the inclusion proof's leafIndex from 1 (treeSize 1 has leafIndex 1)",
        rules=_receipts_changed(leaf_index_from_one),
    ),
    fault(
        "hash-algorithm-upper-case",
        "anchoring",
        "TWIN-ANCHORING-012",
        "receipts name the inclusion proof's hashAlgorithm SHA-256, not sha-256",
        rules=_receipts_changed(hash_algorithm_upper_case),
    ),
    fault(
        "merkle-leaves-hex-text",
        "anchoring",
        "TWIN-ANCHORING-022",
        "transactionsRoot is the Merkle root over the digests' hex text, not their raw bytes",
        patch=patch_hex_text_leaves,
    ),
    fault(
        "checkpoint-chained-to-commit",
        "anchoring",
        "TWIN-ANCHORING-023",
        "a checkpoint's previousDigest is the previous checkpoint's commitDigest, not its digest",
        patch=patch_previous_digest_is_commit_digest,
        run_profile="consensus",
    ),
    fault(
        "checkpoint-in-commit-vote-domain",
        "anchoring",
        "TWIN-ANCHORING-024",
        "checkpoints are signed (and checked) in the commit-vote signing domain",
        patch=patch_checkpoint_in_commit_vote_domain,
    ),
    fault(
        "committee-of-four-signed-by-one",
        "anchoring",
        "TWIN-ANCHORING-026",
        "GET /consensus/committee lists four validators while the node certifies checkpoints "
        "with its one signature, below the quorum of three",
        rules=(rule("GET", "/consensus/committee", committee_of_four),),
    ),
    fault(
        "committee-epoch-ahead",
        "anchoring",
        "TWIN-ANCHORING-027",
        "GET /consensus/committee names epoch 1 while the node certifies checkpoints of epoch 0",
        rules=(rule("GET", "/consensus/committee", committee_of_next_epoch),),
    ),
    fault(
        "receipt-type-renamed",
        "anchoring",
        "TWIN-ANCHORING-028",
        "receipts are typed LedgerReceipt, not TwinLedgerReceipt",
        rules=_receipts_changed(receipt_type_renamed),
    ),
    fault(
        "verify-route-wrong-epoch",
        "anchoring",
        "TWIN-ANCHORING-030",
        "GET /immutable-proof/{id}/verify checks receipts against the next epoch's committee: "
        "every one fails as checkpointEpochMismatch",
        rules=(rule("GET", "/immutable-proof/[^/]+/verify", verify_reports_epoch_mismatch),),
    ),
)
