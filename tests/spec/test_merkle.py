"""RFC 9162 Merkle tree hashes and inclusion proofs."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin_spec import (
    InclusionProof,
    MerkleProofError,
    inclusion_proof,
    leaf_hash,
    merkle_tree_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_inclusion_proof,
)


def reference_tree_hash(leaves: list[bytes]) -> bytes:
    """RFC 9162 2.1.1 written out as literally as possible, as an independent oracle."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(
        b"\x01" + reference_tree_hash(leaves[:k]) + reference_tree_hash(leaves[k:])
    ).digest()


LEAVES = [f"document-{index}".encode() for index in range(7)]


@pytest.mark.requirement("TWIN-ANCHORING-010")
def test_empty_and_single_leaf_trees() -> None:
    assert merkle_tree_hash([]).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert merkle_tree_hash([b""]).hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert merkle_tree_hash([b"a"]) == leaf_hash(b"a")


@pytest.mark.requirement("TWIN-ANCHORING-010")
def test_the_left_subtree_takes_the_largest_power_of_two() -> None:
    hashes = [leaf_hash(leaf) for leaf in LEAVES]
    left = node_hash(node_hash(hashes[0], hashes[1]), node_hash(hashes[2], hashes[3]))
    right = node_hash(node_hash(hashes[4], hashes[5]), hashes[6])
    assert merkle_tree_hash(LEAVES) == node_hash(left, right)


@pytest.mark.requirement("TWIN-ANCHORING-010")
def test_a_leaf_cannot_pose_as_an_interior_node() -> None:
    # Without domain separation the two-leaf tree's root would equal a one-leaf tree of the
    # concatenated children (the second-preimage attack RFC 9162 closes).
    two = merkle_tree_hash([b"a", b"b"])
    forged = merkle_tree_hash([leaf_hash(b"a") + leaf_hash(b"b")])
    assert two != forged


@pytest.mark.requirement("TWIN-ANCHORING-011", "TWIN-ANCHORING-012")
def test_an_inclusion_proof_round_trips_through_json() -> None:
    proof = inclusion_proof(LEAVES, 3)
    as_json = proof.to_json()
    assert as_json["type"] == "MerkleInclusionProof"
    assert as_json["hashAlgorithm"] == "sha-256"
    assert (as_json["leafIndex"], as_json["treeSize"]) == (3, 7)
    assert InclusionProof.from_json(as_json) == proof
    verify_inclusion_proof(leaf_hash(LEAVES[3]), proof, merkle_tree_hash(LEAVES))


@pytest.mark.requirement("TWIN-ANCHORING-011")
@pytest.mark.parametrize(
    ("proof", "message"),
    [
        (InclusionProof(7, 7, ()), "leafIndex 7 is not below treeSize 7"),
        (InclusionProof(3, 7, ()), "auditPath is shorter than a tree of this size needs"),
        (InclusionProof(0, 1, (bytes(32),)), "auditPath is longer than a tree of this size allows"),
    ],
)
def test_structurally_wrong_proofs_fail_with_the_reason(
    proof: InclusionProof, message: str
) -> None:
    with pytest.raises(MerkleProofError, match=message) as caught:
        root_from_inclusion_proof(leaf_hash(b"x"), proof)
    assert caught.value.requirement == "TWIN-ANCHORING-011"


@pytest.mark.requirement("TWIN-ANCHORING-011")
def test_a_proof_for_another_root_fails() -> None:
    proof = inclusion_proof(LEAVES, 5)
    with pytest.raises(MerkleProofError, match="not the trusted root"):
        verify_inclusion_proof(leaf_hash(LEAVES[5]), proof, merkle_tree_hash(LEAVES[:6]))
    with pytest.raises(MerkleProofError, match="not the trusted root"):
        verify_inclusion_proof(leaf_hash(b"not in the tree"), proof, merkle_tree_hash(LEAVES))
    with pytest.raises(MerkleProofError, match="leaf hash is 5 bytes"):
        verify_inclusion_proof(b"short", proof, merkle_tree_hash(LEAVES))


@pytest.mark.requirement("TWIN-ANCHORING-012")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "Proof"}, "type is 'Proof', expected 'MerkleInclusionProof'"),
        ({"hashAlgorithm": "sha-512"}, "hashAlgorithm is 'sha-512', expected 'sha-256'"),
        ({"leafIndex": -1}, "leafIndex -1 is outside 0..2**53-1"),
        ({"leafIndex": True}, "leafIndex must be an integer"),
        ({"treeSize": 0}, "treeSize 0 is outside 1..2**53-1"),
        ({"treeSize": "7"}, "treeSize must be an integer"),
        ({"auditPath": "ab"}, "auditPath must be an array of at most 64 hashes"),
        ({"auditPath": ["00" * 32] * 65}, "auditPath must be an array of at most 64 hashes"),
        ({"auditPath": ["AB" * 32]}, "auditPath[0] is not 64 lowercase hex characters"),
        ({"auditPath": ["ab" * 31]}, "auditPath[0] is not 64 lowercase hex characters"),
    ],
)
def test_malformed_json_proofs_are_named(change: dict[str, object], message: str) -> None:
    as_json = {**inclusion_proof(LEAVES, 3).to_json(), **change}
    with pytest.raises(MerkleProofError) as caught:
        InclusionProof.from_json(as_json)
    assert message in str(caught.value)
    assert caught.value.requirement == "TWIN-ANCHORING-012"


def test_a_non_object_is_not_a_proof() -> None:
    with pytest.raises(MerkleProofError, match="got list"):
        InclusionProof.from_json([])  # type: ignore[arg-type]


def test_proofs_are_only_built_for_leaves_in_the_tree() -> None:
    with pytest.raises(MerkleProofError, match="leaf index 3 is outside a tree of 3 leaves"):
        inclusion_proof(LEAVES[:3], 3)


@pytest.mark.requirement("TWIN-ANCHORING-010", "TWIN-ANCHORING-011")
@given(st.lists(st.binary(max_size=16), min_size=1, max_size=70, unique=True), st.data())
def test_every_leaf_proves_into_the_reference_root(
    leaves: list[bytes], data: st.DataObject
) -> None:
    root = merkle_tree_hash(leaves)
    assert root == reference_tree_hash(leaves)
    index = data.draw(st.integers(min_value=0, max_value=len(leaves) - 1))
    proof = inclusion_proof(leaves, index)
    verify_inclusion_proof(leaf_hash(leaves[index]), proof, root)
    if proof.audit_path:
        position = data.draw(st.integers(min_value=0, max_value=len(proof.audit_path) - 1))
        broken = list(proof.audit_path)
        broken[position] = bytes([broken[position][0] ^ 1]) + broken[position][1:]
        with pytest.raises(MerkleProofError):
            verify_inclusion_proof(
                leaf_hash(leaves[index]), InclusionProof(index, len(leaves), tuple(broken)), root
            )
    if len(leaves) > 1:
        # The same path claimed for a neighbouring index must not verify (leaves are distinct).
        other = (index + 1) % len(leaves)
        with pytest.raises(MerkleProofError):
            verify_inclusion_proof(
                leaf_hash(leaves[index]), InclusionProof(other, len(leaves), proof.audit_path), root
            )
