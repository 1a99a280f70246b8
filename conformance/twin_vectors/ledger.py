"""Offline ``consensus`` vectors: committees, equivocation evidence, checkpoints, commits.

Blocks and checkpoints are signed with the DAG notation's validator test keys, whose seeds each
vector carries beside its committee.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from twin_spec import (
    BlockRef,
    Committee,
    LedgerError,
    ReceiptVerificationError,
    Validator,
    base58btc_encode,
    block_ref,
    check_checkpoint_follows,
    check_checkpoint_transactions,
    check_commit_follows,
    checkpoint_digest,
    commit_digest,
    commit_transactions,
    encode_varint,
    genesis_refs,
    make_checkpoint_summary,
    make_equivocation_evidence,
    multibase_encode,
    next_commit,
    sign_block,
    transaction_digest,
    verify_certified_checkpoint,
    verify_equivocation_evidence,
)
from twin_vectors._format import Family, Vector, with_expected
from twin_vectors.anchoring import certified, transaction
from twin_vectors.consensus import committee_input
from twin_vectors.dag_notation import make_committee, signing_key

COMMITTEE = "consensus/committee"
EQUIVOCATION = "consensus/equivocation"
CHECKPOINT = "consensus/checkpoint"
COMMIT_CHAIN = "consensus/commit-chain"
GENESIS = "consensus/genesis"
BASE_TIME = 1_700_000_000_000

Case = tuple[str, str, list[str], dict[str, Any]]
_DELETE = object()


def _changed(value: Any, path: Sequence[Any], new: Any) -> Any:  # noqa: ANN401 - any JSON
    result = copy.deepcopy(value)
    target = result
    for key in path[:-1]:
        target = target[key]
    if new is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = new
    return result


# --- consensus/committee ----------------------------------------------------------------------


def committee_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """A committee's stake thresholds and genesis, and the stake of a list of signers."""
    try:
        committee = Committee.from_json(input_["committee"])
    except LedgerError:
        return {"result": "invalid", "error": "invalidCommittee"}
    expected: dict[str, Any] = {
        "result": "valid",
        "totalStake": committee.total_stake,
        "quorumThreshold": committee.quorum_threshold,
        "validityThreshold": committee.validity_threshold,
        "genesis": [ref.to_json() for ref in genesis_refs(committee)],
    }
    if "signers" in input_:
        expected["signerStake"] = committee.stake_of(input_["signers"])
        expected["isQuorum"] = committee.is_quorum(input_["signers"])
    return expected


def _committee_json(stakes: Sequence[int], epoch: int = 0) -> dict[str, Any]:
    return Committee(epoch, make_committee(list(stakes)).validators).to_json()


