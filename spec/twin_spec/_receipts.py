"""TwinLedgerReceipt: offline proof that a transaction is in a checkpoint the committee certified.

A receipt carries the transaction digest, its Merkle inclusion proof and the certified
checkpoint; anyone holding the committee verifies it without asking any node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from twin_spec._checkpoints import (
    check_certified_checkpoint,
    malformed,
    read_certified_checkpoint,
    read_checkpoint_summary,
)
from twin_spec._committee import Committee
from twin_spec._errors import (
    LedgerError,
    MerkleProofError,
    ReceiptFailure,
    ReceiptVerificationError,
)
from twin_spec._jcs import JSONValue
from twin_spec._ledger_json import read_digest, read_object, read_str
from twin_spec._merkle import (
    InclusionProof,
    inclusion_proof,
    leaf_hash,
    merkle_tree_hash,
    verify_inclusion_proof,
)

RECEIPT_TYPE = "TwinLedgerReceipt"
_FORMAT = "TWIN-ANCHORING-028"
_PROOF = "TWIN-ANCHORING-029"
_MEMBERS = ("type", "transactionDigest", "inclusionProof", "checkpoint")
_PROOF_MEMBERS = ("type", "hashAlgorithm", "leafIndex", "treeSize", "auditPath")


def make_receipt(
    transaction_digest: bytes,
    transaction_digests_of_checkpoint: Sequence[bytes],
    certified_checkpoint: Mapping[str, object],
) -> dict[str, JSONValue]:
    """Return the receipt of one transaction of a certified checkpoint."""
    # TWIN-ANCHORING-028 "A receipt MUST be {type "TwinLedgerReceipt", transactionDigest,
    # inclusionProof, checkpoint}: the digest in hex, a MerkleInclusionProof and the certified
    # checkpoint, with no other members."
    digests = list(transaction_digests_of_checkpoint)
    if transaction_digest not in digests:
        raise LedgerError("the transaction is not in the checkpoint", field="transactionDigest")
    summary = read_checkpoint_summary(certified_checkpoint.get("summary"), "checkpoint.summary")
    if summary.transaction_count != len(digests) or summary.transactions_root != merkle_tree_hash(
        digests
    ):
        raise LedgerError(
            "the digests given are not the checkpoint's transactions", field="checkpoint"
        )
    proof = inclusion_proof(digests, digests.index(transaction_digest))
    return {
        "type": RECEIPT_TYPE,
        "transactionDigest": transaction_digest.hex(),
        "inclusionProof": proof.to_json(),
        "checkpoint": cast(dict[str, JSONValue], dict(certified_checkpoint)),
    }


def verify_receipt(
    receipt: object, committee: Committee, *, transaction_digest: bytes | None = None
) -> dict[str, JSONValue]:
    """Verify a receipt offline against the committee; return the certified summary.

    Checks run in a fixed order (shape, transaction, epoch, signatures, quorum, inclusion) and
    the first failure raises :class:`ReceiptVerificationError` with its ``part``.
    """
    # TWIN-ANCHORING-030 "A verifier MUST check, in order, shape, the expected transaction,
    # epoch, signatures, quorum and inclusion, and report the first failing part by name."
    body = read_object(receipt, "receipt", malformed, _FORMAT, _MEMBERS)
    kind = read_str(body["type"], "receipt.type", malformed, _FORMAT)
    if kind != RECEIPT_TYPE:
        raise malformed("receipt.type", f"is {kind!r}, expected {RECEIPT_TYPE!r}", _FORMAT)
    digest = read_digest(body["transactionDigest"], "receipt.transactionDigest", malformed, _FORMAT)
    read_object(
        body["inclusionProof"], "receipt.inclusionProof", malformed, _FORMAT, _PROOF_MEMBERS
    )
    try:
        proof = InclusionProof.from_json(cast(Mapping[str, object], body["inclusionProof"]))
    except MerkleProofError as exc:
        raise malformed("receipt.inclusionProof", exc.message, _FORMAT) from None
    checkpoint = read_certified_checkpoint(
        body["checkpoint"], field="receipt.checkpoint", max_signers=committee.size
    )
    # TWIN-ANCHORING-032 "When the verifier names the transaction it expects, a receipt for any
    # other digest MUST fail as transactionMismatch."
    if transaction_digest is not None and digest != transaction_digest:
        raise ReceiptVerificationError(
            ReceiptFailure.TRANSACTION_MISMATCH,
            f"receipt.transactionDigest is {digest.hex()}, expected {transaction_digest.hex()}",
            field="receipt.transactionDigest",
            requirement="TWIN-ANCHORING-032",
        )
    summary = check_certified_checkpoint(checkpoint, committee, field="receipt.checkpoint")
    fields = checkpoint.fields
    # TWIN-ANCHORING-029 "The inclusion proof MUST lead from leaf_hash(raw transaction digest) to
    # the certified transactionsRoot, with treeSize equal to transactionCount."
    if proof.tree_size != fields.transaction_count:
        raise _bad_proof(
            f"treeSize {proof.tree_size} is not the checkpoint's transactionCount "
            f"{fields.transaction_count}"
        )
    try:
        verify_inclusion_proof(leaf_hash(digest), proof, fields.transactions_root)
    except MerkleProofError as exc:
        raise _bad_proof(exc.message) from None
    return summary


def _bad_proof(message: str) -> ReceiptVerificationError:
    return ReceiptVerificationError(
        ReceiptFailure.INCLUSION_PROOF,
        f"receipt.inclusionProof: {message}",
        field="receipt.inclusionProof",
        requirement=_PROOF,
    )
