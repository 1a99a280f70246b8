"""Replaying live vectors against a real reference node and a deliberately wrong one.

Every live vector passes against the reference node (a subprocess on port 0); against a small
fake node that answers wrongly, replay fails naming the requirement, and never raises. Every
offline vector passes the spec core, and a mutated one fails.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.node_process import RunningNode, start_node
from twin_conformance._vector_replay import (
    HttpResponse,
    Send,
    check_offline_vector,
    is_live,
    replay_vector,
)
from twin_vectors import build_vectors

VECTORS = build_vectors()
LIVE = [vector for vector in VECTORS if is_live(vector)]
OFFLINE = [vector for vector in VECTORS if not is_live(vector)]
BY_ID = {str(vector["id"]): vector for vector in VECTORS}


def _httpx_send(base_url: str, token: str | None) -> tuple[Send, httpx.Client]:
    client = httpx.Client(base_url=base_url, timeout=60.0, follow_redirects=False)

    def send(
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = False,
    ) -> HttpResponse:
        request_headers = dict(headers or {})
        if auth and token:
            request_headers["authorization"] = f"Bearer {token}"
        response = client.request(method, path, content=body, headers=request_headers)
        lowered = {name.lower(): value for name, value in response.headers.items()}
        return HttpResponse(response.status_code, lowered, response.content)

    return send, client


@pytest.fixture(scope="module")
def reference_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    node = start_node(tmp_path_factory.mktemp("reference") / "node")
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def reference_send(reference_node: RunningNode) -> Iterator[Send]:
    send, client = _httpx_send(reference_node.url, reference_node.login())
    with client:
        yield send


@pytest.mark.parametrize("vector", LIVE, ids=lambda vector: str(vector["id"]))
def test_the_reference_node_passes_every_live_vector(
    reference_send: Send, vector: dict[str, Any]
) -> None:
    outcome = replay_vector(vector, reference_send)
    assert outcome.passed, f"{outcome.requirement}: {outcome.message}"
    assert outcome.requirement is None


def test_replay_rate_against_the_reference_node(reference_send: Send, record_property: Any) -> None:
    started = time.perf_counter()
    for vector in LIVE:
        assert replay_vector(vector, reference_send).passed
    seconds = time.perf_counter() - started
    fast = [vector for vector in LIVE if not str(vector["id"]).startswith("consensus/")]
    started = time.perf_counter()
    for vector in fast:
        replay_vector(vector, reference_send)
    fast_seconds = time.perf_counter() - started
    record_property("live_vectors_per_second", round(len(LIVE) / seconds))
    record_property("non_consensus_vectors_per_second", round(len(fast) / fast_seconds))


# --- a node that answers wrongly ---------------------------------------------------------------


async def _always_verified(request: Request) -> Response:
    return JSONResponse({"verified": True})


async def _garbage(request: Request) -> Response:
    return Response(b"<html>not json</html>", status_code=200, media_type="text/html")


async def _server_error(request: Request) -> Response:
    return Response(b"Internal Server Error", status_code=500, media_type="text/plain")


async def _bare_info(request: Request) -> Response:
    return JSONResponse({"name": "fake node"})


async def _plain_not_found(request: Request) -> Response:
    return Response(b"no", status_code=404, media_type="text/plain")


def _fake_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/identity/proof/verify", _always_verified, methods=["POST"]),
            Route("/consensus/evaluate", _garbage, methods=["POST"]),
            Route("/identity/{identity}", _server_error, methods=["GET"]),
            Route("/info", _bare_info, methods=["GET"]),
            Route("/{rest:path}", _plain_not_found, methods=["GET", "POST", "PUT", "DELETE"]),
        ]
    )


@pytest.fixture(scope="module")
def wrong_node_send() -> Iterator[Send]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(_fake_app(), log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    send, client = _httpx_send(f"http://127.0.0.1:{port}", "not-a-real-token")
    try:
        yield send
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


@pytest.mark.parametrize(
    ("vector_id", "requirement", "words"),
    [
        ("identity/proof-verify/tampered-document", "TWIN-IDENTITY-025", "verified true"),
        ("identity/proof-verify/s-not-below-l", "TWIN-CORE-011", "verified true"),
        ("identity/proof-verify/small-order-did-key", "TWIN-CORE-013", "verified true"),
        ("identity/proof-verify/wrong-cryptosuite", "TWIN-IDENTITY-024", "verified true"),
        ("identity/proof-verify/key-carried-by-the-document", "TWIN-IDENTITY-026", "verified"),
        ("consensus/block-validity/round-zero", "TWIN-CONSENSUS-102", "not JSON"),
        ("consensus/commit-rule/four-full-3-rounds", "TWIN-CONSENSUS-102", "not JSON"),
        ("identity/did-key-resolve/not-a-did", "TWIN-CORE-054", "answered 500"),
        ("identity/did-key-resolve/did-key", "TWIN-IDENTITY-004", "answered 500"),
        ("core/http/info", "TWIN-CORE-050", "no version"),
        ("core/http/unknown-route", "TWIN-CORE-040", "not JSON"),
        ("core/http/login-body-over-1-mib", "TWIN-CORE-053", "answered 404"),
        ("identity/http/create-without-token", "TWIN-CORE-051", "answered 404"),
    ],
)
def test_a_wrong_node_fails_naming_the_requirement(
    wrong_node_send: Send, vector_id: str, requirement: str, words: str
) -> None:
    outcome = replay_vector(BY_ID[vector_id], wrong_node_send)
    assert not outcome.passed
    assert outcome.requirement == requirement, outcome.message
    assert words in outcome.message
    assert "\n" not in outcome.message


def test_a_wrong_node_never_makes_replay_raise(wrong_node_send: Send) -> None:
    failed = sum(not replay_vector(vector, wrong_node_send).passed for vector in LIVE)
    assert failed > len(LIVE) // 2


def _answering(status: int, answer: object) -> Send:
    """A target that answers every request with one status and JSON body."""
    content = json.dumps(answer).encode()

    def send(
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = False,
    ) -> HttpResponse:
        return HttpResponse(status, {"content-type": "application/json"}, content)

    return send


def _refused_last_as(vector: dict[str, Any], code: str) -> dict[str, Any]:
    """An evaluation answer refusing the vector's last block with ``code``."""
    blocks = len(vector["input"]["dag"]) + 1
    verdicts: list[dict[str, Any]] = [{"digest": None, "result": "valid"}] * (blocks - 1)
    verdicts.append({"digest": None, "result": "invalid", "error": {"code": code}})
    return {"verdicts": verdicts, "decisions": [], "commits": []}


