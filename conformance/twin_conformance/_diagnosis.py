"""Why a message the node made fails offline verification: which rule it broke.

A checkpoint or block signature, or a receipt's inclusion proof, that the spec core refuses is
a failure either way; this only picks the rule to blame, so that a node that signs in the wrong
domain or builds its Merkle tree another way is told so. A signature that verifies over the
bare JCS message was made without the domain prefix (TWIN-CORE-020); one that verifies under
another kind's prefix was made in the wrong domain (the message's own signing rule;
``twin_spec.find_signing_domain`` exists for this explanation). An inclusion proof the RFC 9162
algorithm refuses outright breaks TWIN-ANCHORING-011; one that leads to the root only with the
leaf and node prefixes left out breaks TWIN-ANCHORING-010; one whose leaves are the digests'
hex text breaks TWIN-ANCHORING-022. Commit-rule decisions that are exactly those of the spec's
commit rule with one common slip made (a quorum off by one, stake counted per block, a vote for
the slot rather than the block, a certificate or commit on a third of the stake, a strict skip,
an anchor search past undecided slots, an indirect commit on votes) break the rule of that slip,
not the decision's; a slip is modelled by running a copy of the spec's source with one line
changed, never by changing the spec. Nothing here ever accepts what the spec refuses.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import cast

from twin_spec import (
    Committee,
    Dag,
    Ed25519PublicKey,
    InclusionProof,
    MerkleProofError,
    MessageKind,
    SignatureError,
    TwinSpecError,
    canonicalize,
    find_signing_domain,
    leaf_hash,
    multibase_decode,
    root_from_inclusion_proof,
    try_commit,
    validate_block,
)

WITHOUT_DOMAIN = "TWIN-CORE-020"


def domain_misuse(
    public_key: Ed25519PublicKey,
    kind: MessageKind,
    message: object,
    signature: bytes,
    own_rule: str,
) -> tuple[str, str] | None:
    """The rule a signature broke by its domain, and how; None when the domain is not why."""
    try:
        public_key.verify(canonicalize(message), signature)
    except (SignatureError, TwinSpecError):
        pass
    else:
        return (
            WITHOUT_DOMAIN,
            f"the {kind.value} signature was made over the bare JCS message, without the "
            "signing-domain prefix",
        )
    try:
        found = find_signing_domain(public_key, message, signature)
    except TwinSpecError:
        return None
    if found is None or found is kind:
        return None
    return own_rule, f"the {kind.value} signature was made in the {found.value} signing domain"


def checkpoint_domain_misuse(
    certified: object, committee: Committee, own_rule: str = "TWIN-ANCHORING-024"
) -> tuple[str, str] | None:
    """The first signature of a certified checkpoint that was made in the wrong domain."""
    if not isinstance(certified, Mapping):
        return None
    summary, entries = certified.get("summary"), certified.get("signatures")
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        return None
    for entry in entries:
        signer = entry.get("signer") if isinstance(entry, Mapping) else None
        encoded = entry.get("signature") if isinstance(entry, Mapping) else None
        if not isinstance(signer, int) or not 0 <= signer < committee.size:
            continue
        if not isinstance(encoded, str):
            continue
        try:
            signature = multibase_decode(encoded, allowed="z")
        except TwinSpecError:
            continue
        key = committee.validator(signer).public_key
        misuse = domain_misuse(key, MessageKind.CHECKPOINT, summary, signature, own_rule)
        if misuse is not None:
            return misuse
    return None


def block_domain_misuse(
    block: object, committee: Committee, own_rule: str = "TWIN-CONSENSUS-005"
) -> tuple[str, str] | None:
    """Whether a block's signature was made in the wrong domain (or without one)."""
    if not isinstance(block, Mapping):
        return None
    author, encoded = block.get("author"), block.get("signature")
    if not isinstance(author, int) or not 0 <= author < committee.size:
        return None
    if not isinstance(encoded, str):
        return None
    try:
        signature = multibase_decode(encoded, allowed="z")
    except TwinSpecError:
        return None
    unsigned = {name: value for name, value in block.items() if name != "signature"}
    key = committee.validator(author).public_key
    return domain_misuse(key, MessageKind.BLOCK, unsigned, signature, own_rule)


