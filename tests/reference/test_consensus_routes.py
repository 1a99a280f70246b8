"""Consensus routes: the node's blocks, commits and checkpoints, peer input, and evaluation."""

from __future__ import annotations

import copy
import json
import sqlite3
import time
from typing import Any

import httpx
import pytest

import twin_spec
from tests.node_process import RunningNode
from tests.reference.test_core_routes import assert_error
from tests.spec.dag_notation import parse_dag, signing_key
from twin_spec import (
    BlockRef,
    CommitSequencer,
    Committee,
    Dag,
    Ed25519SigningKey,
    LeaderDecisionKind,
    LeaderScheduleParameters,
    LedgerError,
    base64url_decode,
    block_digest,
    check_block,
    check_checkpoint_transactions,
    commit_digest,
    linearize,
    sign_block,
    sign_checkpoint,
    transaction_digest,
    try_commit,
    verify_certified_checkpoint,
    verify_receipt,
)
from twin_vectors.commit_rule_cases import CASES, SCHEDULE_CASES

FOUR_VALIDATORS = """
committee: 4
r1: A B C D
r2: A B C D<-[A C D]
r3: A B C D
r4: A B C D
r5: A B<-[A B D] C D
r6: A B C D
r7: A B C D
"""


def committee_of(client: httpx.Client) -> Committee:
    return Committee.from_json(client.get("/consensus/committee").json())


def anchored_receipt(admin: httpx.Client) -> dict[str, Any]:
    response = admin.post("/verifiable", json={"data": "aGVsbG8="})
    assert response.status_code == 201, response.text
    receipt: dict[str, Any] = response.json()["receipt"]
    return receipt


def caller_identity(token: str) -> str:
    claims = json.loads(base64url_decode(token.split(".")[1]))
    subject = claims["sub"]
    assert isinstance(subject, str)
    return subject


def expected_code(block: dict[str, Any], committee: Committee, dag: Dag) -> str:
    """The rule code the spec core gives for a refused block (as the node must report it)."""
    rejections: tuple[type[Exception], ...] = (
        LedgerError,
        getattr(twin_spec, "BlockRejectedError", LedgerError),
    )
    validate_block = getattr(twin_spec, "validate_block", None)
    try:
        if validate_block is not None:
            validate_block(block, committee, dag)
        check_block(block, committee)
        dag.add(block)
    except rejections as exc:
        code = getattr(exc, "code", None) or getattr(exc, "requirement", None)
        assert code is not None
        return str(code)
    raise AssertionError("the block was accepted")


