"""Consensus profile checks on the live ledger: committee, commits, checkpoints, blocks, writes.

The commit-rule and block-validity vectors are replayed by another module; these checks read
what the node's ledger holds and judge it with ``twin_spec`` (the commit chain, certified
checkpoints, Merkle roots over the committed transactions, the blocks' signatures and receive
rules), and send it blocks, transactions and evaluation requests it must refuse or answer
without changing its state.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from twin_conformance._client import TwinClient, fail, require
from twin_conformance._diagnosis import block_domain_misuse, checkpoint_domain_misuse
from twin_conformance._failures import prerequisite
from twin_conformance._run import TwinState
from twin_conformance._schedule_replay import first_leader_mismatch
from twin_conformance.checks._support import (
    Anchored,
    body_object,
    caller_identity,
    check_receipt,
    error_code,
    error_field,
    fresh_random,
    harness_key,
    require_status,
    spec_failure_requirement,
)
from twin_spec import (
    COMMITS_PER_SCHEDULE,
    BlockRef,
    BlockRejectedError,
    CommittedSubDag,
    Committee,
    Dag,
    Ed25519SigningKey,
    LedgerError,
    Validator,
    block_digest,
    check_block,
    check_checkpoint_follows,
    check_checkpoint_transactions,
    check_commit_follows,
    commit_digest,
    commit_transactions,
    gc_round_after,
    genesis_blocks,
    genesis_refs,
    merkle_tree_hash,
    read_commit,
    sign_block,
    transaction_digest,
    validate_block,
    verify_certified_checkpoint,
    verify_equivocation_evidence,
)

pytestmark = pytest.mark.twin_profile("consensus")

PAGE = 1000
MAX_PAGES = 5
SAMPLE = 4
EVALUATE_BODY_LIMIT = 16 * 1024 * 1024
EVALUATE_BLOCK_LIMIT = 20000
MAX_SEQUENCE = 9007199254740991
MAX_TRANSACTION_PAGES = 64
"""A checkpoint's transactions read a page at a time: at most this many pages per read."""


def read_pages(client: TwinClient, path: str, member: str) -> list[dict[str, Any]]:
    """Every item of a paged consensus list, from 1, up to ``MAX_PAGES`` pages."""
    items: list[dict[str, Any]] = []
    for page in range(MAX_PAGES):
        exchange = client.get(path, params={"from": str(1 + page * PAGE), "limit": str(PAGE)})
        require_status(exchange, 200, "TWIN-CONSENSUS-100", f"reading {path}")
        body = body_object(exchange, "TWIN-CONSENSUS-100", f"the {member} page")
        values = body.get(member)
        require(isinstance(values, list), "TWIN-CONSENSUS-100", f"{path} has no {member} array")
        assert isinstance(values, list)
        require(
            all(isinstance(value, dict) for value in values),
            "TWIN-CONSENSUS-100",
            f"{path} lists something that is not an object",
        )
        items.extend(values)
        if len(values) < PAGE:
            break
    return items


@pytest.fixture(scope="module")
@prerequisite("the node serves its commits", read_only=True)
def commits(client: TwinClient) -> list[dict[str, Any]]:
    """The node's commits from index 1."""
    return read_pages(client, "/consensus/commits", "commits")


