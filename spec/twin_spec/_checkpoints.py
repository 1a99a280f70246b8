"""Checkpoints: a commit's summary, chained and certified by a quorum of the committee.

A light client that trusts the committee trusts a certified summary, and through its
``transactionsRoot`` every transaction of the commit, without talking to any node.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from typing import NamedTuple, cast

from twin_spec._blocks import transaction_digest
from twin_spec._committee import Committee
from twin_spec._ed25519 import Ed25519SigningKey
from twin_spec._errors import (
    LedgerError,
    ReceiptFailure,
    ReceiptVerificationError,
    SignatureError,
    TwinSpecError,
)
from twin_spec._jcs import JSONValue, canonicalize
from twin_spec._ledger_json import (
    ZERO_DIGEST,
    Fail,
    encode_signature,
    ledger_fail,
    read_digest,
    read_int,
    read_list,
    read_object,
    read_signature,
)
from twin_spec._merkle import merkle_tree_hash
from twin_spec._signing_domains import MessageKind, sign_message, verify_message

_SUMMARY = "TWIN-ANCHORING-021"
_CHAIN = "TWIN-ANCHORING-023"
_SIGNED = "TWIN-ANCHORING-024"
_CERTIFIED = "TWIN-ANCHORING-025"
_TRANSACTIONS = "TWIN-CONSENSUS-134"
_SUMMARY_MEMBERS = (
    "epoch",
    "sequence",
    "commitIndex",
    "commitDigest",
    "transactionsRoot",
    "transactionCount",
    "previousDigest",
    "timestampMs",
    "nextCommittee",
)


class SummaryFields(NamedTuple):
    """The typed members of a checkpoint summary."""

    epoch: int
    sequence: int
    commit_index: int
    commit_digest: bytes
    transactions_root: bytes
    transaction_count: int
    previous_digest: bytes
    timestamp_ms: int


def make_checkpoint_summary(
    epoch: int,
    sequence: int,
    commit_index: int,
    commit_digest: bytes,
    transaction_digests: Sequence[bytes],
    previous_digest: bytes,
    timestamp_ms: int,
) -> dict[str, JSONValue]:
    """Return the summary of one commit's checkpoint over its transactions' digests."""
    # TWIN-ANCHORING-022 "transactionsRoot MUST be the RFC 9162 root over the leaves that are the
    # raw 32-byte transaction digests in commit order, and transactionCount their number."
    if any(len(digest) != 32 for digest in transaction_digests):
        raise LedgerError("a transaction digest is not 32 bytes", field="transactionDigests")
    summary: dict[str, JSONValue] = {
        "epoch": epoch,
        "sequence": sequence,
        "commitIndex": commit_index,
        "commitDigest": commit_digest.hex(),
        "transactionsRoot": merkle_tree_hash(transaction_digests).hex(),
        "transactionCount": len(transaction_digests),
        "previousDigest": previous_digest.hex(),
        "timestampMs": timestamp_ms,
        "nextCommittee": None,
    }
    read_checkpoint_summary(summary)
    return summary


def read_checkpoint_summary(
    value: object, field: str = "summary", fail: Fail = ledger_fail
) -> SummaryFields:
    """Read a checkpoint summary strictly, naming the bad member."""
    # TWIN-ANCHORING-021 "A checkpoint summary MUST hold exactly epoch, sequence (from 1, one per
    # commit), commitIndex, commitDigest, transactionsRoot, transactionCount, previousDigest,
    # timestampMs and nextCommittee (null)."
    body = read_object(value, field, fail, _SUMMARY, _SUMMARY_MEMBERS)
    if body["nextCommittee"] is not None:
        raise fail(f"{field}.nextCommittee", "must be null", _SUMMARY)
    return SummaryFields(
        read_int(body["epoch"], f"{field}.epoch", fail, _SUMMARY),
        read_int(body["sequence"], f"{field}.sequence", fail, _SUMMARY, minimum=1),
        read_int(body["commitIndex"], f"{field}.commitIndex", fail, _SUMMARY, minimum=1),
        read_digest(body["commitDigest"], f"{field}.commitDigest", fail, _SUMMARY),
        read_digest(body["transactionsRoot"], f"{field}.transactionsRoot", fail, _SUMMARY),
        read_int(body["transactionCount"], f"{field}.transactionCount", fail, _SUMMARY),
        read_digest(body["previousDigest"], f"{field}.previousDigest", fail, _SUMMARY),
        read_int(body["timestampMs"], f"{field}.timestampMs", fail, _SUMMARY),
    )


def checkpoint_digest(summary: Mapping[str, object]) -> bytes:
    """Return SHA-256(JCS(summary))."""
    return hashlib.sha256(canonicalize(summary)).digest()


def check_checkpoint_transactions(
    summary: Mapping[str, object], transactions: Sequence[object]
) -> list[bytes]:
    """Check that ``transactions`` are the summary's, in commit order; return their digests.

    With the summary certified, an auditor, or a validator past its peers' block retention,
    trusts the transactions a node serves without trusting the node.
    """
    # TWIN-CONSENSUS-134 "A validator MUST serve the transactions of each certified checkpoint
    # it holds in commit order and exactly as committed (GET
    # /consensus/checkpoints/{sequence}/transactions), so that their digests, in that order,
    # are the leaves of the summary's transactionsRoot and their number its transactionCount."
    fields = read_checkpoint_summary(summary)
    if len(transactions) != fields.transaction_count:
        raise LedgerError(
            f"{len(transactions)} transactions for a summary of {fields.transaction_count}",
            field="transactions",
            requirement=_TRANSACTIONS,
        )
    digests: list[bytes] = []
    for position, transaction in enumerate(transactions):
        try:
            digests.append(transaction_digest(transaction))
        except (TwinSpecError, ValueError, RecursionError) as exc:
            reason = getattr(exc, "message", None) or str(exc)
            raise LedgerError(
                f"transaction {position} is not a transaction: {reason}",
                field=f"transactions[{position}]",
                requirement=_TRANSACTIONS,
            ) from exc
    if merkle_tree_hash(digests) != fields.transactions_root:
        raise LedgerError(
            "the transactions' digests in this order are not the summary's transactionsRoot",
            field="transactions",
            requirement=_TRANSACTIONS,
        )
    return digests


def check_checkpoint_follows(
    previous: Mapping[str, object] | None, summary: Mapping[str, object]
) -> None:
    """Check that ``summary`` chains onto ``previous`` (None: that it is the first)."""
    # TWIN-ANCHORING-023 "A summary's digest MUST be SHA-256 of its JCS form; sequence rises by
    # one from 1 and previousDigest is the previous summary's digest (64 zeros for sequence 1)."
    fields = read_checkpoint_summary(summary)
    if previous is None:
        expected, digest, floor = 1, ZERO_DIGEST, 0
    else:
        before = read_checkpoint_summary(previous, "previous")
        expected, digest, floor = (
            before.sequence + 1,
            checkpoint_digest(previous),
            before.timestamp_ms,
        )
    if fields.sequence != expected:
        raise ledger_fail("summary.sequence", f"is {fields.sequence}, expected {expected}", _CHAIN)
    if fields.previous_digest != digest:
        raise ledger_fail("summary.previousDigest", f"is not {digest.hex()}", _CHAIN)
    if fields.timestamp_ms < floor:
        raise ledger_fail("summary.timestampMs", f"is below the previous {floor}", _CHAIN)


def sign_checkpoint(
    key: Ed25519SigningKey, signer_index: int, summary: Mapping[str, object]
) -> dict[str, JSONValue]:
    """Return one signature entry ``{"signer", "signature"}`` over the summary."""
    return checkpoint_signature_entry(signer_index, checkpoint_signature(key, summary))


def checkpoint_signature(key: Ed25519SigningKey, summary: Mapping[str, object]) -> bytes:
    """Return the 64 bytes of ``key``'s signature over the summary (for a signature entry)."""
    # TWIN-ANCHORING-024 "A checkpoint signature MUST be the signer's Ed25519 signature over the
    # summary in the checkpoint signing domain, carried as {signer, signature} with the signer's
    # committee index and z-base58btc of the 64 bytes."
    read_checkpoint_summary(summary)
    return sign_message(key, MessageKind.CHECKPOINT, summary)