def _committee_cases() -> list[Case]:
    shape = ["TWIN-CONSENSUS-001"]
    thresholds = ["TWIN-CONSENSUS-002", "TWIN-CONSENSUS-007"]
    four = _committee_json([1, 1, 1, 1])
    validators = list(four["validators"])
    x25519 = "z" + base58btc_encode(encode_varint(0xEC) + bytes(range(32)))
    table: list[tuple[str, str, list[str], dict[str, Any]]] = [
        (
            "one-validator",
            "a committee of one",
            [*shape, *thresholds],
            {"committee": _committee_json([1])},
        ),
        (
            "four-equal",
            "four validators of stake 1: quorum 3, validity 2",
            [*shape, *thresholds],
            {"committee": four},
        ),
        (
            "stakes-1113",
            "stakes 1 1 1 3: quorum 5, validity 2",
            thresholds,
            {"committee": _committee_json([1, 1, 1, 3])},
        ),
        (
            "stakes-1-to-7",
            "stakes 1 to 7 (T = 28): quorum 19, validity 10",
            thresholds,
            {"committee": _committee_json([1, 2, 3, 4, 5, 6, 7])},
        ),
        (
            "ten-equal",
            "ten validators: quorum 7, validity 4",
            thresholds,
            {"committee": _committee_json([1] * 10)},
        ),
        (
            "large-stakes",
            "stakes near the safe-integer bound",
            thresholds,
            {"committee": _committee_json([3_000_000_000_000_000, 3_000_000_000_000_000, 1])},
        ),
        (
            "epoch-seven",
            "epoch 7: genesis blocks of epoch 7",
            thresholds,
            {"committee": _committee_json([1, 1, 1, 1], epoch=7)},
        ),
        (
            "with-address",
            "an https address",
            shape,
            {
                "committee": {
                    **four,
                    "validators": [
                        {**validators[0], "address": "https://validator0.example:8443/"},
                        *validators[1:],
                    ],
                }
            },
        ),
        (
            "stake-counted-once",
            "signers 0, 0, 0 and 1 carry stake 2, not 4",
            ["TWIN-CONSENSUS-003", *thresholds],
            {"committee": four, "signers": [0, 0, 0, 1]},
        ),
        (
            "three-signers-quorum",
            "signers 0, 1 and 3 reach the quorum",
            thresholds,
            {"committee": four, "signers": [0, 1, 3]},
        ),
        (
            "heavy-signer-alone",
            "stakes 1 1 1 3: signer 3 alone does not reach 5",
            ["TWIN-CONSENSUS-003", *thresholds],
            {"committee": _committee_json([1, 1, 1, 3]), "signers": [3, 3]},
        ),
        ("empty", "no validators", shape, {"committee": {"epoch": 0, "validators": []}}),
        (
            "index-out-of-order",
            "indices 1, 0, 2, 3",
            shape,
            {
                "committee": {
                    **four,
                    "validators": [
                        {**validators[0], "index": 1},
                        {**validators[1], "index": 0},
                        *validators[2:],
                    ],
                }
            },
        ),
        (
            "duplicate-key",
            "validators 0 and 1 share a key",
            shape,
            {
                "committee": {
                    **four,
                    "validators": [
                        validators[0],
                        {**validators[1], "publicKey": validators[0]["publicKey"]},
                        *validators[2:],
                    ],
                }
            },
        ),
        (
            "stake-zero",
            "a stake of 0",
            shape,
            {"committee": _changed(four, ["validators", 2, "stake"], 0)},
        ),
        (
            "stake-fraction",
            "a stake of 1.5",
            shape,
            {"committee": _changed(four, ["validators", 2, "stake"], 1.5)},
        ),
        (
            "total-stake-too-large",
            "the total stake exceeds 2^53 - 1",
            shape,
            {
                "committee": _changed(
                    _changed(four, ["validators", 0, "stake"], 2**52),
                    ["validators", 1, "stake"],
                    2**52,
                )
            },
        ),
        (
            "x25519-key",
            "an x25519-pub key",
            shape,
            {"committee": _changed(four, ["validators", 1, "publicKey"], x25519)},
        ),
        (
            "small-order-key",
            "the identity point as a key",
            [*shape, "TWIN-CORE-013"],
            {
                "committee": _changed(
                    four,
                    ["validators", 1, "publicKey"],
                    multibase_encode(encode_varint(0xED) + (1).to_bytes(32, "little")),
                )
            },
        ),
        (
            "ftp-address",
            "an ftp address",
            shape,
            {"committee": _changed(four, ["validators", 0, "address"], "ftp://validator.example/")},
        ),
        (
            "extra-member",
            "a member committees do not have",
            shape,
            {"committee": {**four, "name": "main"}},
        ),
        ("negative-epoch", "epoch -1", shape, {"committee": {**four, "epoch": -1}}),
    ]
    return list(table)


def committee_vectors() -> list[Vector]:
    """Committees read or refused, with thresholds, genesis references and signer stake."""
    return with_expected(COMMITTEE, committee_oracle, _committee_cases())


# --- consensus/equivocation -------------------------------------------------------------------