@pytest.fixture(scope="module")
@prerequisite("the node serves its checkpoints", read_only=True)
def checkpoints(client: TwinClient, commits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The node's certified checkpoints from sequence 1 (read after the commits)."""
    return read_pages(client, "/consensus/checkpoints", "checkpoints")


def commit_parts(commit: object) -> tuple[int, bytes, int, BlockRef, list[BlockRef]]:
    """The members of a commit the node serves; a malformed one fails, never crashes the check."""
    try:
        return read_commit(commit)
    except LedgerError as exc:
        where = commit.get("index") if isinstance(commit, dict) else commit
        fail(
            spec_failure_requirement(exc, "TWIN-CONSENSUS-010"), f"commit {where!r}: {exc.message}"
        )


def get_block(client: TwinClient, ref: Mapping[str, Any]) -> dict[str, Any]:
    """The block a reference names, as the node serves it by digest."""
    exchange = client.get(f"/consensus/blocks/{ref.get('digest')}")
    require_status(exchange, 200, "TWIN-CONSENSUS-100", f"getting block {ref}")
    return body_object(exchange, "TWIN-CONSENSUS-100", "the block")


def sample(commits: list[dict[str, Any]], rng: random.Random) -> list[int]:
    """Positions of a few commits: the first, the last, and some between."""
    if len(commits) <= 3 * SAMPLE:
        return list(range(len(commits)))
    middle = rng.sample(range(SAMPLE, len(commits) - SAMPLE), SAMPLE)
    return sorted({*range(SAMPLE), *middle, *range(len(commits) - SAMPLE, len(commits))})


# --- the committee --------------------------------------------------------------------------------


@pytest.mark.twin_requirement("TWIN-CONSENSUS-001")
@pytest.mark.twin_read_only
def test_the_committee_is_valid(served_committee: Committee) -> None:
    # The prerequisite fetched and parsed it; a committee that breaks the rules fails there.
    require(served_committee.size >= 1, "TWIN-CONSENSUS-001", "the committee is empty")


# --- commits and checkpoints ---------------------------------------------------------------------


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CONSENSUS-010", "TWIN-CONSENSUS-011")
def test_commits_chain_from_index_1(commits: list[dict[str, Any]]) -> None:
    require(commits, "TWIN-CONSENSUS-011", "the node serves no commit at index 1")
    previous: dict[str, Any] | None = None
    for commit in commits:
        try:
            read_commit(commit)
            check_commit_follows(previous, commit)
        except LedgerError as exc:
            fail(
                spec_failure_requirement(exc, "TWIN-CONSENSUS-010"),
                f"commit {commit.get('index')!r}: {exc.message}",
            )
        previous = commit


class _ServedAncestors(Dag):
    """The ancestors of committed blocks, as the node serves each block by digest.

    Only what a reputation tally reads (``ancestors``); a served block must be the one its
    digest names, or it tells nothing about the commit.
    """

    def __init__(self, committee: Committee, client: TwinClient) -> None:
        super().__init__(committee)
        self._client = client

    def ancestors(self, ref: BlockRef) -> tuple[BlockRef, ...]:
        """Return the ancestors the served block ``ref`` names."""
        block = get_block(self._client, ref.to_json())
        try:
            served = check_block(block, self.committee).digest
        except LedgerError as exc:
            fail(
                spec_failure_requirement(exc, "TWIN-CONSENSUS-004"),
                f"committed block {ref.to_json()} as served: {exc.message}",
            )
        require(
            served == ref.digest,
            "TWIN-CONSENSUS-100",
            f"GET /consensus/blocks/{ref.digest.hex()} serves a block of digest {served.hex()}",
        )
        return tuple(BlockRef.from_json(item) for item in block["ancestors"])


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement(
    "TWIN-CONSENSUS-020",
    "TWIN-CONSENSUS-114",
    "TWIN-CONSENSUS-115",
    "TWIN-CONSENSUS-116",
    "TWIN-CONSENSUS-117",
)
def test_committed_leaders_follow_the_leader_schedule(
    client: TwinClient, commits: list[dict[str, Any]], committee: Committee
) -> None:
    # The leader of each committed slot is the one the spec core's schedule names, computed
    # from the served commit sequence alone: round-robin up to commit N, then every N commits
    # the swap table from the scores over the N commits before (each window's blocks fetched
    # by digest). To bound the fetches, only the first and the last full windows are scored:
    # the leaders of the windows after them are checked, those of windows between are not.
    subdags = []
    for commit in commits:
        index, _, _, leader, blocks = commit_parts(commit)
        subdags.append(CommittedSubDag(index, leader, tuple(blocks)))
    full_windows = len(subdags) // COMMITS_PER_SCHEDULE
    scored = {0, full_windows - 1} & set(range(full_windows))
    mismatch = first_leader_mismatch(
        subdags, committee, _ServedAncestors(committee, client), scored
    )
    if mismatch is not None:
        fail(mismatch.requirement, mismatch.describe())


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CONSENSUS-029")
def test_commits_bring_each_block_once_in_linear_order(commits: list[dict[str, Any]]) -> None:
    seen: set[BlockRef] = set()
    for commit in commits:
        _, _, _, leader, blocks = commit_parts(commit)
        ordered = sorted(blocks, key=lambda ref: (ref.round, ref.author, ref.digest))
        require(
            blocks == ordered and blocks[-1] == leader,
            "TWIN-CONSENSUS-029",
            f"commit {commit['index']}'s blocks are not ordered by round, author and digest "
            "with the leader last",
        )
        require(
            all(ref.round < leader.round for ref in blocks[:-1]),
            "TWIN-CONSENSUS-029",
            f"commit {commit['index']} brings a block of its leader's round besides the leader",
        )
        repeated = seen.intersection(blocks)
        require(
            not repeated,
            "TWIN-CONSENSUS-029",
            f"commit {commit['index']} brings block(s) an earlier commit brought: "
            f"{[ref.to_json() for ref in repeated][:2]}",
        )
        seen.update(blocks)


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CONSENSUS-107", "TWIN-CONSENSUS-030")
def test_served_equivocation_evidence_verifies(client: TwinClient, committee: Committee) -> None:
    evidence = read_pages(client, "/consensus/equivocations", "equivocations")
    for position, entry in enumerate(evidence):
        try:
            verify_equivocation_evidence(entry, committee)
        except LedgerError as exc:
            # Evidence that does not verify breaks the evidence format (030), whatever stored it.
            fail(
                spec_failure_requirement(exc, "TWIN-CONSENSUS-030"),
                f"equivocation evidence {position} served by the node does not verify: {exc}",
            )


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CONSENSUS-108")
def test_commits_leave_out_blocks_below_the_garbage_collection_round(
    commits: list[dict[str, Any]],
) -> None:
    gc_round = 0
    for commit in commits:
        _, _, _, leader, blocks = commit_parts(commit)
        stale = [ref for ref in blocks if ref.round <= gc_round]
        require(
            not stale,
            "TWIN-CONSENSUS-108",
            f"commit {commit['index']} brings block(s) at or below its garbage-collection "
            f"round {gc_round}: {[ref.to_json() for ref in stale][:2]}",
        )
        gc_round = gc_round_after(leader.round)


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement(
    "TWIN-ANCHORING-021",
    "TWIN-ANCHORING-023",
    "TWIN-ANCHORING-024",
    "TWIN-ANCHORING-025",
    "TWIN-ANCHORING-026",
    "TWIN-ANCHORING-027",
    "TWIN-CONSENSUS-100",
)
def test_every_commit_has_a_certified_checkpoint(
    client: TwinClient,
    commits: list[dict[str, Any]],
    checkpoints: list[dict[str, Any]],
    committee: Committee,
    rng: random.Random,
) -> None:
    require(
        len(checkpoints) >= len(commits),
        "TWIN-ANCHORING-021",
        f"the node serves {len(commits)} commits but only {len(checkpoints)} checkpoints",
    )
    previous: dict[str, Any] | None = None
    for position, certified in enumerate(checkpoints):
        try:
            summary = verify_certified_checkpoint(certified, committee)
            check_checkpoint_follows(previous, summary)
        except LedgerError as exc:
            misuse = checkpoint_domain_misuse(certified, committee)
            if misuse is not None:
                fail(misuse[0], f"checkpoint {position + 1}: {misuse[1]}")
            fail(
                spec_failure_requirement(exc, "TWIN-ANCHORING-023"),
                f"checkpoint {position + 1}: {exc.message}",
            )
        require(
            summary["commitIndex"] == summary["sequence"],
            "TWIN-ANCHORING-021",
            f"checkpoint {summary['sequence']} certifies commit {summary['commitIndex']}; there "
            "is one checkpoint per commit, from 1",
        )
        if position < len(commits):
            expected = commit_digest(commits[position]).hex()
            require(
                summary["commitDigest"] == expected,
                "TWIN-CONSENSUS-100",
                f"checkpoint {summary['sequence']}'s commitDigest is not the digest of the commit "
                f"the node serves at index {summary['commitIndex']}",
            )
        previous = dict(summary)
    for position in sample(checkpoints, rng):
        sequence = position + 1
        exchange = client.get(f"/consensus/checkpoints/{sequence}")
        require_status(exchange, 200, "TWIN-CONSENSUS-100", f"getting checkpoint {sequence}")
        require(
            exchange.json("TWIN-CONSENSUS-100") == checkpoints[position],
            "TWIN-CONSENSUS-100",
            f"GET /consensus/checkpoints/{sequence} differs from the listed checkpoint",
        )


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement(
    "TWIN-ANCHORING-022",
    "TWIN-ANCHORING-020",
    "TWIN-CONSENSUS-004",
    "TWIN-CONSENSUS-005",
    "TWIN-CONSENSUS-006",
    "TWIN-CONSENSUS-008",
    "TWIN-CONSENSUS-009",
    "TWIN-CONSENSUS-011",
    "TWIN-CONSENSUS-012",
    "TWIN-CONSENSUS-013",
    "TWIN-CONSENSUS-100",
)
def test_committed_blocks_are_valid_and_match_their_checkpoints(
    client: TwinClient,
    commits: list[dict[str, Any]],
    checkpoints: list[dict[str, Any]],
    committee: Committee,
    rng: random.Random,
) -> None:
    for position in sample(commits, rng):
        commit = commits[position]
        blocks: dict[BlockRef, dict[str, Any]] = {}
        _, _, timestamp, leader, refs = commit_parts(commit)
        for ref in refs:
            block = get_block(client, ref.to_json())
            require(
                block_digest(block) == ref.digest,
                "TWIN-CONSENSUS-006",
                f"the block served for digest {ref.digest.hex()} hashes to "
                f"{block_digest(block).hex()}",
            )
            try:
                check_block(block, committee)
            except BlockRejectedError as exc:
                misuse = block_domain_misuse(block, committee)
                if misuse is not None:
                    fail(misuse[0], f"committed block {ref.to_json()}: {misuse[1]}")
                fail(
                    spec_failure_requirement(exc, "TWIN-CONSENSUS-004"),
                    f"committed block {ref.to_json()} breaks the receive rule {exc.code.value}: "
                    f"{exc.message}",
                )
            for ancestor in block["ancestors"]:
                parent = get_block(client, ancestor)
                require(
                    block["timestampMs"] >= parent["timestampMs"],
                    "TWIN-CONSENSUS-013",
                    f"block {ref.to_json()}'s timestampMs is below its ancestor {ancestor}'s",
                )
            blocks[ref] = block
        floor = commits[position - 1]["timestampMs"] if position else 0
        require(
            timestamp == max(blocks[leader]["timestampMs"], floor),
            "TWIN-CONSENSUS-011",
            f"commit {commit['index']}'s timestampMs {timestamp} is not the larger of its "
            f"leader's {blocks[leader]['timestampMs']} and the previous commit's {floor}",
        )
        digests = [transaction_digest(tx) for tx in commit_transactions(commit, blocks)]
        if position < len(checkpoints):
            require_root_of(checkpoints[position]["summary"], digests)


def require_root_of(summary: Mapping[str, Any], digests: list[bytes]) -> None:
    """Fail unless the summary certifies ``digests``, the commit's transactions in commit order.

    The same transactions in another order break the commit's order (TWIN-CONSENSUS-012);
    anything else breaks the root and count rule (TWIN-ANCHORING-022).
    """
    root = summary.get("transactionsRoot")
    if summary.get("transactionCount") == len(digests) and root == merkle_tree_hash(digests).hex():
        return
    reordered = [sorted(digests), sorted(digests, reverse=True), digests[::-1]]
    other_order = summary.get("transactionCount") == len(digests) and any(
        order != digests and merkle_tree_hash(order).hex() == root for order in reordered
    )
    fail(
        "TWIN-CONSENSUS-012" if other_order else "TWIN-ANCHORING-022",
        f"checkpoint {summary.get('sequence')}'s transactionsRoot and transactionCount are not "
        f"the Merkle root and number of the {len(digests)} transactions its commit's blocks "
        f"hold, in commit order{' (they are those of another order)' if other_order else ''}",
    )


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CONSENSUS-134")
def test_a_certified_checkpoints_transactions_are_served_in_commit_order(
    client: TwinClient,
    checkpoints: list[dict[str, Any]],
    committee: Committee,
    rng: random.Random,
) -> None:
    # A checkpoint that does not verify is the certified-checkpoint check's failure, not this
    # one's: only the summaries the committee certified are judged here.
    summaries: list[dict[str, Any]] = []
    for certified in checkpoints:
        try:
            summaries.append(dict(verify_certified_checkpoint(certified, committee)))
        except LedgerError:
            continue
    with_transactions = [s for s in summaries if s["transactionCount"]]
    chosen = [with_transactions[i] for i in sample(with_transactions, rng)]
    chosen += [s for s in summaries if not s["transactionCount"]][:1]
    for summary in chosen:
        sequence = summary["sequence"]
        path = f"/consensus/checkpoints/{sequence}/transactions"
        served = checkpoint_transactions(client, path, PAGE)
        first = body_object(client.get(path, params={"limit": "1"}), "TWIN-CONSENSUS-134", path)
        require(
            first.get("sequence") == sequence
            and first.get("transactionCount") == summary["transactionCount"],
            "TWIN-CONSENSUS-134",
            f"{path} names sequence {first.get('sequence')!r} and transactionCount "
            f"{first.get('transactionCount')!r}, the certified summary {sequence} and "
            f"{summary['transactionCount']}",
        )
        try:
            check_checkpoint_transactions(summary, served)
        except LedgerError as exc:
            fail(
                "TWIN-CONSENSUS-134",
                f"checkpoint {sequence}: {exc.message} ({len(served)} transactions served)",
            )
        if len(served) > 1:
            # Smaller pages (three or four) give the same transactions in the same order.
            limit = max(1, len(served) // 3)
            paged = checkpoint_transactions(client, path, limit)
            require(
                paged == served,
                "TWIN-CONSENSUS-134",
                f"{path} read {limit} at a time differs from one page of {PAGE}",
            )
    missing = client.get(f"/consensus/checkpoints/{MAX_SEQUENCE}/transactions")
    require_status(missing, 404, "TWIN-CONSENSUS-134", "the transactions of no checkpoint")


def checkpoint_transactions(client: TwinClient, path: str, limit: int) -> list[Any]:
    """Every transaction of one checkpoint, read a page of ``limit`` at a time (bounded)."""
    transactions: list[Any] = []
    for _page in range(MAX_TRANSACTION_PAGES):
        params = {"from": str(len(transactions) + 1), "limit": str(limit)}
        exchange = client.get(path, params=params)
        require_status(exchange, 200, "TWIN-CONSENSUS-134", f"reading {path}")
        body = body_object(exchange, "TWIN-CONSENSUS-134", f"{path}'s page")
        page = body.get("transactions")
        require(isinstance(page, list), "TWIN-CONSENSUS-134", f"{path} has no transactions array")
        assert isinstance(page, list)
        transactions.extend(page)
        if len(page) < limit:
            return transactions
    fail("TWIN-CONSENSUS-134", f"{path} has more than {MAX_TRANSACTION_PAGES} pages")


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CONSENSUS-007", "TWIN-CONSENSUS-100")
def test_genesis_and_rounds_are_served_as_stored(
    client: TwinClient, commits: list[dict[str, Any]], committee: Committee
) -> None:
    for block, ref in zip(genesis_blocks(committee), genesis_refs(committee), strict=True):
        served = get_block(client, ref.to_json())
        require(
            served == block,
            "TWIN-CONSENSUS-007",
            f"the genesis block of validator {ref.author} is served as {served}, not {block}",
        )
    if not commits:
        return
    leader = commits[-1]["leader"]
    exchange = client.get("/consensus/blocks", params={"round": str(leader["round"])})
    require_status(exchange, 200, "TWIN-CONSENSUS-100", "listing a round's blocks")
    listed = body_object(exchange, "TWIN-CONSENSUS-100", "the round's blocks").get("blocks")
    require(isinstance(listed, list), "TWIN-CONSENSUS-100", "the round list has no blocks array")
    assert isinstance(listed, list)
    require(
        all(isinstance(block, dict) for block in listed),
        "TWIN-CONSENSUS-100",
        f"the list of round {leader['round']} holds something that is not a block object",
    )
    keys = [(block.get("author"), block_digest(block)) for block in listed]
    require(
        keys == sorted(keys),
        "TWIN-CONSENSUS-100",
        f"the blocks of round {leader['round']} are not ordered by author and digest",
    )
    require(
        get_block(client, leader) in listed,
        "TWIN-CONSENSUS-100",
        f"the list of round {leader['round']} lacks the committed leader block",
    )


@pytest.mark.twin_requirement("TWIN-CONSENSUS-100", "TWIN-ANCHORING-022")
def test_a_receipt_checkpoint_is_the_one_served_at_its_sequence(
    client: TwinClient, committee: Committee, run: TwinState, request: pytest.FixtureRequest
) -> None:
    if "anchoring" not in run.claimed:
        pytest.skip("the target does not claim anchoring, which makes the receipts")
    anchored: list[Anchored] = request.getfixturevalue("anchored")
    location = anchored[0].location
    receipt = anchored[0].proof.get("immutableReceipt")
    summary = check_receipt(receipt, committee, location)
    assert isinstance(receipt, dict)
    served = client.get(f"/consensus/checkpoints/{summary['sequence']}", expect_rejection=True)
    # The write was answered with this receipt: its certified checkpoint must be stored by then.
    require(
        served.status != 404,
        "TWIN-CONSENSUS-106",
        f"the node answered {location} with a receipt of checkpoint {summary['sequence']}, "
        "which it does not serve: it answered before storing the certified checkpoint",
    )
    require_status(served, 200, "TWIN-CONSENSUS-100", "getting the receipt's checkpoint")
    require(
        served.json("TWIN-CONSENSUS-100") == receipt["checkpoint"],
        "TWIN-CONSENSUS-100",
        f"the receipt's checkpoint differs from GET /consensus/checkpoints/{summary['sequence']}",
    )
    # Checkpoint N certifies commit N (one per commit, from 1); its commitIndex saying so is
    # TWIN-ANCHORING-021's to check, so the commit is fetched by the sequence.
    page = client.get("/consensus/commits", params={"from": str(summary["sequence"]), "limit": "1"})
    require_status(page, 200, "TWIN-CONSENSUS-100", "getting the receipt's commit")
    listed = body_object(page, "TWIN-CONSENSUS-100", "the commit page").get("commits")
    require(
        isinstance(listed, list) and len(listed) == 1,
        "TWIN-CONSENSUS-100",
        f"the node serves no commit {summary['sequence']}",
    )
    assert isinstance(listed, list)
    commit = listed[0]
    require(
        commit_digest(commit).hex() == summary["commitDigest"],
        "TWIN-CONSENSUS-100",
        f"commit {summary['sequence']} does not hash to its checkpoint's commitDigest",
    )
    _, _, _, _, refs = commit_parts(commit)
    blocks = {ref: get_block(client, ref.to_json()) for ref in refs}
    digests = [transaction_digest(tx).hex() for tx in commit_transactions(commit, blocks)]
    require(
        receipt["transactionDigest"] in digests,
        "TWIN-CONSENSUS-100",
        "the receipt's transaction is in none of its commit's blocks",
    )


# --- blocks from peers ----------------------------------------------------------------------------


def forged_block(committee: Committee, key: Ed25519SigningKey, case: str) -> dict[str, Any]:
    """A round-1 block signed by a key outside the committee, broken further as ``case`` says."""
    author = committee.size - 1
    refs = genesis_refs(committee)
    ancestors = [refs[author].to_json()] + [r.to_json() for r in refs if r.author != author]
    unsigned: dict[str, Any] = {
        "epoch": committee.epoch,
        "round": 1,
        "author": author,
        "timestampMs": 1_767_225_600_000,
        "ancestors": ancestors,
        "transactions": [],
    }
    if case == "unknown-author":
        unsigned["author"] = committee.size
    elif case == "wrong-epoch":
        unsigned["epoch"] = committee.epoch + 1
    elif case == "round-zero":
        unsigned["round"] = 0
    block = sign_block(key, unsigned)
    if case == "unsigned":
        block["signature"] = ""
    elif case == "extra-member":
        block["conformance"] = True
    return block


@pytest.mark.twin_requirement("TWIN-CONSENSUS-101", "TWIN-CONSENSUS-016", "TWIN-CORE-054")
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            "foreign-key",
            marks=pytest.mark.twin_requirement("TWIN-CONSENSUS-005"),
            id="foreign-key",
        ),
        pytest.param(
            "unsigned", marks=pytest.mark.twin_requirement("TWIN-CONSENSUS-005"), id="unsigned"
        ),
        pytest.param(
            "unknown-author",
            marks=pytest.mark.twin_requirement("TWIN-CONSENSUS-008"),
            id="unknown-author",
        ),
        pytest.param(
            "wrong-epoch",
            marks=pytest.mark.twin_requirement("TWIN-CONSENSUS-008"),
            id="wrong-epoch",
        ),
        pytest.param(
            "round-zero", marks=pytest.mark.twin_requirement("TWIN-CONSENSUS-008"), id="round-zero"
        ),
        pytest.param(
            "extra-member",
            marks=pytest.mark.twin_requirement("TWIN-CONSENSUS-004"),
            id="extra-member",
        ),
    ],
)
def test_a_block_not_signed_by_the_committee_is_refused(
    client: TwinClient, committee: Committee, run: TwinState, case: str
) -> None:
    block = forged_block(committee, harness_key(run, "consensus:forger"), case)
    try:
        check_block(block, committee)
    except BlockRejectedError as exc:
        code = exc.code.value
    else:  # pragma: no cover - the harness's key is never a committee key
        pytest.fail("harness fault: the spec accepts a block the harness forged")
    round_ = max(1, int(block["round"]))
    before = client.get("/consensus/blocks", params={"round": str(round_)})
    exchange = client.post("/consensus/blocks", json_body=block, auth=True, expect_rejection=True)
    require(
        exchange.status == 400 and error_code(exchange) == code,
        "TWIN-CONSENSUS-101",
        f"a forged block ({case}) answered {exchange.status} with code {error_code(exchange)!r}; "
        f"the spec refuses it with 400 {code}",
    )
    after = client.get("/consensus/blocks", params={"round": str(round_)})
    require(
        after.status == before.status and after.body == before.body,
        "TWIN-CONSENSUS-101",
        f"refusing a forged block changed the node's round {round_}",
    )
    stored = client.get(f"/consensus/blocks/{block_digest(block).hex()}", expect_rejection=True)
    require_status(stored, 404, "TWIN-CONSENSUS-101", "getting a refused block by its digest")