def evaluate(client: httpx.Client, committee: Committee, blocks: list[Any]) -> dict[str, Any]:
    response = client.post(
        "/consensus/evaluate", json={"committee": committee.to_json(), "blocks": blocks}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def spec_core_answer(notation_text: str) -> tuple[list[Any], list[Any], list[dict[str, Any]]]:
    """Decisions and commits of the spec core for a notation DAG, as the route writes them."""
    notation = parse_dag(notation_text)
    decisions = try_commit(notation.dag, notation.committee, 0)
    committed: set[BlockRef] = set()
    decided: list[Any] = []
    commits: list[Any] = []
    for decision in decisions:
        entry: dict[str, Any] = {
            "round": decision.round,
            "leader": decision.leader,
            "kind": decision.kind.value,
            "direct": decision.direct,
        }
        if decision.block is not None:
            entry["block"] = decision.block.to_json()
        decided.append(entry)
        if decision.kind is LeaderDecisionKind.COMMIT and decision.block is not None:
            refs = linearize(notation.dag, decision.block, committed)
            committed.update(refs)
            blocks = [ref.to_json() for ref in refs]
            commits.append({"leader": decision.block.to_json(), "blocks": blocks})
    return decided, commits, list(notation.blocks.values())


def ledger_state(client: httpx.Client) -> tuple[Any, ...]:
    checkpoints = client.get("/consensus/checkpoints", params={"limit": 1000}).json()
    commits = client.get("/consensus/commits", params={"limit": 1000}).json()
    return (len(checkpoints["checkpoints"]), len(commits["commits"]))


@pytest.mark.requirement("TWIN-CONSENSUS-100")
def test_the_reads_return_what_a_receipt_refers_to(
    admin: httpx.Client, client: httpx.Client
) -> None:
    committee = committee_of(client)
    receipt = anchored_receipt(admin)
    verify_receipt(receipt, committee)
    summary = receipt["checkpoint"]["summary"]
    sequence = summary["sequence"]
    checkpoint = client.get(f"/consensus/checkpoints/{sequence}")
    assert checkpoint.status_code == 200, checkpoint.text
    assert checkpoint.json() == receipt["checkpoint"]
    verify_certified_checkpoint(checkpoint.json(), committee)
    listed = client.get("/consensus/checkpoints", params={"from": sequence, "limit": 1}).json()
    assert listed == {"checkpoints": [receipt["checkpoint"]]}
    page = client.get("/consensus/commits", params={"from": summary["commitIndex"], "limit": 1})
    (commit,) = page.json()["commits"]
    assert commit["index"] == summary["commitIndex"]
    assert commit_digest(commit).hex() == summary["commitDigest"]
    digests = []
    for ref in commit["blocks"]:
        block = client.get(f"/consensus/blocks/{ref['digest']}").json()
        assert block_digest(block).hex() == ref["digest"]
        round_blocks = client.get("/consensus/blocks", params={"round": ref["round"]}).json()
        assert block in round_blocks["blocks"]
        digests += [transaction_digest(tx).hex() for tx in block["transactions"]]
    assert receipt["transactionDigest"] in digests


@pytest.mark.requirement("TWIN-CONSENSUS-134")
def test_a_certified_checkpoints_transactions_are_served_in_commit_order_a_page_at_a_time(
    admin: httpx.Client, client: httpx.Client
) -> None:
    committee = committee_of(client)
    # Anchors answered on acceptance share a round: several land in one checkpoint.
    created = [admin.post("/verifiable", json={"data": "aGVsbG8="}) for _ in range(6)]
    assert all(response.status_code == 201 for response in created)
    digests = {response.json()["receipt"]["transactionDigest"] for response in created}
    found: set[str] = set()
    listed = client.get("/consensus/checkpoints", params={"limit": 1000}).json()["checkpoints"]
    for certified in listed:
        summary = verify_certified_checkpoint(certified, committee)
        sequence = summary["sequence"]
        path = f"/consensus/checkpoints/{sequence}/transactions"
        whole = client.get(path, params={"limit": 1000})
        assert whole.status_code == 200, whole.text
        page = whole.json()
        assert page["sequence"] == sequence
        assert page["transactionCount"] == summary["transactionCount"]
        served = check_checkpoint_transactions(summary, page["transactions"])
        found |= {digest.hex() for digest in served}
        one_at_a_time = [
            client.get(path, params={"from": position, "limit": 1}).json()["transactions"]
            for position in range(1, len(served) + 2)
        ]
        assert [t for part in one_at_a_time for t in part] == page["transactions"]
        assert one_at_a_time[-1] == [], "past the last transaction, an empty page"
    assert digests <= found


@pytest.mark.requirement("TWIN-CONSENSUS-134")
@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/consensus/checkpoints/0/transactions", {}, "path.sequence"),
        ("/consensus/checkpoints/x/transactions", {}, "path.sequence"),
        ("/consensus/checkpoints/1/transactions", {"from": "0"}, "query.from"),
        ("/consensus/checkpoints/1/transactions", {"limit": "1001"}, "query.limit"),
    ],
)
def test_malformed_checkpoint_transaction_reads_are_400(
    client: httpx.Client, path: str, params: dict[str, str], field: str
) -> None:
    assert_error(client.get(path, params=params), 400, "ValidationError", field)
    path = "/consensus/checkpoints/9007199254740991/transactions"
    assert_error(client.get(path), 404, "NotFoundError")


def test_genesis_blocks_are_served_and_the_first_commit_comes_first(client: httpx.Client) -> None:
    genesis = client.get("/consensus/blocks", params={"round": 0}).json()["blocks"]
    assert [block["author"] for block in genesis] == [0]
    digest = block_digest(genesis[0]).hex()
    assert client.get(f"/consensus/blocks/{digest}").json() == genesis[0]
    first = client.get("/consensus/commits", params={"limit": 1}).json()["commits"]
    assert [commit["index"] for commit in first] == [1]


