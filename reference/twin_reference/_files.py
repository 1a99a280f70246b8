"""Files the node writes, each with an explicit mode whatever the umask; its own kept private.

The database holds the vault's private keys, so the data directory is 0700 and every file in
it 0600, except the two public ones (``committee.json``, ``genesis.json``: keys that verify
receipts), which are 0644. A mode is set with ``fchmod`` on the open file, so a umask of 000
changes nothing. At start, a data directory or database that others can read (restored from a
backup as 0644, say) is made owner-only again, with a warning.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

LOG = logging.getLogger("twin_reference")
PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600
PUBLIC_FILE = 0o644


def write_file(path: Path, text: str, mode: int) -> None:
    """Write ``text`` to ``path`` (replacing it) and give the file exactly ``mode``."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            descriptor = -1
            file.write(text)
    finally:
        if descriptor != -1:
            os.close(descriptor)


def open_private_log(path: Path) -> int:
    """Open (or create) a log file for appending, readable by the owner only; its descriptor."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    os.fchmod(descriptor, PRIVATE_FILE)
    return descriptor


def private_directory(path: Path) -> None:
    """Create ``path`` (and its parents) if needed; make it owner-only, warning if it was not."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIRECTORY)
    _owner_only(path, PRIVATE_DIRECTORY)


def private_file(path: Path) -> None:
    """Create ``path`` empty if missing; make it 0600, warning if others could read it."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    os.close(descriptor)
    _owner_only(path, PRIVATE_FILE)


def secure_if_present(path: Path) -> None:
    """Make an existing file 0600 (SQLite's journal files), warning if others could read it."""
    if path.exists():
        _owner_only(path, PRIVATE_FILE)


def _owner_only(path: Path, mode: int) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current == mode:
        return
    if current & 0o077:
        LOG.warning(
            "%s was %s, open to others; made %s (it holds the node's private keys)",
            path,
            oct(current),
            oct(mode),
        )
    path.chmod(mode)
