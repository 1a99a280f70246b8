"""Trusted signers and their key files: vector publishers and report certifiers alike.

A trust file (``spec/trusted-publishers.json``, ``spec/trusted-certifiers.json``) lists the
did:keys whose Data Integrity proofs the harness accepts for one purpose, each with the date
it started signing and, once retired, the date it stopped. The key that signs lives in a seed
file outside the repository (64 hex characters); it is read here and never printed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from twin_conformance._paths import spec_dir
from twin_spec import TwinSpecError, parse_json

SCHEMAS = {
    "publishers": "trusted-publishers.schema.json",
    "certifiers": "trusted-certifiers.schema.json",
}


class TrustFileError(ValueError):
    """A trust file or key file that cannot be used: ``reason`` (missing, malformed), detail."""

    def __init__(self, reason: str, path: Path, detail: str) -> None:
        super().__init__(f"{reason}: {path}: {detail}")
        self.reason = reason
        self.path = path
        self.detail = detail


@dataclass(frozen=True)
class TrustedKey:
    """A trusted signer's did:key and the dates it may sign between (``until`` exclusive)."""

    id: str
    name: str
    valid_from: str
    until: str | None = None

    def signed_in_validity(self, created: str) -> bool:
        """Whether a proof ``created`` at this time (ISO 8601) falls in the key's validity."""
        day = created[:10]
        return self.valid_from <= day and (self.until is None or day < self.until)


class TrustedKeys:
    """The trusted keys of a trust file, looked up by did:key."""

    def __init__(self, keys: Iterable[TrustedKey] = ()) -> None:
        self.keys = tuple(keys)

    def __iter__(self) -> Iterator[TrustedKey]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> TrustedKey:
        return self.keys[index]

    def __contains__(self, did: object) -> bool:
        return any(entry.id == did for entry in self.keys)

    def get(self, did: str) -> TrustedKey | None:
        """The entry of ``did``, or None when it is not trusted."""
        return next((entry for entry in self.keys if entry.id == did), None)


@functools.cache
def _validator(kind: str) -> Draft202012Validator:
    path = spec_dir() / "schemas" / SCHEMAS[kind]
    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def load_trusted_keys(path: Path, kind: str) -> TrustedKeys:
    """The trusted keys of a trust file of ``kind`` (``publishers`` or ``certifiers``)."""
    if not path.is_file():
        raise TrustFileError("missing", path, f"the trusted {kind} file does not exist")
    try:
        document: Any = parse_json(path.read_bytes())
    except TwinSpecError as error:
        raise TrustFileError("malformed", path, f"not strict JSON: {error.message[:160]}") from None
    errors = list(_validator(kind).iter_errors(document))
    if errors:
        raise TrustFileError("malformed", path, errors[0].message[:160])
    return TrustedKeys(
        TrustedKey(
            id=str(entry["id"]),
            name=str(entry["name"]),
            valid_from=str(entry["from"]),
            until=str(entry["until"]) if "until" in entry else None,
        )
        for entry in document[kind]
    )


def read_seed_file(path: Path, what: str) -> bytes:
    """Read a key file: 64 hex characters (a 32-byte Ed25519 seed), nothing else.

    Raises :class:`TrustFileError` (``missing`` or ``malformed``) naming the file; the message
    never repeats the file's content.
    """
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise TrustFileError("missing", path, f"no such {what} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TrustFileError(
            "malformed", path, f"cannot be read as a {what} ({type(exc).__name__})"
        ) from None
    if len(text) != 64 or any(char not in "0123456789abcdefABCDEF" for char in text):
        raise TrustFileError(
            "malformed",
            path,
            f"a {what} file holds 64 hex characters (a 32-byte Ed25519 seed), "
            f"this one holds {len(text)} characters",
        )
    return bytes.fromhex(text)
