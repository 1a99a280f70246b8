"""The signed vector manifest: every vector file with its SHA-256, under the publisher's proof.

``vectors/manifest.json`` is ``{"type": "TwinVectorManifest", "manifestVersion": 1,
"specVersion", "files": [{"path", "sha256", "requirements", "live"}...], "proof"}`` where the
proof is an ``eddsa-jcs-2022`` DataIntegrityProof by a publisher's did:key. A harness verifies
it against the trusted publishers of ``spec/trusted-publishers.json`` before it replays a
single vector, and refuses a set that is unsigned, signed by anyone else, changed after
signing, or holds a file the manifest does not list.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from twin_conformance._paths import spec_dir
from twin_conformance._trust import (
    TrustedKeys,
    TrustFileError,
    load_trusted_keys,
    read_seed_file,
)
from twin_spec import (
    SPEC_VERSION,
    DidError,
    Ed25519PublicKey,
    Ed25519SigningKey,
    TwinSpecError,
    did_key_document,
    did_key_from_public_key,
    parse_did_url,
    parse_json,
    sign_document,
    verification_key,
    verify_proof,
)
from twin_vectors import family_of
from twin_vectors._format import dump

MANIFEST_FILE = "manifest.json"
MANIFEST_TYPE = "TwinVectorManifest"
MANIFEST_VERSION = 1
PROOF_PURPOSE = "assertionMethod"
NOT_VECTORS = frozenset({MANIFEST_FILE, "README.md"})
"""Files at the top of the vectors folder that are not vectors."""
REASONS = (
    "missing",
    "malformed",
    "unsigned",
    "untrusted-publisher",
    "bad-signature",
    "hash-mismatch",
    "unlisted-file",
    "missing-file",
)
"""Why a vector set is refused, one of a fixed list."""


class ManifestError(ValueError):
    """A vector set (or key file) that must not be used: ``reason`` (:data:`REASONS`), the file."""

    def __init__(self, reason: str, path: Path | None, detail: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown manifest failure reason {reason!r}")
        where = f"{path}: " if path is not None else ""
        super().__init__(f"{reason}: {where}{detail}")
        self.reason = reason
        self.path = path
        self.detail = detail


class ManifestFile(NamedTuple):
    """One vector file the manifest lists: where it is, what it covers, whether it is live."""

    path: Path
    requirements: list[str]
    live: bool


@dataclass(frozen=True)
class VerifiedManifest:
    """A manifest that verified: its own SHA-256, its publisher (None if unsigned), its files."""

    sha256: str
    publisher: str | None
    files: list[ManifestFile]
    spec_version: str
    root: Path
    digests: Mapping[Path, str]
    """The SHA-256 the manifest lists for each file, checked again when a file is loaded."""


@dataclass(frozen=True, eq=False)
class VerifiedVectors:
    """A pytest plugin object: the manifest ``twin-conformance run`` verified before pytest.

    The vector checks take it instead of verifying the same manifest a second time, when it
    was verified from the same folder, trust file and unsigned allowance as theirs. Loading
    the vectors still hashes each file again, so a file changed since is refused.
    """

    manifest: VerifiedManifest
    folder: Path
    trusted_file: Path
    allow_unsigned: bool

    def verified(
        self, folder: Path, trusted_file: Path, allow_unsigned: bool
    ) -> VerifiedManifest | None:
        """The manifest, if it was verified with exactly these inputs; else None."""
        if (folder, trusted_file, allow_unsigned) != (
            self.folder,
            self.trusted_file,
            self.allow_unsigned,
        ):
            return None
        return self.manifest


def build_manifest(vectors_dir: Path) -> dict[str, Any]:
    """The unsigned manifest of the vector files on disk (not manifest.json nor README.md).

    Files are listed in the order of their paths as strings (``/``-separated).
    """
    entries: list[dict[str, Any]] = []
    for path in _vector_files(vectors_dir):
        relative = path.relative_to(vectors_dir).as_posix()
        content = path.read_bytes()
        vector = _parse(content, path)
        requirements = vector.get("requirements") if isinstance(vector, Mapping) else None
        if not isinstance(requirements, list):
            requirements = []  # load_vectors refuses such a vector by the vector schema
        entries.append(
            {
                "path": relative,
                "sha256": hashlib.sha256(content).hexdigest(),
                "requirements": sorted({str(item) for item in requirements}),
                "live": _is_live(relative),
            }
        )
    return {
        "type": MANIFEST_TYPE,
        "manifestVersion": MANIFEST_VERSION,
        "specVersion": SPEC_VERSION,
        "files": entries,
    }


def publisher_did(seed: bytes) -> str:
    """The did:key of the publisher key with this 32-byte seed."""
    return did_key_from_public_key(Ed25519SigningKey(seed).public_key)


def sign_manifest(manifest: Mapping[str, Any], seed: bytes, created: str) -> dict[str, Any]:
    """Attach an eddsa-jcs-2022 proof by the did:key of ``seed`` (replacing any old proof)."""
    key = Ed25519SigningKey(seed)
    did = did_key_from_public_key(key.public_key)
    unsigned = {name: value for name, value in manifest.items() if name != "proof"}
    return dict(
        sign_document(
            unsigned,
            key,
            verification_method=f"{did}#{did.removeprefix('did:key:')}",
            created=created,
            proof_purpose=PROOF_PURPOSE,
        )
    )


def write_manifest(vectors_dir: Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` atomically (a temporary file, then a rename); return its path."""
    target = vectors_dir / MANIFEST_FILE
    descriptor, temporary = tempfile.mkstemp(prefix=".manifest-", suffix=".tmp", dir=vectors_dir)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(dump(manifest))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # a published file, like the vectors beside it
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def verify_manifest(
    vectors_dir: Path, trusted: TrustedKeys, *, allow_unsigned: bool = False
) -> VerifiedManifest:
    """Check the manifest's proof, publisher and every file; raise :class:`ManifestError`.

    The publisher's key comes only from resolving the proof's did:key, never from anything the
    manifest carries. ``allow_unsigned`` accepts a manifest without a proof (a proof that is
    present must still verify).
    """
    path = vectors_dir / MANIFEST_FILE
    if not path.is_file():
        raise ManifestError("missing", path, "there is no manifest; sign the vectors first")
    content = path.read_bytes()
    manifest = _parse(content, path)
    errors = sorted(_schema("vector-manifest.schema.json").iter_errors(manifest), key=str)
    if errors:
        location = "/".join(str(part) for part in errors[0].absolute_path) or "(root)"
        raise ManifestError("malformed", path, f"{location}: {errors[0].message[:160]}")
    publisher = _check_proof(manifest, path, trusted, allow_unsigned=allow_unsigned)
    files = _check_files(vectors_dir, manifest["files"])
    return VerifiedManifest(
        sha256=hashlib.sha256(content).hexdigest(),
        publisher=publisher,
        files=files,
        spec_version=str(manifest["specVersion"]),
        root=vectors_dir,
        digests={vectors_dir / item["path"]: str(item["sha256"]) for item in manifest["files"]},
    )