def equivocation_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """Make evidence from two blocks, or verify evidence against the committee."""
    try:
        if "blocks" in input_:
            first, second = input_["blocks"]
            return {"result": "valid", "evidence": make_equivocation_evidence(first, second)}
        verify_equivocation_evidence(input_["evidence"], Committee.from_json(input_["committee"]))
    except LedgerError:
        return {"result": "invalid", "error": "invalidEvidence"}
    return {"result": "valid"}


def _block(author: int, round_: int, ancestors: list[BlockRef], timestamp: int) -> dict[str, Any]:
    unsigned = {
        "epoch": 0,
        "round": round_,
        "author": author,
        "timestampMs": timestamp,
        "ancestors": [ref.to_json() for ref in ancestors],
        "transactions": [],
    }
    return sign_block(signing_key(author), unsigned)


def _round_one(committee: Committee) -> list[dict[str, Any]]:
    genesis = genesis_refs(committee)
    return [
        _block(i, 1, [genesis[i], *(g for g in genesis if g.author != i)], BASE_TIME + 1000)
        for i in range(committee.size)
    ]


def _equivocation_cases() -> list[Case]:
    rule = ["TWIN-CONSENSUS-030"]
    committee = make_committee([1, 1, 1, 1])
    members = committee_input(committee)
    refs = [block_ref(block) for block in _round_one(committee)]
    first = _block(2, 2, [refs[2], refs[0], refs[1]], BASE_TIME + 2000)
    second = _block(2, 2, [refs[2], refs[1], refs[3]], BASE_TIME + 2000)
    evidence = make_equivocation_evidence(first, second)
    blocks = list(evidence["blocks"])  # type: ignore[arg-type]
    strangers = Committee(
        0, tuple(Validator(i, signing_key(10 + i).public_key, 1) for i in range(4))
    )
    cases: list[Case] = [
        (
            "make",
            "evidence from two blocks of C at round 2, in ascending digest order",
            [*rule, "TWIN-CONSENSUS-107"],
            {"blocks": [first, second]},
        ),
        (
            "make-either-order",
            "the same evidence from the blocks given the other way round",
            rule,
            {"blocks": [second, first]},
        ),
        ("make-same-block", "one block twice is no equivocation", rule, {"blocks": [first, first]}),
        (
            "make-different-rounds",
            "blocks of two rounds",
            rule,
            {"blocks": [first, _block(2, 3, [], BASE_TIME + 3000)]},
        ),
        (
            "make-different-authors",
            "blocks of two authors",
            rule,
            {"blocks": [first, _block(1, 2, [], BASE_TIME + 2000)]},
        ),
        (
            "verify-valid",
            "the evidence verifies under the committee",
            [*rule, "TWIN-CONSENSUS-107"],
            {**members, "evidence": evidence},
        ),
        (
            "verify-other-committee",
            "the same evidence against a committee of other keys",
            rule,
            {**committee_input(strangers), "evidence": evidence},
        ),
    ]
    table: list[tuple[str, str, list[Any], object]] = [
        ("type-wrong", "type Evidence", ["type"], "Evidence"),
        ("epoch-wrong", "epoch 1", ["epoch"], 1),
        ("round-zero", "round 0", ["round"], 0),
        ("author-outside", "author 4", ["author"], 4),
        ("extra-member", "a member evidence does not have", ["extra"], 1),
        ("one-block", "a single block", ["blocks"], blocks[:1]),
        ("same-block-twice", "the first block twice", ["blocks"], [blocks[0], blocks[0]]),
        (
            "descending-order",
            "the blocks in descending digest order",
            ["blocks"],
            [blocks[1], blocks[0]],
        ),
        ("block-tampered", "a block changed after signing", ["blocks", 1, "timestampMs"], 1),
        ("block-round-differs", "a block of round 3", ["blocks", 0, "round"], 3),
        ("block-malformed", "a block without its round", ["blocks", 0, "round"], _DELETE),
        ("round-differs-from-blocks", "the evidence says round 3", ["round"], 3),
    ]
    for name, description, path, value in table:
        cases.append(
            (
                f"verify-{name}",
                description,
                rule,
                {**members, "evidence": _changed(evidence, path, value)},
            )
        )
    return cases