def _root_without_prefixes(digest: bytes, proof: InclusionProof) -> bytes:
    """The root the audit path leads to when leaves and nodes are hashed with no prefix byte."""
    index, last = proof.leaf_index, proof.tree_size - 1
    root = hashlib.sha256(digest).digest()
    for node in proof.audit_path:
        if index & 1 or index == last:
            root = hashlib.sha256(node + root).digest()
            while not index & 1 and index != 0:
                index >>= 1
                last >>= 1
        else:
            root = hashlib.sha256(root + node).digest()
        index >>= 1
        last >>= 1
    return root


def inclusion_misuse(receipt: object) -> tuple[str, str] | None:
    """Why a receipt's inclusion proof fails, when another rule than TWIN-ANCHORING-029 is why."""
    if not isinstance(receipt, Mapping):
        return None
    checkpoint = receipt.get("checkpoint")
    summary = checkpoint.get("summary") if isinstance(checkpoint, Mapping) else None
    try:
        digest = bytes.fromhex(str(receipt.get("transactionDigest")))
        root = bytes.fromhex(str(summary.get("transactionsRoot")))  # type: ignore[union-attr]
        proof = InclusionProof.from_json(receipt.get("inclusionProof"))  # type: ignore[arg-type]
    except (AttributeError, ValueError, TwinSpecError):
        return None
    if proof.tree_size != summary.get("transactionCount"):  # type: ignore[union-attr]
        return None
    try:
        root_from_inclusion_proof(leaf_hash(digest), proof)
    except MerkleProofError as exc:
        return exc.requirement or "TWIN-ANCHORING-011", f"the inclusion proof: {exc.message}"
    if _root_without_prefixes(digest, proof) == root:
        return (
            "TWIN-ANCHORING-010",
            "the inclusion proof leads to the root only when leaves and nodes are hashed "
            "without RFC 9162's 0x00 and 0x01 prefixes",
        )
    if root_from_inclusion_proof(leaf_hash(digest.hex().encode("ascii")), proof) == root:
        return (
            "TWIN-ANCHORING-022",
            "the tree's leaves are the transaction digests' hex text, not their raw 32 bytes",
        )
    return None