def load_trusted_publishers(path: Path) -> TrustedKeys:
    """The trusted vector publishers' keys, from ``spec/trusted-publishers.json``."""
    try:
        return load_trusted_keys(path, "publishers")
    except TrustFileError as error:
        raise ManifestError(error.reason, path, error.detail) from None


def read_publisher_seed(path: Path) -> bytes:
    """Read a publisher key file: 64 hex characters (a 32-byte Ed25519 seed), nothing else.

    Raises :class:`ManifestError` (``missing`` or ``malformed``) naming the file; the message
    never repeats the file's content.
    """
    try:
        return read_seed_file(path, "publisher key")
    except TrustFileError as error:
        raise ManifestError(error.reason, path, error.detail) from None


def load_vectors(verified: VerifiedManifest) -> list[dict[str, Any]]:
    """Every listed vector, parsed and checked against spec/schemas/vector.schema.json.

    Each file is hashed again as it is read, so a file changed after verification is refused.
    """
    validator = _schema("vector.schema.json")
    vectors: list[dict[str, Any]] = []
    for entry in verified.files:
        path = entry.path
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            raise ManifestError("missing-file", path, "removed after verification") from None
        if hashlib.sha256(content).hexdigest() != verified.digests.get(path):
            raise ManifestError("hash-mismatch", path, "the file changed after verification")
        vector = _parse(content, path)
        errors = list(validator.iter_errors(vector))
        if errors:
            location = "/".join(str(part) for part in errors[0].absolute_path) or "(root)"
            raise ManifestError("malformed", path, f"{location}: {errors[0].message[:160]}")
        relative = path.relative_to(verified.root).as_posix()
        if f"{vector['id']}.json" != relative:
            raise ManifestError("malformed", path, f"the vector's id is {vector['id']!r}")
        vectors.append(vector)
    return vectors