@pytest.mark.requirement("TWIN-CORE-052")
@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/consensus/blocks/ABC", {}, "path.digest"),
        ("/consensus/blocks/" + "A" * 64, {}, "path.digest"),
        ("/consensus/blocks", {}, "query.round"),
        ("/consensus/blocks", {"round": "-1"}, "query.round"),
        ("/consensus/commits", {"limit": "0"}, "query.limit"),
        ("/consensus/commits", {"limit": "1001"}, "query.limit"),
        ("/consensus/checkpoints", {"from": "0"}, "query.from"),
        ("/consensus/checkpoints", {"from": "x"}, "query.from"),
        ("/consensus/checkpoints/0", {}, "path.sequence"),
        ("/consensus/checkpoints/one", {}, "path.sequence"),
    ],
)
def test_malformed_reads_are_400(
    client: httpx.Client, path: str, params: dict[str, str], field: str
) -> None:
    assert_error(client.get(path, params=params), 400, "ValidationError", field)


def test_unknown_blocks_and_checkpoints_are_404(client: httpx.Client) -> None:
    assert_error(client.get("/consensus/blocks/" + "0" * 64), 404, "NotFoundError")
    assert_error(client.get("/consensus/checkpoints/9007199254740991"), 404, "NotFoundError")
    assert client.get("/consensus/blocks", params={"round": 10**15}).json() == {"blocks": []}


@pytest.mark.requirement("TWIN-CONSENSUS-102")
def test_evaluate_gives_the_spec_cores_decisions_and_commits(client: httpx.Client) -> None:
    decisions, commits, blocks = spec_core_answer(FOUR_VALIDATORS)
    assert any(decision["kind"] == "commit" for decision in decisions)
    notation = parse_dag(FOUR_VALIDATORS)
    result = evaluate(client, notation.committee, blocks)
    assert result["verdicts"] == [
        {"digest": block_digest(block).hex(), "result": "valid"} for block in blocks
    ]
    assert result["decisions"] == decisions
    assert result["commits"] == commits
    assert "fault" not in result


@pytest.mark.requirement("TWIN-CONSENSUS-102")
def test_evaluate_marks_a_tampered_block_invalid_with_its_code(client: httpx.Client) -> None:
    notation = parse_dag(FOUR_VALIDATORS)
    blocks = list(notation.blocks.values())
    tampered = copy.deepcopy(blocks[5])
    tampered["timestampMs"] += 1
    foreign = sign_block(signing_key(9), {k: v for k, v in blocks[6].items() if k != "signature"})
    unknown_author = sign_block(
        signing_key(9),
        {**{k: v for k, v in blocks[7].items() if k != "signature"}, "author": 7},
    )
    sent = [*blocks[:5], tampered, foreign, unknown_author, 5]
    result = evaluate(client, notation.committee, sent)
    verdicts = result["verdicts"]
    assert [verdict["result"] for verdict in verdicts] == ["valid"] * 5 + ["invalid"] * 4
    fresh = parse_dag("committee: 4").dag
    for block in blocks[:5]:
        fresh.add(block)
    for verdict, refused in zip(verdicts[5:8], sent[5:8], strict=True):
        assert isinstance(refused, dict)
        assert verdict["digest"] == block_digest(refused).hex()
        assert verdict["error"]["code"] == expected_code(refused, notation.committee, fresh)
    assert verdicts[8]["digest"] is None
    # A block whose ancestor was refused is refused too (its ancestor is not in the DAG).
    later = evaluate(client, notation.committee, [*blocks[:5], tampered, *blocks[6:]])
    assert later["verdicts"][5]["result"] == "invalid"
    assert any(verdict["result"] == "invalid" for verdict in later["verdicts"][6:])


