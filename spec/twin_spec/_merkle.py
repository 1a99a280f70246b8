"""RFC 9162 (Certificate Transparency 2.0) Merkle tree hashes and inclusion proofs, SHA-256.

Leaves are hashed as SHA-256(0x00 || data) and interior nodes as SHA-256(0x01 || left || right),
so a leaf can never be passed off as an interior node. An anchoring receipt proves that a
document's leaf is in a tree whose root the validator committee certified.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from twin_spec._errors import MerkleProofError
from twin_spec._jcs import MAX_SAFE_INTEGER, JSONValue

HASH_LENGTH = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
PROOF_TYPE = "MerkleInclusionProof"
HASH_ALGORITHM = "sha-256"
_HEX_HASH = re.compile(r"[0-9a-f]{64}\Z")


def leaf_hash(data: bytes) -> bytes:
    """Hash one leaf's data: SHA-256(0x00 || data)."""
    # TWIN-ANCHORING-010 "Merkle trees follow RFC 9162 2.1.1 with SHA-256: leaves hash with the
    # prefix 0x00, interior nodes with 0x01, and the empty tree is SHA-256 of nothing."
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two children: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def merkle_tree_hash(leaves: Sequence[bytes]) -> bytes:
    """Return the Merkle Tree Hash (MTH) of a list of leaf data."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    return _subtree_root([leaf_hash(leaf) for leaf in leaves])


def _split_point(size: int) -> int:
    """Return the largest power of two strictly below ``size`` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def _subtree_root(hashes: Sequence[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    split = _split_point(len(hashes))
    return node_hash(_subtree_root(hashes[:split]), _subtree_root(hashes[split:]))


@dataclass(frozen=True)
class InclusionProof:
    """An RFC 9162 inclusion proof: where the leaf sits, in a tree of what size, and the path."""

    leaf_index: int
    tree_size: int
    audit_path: tuple[bytes, ...]

    def to_json(self) -> dict[str, JSONValue]:
        """Return the MerkleInclusionProof JSON form (spec/schemas/merkle-inclusion-proof)."""
        # TWIN-ANCHORING-012 "An inclusion proof travels as a MerkleInclusionProof object with
        # leafIndex, treeSize and auditPath of lowercase hex SHA-256 hashes."
        return {
            "type": PROOF_TYPE,
            "hashAlgorithm": HASH_ALGORITHM,
            "leafIndex": self.leaf_index,
            "treeSize": self.tree_size,
            "auditPath": [node.hex() for node in self.audit_path],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, object]) -> InclusionProof:
        """Read a MerkleInclusionProof object, raising :class:`MerkleProofError` on bad shape."""
        if not isinstance(value, Mapping):
            raise _malformed(f"an inclusion proof is a JSON object, got {type(value).__name__}")
        if value.get("type") != PROOF_TYPE:
            raise _malformed(f"type is {value.get('type')!r}, expected {PROOF_TYPE!r}")
        if value.get("hashAlgorithm") != HASH_ALGORITHM:
            raise _malformed(
                f"hashAlgorithm is {value.get('hashAlgorithm')!r}, expected {HASH_ALGORITHM!r}"
            )
        leaf_index = _count(value, "leafIndex", minimum=0)
        tree_size = _count(value, "treeSize", minimum=1)
        path = value.get("auditPath")
        if not isinstance(path, list) or len(path) > 64:
            raise _malformed("auditPath must be an array of at most 64 hashes")
        nodes = []
        for position, node in enumerate(path):
            if not isinstance(node, str) or not _HEX_HASH.match(node):
                raise _malformed(f"auditPath[{position}] is not 64 lowercase hex characters")
            nodes.append(bytes.fromhex(node))
        return cls(leaf_index, tree_size, tuple(nodes))


def inclusion_proof(leaves: Sequence[bytes], leaf_index: int) -> InclusionProof:
    """Build the inclusion proof of ``leaves[leaf_index]`` (RFC 9162 2.1.3.1, PATH)."""
    if not 0 <= leaf_index < len(leaves):
        raise MerkleProofError(
            f"leaf index {leaf_index} is outside a tree of {len(leaves)} leaves",
            requirement="TWIN-ANCHORING-011",
        )
    hashes = [leaf_hash(leaf) for leaf in leaves]
    path: list[bytes] = []
    _collect_path(hashes, leaf_index, path)
    return InclusionProof(leaf_index, len(leaves), tuple(path))


def _collect_path(hashes: Sequence[bytes], index: int, path: list[bytes]) -> None:
    if len(hashes) == 1:
        return
    split = _split_point(len(hashes))
    if index < split:
        _collect_path(hashes[:split], index, path)
        path.append(_subtree_root(hashes[split:]))
    else:
        _collect_path(hashes[split:], index - split, path)
        path.append(_subtree_root(hashes[:split]))


def root_from_inclusion_proof(leaf: bytes, proof: InclusionProof) -> bytes:
    """Recompute the root that ``proof`` leads to from a leaf hash (RFC 9162 2.1.3.2)."""
    # TWIN-ANCHORING-011 "Inclusion proofs verify by the RFC 9162 2.1.3.2 algorithm; a leaf index
    # not below the tree size, or a path of the wrong length, fails."
    if len(leaf) != HASH_LENGTH:
        raise _failure(f"leaf hash is {len(leaf)} bytes, expected {HASH_LENGTH}")
    if proof.leaf_index >= proof.tree_size:
        raise _failure(f"leafIndex {proof.leaf_index} is not below treeSize {proof.tree_size}")
    index, last = proof.leaf_index, proof.tree_size - 1
    root = leaf
    for node in proof.audit_path:
        if last == 0:
            raise _failure("auditPath is longer than a tree of this size allows")
        if index & 1 or index == last:
            root = node_hash(node, root)
            while not index & 1 and index != 0:
                index >>= 1
                last >>= 1
        else:
            root = node_hash(root, node)
        index >>= 1
        last >>= 1
    if last != 0:
        raise _failure("auditPath is shorter than a tree of this size needs")
    return root


def verify_inclusion_proof(leaf: bytes, proof: InclusionProof, expected_root: bytes) -> None:
    """Check that ``leaf`` (a leaf hash) is in the tree whose root the verifier trusts.

    ``expected_root`` comes from a source the verifier trusts (a certified checkpoint), never
    from the party that sent the proof.
    """
    root = root_from_inclusion_proof(leaf, proof)
    if root != expected_root:
        raise _failure(
            f"the proof leads to root {root.hex()}, not the trusted root {expected_root.hex()}"
        )


def _count(value: Mapping[str, object], member: str, *, minimum: int) -> int:
    number = value.get(member)
    if isinstance(number, bool) or not isinstance(number, int):
        raise _malformed(f"{member} must be an integer")
    if not minimum <= number <= MAX_SAFE_INTEGER:
        raise _malformed(f"{member} {number} is outside {minimum}..2**53-1")
    return number


def _malformed(message: str) -> MerkleProofError:
    return MerkleProofError(
        f"malformed inclusion proof: {message}", requirement="TWIN-ANCHORING-012"
    )


def _failure(message: str) -> MerkleProofError:
    return MerkleProofError(message, requirement="TWIN-ANCHORING-011")
