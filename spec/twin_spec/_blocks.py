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
from twin_spec._errors import (
    BlockRejectedError,
    BlockRejection,
    CanonicalizationError,
    LedgerError,
    SignatureError,
    TwinSpecError,
)
from twin_spec._jcs import MAX_SAFE_INTEGER, JSONValue, canonicalize
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
from twin_spec._limits import (
    MAX_TRANSACTION_BYTES,
    MAX_TRANSACTION_DEPTH,
    check_transaction_limits,
    json_depth,
)
from twin_spec._signing_domains import MessageKind, sign_message, verify_message

MAX_BLOCK_TRANSACTIONS = 1024
_TRANSACTION = "TWIN-ANCHORING-020"
_FORMAT = "TWIN-CONSENSUS-004"
_SIGNATURE = "TWIN-CONSENSUS-005"
_HEADER = "TWIN-CONSENSUS-008"
_ANCESTORS = "TWIN-CONSENSUS-009"
_DAG = "TWIN-CONSENSUS-013"
_ANCESTOR_AUTHOR = "TWIN-CONSENSUS-014"
_OWN_FIRST = "TWIN-CONSENSUS-015"
_TX_DEPTH = "TWIN-CONSENSUS-130"
_TX_MEMBERS = ("type", "sender", "nonce", "timestampMs", "payload")
_BLOCK_MEMBERS = ("epoch", "round", "author", "timestampMs", "ancestors", "transactions")


def check_transaction(tx: object, field: str = "transaction") -> Mapping[str, object]:
    """Check a transaction's required members and every transaction limit.

    Raises :class:`LedgerError` for a wrong shape, and its subclass
    :class:`~twin_spec._errors.TransactionLimitError` (with the limit's code) for a transaction
    over a limit of ``_limits.py``.
    """
    body = _check_transaction_shape(tx, field, ledger_fail)
    check_transaction_limits(body, field)
    return body