@pytest.mark.requirement("TWIN-CONSENSUS-027", "TWIN-CONSENSUS-102")
def test_evaluate_reports_two_certified_blocks_with_their_code(client: httpx.Client) -> None:
    (case,) = [item for item in CASES if item.name == "two-certified-leader-blocks-are-a-fault"]
    notation = parse_dag(case.text)
    result = evaluate(client, notation.committee, list(notation.blocks.values()))
    assert (result["decisions"], result["commits"]) == ([], [])
    assert result["fault"]["code"] == "twoCertifiedBlocks"
    assert result["fault"]["requirement"] == "TWIN-CONSENSUS-027"
    assert "round 1" in result["fault"]["message"]


@pytest.mark.requirement("TWIN-CONSENSUS-102", "TWIN-CONSENSUS-108")
def test_evaluate_leaves_out_blocks_below_the_gc_round_of_the_depth_given(
    client: httpx.Client,
) -> None:
    (case,) = [
        item for item in CASES if item.name == "gc-depth-1-leaves-out-a-block-no-commit-took"
    ]
    notation = parse_dag(case.text)
    blocks = list(notation.blocks.values())
    body = {"committee": notation.committee.to_json(), "blocks": blocks}
    shallow = client.post("/consensus/evaluate", json={**body, "gcDepth": 1}).json()
    default = client.post("/consensus/evaluate", json=body).json()
    assert shallow["decisions"] == default["decisions"]

    def names(answer: dict[str, Any]) -> list[str]:
        last = answer["commits"][-1]["blocks"]
        return [notation.name_of(BlockRef.from_json(ref)) for ref in last]

    assert names(shallow) == ["A2", "B2", "D2", "D3"]
    assert names(default) == ["D1", "A2", "B2", "D2", "D3"]


@pytest.mark.requirement("TWIN-CONSENSUS-102", "TWIN-CONSENSUS-115", "TWIN-CONSENSUS-117")
def test_evaluate_changes_the_leader_schedule_with_the_parameters_given(
    client: httpx.Client,
) -> None:
    (case, *_) = SCHEDULE_CASES
    notation = parse_dag(case.text)
    body = {"committee": notation.committee.to_json(), "blocks": list(notation.blocks.values())}
    every_three = {"commitsPerSchedule": 3, "badNodesStakeThreshold": 33}
    scheduled = client.post("/consensus/evaluate", json={**body, "leaderSchedule": every_three})
    assert scheduled.status_code == 200, scheduled.text
    answer = scheduled.json()
    parameters = LeaderScheduleParameters(3)
    output = CommitSequencer(notation.committee, schedule=parameters).advance(notation.dag)
    assert answer["leaderSchedules"] == [table.to_json() for table in output.schedules]
    assert [d["leader"] for d in answer["decisions"]][6] == 0  # round 7: A, not D
    plain = client.post("/consensus/evaluate", json=body).json()
    assert plain["leaderSchedules"] == []
    assert [d["kind"] for d in plain["decisions"]][6] == "skip"


@pytest.mark.requirement("TWIN-CONSENSUS-103")
@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ({"commitsPerSchedule": 0}, "body.leaderSchedule.commitsPerSchedule"),
        ({"badNodesStakeThreshold": 50}, "body.leaderSchedule.badNodesStakeThreshold"),
        ({"commitsPerSchedule": "3"}, "body.leaderSchedule.commitsPerSchedule"),
        ({"windows": 3}, "body.leaderSchedule.windows"),
        ([3], "body.leaderSchedule"),
    ],
)
def test_evaluate_refuses_bad_leader_schedule_parameters(
    client: httpx.Client, schedule: object, field: str
) -> None:
    committee = parse_dag("committee: 4").committee.to_json()
    body = {"committee": committee, "blocks": [], "leaderSchedule": schedule}
    assert_error(client.post("/consensus/evaluate", json=body), 400, "ValidationError", field)


@pytest.mark.requirement("TWIN-CONSENSUS-103")
@pytest.mark.parametrize("depth", [0, -3, 2.5, "50", True, None, 2**53])
def test_evaluate_refuses_a_bad_gc_depth(client: httpx.Client, depth: object) -> None:
    committee = parse_dag("committee: 4").committee.to_json()
    body = {"committee": committee, "blocks": [], "gcDepth": depth}
    assert_error(
        client.post("/consensus/evaluate", json=body), 400, "ValidationError", "body.gcDepth"
    )


