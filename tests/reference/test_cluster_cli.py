"""``twin-node genesis`` and ``twin-node cluster``: a committee for a newcomer, in one command."""

from __future__ import annotations

import json
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from twin_reference._genesis import GenesisError, read_genesis
from twin_spec import Committee

READY_SECONDS = 90.0


def twin_node(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twin_reference", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.requirement("TWIN-CONSENSUS-111")
def test_genesis_writes_keys_into_each_vault_and_public_keys_into_the_file(
    tmp_path: Path,
) -> None:
    result = twin_node(
        "genesis", "--validators", "3", "--out", str(tmp_path), "--base-port", "9300"
    )
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "genesis.json").read_text())
    genesis = read_genesis(tmp_path / "genesis.json")
    assert genesis.peers == {i: f"http://127.0.0.1:{9300 + i}" for i in range(3)}
    assert Committee.from_json(document["committee"]) == genesis.committee
    for index in range(3):
        data_dir = tmp_path / f"validator-{index}"
        assert oct(data_dir.stat().st_mode & 0o777) == "0o700"
        database = sqlite3.connect(f"file:{data_dir / 'node.sqlite'}?mode=ro", uri=True)
        try:
            (seed,) = database.execute(
                "SELECT seed FROM vault WHERE key_id = 'validator'"
            ).fetchone()
        finally:
            database.close()
        assert len(seed) == 32
        assert seed.hex() not in (tmp_path / "genesis.json").read_text()
    again = twin_node("genesis", "--validators", "3", "--out", str(tmp_path))
    assert again.returncode == 2
    assert "already exists" in again.stderr