@pytest.mark.twin_requirement("TWIN-CONSENSUS-101")
def test_a_block_the_node_holds_is_accepted_again_without_change(
    client: TwinClient, commits: list[dict[str, Any]], committee: Committee
) -> None:
    if not commits:
        pytest.skip("the node has committed no block yet")
    ref = commits[0]["leader"]
    block = get_block(client, ref)
    try:
        check_block(block, committee)
    except BlockRejectedError:
        pytest.skip("the node's own block breaks a receive rule; the committed-block check says")
    before = client.get("/consensus/blocks", params={"round": str(ref["round"])})
    exchange = client.post("/consensus/blocks", json_body=block, auth=True)
    require_status(exchange, (202, 409), "TWIN-CONSENSUS-101", "re-sending a block the node holds")
    if exchange.status == 202:
        answer = body_object(exchange, "TWIN-CONSENSUS-101", "the accepted block")
        require(
            answer.get("block") == ref,
            "TWIN-CONSENSUS-101",
            f"the node accepted block {ref} as {answer.get('block')}",
        )
    after = client.get("/consensus/blocks", params={"round": str(ref["round"])})
    require(
        after.body == before.body,
        "TWIN-CONSENSUS-101",
        "accepting a block the node already held changed its round",
    )


# --- evaluation -----------------------------------------------------------------------------------


