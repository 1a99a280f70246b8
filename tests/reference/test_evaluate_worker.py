"""The evaluate worker process ends with its node, even when the node is killed.

A node stopped by SIGKILL cannot stop its worker; the worker watches its parent and exits
once it is re-parented, so no test (and no operator) is left with orphans. A worker that dies
on request after request shows in /health.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psutil

from tests.node_process import start_node
from twin_reference._routes_core import WORKER_DEATHS_WARNING

GONE_SECONDS = 15.0
"""The worker checks its parent every second; this bound holds on a loaded 2-core machine."""


def _workers(pid: int) -> list[psutil.Process]:
    """The node's child processes (its evaluate worker), waiting for them to appear."""
    deadline = time.monotonic() + 30
    while True:
        children = psutil.Process(pid).children(recursive=True)
        if children or time.monotonic() > deadline:
            return children
        time.sleep(0.2)


def test_the_evaluate_worker_ends_when_its_node_is_killed(tmp_path: Path) -> None:
    node = start_node(tmp_path / "data")
    try:
        workers = _workers(node.process.pid)
        assert workers, "the node started no evaluate worker process"
        node.stop(signal.SIGKILL)
        _, alive = psutil.wait_procs(workers, timeout=GONE_SECONDS)
        assert not alive, f"worker processes outlived their killed node: {alive}"
    finally:
        node.stop()
        for child in psutil.Process().children(recursive=True):
            if child.pid in {w.pid for w in workers}:
                child.kill()


def _is_pool_worker(process: psutil.Process) -> bool:
    try:
        return any("spawn_main" in part for part in process.cmdline())
    except psutil.Error:  # a worker killed before and not yet reaped
        return False


def _kill_the_worker(pid: int) -> None:
    """SIGKILL the node's pool worker (not the resource tracker) and wait until it is dead."""
    workers = [
        child for child in _workers(pid) if any("spawn_main" in part for part in child.cmdline())
    ]
    assert workers, "the node runs no evaluate worker"
    for worker in workers:
        worker.kill()
    deadline = time.monotonic() + GONE_SECONDS
    while time.monotonic() < deadline:
        try:
            if all(worker.status() == psutil.STATUS_ZOMBIE for worker in workers):
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.05)
    raise AssertionError(f"the killed workers did not die: {workers}")


def test_health_warns_while_the_evaluate_worker_dies_on_every_request(tmp_path: Path) -> None:
    """Each request whose worker was killed is a 503 with Retry-After; three in a row warn."""
    node = start_node(tmp_path / "data")
    body = {"committee": {"epoch": 0, "validators": []}, "blocks": []}
    try:
        with node.client() as client:
            for _ in range(WORKER_DEATHS_WARNING):
                _kill_the_worker(node.process.pid)
                answer = client.post("/consensus/evaluate", json=body)
                assert answer.status_code == 503, answer.text
                assert answer.headers["retry-after"] == "1"
            health = client.get("/health").json()
            component = next(c for c in health["components"] if c["name"] == "Evaluate worker")
            assert (health["status"], component["status"]) == ("warning", "warning"), health
            assert f"died on the last {WORKER_DEATHS_WARNING}" in component["details"]
            # A worker that answers again clears the warning.
            assert client.post("/consensus/evaluate", json=body).status_code == 400
            assert client.get("/health").json()["status"] == "ok"
    finally:
        node.stop()