@pytest.mark.requirement("TWIN-CONSENSUS-111")
@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({"committee": {"epoch": 0, "validators": []}, "peers": []}, "committee"),
        ({"peers": []}, "exactly committee and peers"),
        ("SAMPLE-EXTRA", "exactly committee and peers"),
        ("SAMPLE-MISSING-PEER", "no URL for validators [1]"),
        ("SAMPLE-BAD-URL", "http or https URL"),
        ("SAMPLE-TWICE", "listed twice"),
    ],
)
def test_a_bad_genesis_file_is_refused_naming_the_member(
    tmp_path: Path, document: object, complaint: str
) -> None:
    assert twin_node("genesis", "--validators", "2", "--out", str(tmp_path / "ok")).returncode == 0
    good = json.loads((tmp_path / "ok" / "genesis.json").read_text())
    samples = {
        "SAMPLE-EXTRA": {**good, "extra": 1},
        "SAMPLE-MISSING-PEER": {**good, "peers": good["peers"][:1]},
        "SAMPLE-BAD-URL": {**good, "peers": [{"index": 0, "url": "ftp://x"}, good["peers"][1]]},
        "SAMPLE-TWICE": {**good, "peers": [good["peers"][0], good["peers"][0]]},
    }
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(samples.get(str(document), document)))
    with pytest.raises(GenesisError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        read_genesis(path)
    served = twin_node(
        "serve", "--genesis", str(path), "--validator-index", "0", "--data-dir", str(tmp_path / "d")
    )
    assert served.returncode == 2
    assert complaint.split(" [")[0] in served.stderr


@pytest.mark.requirement("TWIN-CONSENSUS-111")
def test_a_validator_refuses_a_data_directory_without_its_key(tmp_path: Path) -> None:
    assert twin_node("genesis", "--validators", "2", "--out", str(tmp_path)).returncode == 0
    # Validator 1's directory holds validator 1's key, not validator 0's.
    result = twin_node(
        "serve",
        "--genesis",
        str(tmp_path / "genesis.json"),
        "--validator-index",
        "0",
        "--data-dir",
        str(tmp_path / "validator-1"),
        "--port",
        "0",
    )
    assert result.returncode != 0
    assert "does not hold validator 0's key" in result.stderr
    assert twin_node("serve", "--validator-index", "1").returncode == 2


def test_cluster_starts_validators_prints_them_and_stops_them_all(tmp_path: Path) -> None:
    assert "Ctrl-C" in twin_node("cluster", "--help").stdout
    environment = {**os.environ, "TWIN_NODE_PASSWORD": "a newcomer's password"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "twin_reference",
            "cluster",
            "--validators",
            "3",
            "--data-dir",
            str(tmp_path),
            "--leader-timeout",
            "0.3",
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
        # No secret on the console: the login line names where the password is.
        assert "a newcomer's password" not in output
        assert "$TWIN_NODE_PASSWORD" in output
        genesis = read_genesis(tmp_path / "genesis.json")
        for url in genesis.peers.values():
            assert url in output
            assert httpx.get(f"{url}/health", timeout=5).json()["status"] == "ok"
        token = httpx.post(
            f"{genesis.peers[2]}/authentication/login",
            json={"email": "admin@twin.example", "password": "a newcomer's password"},
            timeout=10,
        ).json()["token"]
        created = httpx.post(
            f"{genesis.peers[2]}/identity",
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert created.status_code == 200, created.text
        assert (tmp_path / "admin-password").stat().st_mode & 0o077 == 0
        assert (tmp_path / "admin-password").read_text().strip() == "a newcomer's password"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
            raise
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0
    for url in read_genesis(tmp_path / "genesis.json").peers.values():
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{url}/health", timeout=2)


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ("[1]", "must be an object with exactly peers"),
        ("{not json", "is not JSON"),
        ('{"1": "http://127.0.0.1:1"}', "must be an object with exactly peers"),
        ('{"peers": {"1": "http://127.0.0.1:1"}}', "peers must be an array"),
        ('{"peers": [{"index": "1", "url": "http://127.0.0.1:1"}]}', "index must be a validator"),
        ('{"peers": [{"index": 5, "url": "http://127.0.0.1:1"}]}', "index must be a validator"),
        ('{"peers": [{"index": 1, "url": "ftp://127.0.0.1:1"}]}', "must be an http or https URL"),
        ('{"peers": [{"index": 1, "url": "http://127.0.0.1:1/p"}]}', "must be an http or https"),
        ('{"peers": [{"index": 1, "url": 7}]}', "must be an http or https URL"),
        ('{"peers": [{"index": 1}]}', "exactly index and url"),
        (
            '{"peers": [{"index": 1, "url": "http://127.0.0.1:1"},'
            ' {"index": 1, "url": "http://127.0.0.1:2"}]}',
            "listed twice",
        ),
    ],
)
def test_bad_peer_urls_are_refused_naming_what_is_wrong(
    tmp_path: Path, overrides: str, complaint: str
) -> None:
    assert twin_node("genesis", "--validators", "3", "--out", str(tmp_path)).returncode == 0
    path = tmp_path / "peer-urls.json"
    path.write_text(overrides)
    before = sorted(p.name for p in (tmp_path / "validator-0").iterdir())
    result = twin_node(
        "serve",
        "--genesis",
        str(tmp_path / "genesis.json"),
        "--validator-index",
        "0",
        "--data-dir",
        str(tmp_path / "validator-0"),
        "--peer-urls",
        str(path),
    )
    assert result.returncode == 2
    assert "--peer-urls" in result.stderr
    assert complaint in result.stderr.replace("\n", " ").replace("  ", " ")
    # Refused before the data directory was opened: nothing changed.
    assert sorted(p.name for p in (tmp_path / "validator-0").iterdir()) == before


def test_peer_urls_need_a_genesis_file(tmp_path: Path) -> None:
    path = tmp_path / "peer-urls.json"
    path.write_text('{"peers": [{"index": 1, "url": "http://127.0.0.1:1"}]}')
    result = twin_node("serve", "--peer-urls", str(path), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2
    assert "--peer-urls needs --genesis" in result.stderr
    assert not (tmp_path / "d").exists()
