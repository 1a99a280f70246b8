"""Blob storage: document contents as files of their own, off the ledger and out of SQLite.

Each blob is one file ``<data dir>/blobs/<64 hex>``, 0600 in a 0700 folder whatever the umask,
synced before the revision that names it is submitted. Erasing a blob overwrites it with zeros,
syncs, unlinks it and syncs the folder, so that no file of the data directory keeps the
content (TWIN-DOCUMENTS-031); the database never holds it at all.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from twin_reference._files import PRIVATE_FILE, private_directory

BLOB_FOLDER = "blobs"
BLOB_ID = re.compile(r"blob:twin:([0-9a-f]{64})\Z")
_CHUNK = 64 * 1024


class BlobStore:
    """The folder of blob files, one per stored revision this node received."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / BLOB_FOLDER
        private_directory(self.folder)

    def path_of(self, blob_id: str) -> Path:
        """The file of a blob id (``blob:twin:<64 hex>``)."""
        match = BLOB_ID.match(blob_id)
        if match is None:
            raise ValueError(f"{blob_id!r} is not a blob id")
        return self.folder / match.group(1)

    def write(self, blob_id: str, content: bytes) -> None:
        """Write a new blob and sync it and its folder; refuse to replace an existing one."""
        descriptor = os.open(
            self.path_of(blob_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE
        )
        try:
            os.fchmod(descriptor, PRIVATE_FILE)
            view = memoryview(content)
            while view:
                view = view[os.write(descriptor, view) :]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        self._sync_folder()

    def read(self, blob_id: str) -> bytes | None:
        """The blob's bytes, or None when this node does not hold it."""
        try:
            return self.path_of(blob_id).read_bytes()
        except FileNotFoundError:
            return None

    def erase(self, blob_id: str) -> None:
        """Overwrite the blob with zeros, sync, unlink it and sync the folder (if it exists)."""
        path = self.path_of(blob_id)
        try:
            descriptor = os.open(path, os.O_WRONLY)
        except FileNotFoundError:
            return
        try:
            remaining = os.fstat(descriptor).st_size
            zeros = bytes(_CHUNK)
            while remaining > 0:
                remaining -= os.write(descriptor, zeros[: min(remaining, _CHUNK)])
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        path.unlink(missing_ok=True)
        self._sync_folder()

    def _sync_folder(self) -> None:
        descriptor = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
