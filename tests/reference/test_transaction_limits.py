"""Transactions at and around every limit, against a real node: refused naming it, or committed.

Issue 13, finding 1: a transaction nesting 255 levels was accepted (202), then the ledger loop
failed on it for ever (every later write 503 after 30 s, a log growing by 400 KiB a second).
Every transaction a node accepts must now fit a block, a peer's receive rules and storage
(TWIN-ANCHORING-060, -061), and whatever the ledger loop cannot handle it drops or records as
failed without stopping (TWIN-CONSENSUS-131).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.node_process import RunningNode, start_node
from twin_spec import (
    MAX_SAFE_INTEGER,
    MAX_TRANSACTION_BYTES,
    MAX_TRANSACTION_DEPTH,
    CanonicalizationError,
    TransactionLimitError,
    canonicalize,
    check_transaction,
    parse_json,
)

LIMIT_CODES = {
    "transactionTooLarge",
    "transactionTooDeep",
    "numberOutOfRange",
    "invalidString",
    "nestingTooDeep",
}
COMMIT_SECONDS = 30.0


@pytest.fixture(scope="module")
def limits_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """A node of its own: these tests fill its ledger with odd transactions."""
    running = start_node(Path(tmp_path_factory.mktemp("limits")) / "data")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def writer(limits_node: RunningNode) -> Iterator[tuple[httpx.Client, str]]:
    """An authenticated client of that node and the caller's identity."""
    with limits_node.client(limits_node.login()) as client:
        identity = client.get("/info").json()["nodeIdentity"]
        yield client, identity


def nested(levels: int) -> dict[str, Any]:
    """An object nesting ``levels`` levels deep."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def transaction(sender: str, payload: Any, **extra: Any) -> dict[str, Any]:
    return {
        "type": "test.limits",
        "sender": sender,
        "nonce": f"{time.monotonic_ns():x}",
        "timestampMs": 1_767_225_600_000,
        "payload": payload,
        **extra,
    }


def wait_committed(client: httpx.Client, digest: str) -> dict[str, Any]:
    """Poll the transaction's status until a certified checkpoint holds it (bounded)."""
    deadline = time.monotonic() + COMMIT_SECONDS
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = client.get(f"/consensus/transactions/{digest}")
        assert answer.status_code == 200, answer.text
        status = answer.json()
        if status["status"] == "committed":
            return status
        assert status["status"] == "pending", status
        time.sleep(0.01)
    raise AssertionError(f"transaction {digest} was not committed in time: {status}")


def assert_write_commits(client: httpx.Client) -> None:
    """A write answered in time proves the ledger still commits."""
    started = time.monotonic()
    created = client.post("/identity", timeout=COMMIT_SECONDS + 5)
    assert created.status_code == 200, created.text
    assert time.monotonic() - started < COMMIT_SECONDS


@pytest.mark.requirement("TWIN-ANCHORING-060", "TWIN-ANCHORING-061", "TWIN-CONSENSUS-131")
def test_a_transaction_nested_255_levels_is_refused_and_the_ledger_keeps_committing(
    writer: tuple[httpx.Client, str], limits_node: RunningNode
) -> None:
    client, identity = writer
    for levels in (253, 254, 255):
        answer = client.post("/consensus/transactions", json=transaction(identity, nested(levels)))
        assert answer.status_code == 400, answer.text
        assert answer.json()["properties"]["code"] == "transactionTooDeep"
        assert answer.json()["properties"]["limit"] == MAX_TRANSACTION_DEPTH
    at_limit = transaction(identity, nested(MAX_TRANSACTION_DEPTH - 1))
    accepted = client.post("/consensus/transactions", json=at_limit)
    assert accepted.status_code == 202, accepted.text
    wait_committed(client, accepted.json()["digest"])
    assert_write_commits(client)
    assert client.get("/health").json()["status"] == "ok"
    log = limits_node.log()
    assert "ledger loop failed" not in log, log[-3000:]


@pytest.mark.requirement("TWIN-ANCHORING-061")
def test_every_write_route_refuses_a_transaction_over_a_limit(
    writer: tuple[httpx.Client, str],
) -> None:
    client, _identity = writer
    # 70,000 bytes of data make a transaction over 65536 bytes of JCS: accepted and committed
    # by a committee of one before, and refused by every peer's receive rules.
    data = base64.b64encode(b"x" * 70_000).decode()
    refused = client.post("/verifiable", json={"data": data})
    assert refused.status_code == 413, refused.text
    assert refused.json()["properties"]["code"] == "transactionTooLarge"
    assert refused.json()["properties"]["limit"] == MAX_TRANSACTION_BYTES
    fits = base64.b64encode(b"x" * 40_000).decode()
    assert client.post("/verifiable", json={"data": fits}).status_code == 201


@pytest.mark.requirement("TWIN-CONSENSUS-131", "TWIN-CONSENSUS-132")
def test_a_transaction_that_cannot_apply_is_recorded_as_failed_and_commits_go_on(
    writer: tuple[httpx.Client, str],
) -> None:
    client, identity = writer
    version = client.get(
        f"/identity/{identity}", headers={"accept": "application/did-resolution"}
    ).json()["didDocumentMetadata"]["versionId"]
    # Well formed, within every limit, but its document is a string: applying it used to raise
    # where no error was expected, and the ledger loop retried the commit for ever.
    poison = transaction(identity, {"did": identity, "version": int(version), "document": "x"})
    poison["type"] = "did.update"
    accepted = client.post("/consensus/transactions", json=poison)
    assert accepted.status_code == 202, accepted.text
    status = wait_committed(client, accepted.json()["digest"])
    assert status["outcome"]["status"] == "failure"
    assert "cannot be applied" in status["outcome"]["error"]["message"]
    assert_write_commits(client)


