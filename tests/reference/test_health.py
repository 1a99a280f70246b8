"""What /health says when a real node's storage fails, and what its log does meanwhile.

Issue 13, finding 2: ``/health`` said ``ok`` while the ledger loop failed for ever, and the log
grew by 400 KiB of tracebacks a second. Now ``/health`` names the failing component and why
(TWIN-CORE-066), a write that cannot be committed meanwhile is pending (TWIN-CORE-067), and
repeated identical log records are collapsed with a count. The storage is made to fail for
real: the node's file-size limit is lowered below its write-ahead log's size (``prlimit``).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.node_process import RunningNode, start_node

COMMIT_TIMEOUT = 2.0


@pytest.fixture
def storage_node(tmp_path: Path) -> Iterator[RunningNode]:
    running = start_node(tmp_path / "data", "--commit-timeout", str(COMMIT_TIMEOUT))
    yield running
    running.stop()


def set_file_size_limit(node: RunningNode, limit: str) -> None:
    """Set the running node's soft file-size limit (the hard limit stays unlimited)."""
    prlimit = shutil.which("prlimit")
    assert prlimit is not None, "prlimit (util-linux) is needed"
    subprocess.run(
        [prlimit, "--pid", str(node.process.pid), f"--fsize={limit}:unlimited"],
        check=True,
        timeout=10,
    )


def health(node: RunningNode) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{node.url}/health", timeout=10).json()
    return body


def component(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next(item for item in body["components"] if item["name"] == name)


@pytest.mark.requirement("TWIN-CORE-066", "TWIN-CORE-067", "TWIN-CONSENSUS-132")
def test_a_failing_storage_shows_in_health_and_writes_are_pending_not_failed(
    storage_node: RunningNode,
) -> None:
    token = storage_node.login()
    with storage_node.client(token) as client:
        assert client.post("/immutable-proof", json={"document": {"n": 0}}).status_code == 201
        wal = storage_node.data_dir / "node.sqlite-wal"
        set_file_size_limit(storage_node, str(wal.stat().st_size))
        answers: list[httpx.Response] = []
        writer = threading.Thread(
            target=lambda: answers.append(
                client.post(
                    "/immutable-proof",
                    json={"document": {"pad": "x" * 20_000}},
                    timeout=COMMIT_TIMEOUT + 30,
                )
            )
        )
        writer.start()
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            seen.append(health(storage_node))
            if (
                component(seen[-1], "Database")["status"] == "error"
                and writer.ident
                and not (writer.is_alive())
            ):
                break
            time.sleep(0.2)
        writer.join(timeout=COMMIT_TIMEOUT + 30)
        # Before: /health said ok while the ledger could not write.
        database = [component(body, "Database") for body in seen]
        assert any(item["status"] == "error" for item in database), seen[-1]
        assert "disk I/O error" in next(
            item["details"] for item in database if item["status"] == "error"
        )
        assert seen[-1]["status"] == "error"
        (pending,) = answers
        assert pending.status_code == 202, pending.text
        status_path = pending.headers["location"]
        assert client.get(status_path).json()["status"] == "pending"
        # Give the storage room again: the ledger catches up and commits the pending write.
        set_file_size_limit(storage_node, "unlimited")
        deadline = time.monotonic() + 30
        while client.get(status_path).json()["status"] != "committed":
            assert time.monotonic() < deadline, "the pending write was never committed"
            time.sleep(0.2)
        assert health(storage_node)["status"] == "ok"
    # The failure repeated many times a second; the log kept a few lines and a count.
    log = storage_node.log()
    assert log.count("the ledger loop failed; retrying") < 20, log[-3000:]
    assert "repeated" in log or log.count("the ledger loop failed") < 3, log[-3000:]