@dataclass
class Evaluation:
    """A committee of harness keys and blocks for ``POST /consensus/evaluate``."""

    committee: Committee
    blocks: list[dict[str, Any]]


def quorum_boundary(run: TwinState) -> Evaluation:
    """Three validators of stake 1 (quorum 3 = 2*3//3+1, not 2): round 2 needs all three."""
    keys = [harness_key(run, f"consensus:validator:{i}") for i in range(3)]
    committee = Committee(0, tuple(Validator(i, key.public_key, 1) for i, key in enumerate(keys)))
    genesis = [ref.to_json() for ref in genesis_refs(committee)]
    first = []
    for author, key in enumerate(keys):
        ancestors = [genesis[author]] + [g for g in genesis if g["author"] != author]
        first.append(
            sign_block(
                key,
                {
                    "epoch": 0,
                    "round": 1,
                    "author": author,
                    "timestampMs": 1_000 + author,
                    "ancestors": ancestors,
                    "transactions": [],
                },
            )
        )
    refs = [
        BlockRef(1, author, block_digest(block)).to_json() for author, block in enumerate(first)
    ]
    two_parents = sign_block(
        keys[0],
        {
            "epoch": 0,
            "round": 2,
            "author": 0,
            "timestampMs": 2_000,
            "ancestors": [refs[0], refs[1]],
            "transactions": [],
        },
    )
    three_parents = sign_block(
        keys[1],
        {
            "epoch": 0,
            "round": 2,
            "author": 1,
            "timestampMs": 2_001,
            "ancestors": [refs[1], refs[0], refs[2]],
            "transactions": [],
        },
    )
    return Evaluation(committee, [*first, two_parents, three_parents])


