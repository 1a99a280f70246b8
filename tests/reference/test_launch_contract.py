"""The reference node's side of the launch contract (spec/prose/launch.md).

``twin-node serve --genesis G --validator-index I --validator-key FILE --admin-password-file
FILE`` takes the validator key and the admin password a harness hands it as owner-only files,
refuses each unusable file with a one-line error naming it (never repeating its content), and
changes nothing in the data directory when it refuses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.node_process import ADMIN_EMAIL, start_node
from twin_spec import Committee, Ed25519SigningKey, Validator

SECRET_PASSWORD = "handed-in password 7f3a"


def _genesis(folder: Path, keys: list[Ed25519SigningKey]) -> Path:
    committee = Committee(0, tuple(Validator(i, k.public_key, 1, None) for i, k in enumerate(keys)))
    path = folder / "genesis.json"
    path.write_text(
        json.dumps(
            {
                "committee": committee.to_json(),
                "peers": [
                    {"index": i, "url": f"http://127.0.0.1:{9 + i}"} for i in range(len(keys))
                ],
            }
        )
    )
    return path


def _secret(folder: Path, name: str, text: str, mode: int = 0o600) -> Path:
    path = folder / name
    path.write_text(text)
    os.chmod(path, mode)
    return path


def _serve(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "TWIN_NODE_PASSWORD"}
    return subprocess.run(
        [sys.executable, "-m", "twin_reference", "serve", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
    )


@pytest.fixture
def handed(tmp_path: Path) -> tuple[Path, Path, Path, Ed25519SigningKey]:
    """A committee of two, validator 0's key file and a password file."""
    keys = [Ed25519SigningKey.generate(), Ed25519SigningKey.generate()]
    genesis = _genesis(tmp_path, keys)
    key_file = _secret(tmp_path, "validator.key", keys[0].seed.hex() + "\n")
    password_file = _secret(tmp_path, "admin-password", SECRET_PASSWORD + "\n")
    return genesis, key_file, password_file, keys[1]


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "key-open-to-others": (
        lambda folder: _secret(folder, "k", "00" * 32, 0o644),
        "is open to other users (mode 644)",
    ),
    "key-not-hex": (lambda folder: _secret(folder, "k", "zz" * 32), "exactly 64 hexadecimal"),
    "key-too-short": (lambda folder: _secret(folder, "k", "ab" * 16), "exactly 64 hexadecimal"),
    "key-missing": (lambda folder: folder / "absent.key", "cannot read the validator key file"),
}


@pytest.mark.requirement("TWIN-CONSENSUS-111")
@pytest.mark.parametrize("case", sorted(CASES))
def test_an_unusable_validator_key_file_is_refused_naming_it(
    tmp_path: Path, handed: tuple[Path, Path, Path, Ed25519SigningKey], case: str
) -> None:
    genesis, _key, password, _other = handed
    make, expected = CASES[case]
    bad = make(tmp_path)
    data = tmp_path / "data"
    result = _serve(
        data,
        "--genesis",
        str(genesis),
        "--validator-index",
        "0",
        "--validator-key",
        str(bad),
        "--admin-password-file",
        str(password),
    )
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert str(bad) in result.stderr
    assert "Traceback" not in result.stderr
    assert not data.exists(), "a refused start wrote the data directory"


@pytest.mark.requirement("TWIN-CONSENSUS-111")
def test_another_validators_key_is_refused_and_nothing_is_written(
    tmp_path: Path, handed: tuple[Path, Path, Path, Ed25519SigningKey]
) -> None:
    genesis, _key, password, other = handed
    wrong = _secret(tmp_path, "other.key", other.seed.hex())
    data = tmp_path / "data"
    result = _serve(
        data,
        "--genesis",
        str(genesis),
        "--validator-index",
        "0",
        "--validator-key",
        str(wrong),
        "--admin-password-file",
        str(password),
    )
    assert result.returncode == 2
    assert "is not validator 0's key in the genesis committee" in result.stderr
    assert other.seed.hex() not in result.stderr + result.stdout
    assert not data.exists(), "a refused start wrote the data directory"


def test_a_validator_key_needs_a_genesis(tmp_path: Path) -> None:
    key = _secret(tmp_path, "k", "00" * 32)
    result = _serve(tmp_path / "data", "--validator-key", str(key))
    assert result.returncode == 2
    assert "--validator-key needs --genesis" in result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", "is empty"), ("\n", "is empty"), ("two\nlines\n", "one line without control")],
)
def test_an_unusable_password_file_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    password = _secret(tmp_path, "admin-password", text)
    result = _serve(tmp_path / "data", "--admin-password-file", str(password))
    assert result.returncode == 2
    assert expected in result.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.requirement("TWIN-CONSENSUS-111")
def test_a_handed_key_and_password_start_a_validator_that_keeps_them(tmp_path: Path) -> None:
    key = Ed25519SigningKey.generate()
    genesis = _genesis(tmp_path, [key])
    key_file = _secret(tmp_path, "validator.key", key.seed.hex() + "\n")
    password_file = _secret(tmp_path, "admin-password", SECRET_PASSWORD + "\n")
    data = tmp_path / "data"
    args = ("--genesis", str(genesis), "--validator-index", "0", "--validator-key", str(key_file))
    node = start_node(data, *args, "--admin-password-file", str(password_file), password=None)
    try:
        committee = httpx.get(f"{node.url}/consensus/committee", timeout=5).json()
        assert committee == json.loads(genesis.read_text())["committee"]
        login = httpx.post(
            f"{node.url}/authentication/login",
            json={"email": ADMIN_EMAIL, "password": SECRET_PASSWORD},
            timeout=10,
        )
        assert login.status_code == 200
        assert SECRET_PASSWORD not in node.log()
    finally:
        node.stop()
    # Started again with another key file for the same data directory: refused, in words.
    other = _secret(tmp_path, "other.key", Ed25519SigningKey.generate().seed.hex())
    result = _serve(data, *args[:4], "--validator-key", str(other))
    assert result.returncode == 2
    assert "is not validator 0's key in the genesis committee" in result.stderr