def equivocation_vectors() -> list[Vector]:
    """Equivocation evidence made from two blocks, and verified or refused."""
    return with_expected(EQUIVOCATION, equivocation_oracle, _equivocation_cases())


# --- consensus/checkpoint ---------------------------------------------------------------------


def checkpoint_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """Build a summary, check one follows another or holds transactions, or verify one."""
    if "transactions" in input_:
        try:
            digests = check_checkpoint_transactions(input_["summary"], input_["transactions"])
        except LedgerError:
            return {"result": "invalid", "error": "checkpointTransactions"}
        return {"result": "valid", "digests": [digest.hex() for digest in digests]}
    if "fields" in input_:
        fields = input_["fields"]
        summary = make_checkpoint_summary(
            fields["epoch"],
            fields["sequence"],
            fields["commitIndex"],
            bytes.fromhex(fields["commitDigest"]),
            [bytes.fromhex(digest) for digest in fields["transactionDigests"]],
            bytes.fromhex(fields["previousDigest"]),
            fields["timestampMs"],
        )
        return {"result": "valid", "summary": summary, "digest": checkpoint_digest(summary).hex()}
    if "summary" in input_:
        try:
            check_checkpoint_follows(input_["previous"], input_["summary"])
        except LedgerError:
            return {"result": "invalid", "error": "checkpointChain"}
        return {"result": "valid", "digest": checkpoint_digest(input_["summary"]).hex()}
    try:
        summary = verify_certified_checkpoint(
            input_["certified"], Committee.from_json(input_["committee"])
        )
    except ReceiptVerificationError as exc:
        return {"result": "invalid", "error": exc.part.value}
    return {"result": "valid", "digest": checkpoint_digest(summary).hex()}


def _checkpoint_cases() -> list[Case]:
    committee = make_committee([1, 1, 1, 1])
    members = committee_input(committee)
    digests = [transaction_digest(transaction(number)) for number in range(3)]
    fields: dict[str, Any] = {
        "epoch": 0,
        "sequence": 1,
        "commitIndex": 1,
        "commitDigest": hashlib.sha256(b"commit 1").hexdigest(),
        "transactionDigests": [digest.hex() for digest in digests],
        "previousDigest": "00" * 32,
        "timestampMs": BASE_TIME,
    }
    first = make_checkpoint_summary(
        0, 1, 1, bytes.fromhex(fields["commitDigest"]), digests, bytes(32), BASE_TIME
    )
    second = make_checkpoint_summary(
        0, 2, 2, hashlib.sha256(b"commit 2").digest(), [], checkpoint_digest(first), BASE_TIME + 5
    )
    build = ["TWIN-ANCHORING-021", "TWIN-ANCHORING-022", "TWIN-ANCHORING-023"]
    chain = ["TWIN-ANCHORING-023"]
    signed = ["TWIN-ANCHORING-024", "TWIN-ANCHORING-025"]
    good = certified(committee, digests, [0, 1, 3])
    entries = good["signatures"]
    cases: list[Case] = [
        ("summary", "the summary of a commit of three transactions", build, {"fields": fields}),
        (
            "summary-empty-commit",
            "a commit without transactions: the root of no leaves",
            build,
            {"fields": {**fields, "transactionDigests": []}},
        ),
        (
            "follows-first",
            "sequence 1 after nothing, previousDigest zero",
            chain,
            {"previous": None, "summary": first},
        ),
        (
            "follows-second",
            "sequence 2 chained to the first",
            chain,
            {"previous": first, "summary": second},
        ),
        (
            "follows-sequence-skipped",
            "sequence 3 after 1",
            chain,
            {"previous": first, "summary": {**second, "sequence": 3}},
        ),
        (
            "follows-wrong-previous",
            "previousDigest of another summary",
            chain,
            {"previous": first, "summary": {**second, "previousDigest": "11" * 32}},
        ),
        (
            "follows-time-goes-back",
            "timestampMs below the previous",
            chain,
            {"previous": first, "summary": {**second, "timestampMs": BASE_TIME - 1}},
        ),
        (
            "follows-first-not-zero",
            "sequence 1 with a non-zero previousDigest",
            chain,
            {"previous": None, "summary": {**first, "previousDigest": "11" * 32}},
        ),
        (
            "certified-valid",
            "signed by validators 0, 1 and 3",
            [*signed, "TWIN-ANCHORING-026"],
            {**members, "certified": good},
        ),
        (
            "certified-quorum-missing",
            "signed by two of four",
            ["TWIN-ANCHORING-026"],
            {**members, "certified": certified(committee, digests, [1, 2])},
        ),
        (
            "certified-unordered",
            "signers 3, 0, 1",
            signed,
            {**members, "certified": {**good, "signatures": [entries[2], entries[0], entries[1]]}},
        ),
        (
            "certified-epoch-mismatch",
            "a checkpoint of epoch 2",
            ["TWIN-ANCHORING-027"],
            {**members, "certified": certified(committee, digests, [0, 1, 2], epoch=2)},
        ),
        (
            "certified-unsigned-member",
            "a signature entry with an extra member",
            signed,
            {**members, "certified": _changed(good, ["signatures", 0, "extra"], 1)},
        ),
    ]
    cases.extend(_checkpoint_transaction_cases(first, [transaction(n) for n in range(3)]))
    return cases


