"""The evaluate worker process ends with its node, even when the node is killed.

A node stopped by SIGKILL cannot stop its worker; the worker watches its parent and exits
once it is re-parented, so no test (and no operator) is left with orphans.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psutil

from tests.node_process import start_node

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