class _CeilingQuorum(Committee):
    """The spec's committee with the quorum taken as ceil(2T/3), a common slip of 2T/3 + 1."""

    @property
    def quorum_threshold(self) -> int:
        """-(-2T // 3): two thirds rounded up, below the spec's 2T//3 + 1 when 3 divides T."""
        return -(-2 * self.total_stake // 3)


class _StakePerEntry(Committee):
    """The spec's committee counting an author's stake once per block or vote it meets."""

    def stake_of(self, indices: Iterable[int]) -> int:
        """The stake of every entry, repeats included (the spec counts each author once)."""
        return sum(self.validator(index).stake for index in indices)


_COMMIT_RULE = "twin_spec._commit_rule"


@dataclass(frozen=True)
class _Slip:
    """A common slip in one rule of the commit rule: the rule, in words, and how to make it.

    ``committee`` changes the stake arithmetic; ``source`` changes one line of the spec's
    commit rule, run as a separate copy (the spec module itself is never touched).
    """

    requirement: str
    words: str
    committee: type[Committee] = Committee
    source: tuple[tuple[str, str], ...] = ()


_SLIPS = (
    _Slip("TWIN-CONSENSUS-002", "a quorum of ceil(2T/3) instead of 2T/3 + 1", _CeilingQuorum),
    _Slip("TWIN-CONSENSUS-003", "an author's stake counted once per block", _StakePerEntry),
    _Slip(
        "TWIN-CONSENSUS-021",
        "a vote for every block of the leader's slot, not the one listed",
        source=(
            (
                "leader_block.round + 1 and leader_block in dag.ancestors(voter)",
                "leader_block.round + 1 and any(ref.round == leader_block.round and "
                "ref.author == leader_block.author for ref in dag.ancestors(voter))",
            ),
        ),
    ),
    _Slip(
        "TWIN-CONSENSUS-022",
        "a certificate on the votes of a third of the stake, not a quorum",
        source=(
            (
                "return committee.is_quorum(voters)",
                "return committee.stake_of(voters) >= committee.validity_threshold",
            ),
        ),
    ),
    _Slip(
        "TWIN-CONSENSUS-023",
        "a direct skip only when blamers carry more than a quorum",
        source=(
            (
                "if committee.is_quorum(blamers):",
                "if committee.stake_of(blamers) > committee.quorum_threshold:",
            ),
        ),
    ),
    _Slip(
        "TWIN-CONSENSUS-024",
        "a direct commit on the certificates of a third of the stake, not a quorum",
        source=(
            (
                "        if committee.is_quorum(\n            ref.author for ref in certifiers",
                "        if (lambda authors: committee.stake_of(authors) >= "
                "committee.validity_threshold)(\n            ref.author for ref in certifiers",
            ),
        ),
    ),
    _Slip(
        "TWIN-CONSENSUS-025",
        "an anchor search that passes over undecided slots",
        source=(
            (
                "            break\n        anchor = decision.block",
                "            continue\n        anchor = decision.block",
            ),
        ),
    ),
    _Slip(
        "TWIN-CONSENSUS-026",
        "an indirect commit of a leader block the anchor's history votes for",
        source=(
            (
                "if any(is_certificate(dag, committee, ref, block) for ref in certifiers)",
                "if any(is_vote(dag, ref, block) for ref in _history_at(dag, anchor, round_ + 1))",
            ),
        ),
    ),
)


@functools.cache
def _commit_rule_with(source: tuple[tuple[str, str], ...]) -> ModuleType | None:
    """A copy of the spec's commit rule with ``source`` changes, or None if they do not apply."""
    spec = importlib.util.find_spec(_COMMIT_RULE)
    if spec is None or spec.origin is None:
        return None
    text = Path(spec.origin).read_text(encoding="utf-8")
    for old, new in source:
        if old not in text:
            return None  # The spec changed; this slip can no longer be modelled.
        text = text.replace(old, new)
    name = f"{_COMMIT_RULE}_slip_{len(_COPIES)}"
    module = ModuleType(name)
    sys.modules[name] = module  # Dataclasses look their module up while being made.
    exec(compile(text, f"{spec.origin} (a slip)", "exec"), module.__dict__)  # noqa: S102
    _COPIES.append(module)
    return module


_COPIES: list[ModuleType] = []


FAULT = "fault"
"""What a slip model gives where the commit rule stops on two certified blocks of one slot."""


def _decided_by(slip: _Slip, committee: object, blocks: Sequence[object]) -> object:
    """The decided slots the spec's commit rule gives with ``slip`` made.

    FAULT where the rule stops on two certified blocks; None when the slip cannot be modelled.
    """
    rules = _commit_rule_with(slip.source) if slip.source else None
    decide = rules.try_commit if rules is not None else try_commit
    if slip.source and rules is None:
        return None
    counted = slip.committee.from_json(committee)
    dag = Dag(counted)
    for block in blocks:
        try:
            dag.add(cast(Mapping[str, object], block), validate_block(block, counted, dag))
        except TwinSpecError:
            continue
    try:
        decided = decide(dag, counted, 0)
    except TwinSpecError as exc:
        return FAULT if exc.requirement == "TWIN-CONSENSUS-027" else None
    return [
        (d.round, d.leader, d.kind.value, d.direct, d.block.to_json() if d.block else None)
        for d in decided
    ]


def commit_rule_slip(
    committee: object, blocks: Sequence[object], decided: Sequence[object], *, fault: bool
) -> tuple[str, str] | None:
    """The rule a node broke, when its answer is exactly that of one common slip in it.

    ``decided`` are the node's decisions as (round, leader, kind, direct, block) tuples and
    ``fault`` whether it reported two certified blocks. When several slips give the answer,
    none is named: the decision differs, and the decision's rule is blamed as before. The
    spec's verdict stands either way; this only names the rule.
    """
    answer: object = FAULT if fault else list(decided)
    matches = [slip for slip in _SLIPS if _decided_by(slip, committee, blocks) == answer]
    if len(matches) != 1:
        return None
    return matches[0].requirement, f"the node's decisions are those of {matches[0].words}"


def commits_slip(
    committee: Committee, blocks: Sequence[object], leaders: Sequence[object]
) -> tuple[str, str] | None:
    """The rule a node broke, when its committed leaders are those of one common slip.

    ``leaders`` are the node's committed leader blocks as references (JSON), from its first
    commit; a slip matches when the commits it makes over ``blocks`` start with them. As in
    :func:`commit_rule_slip`, several matches name none.
    """
    wanted = list(leaders)
    matches = []
    for slip in _SLIPS:
        decided = _decided_by(slip, committee.to_json(), blocks)
        if not isinstance(decided, list):
            continue
        committed = [entry[4] for entry in decided if entry[2] == "commit"]
        if committed[: len(wanted)] == wanted:
            matches.append(slip)
    if len(matches) != 1:
        return None
    return matches[0].requirement, f"its commits are those of {matches[0].words}"
