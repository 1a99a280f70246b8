"""The files a real node writes: owner-only where they hold secrets, whatever the umask.

Issue 13, finding 6: a ``node.sqlite`` restored as 0644 (it holds the vault's private keys)
stayed readable by everyone; under umask 000 ``committee.json`` was written 0666; validator
logs were 0644. The node now makes its data directory and database owner-only at start (with
a warning), and gives every file it writes an explicit mode.
"""

from __future__ import annotations

import os
import selectors
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from tests.node_process import ADMIN_PASSWORD, start_node

UMASK_000 = ["sh", "-c", 'umask 000 && exec "$0" "$@"']
READY_SECONDS = 90.0


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_database_restored_open_to_others_is_made_owner_only_with_a_warning(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    start_node(data_dir).stop()
    # As a restore from a backup might leave them.
    data_dir.chmod(0o755)
    (data_dir / "node.sqlite").chmod(0o644)
    node = start_node(data_dir)
    try:
        assert mode(data_dir) == 0o700
        assert mode(data_dir / "node.sqlite") == 0o600
        log = node.log()
        assert "node.sqlite was 0o644, open to others; made 0o600" in log, log[-2000:]
        assert "was 0o755, open to others; made 0o700" in log, log[-2000:]
    finally:
        node.stop()


def test_every_file_the_node_writes_has_its_own_mode_under_umask_000(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    node = start_node(data_dir, prefix=UMASK_000)
    try:
        with node.client(node.login()) as client:
            assert client.post("/identity", timeout=30).status_code == 200
        modes = {path.name: mode(path) for path in data_dir.iterdir()}
    finally:
        node.stop()
    assert mode(data_dir) == 0o700
    # Public: the keys receipts verify against. Before: 0666 under this umask.
    assert modes.pop("committee.json") == 0o644
    assert {"node.sqlite", "node.sqlite-wal", "node.sqlite-shm"} <= set(modes)
    assert all(value == 0o600 for value in modes.values()), modes


def test_a_cluster_writes_its_logs_and_password_owner_only_under_umask_000(
    tmp_path: Path,
) -> None:
    environment = {**os.environ, "TWIN_NODE_PASSWORD": ADMIN_PASSWORD}
    process = subprocess.Popen(
        [
            *UMASK_000,
            sys.executable,
            "-m",
            "twin_reference",
            "cluster",
            "--validators",
            "1",
            "--data-dir",
            str(tmp_path / "cluster"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=environment,
    )
    output = ""
    try:
        assert process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + READY_SECONDS
        while "ready;" not in output and time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if selector.select(timeout=0.2):
                output += os.read(process.stdout.fileno(), 4096).decode(errors="replace")
        assert "ready;" in output, output
        cluster = tmp_path / "cluster"
        assert mode(cluster) == 0o700
        assert mode(cluster / "genesis.json") == 0o644
        assert mode(cluster / "admin-password") == 0o600
        # Before: 0644 (0666 under this umask).
        assert mode(cluster / "validator-0.log") == 0o600
        assert mode(cluster / "validator-0") == 0o700
        assert mode(cluster / "validator-0" / "node.sqlite") == 0o600
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def test_a_generated_admin_password_is_kept_owner_only_and_never_printed(tmp_path: Path) -> None:
    """Without $TWIN_NODE_PASSWORD the console names the password's file, never the password."""
    data_dir = tmp_path / "data"
    node = start_node(data_dir, password=None, prefix=UMASK_000)
    try:
        password_file = data_dir / "admin-password"
        assert mode(password_file) == 0o600
        password = password_file.read_text().strip()
        assert len(password) >= 16
        log = node.log()
        assert str(password_file) in log, log[-2000:]
        assert password not in log
        with node.client() as client:
            login = client.post(
                "/authentication/login",
                json={"email": "admin@twin.example", "password": password},
            )
            assert login.status_code == 200, login.text
    finally:
        node.stop()
