"""Deterministic committees, transactions and blocks the ledger tests share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twin_spec import (
    BlockRef,
    Committee,
    Ed25519SigningKey,
    Validator,
    block_ref,
    certify_checkpoint,
    genesis_refs,
    make_checkpoint_summary,
    sign_block,
    sign_checkpoint,
    transaction_digest,
)


def signing_key(index: int) -> Ed25519SigningKey:
    """A fixed key per validator index, so every run signs the same bytes."""
    return Ed25519SigningKey(bytes([index + 1]) * 32)


KEYS = [signing_key(index) for index in range(8)]


def committee(stakes: Sequence[int] = (1, 1, 1, 1), epoch: int = 0) -> Committee:
    """A committee with the given stakes, validator i holding KEYS[i]."""
    return Committee(
        epoch,
        tuple(
            Validator(index, KEYS[index].public_key, stake, f"http://127.0.0.1:{8080 + index}")
            for index, stake in enumerate(stakes)
        ),
    )


def transaction(number: int) -> dict[str, Any]:
    """A small, valid transaction distinguished by ``number``."""
    return {
        "type": "anchor",
        "sender": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "nonce": f"{number:08x}",
        "timestampMs": 1_700_000_000_000 + number,
        "payload": {"document": f"sha256:{number}"},
    }


def make_block(
    author: int,
    round_: int,
    ancestors: Sequence[BlockRef],
    *,
    epoch: int = 0,
    transactions: Sequence[dict[str, Any]] = (),
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """A block signed by validator ``author``."""
    unsigned = {
        "epoch": epoch,
        "round": round_,
        "author": author,
        "timestampMs": 1_700_000_000_000 + round_ if timestamp_ms is None else timestamp_ms,
        "ancestors": [ref.to_json() for ref in ancestors],
        "transactions": list(transactions),
    }
    return sign_block(KEYS[author], unsigned)


def round_one(members: Committee) -> list[dict[str, Any]]:
    """Every validator's round-1 block over all genesis blocks (own first)."""
    genesis = genesis_refs(members)
    return [
        make_block(index, 1, [genesis[index], *(g for g in genesis if g.author != index)])
        for index in range(members.size)
    ]


def certified(
    members: Committee, digests: Sequence[bytes], signers: Sequence[int], *, sequence: int = 1
) -> dict[str, Any]:
    """A checkpoint over ``digests`` signed by ``signers``."""
    summary = make_checkpoint_summary(
        members.epoch, sequence, sequence, bytes([7]) * 32, digests, bytes(32), 1_700_000_000_000
    )
    return certify_checkpoint(summary, [sign_checkpoint(KEYS[i], i, summary) for i in signers])


def digests(count: int) -> list[bytes]:
    """The digests of ``count`` distinct transactions."""
    return [transaction_digest(transaction(number)) for number in range(count)]


def ref_of(block: dict[str, Any]) -> BlockRef:
    """The reference of a block (short alias for the tests)."""
    return block_ref(block)
