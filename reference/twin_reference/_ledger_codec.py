"""The compact stored form of commits and certified checkpoints: digests and signatures as bytes.

A commit or a checkpoint is JSON on the wire (hex digests, base58btc signatures, member names
repeated in every one); stored, each is a fixed binary layout of the same values, about a
quarter of the size, from which the same JSON is made again on every read (TWIN-CONSENSUS-100:
what a route serves and a receipt carries is equal to what was signed). Digests of either are
not stored: they are the SHA-256 of the JSON's JCS form, computed again where needed.

The layouts (big-endian, ``struct``):

- commit: index, previous digest, timestamp, position of the leader among the blocks, block
  count, then per block its round, author and digest;
- certified checkpoint: epoch, sequence, commit index, commit digest, transactions root,
  transaction count, previous digest, timestamp, signature count, then per signature its
  signer and the 64 signature bytes (``nextCommittee`` is always null, TWIN-ANCHORING-021).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import cast

from twin_spec import (
    BlockRef,
    JSONValue,
    make_commit,
    multibase_encode,
    read_certified_checkpoint,
    read_commit,
)

_COMMIT = struct.Struct(">Q32sQII")
_REF = struct.Struct(">QI32s")
_CHECKPOINT = struct.Struct(">QQQ32s32sQ32sQI")
_SIGNATURE = struct.Struct(">I64s")


class StoredFormatError(ValueError):
    """A stored commit or checkpoint does not decode (a damaged database)."""


def pack_commit(commit: Mapping[str, object]) -> bytes:
    """The stored form of commit JSON (read strictly first)."""
    index, previous, timestamp, leader, blocks = read_commit(commit)
    parts = [_COMMIT.pack(index, previous, timestamp, blocks.index(leader), len(blocks))]
    parts.extend(_REF.pack(ref.round, ref.author, ref.digest) for ref in blocks)
    return b"".join(parts)


def unpack_commit(stored: object) -> dict[str, JSONValue]:
    """The commit JSON of a stored form, as it was signed and sent."""
    data = _bytes(stored)
    try:
        index, previous, timestamp, leader, count = _COMMIT.unpack_from(data)
        offset = _COMMIT.size
        blocks = [
            BlockRef(*_REF.unpack_from(data, offset + position * _REF.size))
            for position in range(count)
        ]
    except struct.error as exc:
        raise StoredFormatError(f"a stored commit does not decode: {exc}") from None
    if offset + count * _REF.size != len(data) or leader >= count:
        raise StoredFormatError("a stored commit has the wrong length or leader")
    return make_commit(index, previous, timestamp, blocks[leader], blocks)


def pack_checkpoint(certified: Mapping[str, object]) -> bytes:
    """The stored form of a certified checkpoint's JSON (its shape read strictly first)."""
    parsed = read_certified_checkpoint(certified, max_signers=2**16)
    fields = parsed.fields
    parts = [
        _CHECKPOINT.pack(
            fields.epoch,
            fields.sequence,
            fields.commit_index,
            fields.commit_digest,
            fields.transactions_root,
            fields.transaction_count,
            fields.previous_digest,
            fields.timestamp_ms,
            len(parsed.signatures),
        )
    ]
    parts.extend(_SIGNATURE.pack(signer, signature) for signer, signature in parsed.signatures)
    return b"".join(parts)


def unpack_checkpoint(stored: object) -> dict[str, JSONValue]:
    """The certified checkpoint JSON of a stored form, member for member as it was made."""
    data = _bytes(stored)
    try:
        (
            epoch,
            sequence,
            commit_index,
            commit_digest,
            root,
            count,
            previous,
            timestamp,
            signers,
        ) = _CHECKPOINT.unpack_from(data)
        signatures: list[JSONValue] = []
        for position in range(signers):
            signer, signature = _SIGNATURE.unpack_from(
                data, _CHECKPOINT.size + position * _SIGNATURE.size
            )
            signatures.append({"signer": signer, "signature": multibase_encode(signature)})
    except struct.error as exc:
        raise StoredFormatError(f"a stored checkpoint does not decode: {exc}") from None
    if _CHECKPOINT.size + signers * _SIGNATURE.size != len(data):
        raise StoredFormatError("a stored checkpoint has the wrong length")
    summary: dict[str, JSONValue] = {
        "epoch": epoch,
        "sequence": sequence,
        "commitIndex": commit_index,
        "commitDigest": commit_digest.hex(),
        "transactionsRoot": root.hex(),
        "transactionCount": count,
        "previousDigest": previous.hex(),
        "timestampMs": timestamp,
        "nextCommittee": None,
    }
    return {"summary": cast(JSONValue, summary), "signatures": signatures}


def _bytes(stored: object) -> bytes:
    if not isinstance(stored, bytes):
        raise StoredFormatError(f"a stored commit or checkpoint is {type(stored).__name__}")
    return stored