def test_a_block_refused_for_a_later_rule_names_the_rule_it_skipped() -> None:
    vector = BY_ID["consensus/block-validity/too-many-ancestors"]
    answer = _refused_last_as(vector, "unknownAncestorAuthor")
    outcome = replay_vector(vector, _answering(200, answer))
    assert (outcome.passed, outcome.requirement) == (False, "TWIN-CONSENSUS-004")


def test_a_block_refused_under_a_code_of_no_rule_names_the_order_rule() -> None:
    vector = BY_ID["consensus/block-validity/too-many-ancestors"]
    answer = _refused_last_as(vector, "invalidBlock")
    outcome = replay_vector(vector, _answering(200, answer))
    assert (outcome.passed, outcome.requirement) == (False, "TWIN-CONSENSUS-016")


def test_a_wrong_commit_order_names_the_linearizer_rule() -> None:
    vector = BY_ID["consensus/commit-rule/four-full-5-rounds"]
    expected = vector["expected"]
    decisions = [
        {key: value for key, value in item.items() if key != "decision"}
        | {"kind": item["decision"]}
        for item in expected["decisions"]
    ]
    commits = [
        {"leader": c["leader"], "blocks": list(reversed(c["blocks"]))} for c in expected["commits"]
    ]
    answer = {
        "verdicts": [{"digest": None, "result": "valid"}] * len(vector["input"]["blocks"]),
        "decisions": decisions,
        "commits": commits,
    }
    outcome = replay_vector(vector, _answering(200, answer))
    assert (outcome.passed, outcome.requirement) == (False, "TWIN-CONSENSUS-029")
    commits[1]["blocks"].reverse()
    commits[2]["blocks"].reverse()
    commits[0]["blocks"].reverse()
    assert replay_vector(vector, _answering(200, answer)).passed


