"""Transactions, consensus blocks and block references: their JSON, digests and signatures.

A block is JSON signed by its author under the ``block`` signing domain; its digest covers the
signed block, so a reference (round, author, digest) pins both the content and the signature.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from twin_spec._committee import Committee
from twin_spec._ed25519 import Ed25519SigningKey
from twin_spec._errors import LedgerError, SignatureError
from twin_spec._jcs import JSONValue, canonicalize
from twin_spec._ledger_json import (
    Fail,
    encode_signature,
    ledger_fail,
    read_digest,
    read_int,
    read_list,
    read_object,
    read_signature,
    read_str,
)
from twin_spec._signing_domains import MessageKind, sign_message, verify_message

MAX_BLOCK_TRANSACTIONS = 1024
MAX_TRANSACTION_BYTES = 65536
_TRANSACTION = "TWIN-ANCHORING-020"
_FORMAT = "TWIN-CONSENSUS-004"
_SIGNATURE = "TWIN-CONSENSUS-005"
_TX_MEMBERS = ("type", "sender", "nonce", "timestampMs", "payload")
_BLOCK_MEMBERS = ("epoch", "round", "author", "timestampMs", "ancestors", "transactions")


def check_transaction(tx: object, field: str = "transaction") -> Mapping[str, object]:
    """Check a transaction's required members and size; raise :class:`LedgerError` if wrong."""
    # TWIN-ANCHORING-020 "A transaction MUST be a JSON object with at least type, sender and
    # nonce strings, an integer timestampMs and an object payload; its digest is SHA-256 of its
    # JCS form."
    body = read_object(tx, field, ledger_fail, _TRANSACTION, _TX_MEMBERS, _any_member(tx))
    for name in ("type", "sender", "nonce"):
        read_str(body[name], f"{field}.{name}", ledger_fail, _TRANSACTION)
    read_int(body["timestampMs"], f"{field}.timestampMs", ledger_fail, _TRANSACTION)
    if not isinstance(body["payload"], Mapping):
        raise ledger_fail(f"{field}.payload", "must be a JSON object", _TRANSACTION)
    if len(canonicalize(body)) > MAX_TRANSACTION_BYTES:
        raise ledger_fail(field, f"is over {MAX_TRANSACTION_BYTES} bytes of JCS", _FORMAT)
    return body


def transaction_digest(tx: object) -> bytes:
    """Return SHA-256(JCS(transaction)), after checking the transaction's shape."""
    return hashlib.sha256(canonicalize(check_transaction(tx))).digest()


@dataclass(frozen=True, order=True)
class BlockRef:
    """A reference to a block: its round, its author's index and its digest."""

    round: int
    author: int
    digest: bytes

    def to_json(self) -> dict[str, JSONValue]:
        """Return ``{"round", "author", "digest"}`` with the digest in lowercase hex."""
        return {"round": self.round, "author": self.author, "digest": self.digest.hex()}

    @classmethod
    def from_json(
        cls, value: object, field: str = "ref", fail: Fail = ledger_fail, requirement: str = _FORMAT
    ) -> BlockRef:
        """Read a block reference strictly, naming ``field`` in any error."""
        body = read_object(value, field, fail, requirement, ("round", "author", "digest"))
        return cls(
            read_int(body["round"], f"{field}.round", fail, requirement),
            read_int(body["author"], f"{field}.author", fail, requirement),
            read_digest(body["digest"], f"{field}.digest", fail, requirement),
        )


def block_digest(block: Mapping[str, object]) -> bytes:
    """Return SHA-256(JCS(block)) of the signed block (signature included)."""
    # TWIN-CONSENSUS-006 "A block's digest MUST be SHA-256 over the JCS form of the signed block,
    # signature included."
    return hashlib.sha256(canonicalize(block)).digest()


def block_ref(block: Mapping[str, object]) -> BlockRef:
    """Return the reference of a (well-formed) block."""
    body = read_object(block, "block", ledger_fail, _FORMAT, (*_BLOCK_MEMBERS, "signature"))
    return BlockRef(
        read_int(body["round"], "block.round", ledger_fail, _FORMAT),
        read_int(body["author"], "block.author", ledger_fail, _FORMAT),
        block_digest(block),
    )


def sign_block(
    key: Ed25519SigningKey, unsigned_block: Mapping[str, object]
) -> dict[str, JSONValue]:
    """Return the block with ``signature`` added: the author's signature in the block domain."""
    if "signature" in unsigned_block:
        raise LedgerError("the block to sign already has a signature", field="block.signature")
    # TWIN-CONSENSUS-005 "A block MUST be signed by its author over the block without its
    # signature member, in the block signing domain; the signature is z-base58btc of 64 bytes."
    signature = sign_message(key, MessageKind.BLOCK, unsigned_block)
    signed = {**unsigned_block, "signature": encode_signature(signature)}
    return cast(dict[str, JSONValue], signed)


def verify_block_signature(block: Mapping[str, object], committee: Committee) -> None:
    """Check the block's signature under its author's committee key, in the block domain."""
    body = read_object(block, "block", ledger_fail, _FORMAT, (*_BLOCK_MEMBERS, "signature"))
    author = read_int(body["author"], "block.author", ledger_fail, _FORMAT)
    if author >= committee.size:
        raise ledger_fail("block.author", f"{author} is not in the committee", _SIGNATURE)
    signature = read_signature(body["signature"], "block.signature", ledger_fail, _SIGNATURE)
    unsigned = {name: value for name, value in body.items() if name != "signature"}
    try:
        verify_message(
            committee.validator(author).public_key, MessageKind.BLOCK, unsigned, signature
        )
    except SignatureError as exc:
        raise ledger_fail(
            "block.signature",
            f"does not verify under validator {author}: {exc.message}",
            _SIGNATURE,
        ) from None