# -- the property: refused naming the limit, or committed -------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text written as is: literals no Python value prints the same way."""

    text: str


SPECIAL_LITERALS = [
    Raw(str(MAX_SAFE_INTEGER)),
    Raw(str(-MAX_SAFE_INTEGER)),
    Raw(str(MAX_SAFE_INTEGER + 1)),
    Raw(str(-(MAX_SAFE_INTEGER + 2))),
    Raw("1" * 5000),
    Raw("-" + "9" * 400),
    Raw("1e308"),
    Raw("1.7976931348623157e308"),
    Raw("1e309"),
    Raw("-1e400"),
    Raw("5e-324"),
    Raw("1e-400"),
    Raw("-0.0"),
    Raw("0." + "1" * 3000),
    Raw('"\\ud800"'),
    Raw('"x\\udfff"'),
    Raw('"\\ud83d\\ude00"'),
    Raw('"\\u0000"'),
    Raw('"\u00e9\u4e2d\U0001f600"'),
]


def to_text(value: Any) -> str:
    """JSON text of a value that may hold :class:`Raw` literals (and member names)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        members = ",".join(f"{to_text(name)}:{to_text(item)}" for name, item in value.items())
        return "{" + members + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_text(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def now_and_then(rare: st.SearchStrategy[Any], usual: st.SearchStrategy[Any]) -> Any:
    """Draw ``rare`` one time in twenty, else ``usual``.

    A transaction has a dozen values, and one value at a limit is enough to refuse it.
    """
    return st.integers(0, 19).flatmap(lambda draw: rare if draw == 0 else usual)


scalars = now_and_then(
    st.sampled_from(SPECIAL_LITERALS),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
    ),
)
names = now_and_then(st.just(Raw('"\\udc00"')), st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(names, children, max_size=4),
    max_leaves=12,
)


@st.composite
def limit_probes(draw: st.DrawFn) -> dict[str, Any]:
    """A transaction of any shape the schema allows, pushed to or past one of its limits."""
    payload: dict[Any, Any] = draw(st.dictionaries(names, json_values, max_size=4))
    extra = draw(st.dictionaries(st.sampled_from(["memo", "fee", "tags"]), json_values))
    probe = draw(st.sampled_from(["none", "depth", "size", "both"]))
    if probe in ("depth", "both"):
        # The transaction is level 1, its payload level 2: this makes it `depth` levels deep.
        depth = draw(st.integers(MAX_TRANSACTION_DEPTH - 2, MAX_TRANSACTION_DEPTH + 2))
        payload["deep"] = nested(depth - 2)
    if probe in ("size", "both"):
        payload["pad"] = ""
    return {"payload": payload, "extra": extra, "probe": probe}


def build_text(probe: dict[str, Any], sender: str) -> str:
    """The request body; for a size probe, padded to a size around 65536 bytes of JCS."""
    tx = transaction(sender, probe["payload"], **probe["extra"])
    text = to_text(tx)
    if probe["probe"] in ("size", "both"):
        try:
            size = len(canonicalize(parse_json(text)))
        except CanonicalizationError:
            return text
        target = MAX_TRANSACTION_BYTES + (len(text) % 7) - 3
        probe["payload"]["pad"] = "p" * max(0, target - size)
        text = to_text(transaction(sender, probe["payload"], **probe["extra"]))
    return text


def expected_refusal(text: str) -> str | None:
    """The limit the spec core says the body breaks, or None when it is a good transaction."""
    try:
        value = parse_json(text)
    except CanonicalizationError as exc:
        return exc.limit.value if exc.limit is not None else "notJson"
    try:
        check_transaction(value)
    except TransactionLimitError as exc:
        return exc.code
    return None


def check_probe(client: httpx.Client, text: str) -> None:
    answer = client.post(
        "/consensus/transactions",
        content=text.encode("utf-8", "surrogatepass"),
        headers={"content-type": "application/json"},
    )
    refusal = expected_refusal(text)
    event(f"answer {answer.status_code} {refusal or 'within every limit'}")
    if answer.status_code == 202:
        assert refusal is None, f"accepted what breaks {refusal}"
        wait_committed(client, answer.json()["digest"])
        return
    assert 400 <= answer.status_code < 500, f"{answer.status_code}: {answer.text[:300]}"
    code = answer.json().get("properties", {}).get("code")
    assert code in LIMIT_CODES, f"a refusal naming no limit: {answer.text[:300]}"
    assert code == refusal, f"refused for {code}, the spec core says {refusal}"


@pytest.mark.requirement("TWIN-ANCHORING-060", "TWIN-ANCHORING-061", "TWIN-CORE-060")
@settings(max_examples=200)
@given(probe=limit_probes())
def test_every_transaction_is_refused_naming_a_limit_or_committed(
    writer: tuple[httpx.Client, str], probe: dict[str, Any]
) -> None:
    client, identity = writer
    check_probe(client, build_text(probe, identity))


@pytest.mark.slow
@pytest.mark.requirement("TWIN-ANCHORING-060", "TWIN-ANCHORING-061", "TWIN-CORE-060")
@settings(max_examples=2000)
@given(probe=limit_probes())
def test_every_transaction_is_refused_naming_a_limit_or_committed_at_length(
    writer: tuple[httpx.Client, str], probe: dict[str, Any]
) -> None:
    client, identity = writer
    check_probe(client, build_text(probe, identity))