@pytest.mark.requirement("TWIN-CONSENSUS-102")
def test_evaluate_changes_no_state(client: httpx.Client) -> None:
    before = ledger_state(client)
    notation = parse_dag(FOUR_VALIDATORS)
    evaluate(client, notation.committee, list(notation.blocks.values()))
    own = committee_of(client)
    blocks = client.get("/consensus/blocks", params={"round": 1}).json()["blocks"]
    result = evaluate(client, own, blocks)
    assert [verdict["result"] for verdict in result["verdicts"]] == ["valid"] * len(blocks)
    time.sleep(0.2)
    assert ledger_state(client) == before


@pytest.mark.requirement("TWIN-CONSENSUS-103")
def test_evaluate_refuses_oversized_input_with_413(client: httpx.Client) -> None:
    committee = parse_dag("committee: 4").committee.to_json()
    many = client.post("/consensus/evaluate", json={"committee": committee, "blocks": [0] * 20_001})
    assert_error(many, 413, "PayloadTooLargeError")
    huge = json.dumps({"committee": committee, "blocks": ["x" * (17 * 1024 * 1024)]})
    response = client.post(
        "/consensus/evaluate", content=huge, headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "PayloadTooLargeError")
    # A body over the node's ordinary 1 MiB limit but within this route's 16 MiB is evaluated.
    padded = client.post(
        "/consensus/evaluate",
        json={"committee": committee, "blocks": [{"pad": "x" * (2 * 1024 * 1024)}]},
    )
    assert padded.status_code == 200, padded.text
    assert padded.json()["verdicts"][0]["result"] == "invalid"


@pytest.mark.requirement("TWIN-CONSENSUS-103", "TWIN-CORE-052")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"blocks": []}, "body.committee"),
        ({"committee": {"epoch": 0, "validators": []}, "blocks": []}, "body.committee.validators"),
        ({"committee": None, "blocks": []}, "body.committee"),
        ({"committee": "FOUR", "blocks": {}}, "body.committee"),
        ({"committee": "FOUR", "blocks": {}, "extra": 1}, "body.extra"),
    ],
)
def test_evaluate_refuses_malformed_input(
    client: httpx.Client, body: dict[str, Any], field: str
) -> None:
    if body.get("committee") == "FOUR":
        body = {**body, "committee": parse_dag("committee: 4").committee.to_json()}
        field = field if field == "body.extra" else "body.blocks"
    assert_error(client.post("/consensus/evaluate", json=body), 400, "ValidationError", field)


@pytest.mark.requirement("TWIN-CONSENSUS-101")
def test_a_refused_peer_block_is_400_with_the_rules_code(
    admin: httpx.Client, client: httpx.Client
) -> None:
    committee = committee_of(client)
    before = ledger_state(client)
    (genesis,) = client.get("/consensus/blocks", params={"round": 0}).json()["blocks"]
    unsigned = {
        "epoch": committee.epoch,
        "round": 1,
        "author": 0,
        "timestampMs": 1_700_000_000_000,
        "ancestors": [{"round": 0, "author": 0, "digest": block_digest(genesis).hex()}],
        "transactions": [],
    }
    forged = sign_block(signing_key(3), unsigned)
    stranger = sign_block(signing_key(3), {**unsigned, "author": 1})
    dag = Dag(committee)
    for block in (forged, stranger):
        response = admin.post("/consensus/blocks", json=block)
        assert_error(response, 400, "ValidationError")
        assert response.json()["properties"]["code"] == expected_code(block, committee, dag)
        digest = block_digest(block).hex()
        assert_error(client.get(f"/consensus/blocks/{digest}"), 404, "NotFoundError")
    assert_error(admin.post("/consensus/blocks", json=[1]), 400, "ValidationError", "body")
    response = admin.post("/consensus/blocks", json={**forged, "round": "1"})
    assert_error(response, 400, "ValidationError", "body.round")
    assert ledger_state(client) == before


@pytest.mark.requirement("TWIN-CONSENSUS-101")
def test_a_block_the_node_already_has_is_accepted_again(
    admin: httpx.Client, client: httpx.Client
) -> None:
    anchored_receipt(admin)
    (block, *_) = client.get("/consensus/blocks", params={"round": 1}).json()["blocks"]
    response = admin.post("/consensus/blocks", json=block)
    assert response.status_code == 202, response.text
    assert response.json() == {
        "block": {"round": 1, "author": 0, "digest": block_digest(block).hex()}
    }