def spec_verdicts(evaluation: Evaluation) -> list[tuple[str, str | None]]:
    """What the spec's receive rules say of each block, in order, on a fresh DAG."""
    dag = Dag(evaluation.committee)
    verdicts: list[tuple[str, str | None]] = []
    for block in evaluation.blocks:
        try:
            validate_block(block, evaluation.committee, dag)
        except BlockRejectedError as exc:
            verdicts.append(("invalid", exc.code.value))
            continue
        dag.add(block)
        verdicts.append(("valid", None))
    return verdicts


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement(
    "TWIN-CONSENSUS-102", "TWIN-CONSENSUS-002", "TWIN-CONSENSUS-009", "TWIN-CONSENSUS-016"
)
def test_evaluate_gives_the_spec_verdicts_and_changes_nothing(
    client: TwinClient, run: TwinState
) -> None:
    evaluation = quorum_boundary(run)
    expected = spec_verdicts(evaluation)
    assert expected[3] == ("invalid", "parentQuorumMissing")
    before = read_pages(client, "/consensus/commits", "commits")
    exchange = client.post(
        "/consensus/evaluate",
        json_body={"committee": evaluation.committee.to_json(), "blocks": evaluation.blocks},
    )
    require_status(exchange, 200, "TWIN-CONSENSUS-102", "evaluating a DAG")
    verdicts = body_object(exchange, "TWIN-CONSENSUS-102", "the evaluation").get("verdicts")
    require(
        isinstance(verdicts, list) and len(verdicts) == len(evaluation.blocks),
        "TWIN-CONSENSUS-102",
        f"the evaluation has {len(verdicts) if isinstance(verdicts, list) else 'no'} verdicts "
        f"for {len(evaluation.blocks)} blocks",
    )
    assert isinstance(verdicts, list)
    for position, (block, verdict, (result, code)) in enumerate(
        zip(evaluation.blocks, verdicts, expected, strict=True)
    ):
        require(
            isinstance(verdict, dict) and verdict.get("digest") == block_digest(block).hex(),
            "TWIN-CONSENSUS-102",
            f"verdict {position} is not about block {position} (in the order given)",
        )
        assert isinstance(verdict, dict)
        error = verdict.get("error")
        got = error.get("code") if isinstance(error, dict) else None
        # Block 3 is valid or not by the quorum alone; refused under another code, the code
        # is what is wrong.
        requirement = (
            ("TWIN-CONSENSUS-002" if verdict.get("result") != result else "TWIN-CONSENSUS-016")
            if position == 3
            else "TWIN-CONSENSUS-102"
        )
        require(
            (verdict.get("result"), got) == (result, code),
            requirement,
            f"block {position} was judged {verdict.get('result')} {got or ''}; the spec says "
            f"{result} {code or ''} (committee of 3 stake-1 validators: quorum is 3)",
        )
    after = read_pages(client, "/consensus/commits", "commits")
    require(
        after[: len(before)] == before,
        "TWIN-CONSENSUS-102",
        "the node's commits changed while it evaluated a DAG",
    )
    ours = {block_digest(block).hex() for block in evaluation.blocks}
    require(
        not any(ref["digest"] in ours for commit in after for ref in commit["blocks"]),
        "TWIN-CONSENSUS-102",
        "a block the node only evaluated was committed on its ledger",
    )
    for block in evaluation.blocks[:1]:
        stored = client.get(f"/consensus/blocks/{block_digest(block).hex()}", expect_rejection=True)
        require_status(stored, 404, "TWIN-CONSENSUS-102", "getting an evaluated block")


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CONSENSUS-103", "TWIN-CORE-054")
@pytest.mark.parametrize(
    ("case", "status", "field"),
    [
        pytest.param("oversized-body", 413, None, id="oversized-body"),
        pytest.param("too-many-blocks", 413, None, id="too-many-blocks"),
        pytest.param("empty-committee", 400, "body.committee", id="empty-committee"),
        pytest.param("committee-not-object", 400, "body.committee", id="committee-not-object"),
        pytest.param("blocks-not-array", 400, "body.blocks", id="blocks-not-array"),
        pytest.param("no-blocks-member", 400, "body.blocks", id="no-blocks-member"),
    ],
)
def test_evaluate_refuses_oversized_and_malformed_bodies(
    client: TwinClient, committee: Committee, case: str, status: int, field: str | None
) -> None:
    valid = committee.to_json()
    kwargs: dict[str, Any]
    if case == "oversized-body":
        padding = b" " * (EVALUATE_BODY_LIMIT + 1024)
        content = b'{"committee": {}, "blocks": []' + padding + b"}"
        kwargs = {"content": content, "headers": {"content-type": "application/json"}}
    elif case == "too-many-blocks":
        kwargs = {"json_body": {"committee": valid, "blocks": [{}] * (EVALUATE_BLOCK_LIMIT + 1)}}
    elif case == "empty-committee":
        kwargs = {"json_body": {"committee": {"epoch": 0, "validators": []}, "blocks": []}}
    elif case == "committee-not-object":
        kwargs = {"json_body": {"committee": [valid], "blocks": []}}
    elif case == "blocks-not-array":
        kwargs = {"json_body": {"committee": valid, "blocks": {"0": {}}}}
    else:
        kwargs = {"json_body": {"committee": valid}}
    exchange = client.post("/consensus/evaluate", expect_rejection=True, **kwargs)
    require_status(exchange, status, "TWIN-CONSENSUS-103", f"evaluating a bad body ({case})")
    if field is not None:
        named = error_field(exchange) or ""
        require(
            named == field or named.startswith(f"{field}."),
            "TWIN-CONSENSUS-103",
            f"the 400 names {named!r}, not {field}",
        )