def _checkpoint_transaction_cases(
    summary: Mapping[str, Any], transactions: list[dict[str, Any]]
) -> list[Case]:
    """A checkpoint's transactions as a node serves them, checked against its summary."""
    served = ["TWIN-CONSENSUS-134"]
    first, second, third = transactions
    empty = make_checkpoint_summary(0, 2, 2, hashlib.sha256(b"commit 2").digest(), [], bytes(32), 0)
    return [
        (
            "transactions-valid",
            "the three transactions in commit order",
            served,
            {"summary": summary, "transactions": transactions},
        ),
        (
            "transactions-none",
            "a checkpoint of no transaction, served none",
            served,
            {"summary": empty, "transactions": []},
        ),
        (
            "transactions-reordered",
            "the same three, the last two swapped",
            served,
            {"summary": summary, "transactions": [first, third, second]},
        ),
        (
            "transactions-one-missing",
            "the first two of three",
            served,
            {"summary": summary, "transactions": [first, second]},
        ),
        (
            "transactions-one-more",
            "a fourth transaction after the three",
            served,
            {"summary": summary, "transactions": [*transactions, transaction(3)]},
        ),
        (
            "transactions-changed",
            "the second with another nonce",
            served,
            {"summary": summary, "transactions": [first, {**second, "nonce": "ff"}, third]},
        ),
        (
            "transactions-one-twice",
            "the first, then the first again in the second's place",
            served,
            {"summary": summary, "transactions": [first, first, third]},
        ),
        (
            "transactions-not-a-transaction",
            "a string in the second's place",
            served,
            {"summary": summary, "transactions": [first, "transaction", third]},
        ),
    ]


def checkpoint_vectors() -> list[Vector]:
    """Checkpoint summaries built, chained and certified."""
    return with_expected(CHECKPOINT, checkpoint_oracle, _checkpoint_cases())


# --- consensus/commit-chain -------------------------------------------------------------------


def commit_chain_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """The next commit, whether one commit follows another, or a commit's transactions."""
    if "leader" in input_:
        commit = next_commit(
            input_["previous"],
            input_["leaderTimestampMs"],
            BlockRef.from_json(input_["leader"]),
            [BlockRef.from_json(ref) for ref in input_["blocks"]],
        )
        return {"result": "valid", "commit": commit, "digest": commit_digest(commit).hex()}
    if "blocks" in input_:
        blocks = {block_ref(block): block for block in input_["blocks"]}
        return {
            "result": "valid",
            "transactions": commit_transactions(input_["commit"], blocks),
        }
    try:
        check_commit_follows(input_["previous"], input_["commit"])
    except LedgerError as exc:
        code = "commitChain" if exc.requirement == "TWIN-CONSENSUS-011" else "commitMalformed"
        return {"result": "invalid", "error": code}
    return {"result": "valid", "digest": commit_digest(input_["commit"]).hex()}