@pytest.mark.requirement("TWIN-CONSENSUS-108")
def test_a_gc_vector_sends_its_depth_and_a_wrong_commit_names_the_gc_rule() -> None:
    vector = BY_ID["consensus/commit-rule/gc-depth-1-leaves-out-a-block-no-commit-took"]
    expected = vector["expected"]
    decisions = [
        {key: value for key, value in item.items() if key != "decision"}
        | {"kind": item["decision"]}
        for item in expected["decisions"]
    ]
    commits = [{"leader": c["leader"], "blocks": list(c["blocks"])} for c in expected["commits"]]
    answer = {
        "verdicts": [{"digest": None, "result": "valid"}] * len(vector["input"]["blocks"]),
        "decisions": decisions,
        "commits": commits,
    }
    sent: list[dict[str, Any]] = []

    def send(
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = False,
    ) -> HttpResponse:
        sent.append(json.loads(body or b"null"))
        content = json.dumps(answer).encode()
        return HttpResponse(200, {"content-type": "application/json"}, content)

    assert replay_vector(vector, send).passed
    assert sent[0]["gcDepth"] == 1
    # A node that ignored the depth would bring the late D1 into D3's commit.
    commits[-1]["blocks"].insert(0, {"round": 1, "author": 3, "digest": "0" * 64})
    outcome = replay_vector(vector, send)
    assert (outcome.passed, outcome.requirement) == (False, "TWIN-CONSENSUS-108")


@pytest.mark.requirement("TWIN-CONSENSUS-114", "TWIN-CONSENSUS-116", "TWIN-CONSENSUS-117")
def test_a_wrong_leader_schedule_names_the_rule_that_makes_it() -> None:
    vector = BY_ID["consensus/commit-rule/schedule-every-3-commits-swaps-a-crashed-leader"]
    expected = vector["expected"]
    sent: list[dict[str, Any]] = []

    def answer_with(change: Any) -> Send:
        answer: dict[str, Any] = {
            "verdicts": [{"digest": None, "result": "valid"}] * len(vector["input"]["blocks"]),
            "decisions": [
                {key: value for key, value in item.items() if key != "decision"}
                | {"kind": item["decision"]}
                for item in expected["decisions"]
            ],
            "commits": [
                {"leader": c["leader"], "blocks": c["blocks"]} for c in expected["commits"]
            ],
            "leaderSchedules": copy.deepcopy(expected["leaderSchedules"]),
        }
        change(answer)

        def send(
            method: str,
            path: str,
            *,
            body: bytes | None = None,
            headers: Mapping[str, str] | None = None,
            auth: bool = False,
        ) -> HttpResponse:
            sent.append(json.loads(body or b"null"))
            content = json.dumps(answer).encode()
            return HttpResponse(200, {"content-type": "application/json"}, content)

        return send

    assert replay_vector(vector, answer_with(lambda answer: None)).passed
    assert sent[0]["leaderSchedule"] == {"badNodesStakeThreshold": 33, "commitsPerSchedule": 3}

    def wrong_scores(answer: dict[str, Any]) -> None:
        answer["leaderSchedules"][0]["scores"] = [3, 2, 2, 0]

    def wrong_good(answer: dict[str, Any]) -> None:
        answer["leaderSchedules"][0]["goodNodes"] = [1]

    def round_robin_leader(answer: dict[str, Any]) -> None:
        answer["decisions"][6] = {"round": 7, "leader": 3, "kind": "skip", "direct": True}

    def no_tables(answer: dict[str, Any]) -> None:
        answer["leaderSchedules"] = []

    for change, requirement in [
        (wrong_scores, "TWIN-CONSENSUS-114"),
        (wrong_good, "TWIN-CONSENSUS-116"),
        (round_robin_leader, "TWIN-CONSENSUS-117"),
        (no_tables, "TWIN-CONSENSUS-115"),
    ]:
        outcome = replay_vector(vector, answer_with(change))
        assert (outcome.passed, outcome.requirement) == (False, requirement), change.__name__