def test_transactions_need_a_token(client: httpx.Client) -> None:
    assert_error(client.post("/consensus/transactions", json={}), 401, "UnauthorizedError")


@pytest.mark.requirement("TWIN-CONSENSUS-110", "TWIN-CORE-051")
def test_peer_blocks_and_signatures_need_no_token_but_a_committee_signature(
    client: httpx.Client,
) -> None:
    """A peer holds no token of this node: the committee key's signature is what counts."""
    before = ledger_state(client)
    response = client.post("/consensus/blocks", json={})
    assert_error(response, 400, "ValidationError", "body.epoch")
    assert response.json()["properties"]["code"] == "malformed"
    committee = committee_of(client)
    (genesis,) = client.get("/consensus/blocks", params={"round": 0}).json()["blocks"]
    unsigned = {
        "epoch": committee.epoch,
        "round": 1,
        "author": 0,
        "timestampMs": 1_700_000_000_000,
        "ancestors": [{"round": 0, "author": 0, "digest": block_digest(genesis).hex()}],
        "transactions": [],
    }
    forged = client.post("/consensus/blocks", json=sign_block(signing_key(3), unsigned))
    assert_error(forged, 400, "ValidationError", "body.signature")
    assert forged.json()["properties"]["code"] == "badSignature"
    assert ledger_state(client) == before


def _transaction(sender: str, kind: str = "example.unknown") -> dict[str, Any]:
    return {
        "type": kind,
        "sender": sender,
        "nonce": f"n-{time.time_ns()}",
        "timestampMs": 1_700_000_000_000,
        "payload": {"note": "hello"},
    }


@pytest.mark.requirement("TWIN-CONSENSUS-104")
def test_a_submitted_transaction_is_queued_and_applied_when_committed(
    node: RunningNode, admin: httpx.Client, token: str
) -> None:
    transaction = _transaction(caller_identity(token))
    response = admin.post("/consensus/transactions", json=transaction)
    assert response.status_code == 202, response.text
    digest = transaction_digest(transaction).hex()
    assert response.json() == {"digest": digest}
    again = admin.post("/consensus/transactions", json=transaction)
    assert again.json() == {"digest": digest}
    database = sqlite3.connect(f"file:{node.data_dir / 'node.sqlite'}?mode=ro", uri=True)
    try:
        deadline = time.monotonic() + 20
        row = None
        while row is None and time.monotonic() < deadline:
            row = database.execute(
                "SELECT status, error_name FROM transactions WHERE digest = ?",
                (bytes.fromhex(digest),),
            ).fetchone()
            time.sleep(0.05)
    finally:
        database.close()
    # An unknown type is ordered and recorded with its failure, like any failed transaction.
    assert row is not None
    assert row[0] == "failure"
    commits = admin.get("/consensus/commits", params={"limit": 1000}).json()["commits"]
    found = [
        tx
        for commit in commits
        for ref in commit["blocks"]
        for tx in admin.get(f"/consensus/blocks/{ref['digest']}").json()["transactions"]
        if transaction_digest(tx).hex() == digest
    ]
    assert found == [transaction]


@pytest.mark.requirement("TWIN-CONSENSUS-104", "TWIN-CORE-052")
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": 5}, "body.type"),
        ({"timestampMs": "now"}, "body.timestampMs"),
        ({"payload": []}, "body.payload"),
        ({"nonce": None}, "body.nonce"),
    ],
)
def test_malformed_transactions_are_400_naming_the_field(
    admin: httpx.Client, token: str, change: dict[str, Any], field: str
) -> None:
    transaction = {**_transaction(caller_identity(token)), **change}
    response = admin.post("/consensus/transactions", json=transaction)
    assert_error(response, 400, "ValidationError", field)
    missing = {k: v for k, v in _transaction(caller_identity(token)).items() if k != "payload"}
    assert_error(admin.post("/consensus/transactions", json=missing), 400, "ValidationError")