def _commit_cases() -> list[Case]:
    committee = make_committee([1, 1, 1, 1])
    round_one = _round_one(committee)
    refs = [block_ref(block) for block in round_one]
    with_txs = _block(1, 2, [refs[1], refs[0], refs[2]], BASE_TIME + 2000)
    with_txs = sign_block(
        signing_key(1),
        {
            **{k: v for k, v in with_txs.items() if k != "signature"},
            "transactions": [transaction(1), transaction(2)],
        },
    )
    other_txs = sign_block(
        signing_key(0),
        {
            **{
                k: v
                for k, v in _block(0, 2, [refs[0], refs[1], refs[2]], BASE_TIME + 2000).items()
                if k != "signature"
            },
            "transactions": [transaction(3)],
        },
    )
    leader = block_ref(with_txs)
    first = next_commit(None, BASE_TIME + 2000, leader, [block_ref(other_txs), leader])
    second = next_commit(first, BASE_TIME + 1500, refs[2], [refs[2]])
    shape = ["TWIN-CONSENSUS-010"]
    chain = ["TWIN-CONSENSUS-011"]
    cases: list[Case] = [
        (
            "make-first",
            "the first commit: index 1, previousDigest zero",
            [*shape, *chain],
            {
                "previous": None,
                "leaderTimestampMs": BASE_TIME + 2000,
                "leader": leader.to_json(),
                "blocks": [block_ref(other_txs).to_json(), leader.to_json()],
            },
        ),
        (
            "make-second-time-does-not-go-back",
            "the leader's time is earlier: the commit keeps the previous time",
            [*shape, *chain],
            {
                "previous": first,
                "leaderTimestampMs": BASE_TIME + 1500,
                "leader": refs[2].to_json(),
                "blocks": [refs[2].to_json()],
            },
        ),
        ("follows-first", "index 1 after nothing", chain, {"previous": None, "commit": first}),
        ("follows-second", "index 2 after index 1", chain, {"previous": first, "commit": second}),
        (
            "follows-index-skipped",
            "index 3 after 1",
            chain,
            {"previous": first, "commit": {**second, "index": 3}},
        ),
        (
            "follows-wrong-previous",
            "previousDigest of another commit",
            chain,
            {"previous": first, "commit": {**second, "previousDigest": "22" * 32}},
        ),
        (
            "follows-time-goes-back",
            "timestampMs below the previous commit's",
            chain,
            {"previous": first, "commit": {**second, "timestampMs": BASE_TIME}},
        ),
        (
            "malformed-leader-not-in-blocks",
            "the leader is not among the blocks",
            shape,
            {"previous": first, "commit": {**second, "blocks": [refs[3].to_json()]}},
        ),
        (
            "malformed-index-zero",
            "index 0",
            shape,
            {"previous": None, "commit": {**first, "index": 0}},
        ),
        (
            "malformed-extra-member",
            "a member commits do not have",
            shape,
            {"previous": None, "commit": {**first, "round": 2}},
        ),
        (
            "transactions-in-block-order",
            "the blocks' transactions in the commit's block order",
            ["TWIN-CONSENSUS-012"],
            {"commit": first, "blocks": [with_txs, other_txs]},
        ),
    ]
    return cases


def commit_chain_vectors() -> list[Vector]:
    """Commits built and chained, and the transactions a commit carries."""
    return with_expected(COMMIT_CHAIN, commit_chain_oracle, _commit_cases())


# --- consensus/genesis ------------------------------------------------------------------------

_PEER_URL = re.compile(r"https?://[^\s/?#@]+/?\Z")


