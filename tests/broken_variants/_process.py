"""Start a broken variant as a subprocess on 127.0.0.1, port 0, as tests start the real node."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.node_process import (
    ADMIN_PASSWORD,
    SECOND_USER_ENV,
    RunningNode,
    _read_url,
    _wait_healthy,
)
from tests.support import REPO_ROOT


def start_variant(
    fault: str,
    data_dir: Path,
    *args: str,
    password: str = ADMIN_PASSWORD,
    env: dict[str, str] | None = None,
    wait_healthy: bool = True,
) -> RunningNode:
    """Start ``python -m tests.broken_variants FAULT serve-options`` and wait for /health."""
    environment = {**os.environ, **SECOND_USER_ENV, **(env or {}), "TWIN_NODE_PASSWORD": password}
    # The variants live in the tests package, which is importable from the repository root.
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    log_path = data_dir.parent / f"{data_dir.name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.broken_variants",
                fault,
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--data-dir",
                str(data_dir),
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            env=environment,
            cwd=REPO_ROOT,
        )
    node = RunningNode(process, "", data_dir, log_path)
    try:
        node.url = _read_url(process)
        if wait_healthy:
            _wait_healthy(node)
    except BaseException:
        node.stop(signal.SIGKILL)
        raise
    return node