@pytest.mark.requirement("TWIN-CONSENSUS-027")
def test_the_fault_must_be_reported_with_its_code() -> None:
    vector = BY_ID["consensus/commit-rule/two-certified-leader-blocks-are-a-fault"]
    verdicts = [{"digest": None, "result": "valid"}] * len(vector["input"]["blocks"])

    def answer(fault: object) -> dict[str, Any]:
        return {"verdicts": verdicts, "decisions": [], "commits": [], "fault": fault}

    wrong = replay_vector(vector, _answering(200, answer({"code": "malformed", "message": "m"})))
    assert (wrong.passed, wrong.requirement) == (False, "TWIN-CONSENSUS-027")
    assert "malformed" in wrong.message
    missing = replay_vector(vector, _answering(200, answer(None)))
    assert (missing.passed, missing.requirement) == (False, "TWIN-CONSENSUS-027")
    right = {"code": "twoCertifiedBlocks", "message": "two certified blocks"}
    assert replay_vector(vector, _answering(200, answer(right))).passed
    # A fault where the vector has none fails too.
    clean = BY_ID["consensus/commit-rule/four-too-few-certificates"]
    blocks = len(clean["input"]["blocks"])
    spurious = {**answer(right), "verdicts": [{"digest": None, "result": "valid"}] * blocks}
    outcome = replay_vector(clean, _answering(200, spurious))
    assert (outcome.passed, outcome.requirement) == (False, "TWIN-CONSENSUS-027")


def test_a_wrong_error_shape_names_the_error_format() -> None:
    vector = BY_ID["core/http/login-malformed-json"]
    outcome = replay_vector(vector, _answering(400, {"error": "bad json"}))
    assert (outcome.passed, outcome.requirement) == (False, "TWIN-CORE-040")
    good = {"name": "ValidationError", "message": "m", "properties": {"field": "header"}}
    outcome = replay_vector(vector, _answering(400, good))
    assert (outcome.passed, outcome.requirement) == (False, "TWIN-CORE-052")


# --- offline vectors ---------------------------------------------------------------------------


@pytest.mark.parametrize("vector", OFFLINE, ids=lambda vector: str(vector["id"]))
def test_every_offline_vector_agrees_with_the_spec_core(vector: dict[str, Any]) -> None:
    outcome = check_offline_vector(vector)
    assert outcome.passed, f"{outcome.requirement}: {outcome.message}"


@pytest.mark.parametrize(
    "vector",
    [vector for vector in LIVE if str(vector["id"]).split("/")[1] != "http"],
    ids=lambda vector: str(vector["id"]),
)
def test_live_vectors_with_an_oracle_agree_with_the_spec_core(vector: dict[str, Any]) -> None:
    assert check_offline_vector(vector).passed