def checkpoint_signature_entry(signer_index: int, signature: bytes) -> dict[str, JSONValue]:
    """Return the signature entry ``{"signer", "signature"}`` carrying the 64 bytes."""
    return {"signer": signer_index, "signature": encode_signature(signature)}


def certify_checkpoint(
    summary: Mapping[str, object], signature_entries: Sequence[Mapping[str, object]]
) -> dict[str, JSONValue]:
    """Return ``{"summary", "signatures"}`` with the entries sorted by signer."""
    entries = sorted(signature_entries, key=lambda entry: _signer_key(entry))
    for first, second in itertools.pairwise(entries):
        if first["signer"] == second["signer"]:
            raise LedgerError(
                f"two signatures by signer {first['signer']}",
                field="signatures",
                requirement=_CERTIFIED,
            )
    read_checkpoint_summary(summary)
    signatures: list[JSONValue] = [cast(dict[str, JSONValue], dict(entry)) for entry in entries]
    return {"summary": cast(dict[str, JSONValue], dict(summary)), "signatures": signatures}


class CertifiedCheckpoint(NamedTuple):
    """A certified checkpoint read from JSON, not yet verified."""

    summary: dict[str, JSONValue]
    fields: SummaryFields
    signatures: tuple[tuple[int, bytes], ...]