# --- transactions ---------------------------------------------------------------------------------


@pytest.mark.twin_requirement("TWIN-CONSENSUS-104", "TWIN-CORE-054")
@pytest.mark.parametrize(
    ("case", "field"),
    [
        pytest.param("missing-nonce", "body.nonce", id="missing-nonce"),
        pytest.param("type-not-string", "body.type", id="type-not-string"),
        pytest.param("timestamp-not-integer", "body.timestampMs", id="timestamp-not-integer"),
        pytest.param("payload-not-object", "body.payload", id="payload-not-object"),
        pytest.param("sender-not-the-caller", "body.sender", id="sender-not-the-caller"),
    ],
)
def test_a_bad_transaction_is_400_naming_the_member(
    client: TwinClient, rng: random.Random, case: str, field: str
) -> None:
    caller = caller_identity(client)
    transaction: dict[str, Any] = {
        "type": "conformance.noop",
        "sender": caller or "did:example:conformance",
        "nonce": f"{rng.getrandbits(128):032x}",
        "timestampMs": 1_767_225_600_000,
        "payload": {},
    }
    if case == "missing-nonce":
        del transaction["nonce"]
    elif case == "type-not-string":
        transaction["type"] = 7
    elif case == "timestamp-not-integer":
        transaction["timestampMs"] = "1767225600000"
    elif case == "payload-not-object":
        transaction["payload"] = [1, 2]
    else:
        transaction["sender"] = f"did:twin:0x{rng.getrandbits(256):064x}"
    exchange = client.post(
        "/consensus/transactions", json_body=transaction, auth=True, expect_rejection=True
    )
    require_status(exchange, 400, "TWIN-CONSENSUS-104", f"submitting a bad transaction ({case})")
    # Without the caller's identity (an opaque token) the sender is wrong too, and the node may
    # name either member first.
    named = {field} if caller is not None else {field, "body.sender"}
    require(
        error_field(exchange) in named,
        "TWIN-CONSENSUS-104",
        f"the 400 names {error_field(exchange)!r}, not {field}",
    )