def genesis_blocks(committee: Committee) -> list[dict[str, JSONValue]]:
    """Return the round-0 blocks, one per validator, fixed by the committee alone."""
    # TWIN-CONSENSUS-007 "Genesis MUST be one unsigned block per validator at round 0:
    # {epoch, round 0, author i, timestampMs 0, no ancestors, no transactions, signature ""}."
    return [
        {
            "epoch": committee.epoch,
            "round": 0,
            "author": validator.index,
            "timestampMs": 0,
            "ancestors": [],
            "transactions": [],
            "signature": "",
        }
        for validator in committee.validators
    ]


def genesis_refs(committee: Committee) -> list[BlockRef]:
    """Return the references of the genesis blocks, in author order."""
    return [block_ref(block) for block in genesis_blocks(committee)]


def check_block(block: object, committee: Committee) -> BlockRef:
    """Check everything about a received block that needs no other block; return its ref.

    The DAG checks that the ancestors exist and that the timestamp is not below theirs.
    """
    body = read_object(block, "block", ledger_fail, _FORMAT, (*_BLOCK_MEMBERS, "signature"))
    # TWIN-CONSENSUS-004 "A block MUST be a JSON object with exactly epoch, round, author,
    # timestampMs (integers), ancestors (block references), transactions and signature."
    epoch = read_int(body["epoch"], "block.epoch", ledger_fail, _FORMAT)
    round_ = read_int(body["round"], "block.round", ledger_fail, _FORMAT)
    author = read_int(body["author"], "block.author", ledger_fail, _FORMAT)
    read_int(body["timestampMs"], "block.timestampMs", ledger_fail, _FORMAT)
    raw_ancestors = read_list(
        body["ancestors"], "block.ancestors", ledger_fail, _FORMAT, max_items=committee.size
    )
    ancestors = [
        BlockRef.from_json(item, f"block.ancestors[{position}]")
        for position, item in enumerate(raw_ancestors)
    ]
    transactions = read_list(
        body["transactions"],
        "block.transactions",
        ledger_fail,
        _FORMAT,
        max_items=MAX_BLOCK_TRANSACTIONS,
    )
    for position, tx in enumerate(transactions):
        check_transaction(tx, f"block.transactions[{position}]")
    _check_header(epoch, round_, author, committee)
    verify_block_signature(body, committee)
    _check_ancestors(round_, author, ancestors, committee)
    return BlockRef(round_, author, block_digest(body))


def _check_header(epoch: int, round_: int, author: int, committee: Committee) -> None:
    # TWIN-CONSENSUS-008 "A received block MUST be rejected unless its epoch is the committee's,
    # its round is above 0 and its author is a committee index."
    rule = "TWIN-CONSENSUS-008"
    if epoch != committee.epoch:
        raise ledger_fail("block.epoch", f"{epoch} is not the committee's {committee.epoch}", rule)
    if round_ == 0:
        raise ledger_fail("block.round", "0 is the genesis round; no block is sent at it", rule)
    if author >= committee.size:
        raise ledger_fail("block.author", f"{author} is not below the committee size", rule)


def _check_ancestors(
    round_: int, author: int, ancestors: list[BlockRef], committee: Committee
) -> None:
    # TWIN-CONSENSUS-009 "Ancestors MUST be non-empty and at most one per author; the first is the
    # author's own earlier block; every one is from an earlier round; round-0 ones are genesis
    # refs; those of the previous round carry quorum stake."
    rule = "TWIN-CONSENSUS-009"
    if not ancestors:
        raise ledger_fail("block.ancestors", "must not be empty", rule)
    if ancestors[0].author != author:
        raise ledger_fail("block.ancestors[0]", "must be the author's own earlier block", rule)
    genesis = set(genesis_refs(committee)) if any(ref.round == 0 for ref in ancestors) else set()
    seen: set[int] = set()
    for position, ref in enumerate(ancestors):
        field = f"block.ancestors[{position}]"
        if ref.author >= committee.size:
            raise ledger_fail(f"{field}.author", f"{ref.author} is not in the committee", rule)
        if ref.author in seen:
            raise ledger_fail(f"{field}.author", f"a second ancestor by {ref.author}", rule)
        seen.add(ref.author)
        if ref.round >= round_:
            raise ledger_fail(f"{field}.round", f"{ref.round} is not below {round_}", rule)
        if ref.round == 0 and ref not in genesis:
            raise ledger_fail(f"{field}.digest", "is not the digest of a genesis block", rule)
    parents = [ref.author for ref in ancestors if ref.round == round_ - 1]
    if not committee.is_quorum(parents):
        raise ledger_fail(
            "block.ancestors",
            f"round {round_ - 1} ancestors carry stake {committee.stake_of(parents)}, "
            f"below the quorum {committee.quorum_threshold}",
            rule,
        )


def _any_member(value: object) -> tuple[str, ...]:
    """All member names of an object: transactions may carry members beyond the required."""
    return tuple(str(name) for name in value) if isinstance(value, Mapping) else ()