def genesis_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """Whether a genesis file is {committee, peers} with one http(s) URL per validator."""
    # TWIN-CONSENSUS-111 "A genesis file MUST be {committee, peers} holding a valid committee
    # and exactly one http or https URL per validator."
    document = input_["genesis"]
    invalid = {"result": "invalid", "error": "invalidGenesis"}
    if not isinstance(document, dict) or set(document) != {"committee", "peers"}:
        return invalid
    try:
        committee = Committee.from_json(document["committee"])
    except LedgerError:
        return invalid
    peers = document["peers"]
    if not isinstance(peers, list):
        return invalid
    seen: set[int] = set()
    for entry in peers:
        if not isinstance(entry, dict) or set(entry) != {"index", "url"}:
            return invalid
        index, url = entry["index"], entry["url"]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < committee.size:
            return invalid
        if index in seen or not isinstance(url, str) or not _PEER_URL.match(url):
            return invalid
        seen.add(index)
    if seen != set(range(committee.size)):
        return invalid
    return {"result": "valid", "peers": {str(entry["index"]): entry["url"] for entry in peers}}


def _genesis_cases() -> list[Case]:
    rule = ["TWIN-CONSENSUS-111", "TWIN-CONSENSUS-001"]
    four = _committee_json([1, 1, 1, 1])
    peers = [{"index": index, "url": f"http://127.0.0.1:{9100 + index}"} for index in range(4)]
    good = {"committee": four, "peers": peers}
    table: list[tuple[str, str, Any]] = [
        ("four-validators", "a committee of four and one URL each", good),
        (
            "https-and-trailing-slash",
            "https URLs, one with a trailing slash",
            {
                **good,
                "peers": [
                    {**peer, "url": f"https://validator{peer['index']}.example:8443/"}
                    for peer in peers
                ],
            },
        ),
        ("peers-in-any-order", "peers listed in reverse order", {**good, "peers": peers[::-1]}),
        ("missing-peer", "no URL for validator 3", {**good, "peers": peers[:3]}),
        ("peer-twice", "validator 0 listed twice", {**good, "peers": [*peers, peers[0]]}),
        (
            "peer-outside-committee",
            "a URL for validator 4",
            {**good, "peers": [*peers, {"index": 4, "url": "http://127.0.0.1:9104"}]},
        ),
        (
            "ftp-url",
            "an ftp URL",
            {**good, "peers": [{**peers[0], "url": "ftp://127.0.0.1/"}, *peers[1:]]},
        ),
        (
            "url-with-path",
            "a URL with a path",
            {**good, "peers": [{**peers[0], "url": "http://127.0.0.1:9100/node"}, *peers[1:]]},
        ),
        ("extra-member", "a member genesis files do not have", {**good, "chainId": "twin"}),
        (
            "bad-committee",
            "a committee without validators",
            {**good, "committee": {"epoch": 0, "validators": []}},
        ),
        (
            "peer-extra-member",
            "a peer entry with a name",
            {**good, "peers": [{**peers[0], "name": "zero"}, *peers[1:]]},
        ),
    ]
    return [(name, description, rule, {"genesis": value}) for name, description, value in table]


def genesis_vectors() -> list[Vector]:
    """Genesis files: a committee and one validator URL per member."""
    return with_expected(GENESIS, genesis_oracle, _genesis_cases())


FAMILIES = [
    Family(
        "consensus",
        "genesis",
        False,
        genesis_vectors,
        genesis_oracle,
        "genesis files accepted or refused",
    ),
    Family(
        "consensus",
        "committee",
        False,
        committee_vectors,
        committee_oracle,
        "committees read or refused, their thresholds, genesis and signer stake",
    ),
    Family(
        "consensus",
        "equivocation",
        False,
        equivocation_vectors,
        equivocation_oracle,
        "equivocation evidence made from two blocks, and verified or refused",
    ),
    Family(
        "consensus",
        "checkpoint",
        False,
        checkpoint_vectors,
        checkpoint_oracle,
        "checkpoint summaries built, chained and certified",
    ),
    Family(
        "consensus",
        "commit-chain",
        False,
        commit_chain_vectors,
        commit_chain_oracle,
        "commits built and chained, and the transactions a commit carries",
    ),
]