@pytest.mark.twin_requirement("TWIN-CONSENSUS-104", "TWIN-ANCHORING-020")
def test_a_transaction_is_queued_under_its_digest(
    client: TwinClient, run: TwinState, committee: Committee
) -> None:
    sender = caller_identity(client)
    if sender is None:
        pytest.skip("the session token names no caller identity to send a transaction as")
    rng = fresh_random(run, "consensus:transaction")
    transaction = {
        "type": "conformance.noop",
        "sender": sender,
        "nonce": f"{rng.getrandbits(128):032x}",
        "timestampMs": 1_767_225_600_000,
        "payload": {"note": "a transaction of a type no node applies"},
    }
    expected = transaction_digest(transaction).hex()
    for attempt in ("first", "repeated"):
        exchange = client.post("/consensus/transactions", json_body=transaction, auth=True)
        require_status(exchange, 202, "TWIN-CONSENSUS-104", f"submitting a transaction ({attempt})")
        answer = body_object(exchange, "TWIN-CONSENSUS-104", "the queued transaction")
        require(
            answer.get("digest") == expected,
            "TWIN-ANCHORING-020",
            f"the {attempt} submission answered digest {answer.get('digest')!r}; SHA-256 of the "
            f"transaction's JCS form is {expected}",
        )


BATCH = 4
BATCH_WAIT_SECONDS = 20.0