@pytest.mark.requirement("TWIN-CONSENSUS-104")
def test_a_transaction_in_another_senders_name_is_400(admin: httpx.Client) -> None:
    response = admin.post("/consensus/transactions", json=_transaction("did:twin:0x" + "ab" * 32))
    assert_error(response, 400, "ValidationError", "body.sender")


def _validator_key(node: RunningNode) -> Ed25519SigningKey:
    database = sqlite3.connect(f"file:{node.data_dir / 'node.sqlite'}?mode=ro", uri=True)
    try:
        row = database.execute("SELECT seed FROM vault WHERE key_id = 'validator'").fetchone()
    finally:
        database.close()
    return Ed25519SigningKey(bytes(row[0]))


@pytest.mark.requirement("TWIN-CONSENSUS-105", "TWIN-CONSENSUS-110")
def test_checkpoint_signatures_are_verified_over_the_nodes_own_summary(
    node: RunningNode, admin: httpx.Client, client: httpx.Client
) -> None:
    anchored_receipt(admin)
    certified = client.get("/consensus/checkpoints/1").json()
    summary = certified["summary"]
    key = _validator_key(node)
    path = "/consensus/checkpoints/1/signatures"
    counted = client.post(path, json=sign_checkpoint(key, 0, summary))
    assert counted.status_code == 202, counted.text
    assert counted.json() == {"sequence": 1, "signer": 0, "status": "counted"}
    other = sign_checkpoint(key, 0, {**summary, "timestampMs": summary["timestampMs"] + 1})
    refused = client.post(path, json=other)
    assert_error(refused, 400, "ValidationError", "body.signature")
    assert refused.json()["properties"]["code"] == "badSignature"
    stranger = client.post(path, json={**other, "signer": 1})
    assert_error(stranger, 400, "ValidationError", "body.signer")
    assert stranger.json()["properties"]["code"] == "unknownSigner"
    for body, field in (
        ({"signer": 0, "signature": "not multibase"}, "body.signature"),
        ({"signer": -1, "signature": other["signature"]}, "body.signer"),
        ({"signer": 0}, "body.signature"),
        ({"signer": 0, "signature": other["signature"], "extra": 1}, "body.extra"),
    ):
        response = client.post(path, json=body)
        assert_error(response, 400, "ValidationError", field)
    assert_error(
        client.post("/consensus/checkpoints/0/signatures", json=other),
        400,
        "ValidationError",
        "path.sequence",
    )
    ahead = client.get("/consensus/checkpoints", params={"limit": 1000}).json()["checkpoints"]
    future = len(ahead) + 5
    pending = client.post(f"/consensus/checkpoints/{future}/signatures", json=other)
    assert pending.json()["status"] == "pending"
    far = client.post(f"/consensus/checkpoints/{future + 5000}/signatures", json=other)
    assert far.json()["status"] == "ignored"
    assert client.get("/consensus/checkpoints/1").json() == certified


@pytest.mark.requirement("TWIN-CONSENSUS-110", "TWIN-CONSENSUS-101")
def test_peer_bodies_up_to_2_mib_are_read_and_larger_ones_are_413(client: httpx.Client) -> None:
    before = ledger_state(client)
    padded = b'{"pad": "' + b"x" * (3 * 1024 * 1024 // 2) + b'"}'
    response = client.post(
        "/consensus/blocks", content=padded, headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "ValidationError")
    assert response.json()["properties"]["code"] == "malformed"
    huge = b'{"pad": "' + b"x" * (2 * 1024 * 1024 + 1) + b'"}'
    response = client.post(
        "/consensus/blocks", content=huge, headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "PayloadTooLargeError")
    assert_error(client.post("/consensus/blocks", json=[1]), 400, "ValidationError", "body")
    assert ledger_state(client) == before


@pytest.mark.requirement("TWIN-CONSENSUS-107")
def test_a_single_honest_validator_records_no_equivocation(client: httpx.Client) -> None:
    assert client.get("/consensus/equivocations").json() == {"equivocations": []}
    assert_error(
        client.get("/consensus/equivocations", params={"from": "0"}),
        400,
        "ValidationError",
        "query.from",
    )
