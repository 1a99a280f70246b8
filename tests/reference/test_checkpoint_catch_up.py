"""Catching up from certified checkpoints takes nothing a peer cannot prove.

A peer on loopback serves a ledger of three commits made by the spec core and certified by
three of four test validators; the validator catching up starts from an empty database. The
honest ledger is taken whole (each commit, its transactions and outcomes, its certified
checkpoint). A ledger with one thing wrong (a checkpoint signed by too few, a commit that is not
the one certified, a transaction changed) is refused from that thing on: what came before it is
kept, nothing after it, and the database stays consistent. The whole scenario with real nodes is
``test_catch_up_past_retention.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.spec.dag_notation import signing_key
from tests.support import loopback_http
from twin_reference._checkpoint_catch_up import catch_up_past_retention
from twin_reference._ledger_store import LedgerStore
from twin_reference._store import Store
from twin_reference._transactions import apply_transaction
from twin_spec import (
    BlockRef,
    Committee,
    Validator,
    certify_checkpoint,
    checkpoint_digest,
    commit_digest,
    make_checkpoint_summary,
    make_commit,
    sign_checkpoint,
    transaction_digest,
)

COMMITTEE = Committee(0, tuple(Validator(i, signing_key(i).public_key, 1) for i in range(4)))
Ledger = dict[str, list[Any]]


def honest_ledger() -> Ledger:
    """Three commits of two transactions each, certified by validators 0, 1 and 2."""
    commits: list[Any] = []
    checkpoints: list[Any] = []
    transactions: list[Any] = []
    previous_commit, previous_summary = bytes(32), bytes(32)
    for index in range(1, 4):
        leader = BlockRef(2 * index, index % 4, bytes([index]) * 32)
        commit = make_commit(index, previous_commit, 1000 * index, leader, [leader])
        own = [
            {
                "type": "t",
                "sender": "did:key:z6Mk",
                "nonce": f"{index}-{n}",
                "timestampMs": 1,
                "payload": {},
            }
            for n in range(2)
        ]
        summary = make_checkpoint_summary(
            0,
            index,
            index,
            commit_digest(commit),
            [transaction_digest(transaction) for transaction in own],
            previous_summary,
            1000 * index,
        )
        signatures = [sign_checkpoint(signing_key(i), i, summary) for i in range(3)]
        commits.append(commit)
        checkpoints.append(certify_checkpoint(summary, signatures))
        transactions.append(own)
        previous_commit, previous_summary = commit_digest(commit), checkpoint_digest(summary)
    return {"commits": commits, "checkpoints": checkpoints, "transactions": transactions}


@contextmanager
def serving(ledger: Ledger) -> Iterator[str]:
    """A peer on loopback serving the ledger's commits, checkpoints and transactions."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            del format, args

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {name: values[0] for name, values in parse_qs(url.query).items()}
            start = int(query.get("from", "1"))
            limit = int(query.get("limit", "100"))
            parts = url.path.strip("/").split("/")
            body: object = None
            if url.path == "/consensus/commits":
                body = {"commits": ledger["commits"][start - 1 : start - 1 + limit]}
            elif url.path == "/consensus/checkpoints":
                body = {"checkpoints": ledger["checkpoints"][start - 1 : start - 1 + limit]}
            elif parts[:2] == ["consensus", "checkpoints"] and parts[3:] == ["transactions"]:
                sequence = int(parts[2])
                if sequence <= len(ledger["transactions"]):
                    listed = ledger["transactions"][sequence - 1]
                    body = {
                        "sequence": sequence,
                        "transactionCount": len(listed),
                        "transactions": listed[start - 1 : start - 1 + limit],
                    }
            content = json.dumps(body).encode()
            self.send_response(200 if body is not None else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

    with loopback_http(Handler) as url:
        yield url


def catch_up(tmp_path: Path, ledger: Ledger) -> LedgerStore:
    store = Store(tmp_path / "node.sqlite")
    with serving(ledger) as url:
        catch_up_past_retention(LedgerStore(store), COMMITTEE, 3, {1: url}, patience_seconds=30)
    return LedgerStore(store)


def held(ledger: LedgerStore) -> tuple[int, int, int]:
    """Commits, certified checkpoints and committed transactions stored."""
    last = ledger.last_commit()
    checkpoint = ledger.last_checkpoint()
    count = ledger.store.one("SELECT COUNT(*) FROM transactions")
    assert count is not None
    return (last[0] if last else 0, checkpoint[0] if checkpoint else 0, int(str(count[0])))


def test_an_honest_peers_certified_ledger_is_taken_whole(tmp_path: Path) -> None:
    ledger = honest_ledger()
    taken = catch_up(tmp_path, ledger)
    assert held(taken) == (3, 3, 6)
    for sequence in range(1, 4):
        assert taken.checkpoint(sequence) == ledger["checkpoints"][sequence - 1]
        for transaction in ledger["transactions"][sequence - 1]:
            outcome = taken.outcome(transaction_digest(transaction))
            assert outcome is not None
            assert outcome.checkpoint == sequence
    assert taken.commits_from(1, 10) == ledger["commits"]
    assert taken.last_decided_round() == 6


def _too_few(ledger: Ledger) -> None:
    checkpoint = ledger["checkpoints"][1]
    ledger["checkpoints"][1] = {**checkpoint, "signatures": checkpoint["signatures"][:2]}


def _other_commit(ledger: Ledger) -> None:
    ledger["commits"][1] = {**ledger["commits"][1], "timestampMs": 2001}


def _changed_transaction(ledger: Ledger) -> None:
    ledger["transactions"][1][0] = {**ledger["transactions"][1][0], "nonce": "forged"}


def _reordered(ledger: Ledger) -> None:
    ledger["transactions"][1].reverse()


@pytest.mark.requirement("TWIN-CONSENSUS-134")
@pytest.mark.parametrize(
    "spoil",
    [_too_few, _other_commit, _changed_transaction, _reordered],
    ids=["signed-by-two-of-four", "another-commit", "a-transaction-changed", "reordered"],
)
def test_what_a_peer_cannot_prove_is_refused_from_there_on(
    tmp_path: Path, spoil: Callable[[Ledger], None]
) -> None:
    ledger = honest_ledger()
    spoil(ledger)
    assert held(catch_up(tmp_path, ledger)) == (1, 1, 2)


def test_no_peer_ahead_takes_nothing(tmp_path: Path) -> None:
    assert held(catch_up(tmp_path, {"commits": [], "checkpoints": [], "transactions": []})) == (
        0,
        0,
        0,
    )


def with_own_first_commit(tmp_path: Path, summary: dict[str, Any]) -> Store:
    """A database holding the ledger's first commit, its outcomes and ``summary`` uncertified."""
    ledger = honest_ledger()
    store = Store(tmp_path / "node.sqlite")
    own = LedgerStore(store)
    commit = ledger["commits"][0]
    with own.write() as connection:
        own.insert_commit(connection, 1, commit_digest(commit), commit)
        for position, transaction in enumerate(ledger["transactions"][0]):
            digest = transaction_digest(transaction)
            effects = apply_transaction(connection, transaction, digest, 1000)
            own.insert_transaction(connection, digest, 1, position, transaction, effects)
        own.insert_summary(connection, 1, checkpoint_digest(summary), summary)
    return store


def test_its_own_uncertified_commit_takes_the_peers_certificate(tmp_path: Path) -> None:
    ledger = honest_ledger()
    store = with_own_first_commit(tmp_path, ledger["checkpoints"][0]["summary"])
    with serving(ledger) as url:
        catch_up_past_retention(LedgerStore(store), COMMITTEE, 3, {1: url}, patience_seconds=30)
    taken = LedgerStore(store)
    assert held(taken) == (3, 3, 6)
    assert taken.checkpoint(1) == ledger["checkpoints"][0]
    assert taken.summary_of(1) is None, "its summary is held within the certified checkpoint"


def test_a_certificate_of_another_summary_than_its_own_is_refused(tmp_path: Path) -> None:
    ledger = honest_ledger()
    own = {**ledger["checkpoints"][0]["summary"], "timestampMs": 999}
    store = with_own_first_commit(tmp_path, own)
    with serving(ledger) as url:
        catch_up_past_retention(LedgerStore(store), COMMITTEE, 3, {1: url}, patience_seconds=30)
    assert held(LedgerStore(store)) == (1, 0, 2)
