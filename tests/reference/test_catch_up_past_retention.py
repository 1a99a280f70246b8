"""A validator back after its peers deleted the blocks it missed catches up from checkpoints.

Four ``twin-node`` processes keep blocks only :data:`RETENTION` rounds below their
garbage-collection round. Validator 3 is killed; the others commit on, with a DID created
meanwhile, until none of them serves the leader block of the first commit validator 3 lacks (so
it cannot catch up by blocks, TWIN-CONSENSUS-112). Restarted, it must take the commits it missed
from its peers' certified checkpoints (each verified against the committee, the commit against
the checkpoint's digest, the transactions against its root, TWIN-CONSENSUS-134). It reaches
validator 0 through a proxy that changes one transaction of every checkpoint page it serves:
that peer's pages are refused and the next peer's taken, so it must hold the same
commit sequence and the DID, serve every checkpoint certified, and then be a validator again:
with validator 0 killed, a write through it commits (three of four is the quorum). A validator
that stays up while cut off that long (the slow scenario) cannot catch up while running: once
healed, its ``/health`` says so and what to do, and restarted it catches up. The bounds are
liveness bounds for a loaded 2-core machine.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster_process import Cluster, create_cluster, get_all, wait_for
from tests.reference.test_cluster import assert_prefixes, commits_of, resolves
from tests.reference.test_partitions import start_relayed_cluster
from tests.support import loopback_http
from twin_conformance._relay import LinkMode, RelayThread
from twin_spec import Committee, check_checkpoint_transactions, verify_certified_checkpoint

RETENTION = 100
"""The smallest retention ``twin-node serve`` takes."""
VICTIM = 3
DELETED_SECONDS = 180.0
"""Writes until the peers deleted the blocks the victim needs: a bound, not a speed figure."""
CATCH_UP_SECONDS = 90.0
REPORTED_SECONDS = 60.0
"""Heal to ``/health`` reporting it: ten seconds without a commit, then a check of the peers."""


_TRANSACTIONS = re.compile(r"/consensus/checkpoints/[0-9]+/transactions")


@contextmanager
def tampering_proxy(upstream: str) -> Iterator[str]:
    """A proxy to ``upstream`` that changes the first transaction of every checkpoint page."""
    client = httpx.Client(base_url=upstream, timeout=10)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            del format, args

        def _forward(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {"content-type": self.headers.get("content-type") or "application/json"}
            try:
                answer = client.request(self.command, self.path, content=body, headers=headers)
            except httpx.HTTPError:
                self.send_error(502)
                return
            content = answer.content
            if answer.status_code == 200 and _TRANSACTIONS.match(self.path):
                page = answer.json()
                if page["transactions"]:
                    page["transactions"][0] = {**page["transactions"][0], "nonce": "forged"}
                content = json.dumps(page).encode()
            self.send_response(answer.status_code)
            self.send_header("content-type", answer.headers.get("content-type", "text/plain"))
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = _forward
        do_POST = _forward

    try:
        with loopback_http(Handler) as url:
            yield url
    finally:
        client.close()


def stored_commits(cluster: Cluster, index: int) -> int:
    """How many commits a stopped validator's database holds (read-only)."""
    path = cluster.data_dir(index) / "node.sqlite"
    database = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = database.execute("SELECT MAX(commit_index) FROM commits").fetchone()
    finally:
        database.close()
    return int(row[0] or 0)


def served_by_any(cluster: Cluster, ref: dict[str, Any]) -> bool:
    """Whether a running validator other than the victim still serves the block ``ref`` names."""
    for index in sorted(set(cluster.nodes) - {VICTIM}):
        with cluster.client(index) as client:
            if client.get(f"/consensus/blocks/{ref['digest']}").status_code == 200:
                return True
    return False


def write_until_deleted(cluster: Cluster, held: int, admin: httpx.Client) -> int:
    """Write through ``admin`` until no peer of the victim serves commit held + 1's leader.

    Return how many writes it took.
    """
    anchored = admin.post("/verifiable", json={"data": "aGVsbG8="}, timeout=30)
    assert anchored.status_code == 201, f"{anchored.text}\n{cluster.logs()}"
    with cluster.client(1) as peer:
        first_missing = wait_for(
            lambda: (
                peer.get("/consensus/commits", params={"from": held + 1, "limit": 1}).json()[
                    "commits"
                ]
                or None
            ),
            30,
            lambda: "the others made no commit without validator 3",
        )[0]
    deadline = time.monotonic() + DELETED_SECONDS
    writes = 1
    while served_by_any(cluster, first_missing["leader"]):
        assert time.monotonic() < deadline, (
            f"after {writes} writes the peers still serve the leader block of commit"
            f" {held + 1}\n{cluster.logs()}"
        )
        for _ in range(20):
            anchored = admin.post("/verifiable", json={"data": "aGVsbG8="}, timeout=30)
            assert anchored.status_code == 201, f"{anchored.text}\n{cluster.logs()}"
            writes += 1
    return writes


