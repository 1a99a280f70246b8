"""The compact stored forms of the ledger: commits, checkpoints, blocks and transactions.

A commit or a checkpoint is JSON on the wire (hex digests, base58btc signatures, member names
repeated in every one); stored, each is a fixed binary layout of the same values, about a
quarter of the size, from which the same JSON is made again on every read (TWIN-CONSENSUS-100:
what a route serves and a receipt carries is equal to what was signed). Digests of either are
not stored: they are the SHA-256 of the JSON's JCS form, computed again where needed.

Blocks and transactions are stored as their JSON text exactly (a block is served and sent as it
was signed), compressed with raw DEFLATE and a preset dictionary of the members and values
every block and transaction repeats (:data:`TEXT_DICTIONARY`, fixed for storage format 1):
a 1 KiB immutable-proof transaction takes about 310 bytes.

The layouts (big-endian, ``struct``):

- commit: index, previous digest, timestamp, position of the leader among the blocks, block
  count, then per block its round, author and digest;
- certified checkpoint: epoch, sequence, commit index, commit digest, transactions root,
  transaction count, previous digest, timestamp, signature count, then per signature its
  signer and the 64 signature bytes (``nextCommittee`` is always null, TWIN-ANCHORING-021).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import cast

from twin_spec import (
    BlockRef,
    JSONValue,
    SummaryFields,
    make_commit,
    multibase_encode,
    read_certified_checkpoint,
    read_checkpoint_summary,
    read_commit,
)

_COMMIT = struct.Struct(">Q32sQII")
_REF = struct.Struct(">QI32s")
_CHECKPOINT = struct.Struct(">QQQ32s32sQ32sQI")
_SIGNATURE = struct.Struct(">I64s")


TEXT_DICTIONARY = (
    b'"kty":"OKP","crv":"Ed25519","x":"","alg":"EdDSA","kid":"'
    b'"type":"JsonWebKey","publicKeyJwk":{"controller":"did:twin:0x'
    b'{"@context":"https://www.w3.org/ns/did/v1","id":"did:twin:0x","service":[],'
    b'"assertionMethod":[#attestation-assertion"serviceEndpoint":"BitstringStatusList'
    b'{"type":"verifiable.create","payload":{"id":"verifiable:twin:","data":"","allowList":[]'
    b'{"type":"did.create","sender":"did:twin:0x","nonce":"","timestampMs":1,"payload":{'
    b'"document":{"type":"ImmutableProof","nodeIdentity":"did:twin:0x","userIdentity":"'
    b'{"epoch":0,"round":1,"author":0,"timestampMs":1,"ancestors":[{"round":1,"author":0,'
    b'"digest":""}],"transactions":[],"signature":"z"}'
    b'{"type":"immutableProof.create","sender":"did:twin:0x","nonce":"","timestampMs":1,'
    b'"payload":{"proof":{"@context":["https://schema.twindev.org/immutable-proof/",'
    b'"https://schema.twindev.org/common/","https://www.w3.org/ns/credentials/v2"],"id":"",'
    b'"type":"ImmutableProof","nodeIdentity":"did:twin:0x","userIdentity":"did:twin:0x",'
    b'"proofObjectHash":"sha256:","proof":{"type":"DataIntegrityProof",'
    b'"cryptosuite":"eddsa-jcs-2022","created":"20","verificationMethod":"did:twin:0x'
    b'#immutable-proof-assertion","proofPurpose":"assertionMethod","proofValue":"z'
)
"""Preset DEFLATE dictionary of stored block and transaction texts (storage format 1): the most
frequent strings last. Changing it changes the storage format."""


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
    return _pack_checkpoint(parsed.fields, parsed.signatures)


def pack_certified(summary: Mapping[str, object], signatures: Sequence[tuple[int, bytes]]) -> bytes:
    """The stored form of a summary (read strictly) certified by (signer, 64 bytes) in order.

    The same bytes as :func:`pack_checkpoint` of the certified JSON, made without writing the
    signatures in base58btc and reading them back.
    """
    return _pack_checkpoint(read_checkpoint_summary(summary), signatures)


def _pack_checkpoint(fields: SummaryFields, signatures: Sequence[tuple[int, bytes]]) -> bytes:
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
            len(signatures),
        )
    ]
    parts.extend(_SIGNATURE.pack(signer, signature) for signer, signature in signatures)
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


def pack_text(text: str) -> bytes:
    """The stored form of a block's or a transaction's JSON text."""
    # Memory level 8 (zlib's default), not 9: at 9 two of the compressor's buffers are 128 KiB,
    # which the C allocator maps and unmaps afresh for every call (about 60 us of page faults
    # per block or transaction stored); at 8 they are 64 KiB and reused. The stream is the same
    # raw DEFLATE with the same dictionary, read by the same decompressor; a text under about
    # 16 KiB (an anchor's block or transaction) comes out byte for byte as at 9, a larger one
    # may differ by a byte or two.
    compressor = zlib.compressobj(
        6, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, TEXT_DICTIONARY
    )
    return compressor.compress(text.encode()) + compressor.flush()


def unpack_text(stored: object) -> str:
    """The JSON text of a stored block or transaction, byte for byte as it was stored."""
    data = _bytes(stored)
    try:
        decompressor = zlib.decompressobj(-15, TEXT_DICTIONARY)
        text = decompressor.decompress(data) + decompressor.flush()
    except zlib.error as exc:
        raise StoredFormatError(f"a stored block or transaction does not decode: {exc}") from None
    if not decompressor.eof or decompressor.unused_data:
        raise StoredFormatError("a stored block or transaction is cut short or has trailing bytes")
    return text.decode()


def _bytes(stored: object) -> bytes:
    if not isinstance(stored, bytes):
        raise StoredFormatError(f"a stored commit or checkpoint is {type(stored).__name__}")
    return stored
