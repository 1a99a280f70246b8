"""Secrets a launcher hands the node as files: the validator key and the admin password.

The launch contract (``spec/prose/launch.md``) puts secrets in files, never on a command line
that ``ps`` shows. Each reader checks the whole file before anything is written and raises
:class:`SecretFileError` naming the file and what is wrong with it; neither ever repeats the
secret in an error.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from twin_spec import Ed25519SigningKey

MAX_SECRET_FILE_BYTES = 1024
_SEED = re.compile(rb"[0-9a-fA-F]{64}\r?\n?\Z")


class SecretFileError(ValueError):
    """A secret file that cannot be used, with the file and the reason (never the secret)."""


def _read_private(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            data = handle.read(MAX_SECRET_FILE_BYTES + 1)
    except OSError as exc:
        raise SecretFileError(f"cannot read the {what} file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise SecretFileError(f"the {what} file {path} is not a regular file")
    if mode & 0o077:
        raise SecretFileError(
            f"the {what} file {path} is open to other users (mode {stat.S_IMODE(mode):o});"
            " make it readable by its owner only (chmod 600)"
        )
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise SecretFileError(f"the {what} file {path} is over {MAX_SECRET_FILE_BYTES} bytes")
    return data


def read_validator_key(path: Path) -> Ed25519SigningKey:
    """The validator's Ed25519 key from a file of 64 hex characters (its 32-byte seed)."""
    data = _read_private(path, "validator key")
    if not _SEED.match(data):
        raise SecretFileError(
            f"the validator key file {path} must hold exactly 64 hexadecimal characters"
            " (an Ed25519 seed) and at most a final newline"
        )
    return Ed25519SigningKey(bytes.fromhex(data[:64].decode("ascii")))


def read_password_file(path: Path) -> str:
    """The admin password from a file: UTF-8, one line, not empty (a final newline is dropped)."""
    data = _read_private(path, "admin password")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretFileError(f"the admin password file {path} is not UTF-8") from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise SecretFileError(f"the admin password file {path} is empty")
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in text):
        raise SecretFileError(
            f"the admin password file {path} must hold one line without control characters"
        )
    return text