@pytest.mark.twin_requirement("TWIN-CONSENSUS-012", "TWIN-ANCHORING-022", "TWIN-CONSENSUS-104")
def test_the_transactions_of_a_commit_are_certified_in_commit_order(
    client: TwinClient, run: TwinState
) -> None:
    """Submit a few transactions back to back; where a commit holds several, check their order.

    A node that commits them one by one leaves nothing to check here (each commit's single
    transaction is checked by the checks above); one that commits several together must
    certify them in the commit's block order, then each block's own order.
    """
    sender = caller_identity(client)
    if sender is None:
        pytest.skip("the session token names no caller identity to send transactions as")
    rng = fresh_random(run, "consensus:batch")
    known = len(read_pages(client, "/consensus/commits", "commits"))
    wanted = set()
    for position in range(BATCH):
        transaction = {
            "type": "conformance.noop",
            "sender": sender,
            "nonce": f"{rng.getrandbits(128):032x}",
            "timestampMs": 1_767_225_600_000 + position,
            "payload": {"position": position},
        }
        exchange = client.post("/consensus/transactions", json_body=transaction, auth=True)
        require_status(exchange, 202, "TWIN-CONSENSUS-104", "submitting a transaction")
        wanted.add(transaction_digest(transaction))
    deadline = time.monotonic() + BATCH_WAIT_SECONDS
    found: dict[int, tuple[dict[str, Any], list[bytes]]] = {}
    while wanted - {d for _, digests in found.values() for d in digests}:
        require(
            time.monotonic() < deadline,
            "TWIN-CONSENSUS-104",
            f"{BATCH} queued transactions were not all committed within {BATCH_WAIT_SECONDS} s",
        )
        time.sleep(0.5)
        for commit in read_pages(client, "/consensus/commits", "commits")[known:]:
            if commit["index"] in found:
                continue
            _, _, _, _, refs = commit_parts(commit)
            blocks = {ref: get_block(client, ref.to_json()) for ref in refs}
            digests = [transaction_digest(tx) for tx in commit_transactions(commit, blocks)]
            found[commit["index"]] = (commit, digests)
    for index, (_, digests) in sorted(found.items()):
        if len(wanted.intersection(digests)) < 2:
            continue
        exchange = client.get(f"/consensus/checkpoints/{index}")
        require_status(exchange, 200, "TWIN-CONSENSUS-100", f"getting checkpoint {index}")
        certified = body_object(exchange, "TWIN-CONSENSUS-100", "the checkpoint")
        summary = certified.get("summary")
        require(isinstance(summary, dict), "TWIN-ANCHORING-021", "the checkpoint has no summary")
        assert isinstance(summary, dict)
        require_root_of(summary, digests)


EVIDENCE_ROUNDS = 12


@pytest.mark.twin_read_only
@pytest.mark.twin_requirement("TWIN-CONSENSUS-107")
def test_two_blocks_of_one_author_in_a_round_are_recorded_as_evidence(
    client: TwinClient, commits: list[dict[str, Any]], rng: random.Random
) -> None:
    """Where the node serves two blocks of one author for one round, it records the evidence."""
    rounds = sorted({ref.round for commit in commits for ref in commit_parts(commit)[4]})
    chosen = rounds if len(rounds) <= EVIDENCE_ROUNDS else rng.sample(rounds, EVIDENCE_ROUNDS)
    evidence = read_pages(client, "/consensus/equivocations", "equivocations")
    recorded = [
        {block_digest(block) for block in entry.get("blocks", []) if isinstance(block, dict)}
        for entry in evidence
    ]
    for round_ in sorted(chosen):
        exchange = client.get("/consensus/blocks", params={"round": str(round_)})
        require_status(exchange, 200, "TWIN-CONSENSUS-100", "listing a round's blocks")
        listed = body_object(exchange, "TWIN-CONSENSUS-100", "the round's blocks").get("blocks")
        by_author: dict[object, set[bytes]] = {}
        for block in listed if isinstance(listed, list) else []:
            if isinstance(block, dict):
                by_author.setdefault(block.get("author"), set()).add(block_digest(block))
        for author, digests in by_author.items():
            require(
                len(digests) < 2 or any(len(digests & pair) == 2 for pair in recorded),
                "TWIN-CONSENSUS-107",
                f"the node serves {len(digests)} blocks of validator {author} for round {round_} "
                "but no equivocation evidence of them",
            )