# --- helpers -----------------------------------------------------------------------------------


def _vector_files(vectors_dir: Path) -> list[Path]:
    """Every file below the folder that must be listed: all but the top-level non-vectors."""
    found = []
    for path in sorted(vectors_dir.rglob("*"), key=lambda item: item.as_posix()):
        relative = path.relative_to(vectors_dir)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        if len(relative.parts) == 1 and relative.name in NOT_VECTORS:
            continue
        found.append(path)
    return found


def _is_live(relative: str) -> bool:
    try:
        return family_of(relative.removesuffix(".json")).live
    except KeyError:
        return False


def _parse(content: bytes, path: Path) -> Any:  # noqa: ANN401 - any JSON value
    try:
        return parse_json(content)
    except TwinSpecError as exc:
        raise ManifestError("malformed", path, f"not strict JSON: {exc.message[:160]}") from None


@functools.cache
def _schema(name: str) -> Draft202012Validator:
    folder = spec_dir() / "schemas"

    def retrieve(uri: str) -> Resource[Any]:
        target = (folder / Path(uri).name).resolve()
        if target.parent != folder.resolve():
            raise LookupError(uri)
        return Resource.from_contents(
            json.loads(target.read_text(encoding="utf-8")), default_specification=DRAFT202012
        )

    path = folder / name
    schema = {**json.loads(path.read_text(encoding="utf-8")), "$id": path.resolve().as_uri()}
    registry: Registry[Any] = Registry(retrieve=retrieve)  # type: ignore[call-arg]
    return Draft202012Validator(schema, registry=registry)


def _check_proof(
    manifest: Mapping[str, Any], path: Path, trusted: TrustedKeys, *, allow_unsigned: bool
) -> str | None:
    proof = manifest.get("proof")
    if proof is None:
        if allow_unsigned:
            return None
        raise ManifestError(
            "unsigned", path, "the manifest has no proof; sign it with the publisher key"
        )
    method = str(proof.get("verificationMethod", ""))
    try:
        publisher = str(parse_did_url(method).did)
    except DidError:
        raise ManifestError(
            "malformed", path, f"proof verificationMethod {method[:80]!r} is not a DID URL"
        ) from None
    entry = trusted.get(publisher) if publisher.startswith("did:key:") else None
    if entry is None:
        raise ManifestError(
            "untrusted-publisher",
            path,
            f"signed by {publisher[:80]}, which is not a trusted publisher",
        )
    created = str(proof.get("created", ""))
    if not entry.signed_in_validity(created):
        window = f"from {entry.valid_from}" + (f" until {entry.until}" if entry.until else "")
        raise ManifestError(
            "untrusted-publisher",
            path,
            f"signed by {publisher[:80]} at {created[:40]!r}, "
            f"outside the key's validity ({window})",
        )

    def resolve(method_id: str, purpose: str) -> Ed25519PublicKey:
        return verification_key(did_key_document(publisher), method_id, purpose)

    try:
        verify_proof(manifest, resolve, expected_purpose=PROOF_PURPOSE)
    except TwinSpecError as exc:
        raise ManifestError(
            "bad-signature", path, f"the proof does not verify: {exc.message[:160]}"
        ) from None
    return publisher


def _check_files(vectors_dir: Path, listed: Sequence[Mapping[str, Any]]) -> list[ManifestFile]:
    manifest_path = vectors_dir / MANIFEST_FILE
    root = vectors_dir.resolve()
    files: list[ManifestFile] = []
    seen: set[str] = set()
    for entry in listed:
        relative = str(entry["path"])
        target = vectors_dir / relative
        if relative in seen or root not in target.resolve().parents or relative in NOT_VECTORS:
            raise ManifestError("malformed", manifest_path, f"files lists {relative!r} wrongly")
        seen.add(relative)
        if not target.is_file():
            raise ManifestError("missing-file", target, "the manifest lists it but it is not there")
        if hashlib.sha256(target.read_bytes()).hexdigest() != entry["sha256"]:
            raise ManifestError(
                "hash-mismatch", target, "its SHA-256 is not the one the manifest lists"
            )
        files.append(ManifestFile(target, list(entry["requirements"]), bool(entry["live"])))
    for path in _vector_files(vectors_dir):
        if path.relative_to(vectors_dir).as_posix() not in seen:
            raise ManifestError("unlisted-file", path, "the manifest does not list it")
    return files