def _check_transaction_shape(tx: object, field: str, fail: Fail) -> Mapping[str, object]:
    # TWIN-ANCHORING-020 "A transaction MUST be a JSON object with at least type, sender and
    # nonce strings, an integer timestampMs and an object payload; its digest is SHA-256 of its
    # JCS form."
    body = read_object(tx, field, fail, _TRANSACTION, _TX_MEMBERS, _any_member(tx))
    for name in ("type", "sender", "nonce"):
        read_str(body[name], f"{field}.{name}", fail, _TRANSACTION)
    read_int(body["timestampMs"], f"{field}.timestampMs", fail, _TRANSACTION)
    if not isinstance(body["payload"], Mapping):
        raise fail(f"{field}.payload", "must be a JSON object", _TRANSACTION)
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
    """Check the block's signature under its author's committee key, in the block domain.

    Raises :class:`BlockRejectedError` (``malformed``, ``unknownAuthor`` or ``badSignature``).
    """
    body = read_object(block, "block", _MALFORMED, _FORMAT, (*_BLOCK_MEMBERS, "signature"))
    author = read_int(body["author"], "block.author", _MALFORMED, _FORMAT)
    if author >= committee.size:
        raise _reject(
            BlockRejection.UNKNOWN_AUTHOR,
            "block.author",
            f"{author} is not in the committee",
            _HEADER,
        )
    read_str(body["signature"], "block.signature", _MALFORMED, _FORMAT)
    bad_signature = _rejecting(BlockRejection.BAD_SIGNATURE)
    signature = read_signature(body["signature"], "block.signature", bad_signature, _SIGNATURE)
    unsigned = {name: value for name, value in body.items() if name != "signature"}
    try:
        verify_message(
            committee.validator(author).public_key, MessageKind.BLOCK, unsigned, signature
        )
    except (SignatureError, CanonicalizationError) as exc:
        raise bad_signature(
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

    Raises :class:`BlockRejectedError` naming the first rule broken, in the order of
    :class:`BlockRejection`. :func:`validate_block` adds the rules that need the DAG.
    """
    # TWIN-CONSENSUS-016 "A received block MUST be checked by the receive rules in the order of
    # the fixed list of rejection codes, and a block breaking several is refused for the first."
    body, ancestors, sizes = _read_block(block)
    epoch, round_, author = (cast(int, body[name]) for name in ("epoch", "round", "author"))
    _check_limits(ancestors, sizes, committee)
    _check_header(epoch, round_, author, committee)
    verify_block_signature(body, committee)
    _check_ancestors(round_, author, ancestors, committee)
    return BlockRef(round_, author, block_digest(body))


def _read_block(
    block: object,
) -> tuple[Mapping[str, object], list[BlockRef], list[tuple[int, int]]]:
    """Check the block's shape; return it, its ancestors and its transactions' sizes.

    The size of a transaction is its length in bytes of JCS and its nesting depth.
    """
    # TWIN-CONSENSUS-004 "A block MUST be a JSON object with exactly epoch, round, author,
    # timestampMs (integers), ancestors (block references), transactions and signature."
    body = read_object(block, "block", _MALFORMED, _FORMAT, (*_BLOCK_MEMBERS, "signature"))
    for name in ("epoch", "round", "author", "timestampMs"):
        read_int(body[name], f"block.{name}", _MALFORMED, _FORMAT)
    raw_ancestors = read_list(
        body["ancestors"], "block.ancestors", _MALFORMED, _FORMAT, max_items=MAX_SAFE_INTEGER
    )
    ancestors = [
        BlockRef.from_json(item, f"block.ancestors[{position}]", _MALFORMED, _FORMAT)
        for position, item in enumerate(raw_ancestors)
    ]
    transactions = read_list(
        body["transactions"], "block.transactions", _MALFORMED, _FORMAT, max_items=MAX_SAFE_INTEGER
    )
    sizes = []
    for position, tx in enumerate(transactions):
        field = f"block.transactions[{position}]"
        checked = _check_transaction_shape(tx, field, _MALFORMED)
        try:
            sizes.append((len(canonicalize(checked)), json_depth(checked)))
        except CanonicalizationError as exc:
            raise _MALFORMED(field, exc.message, _TRANSACTION) from None
    read_str(body["signature"], "block.signature", _MALFORMED, _FORMAT)
    return body, ancestors, sizes


def _check_limits(
    ancestors: list[BlockRef], sizes: list[tuple[int, int]], committee: Committee
) -> None:
    # TWIN-CONSENSUS-004 "... at most as many ancestors as the committee has validators, at
    # most 1024 transactions, each at most 65536 bytes of JCS."
    if len(ancestors) > committee.size:
        raise _reject(
            BlockRejection.TOO_MANY_ANCESTORS,
            "block.ancestors",
            f"holds {len(ancestors)} items, at most {committee.size} allowed",
            _FORMAT,
        )
    if len(sizes) > MAX_BLOCK_TRANSACTIONS:
        raise _reject(
            BlockRejection.TOO_MANY_TRANSACTIONS,
            "block.transactions",
            f"holds {len(sizes)} items, at most {MAX_BLOCK_TRANSACTIONS} allowed",
            _FORMAT,
        )
    for position, (size, _depth) in enumerate(sizes):
        if size > MAX_TRANSACTION_BYTES:
            raise _reject(
                BlockRejection.TRANSACTION_TOO_LARGE,
                f"block.transactions[{position}]",
                f"is {size} bytes of JCS, over {MAX_TRANSACTION_BYTES}",
                _FORMAT,
            )
    # TWIN-CONSENSUS-130 "A received block MUST be refused with transactionTooDeep when one of
    # its transactions nests deeper than 64 levels, a rule checked right after
    # transactionTooLarge."
    for position, (_size, depth) in enumerate(sizes):
        if depth > MAX_TRANSACTION_DEPTH:
            raise _reject(
                BlockRejection.TRANSACTION_TOO_DEEP,
                f"block.transactions[{position}]",
                f"nests {depth} levels deep, more than {MAX_TRANSACTION_DEPTH}",
                _TX_DEPTH,
            )


def _check_header(epoch: int, round_: int, author: int, committee: Committee) -> None:
    # TWIN-CONSENSUS-008 "A received block MUST be rejected unless its epoch is the committee's,
    # its round is above 0 and its author is a committee index."
    if epoch != committee.epoch:
        raise _reject(
            BlockRejection.WRONG_EPOCH,
            "block.epoch",
            f"{epoch} is not the committee's {committee.epoch}",
            _HEADER,
        )
    if round_ == 0:
        raise _reject(
            BlockRejection.ROUND_ZERO,
            "block.round",
            "0 is the genesis round; no block is sent at it",
            _HEADER,
        )
    if author >= committee.size:
        raise _reject(
            BlockRejection.UNKNOWN_AUTHOR,
            "block.author",
            f"{author} is not below the committee size",
            _HEADER,
        )


def _check_ancestors(
    round_: int, author: int, ancestors: list[BlockRef], committee: Committee
) -> None:
    # TWIN-CONSENSUS-009 "Ancestors MUST be non-empty and at most one per author; the first is the
    # author's own earlier block; every one is from an earlier round; round-0 ones are genesis
    # refs; those of the previous round carry quorum stake."
    # Each rule is one pass over the ancestors, so the first rule broken is the one reported.
    if not ancestors:
        raise _reject(
            BlockRejection.NO_ANCESTORS, "block.ancestors", "must not be empty", _ANCESTORS
        )
    fields = [f"block.ancestors[{position}]" for position in range(len(ancestors))]
    # TWIN-CONSENSUS-014 "Every ancestor's author MUST be a committee index."
    for field, ref in zip(fields, ancestors, strict=True):
        if ref.author >= committee.size:
            raise _reject(
                BlockRejection.UNKNOWN_ANCESTOR_AUTHOR,
                f"{field}.author",
                f"{ref.author} is not in the committee",
                _ANCESTOR_AUTHOR,
            )
    if ancestors[0].author != author:
        raise _reject(
            BlockRejection.FIRST_ANCESTOR_NOT_OWN,
            fields[0],
            "must be the author's own earlier block",
            _ANCESTORS,
        )
    # TWIN-CONSENSUS-015 "No ancestor but the first MUST be a block of the block's own author."
    for field, ref in zip(fields[1:], ancestors[1:], strict=True):
        if ref.author == author:
            raise _reject(
                BlockRejection.OWN_ANCESTOR_NOT_FIRST,
                f"{field}.author",
                "only the first ancestor may be the author's own block",
                _OWN_FIRST,
            )
    for field, ref in zip(fields, ancestors, strict=True):
        if ref.round >= round_:
            raise _reject(
                BlockRejection.ANCESTOR_ROUND_NOT_BELOW,
                f"{field}.round",
                f"{ref.round} is not below {round_}",
                _ANCESTORS,
            )
    genesis = set(genesis_refs(committee)) if any(ref.round == 0 for ref in ancestors) else set()
    for field, ref in zip(fields, ancestors, strict=True):
        if ref.round == 0 and ref not in genesis:
            raise _reject(
                BlockRejection.UNKNOWN_GENESIS_ANCESTOR,
                f"{field}.digest",
                "is not the digest of a genesis block",
                _ANCESTORS,
            )
    seen: set[int] = set()
    for field, ref in zip(fields, ancestors, strict=True):
        if ref.author in seen:
            raise _reject(
                BlockRejection.DUPLICATE_ANCESTOR_AUTHOR,
                f"{field}.author",
                f"a second ancestor by {ref.author}",
                _ANCESTORS,
            )
        seen.add(ref.author)
    parents = [ref.author for ref in ancestors if ref.round == round_ - 1]
    if not committee.is_quorum(parents):
        raise _reject(
            BlockRejection.PARENT_QUORUM_MISSING,
            "block.ancestors",
            f"round {round_ - 1} ancestors carry stake {committee.stake_of(parents)}, "
            f"below the quorum {committee.quorum_threshold}",
            _ANCESTORS,
        )


def _rejecting(code: BlockRejection) -> Fail:
    """A ``fail`` for the JSON readers that refuses the block with ``code``."""

    def fail(field: str, message: str, requirement: str) -> TwinSpecError:
        return BlockRejectedError(code, f"{field}: {message}", field=field, requirement=requirement)

    return fail


def _reject(code: BlockRejection, field: str, message: str, requirement: str) -> TwinSpecError:
    return _rejecting(code)(field, message, requirement)


_MALFORMED = _rejecting(BlockRejection.MALFORMED)


def _any_member(value: object) -> tuple[str, ...]:
    """All member names of an object: transactions may carry members beyond the required."""
    return tuple(str(name) for name in value) if isinstance(value, Mapping) else ()