def ledger_error(cluster: Cluster, index: int) -> str | None:
    """The Ledger component's error details in a validator's /health, else None."""
    with cluster.client(index) as client:
        components = client.get("/health").json()["components"]
    ledger = next(c for c in components if c["name"] == "Ledger")
    return str(ledger.get("details")) if ledger["status"] == "error" else None


@pytest.mark.slow
def test_a_validator_cut_off_past_the_retention_says_so_and_catches_up_once_restarted(
    tmp_path: Path, relays: list[RelayThread]
) -> None:
    cluster = start_relayed_cluster(
        tmp_path, relays, serve_args=("--block-retention-rounds", str(RETENTION))
    )
    relay = relays[-1]
    try:
        relay.cut([[VICTIM], [0, 1, 2]], LinkMode.blackhole())
        time.sleep(1.0)  # what was in flight lands
        held = len(commits_of(cluster, VICTIM))
        with cluster.client(0, cluster.login(0)) as admin:
            write_until_deleted(cluster, held, admin)
        target = max(len(commits_of(cluster, index)) for index in range(3))
        relay.heal()
        details = wait_for(
            lambda: ledger_error(cluster, VICTIM),
            REPORTED_SECONDS,
            lambda: f"validator 3's /health says nothing\n{cluster.logs()}",
            every=0.5,
        )
        assert "restart the node" in details, details
        assert "certified checkpoints" in details, details
        assert len(commits_of(cluster, VICTIM)) < target, "it caught up by blocks after all"
        cluster.kill(VICTIM)
        cluster.start([VICTIM])
        wait_for(
            lambda: True if len(commits_of(cluster, VICTIM)) >= target else None,
            CATCH_UP_SECONDS,
            lambda: f"validator 3 holds {len(commits_of(cluster, VICTIM))} of {target} commits",
            every=0.25,
        )
        assert ledger_error(cluster, VICTIM) is None
        assert_prefixes({index: commits_of(cluster, index) for index in range(4)})
    finally:
        cluster.stop_all()


@pytest.mark.requirement("TWIN-CONSENSUS-112", "TWIN-CONSENSUS-113", "TWIN-CONSENSUS-134")
def test_a_validator_behind_the_block_retention_catches_up_from_certified_checkpoints(
    tmp_path: Path,
) -> None:
    cluster = create_cluster(tmp_path, 4)
    cluster.serve_args = ("--block-retention-rounds", str(RETENTION))
    try:
        cluster.start(range(4))
        cluster.kill(VICTIM)
        held = stored_commits(cluster, VICTIM)
        with cluster.client(0, cluster.login(0)) as admin:
            created = admin.post("/identity", timeout=30)
            assert created.status_code == 200, f"{created.text}\n{cluster.logs()}"
            did = created.json()["id"]
            writes = write_until_deleted(cluster, held, admin)
        target = max(len(commits_of(cluster, index)) for index in range(3))
        print(f"{writes} writes until the peers deleted the blocks; {target} commits")

        with tampering_proxy(cluster.url(0)) as forged:
            peer_urls = tmp_path / "peer-urls.json"
            peer_urls.write_text(json.dumps({"peers": [{"index": 0, "url": forged}]}))
            cluster.node_args[VICTIM] = ("--peer-urls", str(peer_urls))
            restarted = time.monotonic()
            cluster.start([VICTIM])
            wait_for(
                lambda: True if len(commits_of(cluster, VICTIM)) >= target else None,
                CATCH_UP_SECONDS,
                lambda: (
                    f"validator 3 holds {len(commits_of(cluster, VICTIM))} commits; the others"
                    f" held {target} when it restarted\n{cluster.logs()}"
                ),
                every=0.25,
            )
            took = time.monotonic() - restarted
            print(f"validator 3 caught up {target - held} commits in {took:.1f} s")
            log = cluster.nodes[VICTIM].log()
            assert "catching up from their certified checkpoints" in log, log[-3000:]
            assert "validator 0's checkpoints do not verify" in log, log[-3000:]
            assert_prefixes({index: commits_of(cluster, index) for index in range(4)})
            assert resolves(cluster, VICTIM, did) is not None
            with cluster.client(VICTIM) as client:
                committee = Committee.from_json(client.get("/consensus/committee").json())
                checkpoints = get_all(client, "/consensus/checkpoints", "checkpoints")
                assert len(checkpoints) >= target
                for certified in checkpoints[held : held + 20]:
                    summary = verify_certified_checkpoint(certified, committee)
                    page = client.get(
                        f"/consensus/checkpoints/{summary['sequence']}/transactions",
                        params={"limit": 1000},
                    ).json()
                    check_checkpoint_transactions(summary, page["transactions"])

            # A validator again: with validator 0 gone, the quorum needs it.
            cluster.kill(0)
            with cluster.client(VICTIM, cluster.login(VICTIM)) as admin:
                again = admin.post("/identity", timeout=60)
            assert again.status_code == 200, f"{again.text}\n{cluster.logs()}"
            assert_prefixes({index: commits_of(cluster, index) for index in (1, 2, 3)})
    finally:
        cluster.stop_all()