@pytest.mark.parametrize(
    ("vector_id", "change", "requirement"),
    [
        ("core/ed25519/s-plus-l", {"result": "valid"}, "TWIN-CORE-011"),
        ("core/jcs/numbers-exponent-boundaries", {"canonical": "[1e21]"}, "TWIN-CORE-001"),
        ("anchoring/receipt/quorum-missing", {"error": "inclusionProof"}, "TWIN-ANCHORING-026"),
        ("identity/jwt/alg-none", {"error": "signatureMismatch"}, "TWIN-IDENTITY-036"),
    ],
)
def test_a_mutated_offline_vector_fails(
    vector_id: str, change: dict[str, Any], requirement: str
) -> None:
    mutated = copy.deepcopy(BY_ID[vector_id])
    mutated["expected"].update(change)
    if change.get("result") == "valid":
        mutated["expected"].pop("error", None)
    outcome = check_offline_vector(mutated)
    assert not outcome.passed
    assert outcome.requirement == requirement
    assert "differs at expected" in outcome.message


def test_a_mutated_input_fails_too() -> None:
    mutated = copy.deepcopy(BY_ID["core/encodings/base64url-encode-foo"])
    mutated["input"]["encode"] = "00"
    assert not check_offline_vector(mutated).passed
    broken = copy.deepcopy(BY_ID["core/ed25519/valid"])
    broken["input"]["message"] = "not hex"
    outcome = check_offline_vector(broken)
    assert not outcome.passed
    assert "cannot evaluate" in outcome.message


def test_http_vectors_have_no_offline_check() -> None:
    with pytest.raises(ValueError, match="live only"):
        check_offline_vector(BY_ID["core/http/info"])


def test_offline_vectors_cannot_be_replayed() -> None:
    with pytest.raises(ValueError, match="not a live vector"):
        replay_vector(BY_ID["core/jcs/literals"], _answering(200, {}))


def test_is_live_tells_the_two_kinds_apart() -> None:
    assert is_live(BY_ID["identity/proof-verify/valid"])
    assert is_live(BY_ID["core/http/info"])
    assert not is_live(BY_ID["anchoring/merkle/verify-valid"])
    assert not is_live({"id": "documents/unknown/x"})


def test_requests_are_what_the_vectors_say(tmp_path: Path) -> None:
    seen: list[tuple[str, str, int, bool]] = []

    def send(
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = False,
    ) -> HttpResponse:
        seen.append((method, path, len(body or b""), auth))
        return HttpResponse(413, {"content-type": "application/json"}, b'{"name":"E","message":""}')

    assert replay_vector(BY_ID["core/http/login-body-over-1-mib"], send).passed
    assert seen == [("POST", "/authentication/login", 1024 * 1024 + 1, False)]
    seen.clear()
    replay_vector(BY_ID["consensus/http/evaluate-too-many-blocks"], send)
    assert seen[0][0:2] == ("POST", "/consensus/evaluate")


@pytest.mark.parametrize(
    "answer",
    [
        [],
        {},
        "text",
        {"verdicts": "none", "decisions": 3},
        {"verdicts": [1, 2, 3], "decisions": [None], "commits": [[]]},
        {"verified": "yes", "failure": 7, "revoked": None},
        {"blocks": [1, {"round": "x"}], "commits": [{}], "checkpoints": [[]], "equivocations": [0]},
        {"name": "E", "message": "m", "properties": []},
        {"didDocument": [], "didResolutionMetadata": "x"},
    ],
    ids=lambda answer: json.dumps(answer)[:30],
)
@pytest.mark.parametrize("status", [200, 400, 404])
def test_answers_of_any_shape_become_failures_not_exceptions(answer: object, status: int) -> None:
    send = _answering(status, answer)
    for vector in LIVE:
        outcome = replay_vector(vector, send)
        assert isinstance(outcome.passed, bool)
        assert "\n" not in outcome.message


def test_an_unknown_family_is_refused() -> None:
    with pytest.raises(ValueError, match="not the id of a vector family"):
        replay_vector({"id": "documents/unknown/x"}, _answering(200, {}))
    with pytest.raises(ValueError, match="not the id of a vector family"):
        check_offline_vector({"id": "core/nothing/x"})