def read_certified_checkpoint(
    certified: object, *, field: str = "checkpoint", max_signers: int = 1024
) -> CertifiedCheckpoint:
    """Read a certified checkpoint's shape; a bad member fails as receiptMalformed."""
    fail = malformed
    body = read_object(certified, field, fail, _CERTIFIED, ("summary", "signatures"))
    fields = read_checkpoint_summary(body["summary"], f"{field}.summary", fail)
    items = read_list(
        body["signatures"], f"{field}.signatures", fail, _CERTIFIED, max_items=max_signers
    )
    entries: list[tuple[int, bytes]] = []
    for position, item in enumerate(items):
        at = f"{field}.signatures[{position}]"
        entry = read_object(item, at, fail, _SIGNED, ("signer", "signature"))
        signer = read_int(entry["signer"], f"{at}.signer", fail, _SIGNED)
        signature = read_signature(entry["signature"], f"{at}.signature", fail, _SIGNED)
        entries.append((signer, signature))
    summary = dict(cast(Mapping[str, JSONValue], body["summary"]))
    return CertifiedCheckpoint(summary, fields, tuple(entries))


def verify_certified_checkpoint(
    certified: object, committee: Committee, *, field: str = "checkpoint"
) -> dict[str, JSONValue]:
    """Verify a certified checkpoint against the committee; return its summary.

    Raises :class:`ReceiptVerificationError` whose ``part`` says what failed: receiptMalformed,
    checkpointEpochMismatch, checkpointSignature or checkpointQuorum.
    """
    parsed = read_certified_checkpoint(certified, field=field, max_signers=committee.size)
    return check_certified_checkpoint(parsed, committee, field=field)


def check_certified_checkpoint(
    parsed: CertifiedCheckpoint, committee: Committee, *, field: str = "checkpoint"
) -> dict[str, JSONValue]:
    """Check epoch, signatures and quorum of a certified checkpoint already read."""
    fields, summary, entries = parsed.fields, parsed.summary, parsed.signatures
    # TWIN-ANCHORING-027 "A verifier MUST reject a checkpoint whose epoch is not the epoch of the
    # committee it trusts, as checkpointEpochMismatch."
    if fields.epoch != committee.epoch:
        raise ReceiptVerificationError(
            ReceiptFailure.CHECKPOINT_EPOCH_MISMATCH,
            f"{field}.summary.epoch is {fields.epoch}, the committee's epoch is {committee.epoch}",
            field=f"{field}.summary.epoch",
            requirement="TWIN-ANCHORING-027",
        )
    # TWIN-ANCHORING-025 "A certified checkpoint MUST list signers as distinct committee indices
    # in ascending order, and every listed signature MUST verify; otherwise checkpointSignature."
    previous = -1
    for position, (signer, signature) in enumerate(entries):
        at = f"{field}.signatures[{position}]"
        if signer >= committee.size:
            raise _bad_signature(f"{at}.signer", f"{signer} is not a committee index")
        if signer <= previous:
            raise _bad_signature(f"{at}.signer", f"{signer} is not above the previous {previous}")
        previous = signer
        key = committee.validator(signer).public_key
        try:
            verify_message(key, MessageKind.CHECKPOINT, summary, signature)
        except SignatureError as exc:
            raise _bad_signature(f"{at}.signature", f"does not verify: {exc.message}") from None
    # TWIN-ANCHORING-026 "The signers' stake MUST reach the committee's quorum threshold, or the
    # checkpoint fails as checkpointQuorum."
    stake = committee.stake_of(signer for signer, _ in entries)
    if stake < committee.quorum_threshold:
        raise ReceiptVerificationError(
            ReceiptFailure.CHECKPOINT_QUORUM,
            f"{field}: signers hold stake {stake}, below the quorum {committee.quorum_threshold}",
            field=f"{field}.signatures",
            requirement="TWIN-ANCHORING-026",
        )
    return summary


def malformed(field: str, message: str, requirement: str) -> ReceiptVerificationError:
    """Build the receiptMalformed failure for a bad field."""
    # TWIN-ANCHORING-031 "A verifier MUST report a receipt with a missing or unknown member, a
    # wrong type, or bad hex or multibase as receiptMalformed naming the field, never crash."
    return ReceiptVerificationError(
        ReceiptFailure.RECEIPT_MALFORMED,
        f"{field}: {message}",
        field=field,
        requirement=requirement,
    )


def _bad_signature(field: str, message: str) -> ReceiptVerificationError:
    return ReceiptVerificationError(
        ReceiptFailure.CHECKPOINT_SIGNATURE,
        f"{field}: {message}",
        field=field,
        requirement=_CERTIFIED,
    )


def _signer_key(entry: Mapping[str, object]) -> int:
    signer = entry.get("signer")
    if isinstance(signer, bool) or not isinstance(signer, int):
        raise LedgerError("a signature entry's signer must be an integer", field="signer")
    return signer
