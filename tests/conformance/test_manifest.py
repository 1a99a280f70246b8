"""The signed vector manifest: building, signing, verifying, and refusing tampered sets.

Every key here is a throwaway test key made in the test's temporary folder; the publisher key
that signs the committed manifest is never read by any test.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO_ROOT
from twin_conformance._manifest import (
    ManifestError,
    VerifiedManifest,
    build_manifest,
    load_trusted_publishers,
    load_vectors,
    publisher_did,
    read_publisher_seed,
    sign_manifest,
    verify_manifest,
    write_manifest,
)
from twin_conformance._trust import TrustedKey, TrustedKeys
from twin_spec import SPEC_VERSION, Ed25519SigningKey, multibase_decode, multibase_encode
from twin_vectors import build_vectors, generate_vectors, vector_files

VECTORS = REPO_ROOT / "vectors"
TRUSTED = REPO_ROOT / "spec" / "trusted-publishers.json"
CREATED = "2026-11-21T09:00:00Z"
RESIGN = (
    "regenerate and re-sign: python -m twin_vectors --out vectors, "
    "then twin-conformance vectors sign"
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generated")
    generate_vectors(folder)
    return folder


@pytest.fixture
def vectors(generated: Path, tmp_path: Path) -> Path:
    """A fresh copy of the generated vectors for one test to tamper with."""
    folder = tmp_path / "vectors"
    shutil.copytree(generated, folder)
    return folder


@pytest.fixture
def test_publisher_seed(tmp_path: Path) -> bytes:
    """A throwaway publisher key for this test only, kept in a file like the real one."""
    seed_file = tmp_path / "throwaway-test-publisher.seed"
    seed_file.write_text(Ed25519SigningKey.generate().seed.hex() + "\n")
    return read_publisher_seed(seed_file)


def _trust(*dids: str, until: str | None = None) -> TrustedKeys:
    """Trust ``dids`` from long before the tests' proofs were made (until ``until``)."""
    return TrustedKeys(TrustedKey(did, "test", "2000-01-01", until) for did in dids)


def _signed(folder: Path, seed: bytes) -> TrustedKeys:
    write_manifest(folder, sign_manifest(build_manifest(folder), seed, CREATED))
    return _trust(publisher_did(seed))


def _reason(folder: Path, trusted: TrustedKeys, **options: bool) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        verify_manifest(folder, trusted, **options)
    assert str(caught.value).count("\n") == 0
    return caught.value


def _manifest(folder: Path) -> dict[str, Any]:
    value = json.loads((folder / "manifest.json").read_text())
    assert isinstance(value, dict)
    return value


def test_a_signed_manifest_verifies(vectors: Path, test_publisher_seed: bytes) -> None:
    trusted = _signed(vectors, test_publisher_seed)
    verified = verify_manifest(vectors, trusted)
    assert isinstance(verified, VerifiedManifest)
    assert verified.publisher == trusted[0].id
    assert len(verified.files) == len(build_vectors())
    assert len(verified.sha256) == 64
    assert verified.spec_version == SPEC_VERSION
    first = verified.files[0]
    assert first.path.is_file()
    assert first.requirements
    assert isinstance(first.live, bool)
    loaded = load_vectors(verified)
    assert [f"{vector['id']}.json" for vector in loaded] == sorted(vector_files())


def test_the_manifest_lists_every_file_sorted_with_its_hash(vectors: Path) -> None:
    manifest = build_manifest(vectors)
    assert manifest["type"] == "TwinVectorManifest"
    assert manifest["manifestVersion"] == 1
    paths = [entry["path"] for entry in manifest["files"]]
    assert paths == sorted(vector_files())
    live = {entry["path"] for entry in manifest["files"] if entry["live"]}
    assert "identity/proof-verify/valid.json" in live
    assert "core/jcs/literals.json" not in live
    assert "proof" not in manifest


def test_the_proof_is_a_data_integrity_proof_by_the_did_key(
    vectors: Path, test_publisher_seed: bytes
) -> None:
    did = _signed(vectors, test_publisher_seed)[0].id
    proof = _manifest(vectors)["proof"]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-jcs-2022"
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["verificationMethod"] == f"{did}#{did.removeprefix('did:key:')}"
    assert proof["created"] == CREATED
    assert (vectors / "manifest.json").stat().st_mode & 0o777 == 0o644


def test_one_changed_byte_is_a_hash_mismatch_naming_the_file(
    vectors: Path, test_publisher_seed: bytes
) -> None:
    trusted = _signed(vectors, test_publisher_seed)
    target = vectors / "core" / "jcs" / "literals.json"
    content = bytearray(target.read_bytes())
    content[-2] ^= 0x01
    target.write_bytes(bytes(content))
    error = _reason(vectors, trusted)
    assert (error.reason, error.path) == ("hash-mismatch", target)
    assert "literals.json" in str(error)


def test_an_extra_file_is_unlisted(vectors: Path, test_publisher_seed: bytes) -> None:
    trusted = _signed(vectors, test_publisher_seed)
    extra = vectors / "core" / "jcs" / "smuggled.json"
    extra.write_text('{"id": "core/jcs/smuggled"}\n')
    error = _reason(vectors, trusted)
    assert (error.reason, error.path) == ("unlisted-file", extra)
    extra.unlink()
    stray = vectors / "identity" / "notes.txt"
    stray.write_text("not a vector\n")
    assert _reason(vectors, trusted).reason == "unlisted-file"


def test_a_removed_file_is_missing(vectors: Path, test_publisher_seed: bytes) -> None:
    trusted = _signed(vectors, test_publisher_seed)
    removed = vectors / "identity" / "proof-verify" / "valid.json"
    removed.unlink()
    error = _reason(vectors, trusted)
    assert (error.reason, error.path) == ("missing-file", removed)


def test_an_unsigned_manifest_is_refused_unless_allowed(vectors: Path) -> None:
    write_manifest(vectors, build_manifest(vectors))
    error = _reason(vectors, _trust())
    assert error.reason == "unsigned"
    verified = verify_manifest(vectors, _trust(), allow_unsigned=True)
    assert verified.publisher is None
    assert len(load_vectors(verified)) == len(build_vectors())


def test_a_key_nobody_trusts_is_an_untrusted_publisher(
    vectors: Path, test_publisher_seed: bytes
) -> None:
    _signed(vectors, test_publisher_seed)
    other_test_key = Ed25519SigningKey.generate()
    error = _reason(vectors, _trust(publisher_did(other_test_key.seed)))
    assert error.reason == "untrusted-publisher"
    assert _reason(vectors, _trust(), allow_unsigned=True).reason == "untrusted-publisher"


def test_a_flipped_proof_value_is_a_bad_signature(
    vectors: Path, test_publisher_seed: bytes
) -> None:
    trusted = _signed(vectors, test_publisher_seed)
    manifest = _manifest(vectors)
    signature = bytearray(multibase_decode(manifest["proof"]["proofValue"], allowed="z"))
    signature[5] ^= 0x40
    manifest["proof"]["proofValue"] = multibase_encode(bytes(signature))
    write_manifest(vectors, manifest)
    assert _reason(vectors, trusted).reason == "bad-signature"


def test_a_changed_listing_is_a_bad_signature(vectors: Path, test_publisher_seed: bytes) -> None:
    trusted = _signed(vectors, test_publisher_seed)
    manifest = _manifest(vectors)
    manifest["files"][0]["live"] = not manifest["files"][0]["live"]
    write_manifest(vectors, manifest)
    assert _reason(vectors, trusted).reason == "bad-signature"


def test_a_key_carried_by_the_manifest_is_not_used(
    vectors: Path, test_publisher_seed: bytes
) -> None:
    trusted = _signed(vectors, test_publisher_seed)
    attacker_test_key = Ed25519SigningKey.generate()
    forged = sign_manifest(build_manifest(vectors), attacker_test_key.seed, CREATED)
    forged["proof"]["verificationMethod"] = _manifest(vectors)["proof"]["verificationMethod"]
    forged["publicKeyMultibase"] = "z" + attacker_test_key.public_key.raw.hex()
    write_manifest(vectors, forged)
    assert _reason(vectors, trusted).reason == "malformed"
    del forged["publicKeyMultibase"]
    write_manifest(vectors, forged)
    assert _reason(vectors, trusted).reason == "bad-signature"


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b'{"type": "TwinVectorManifest"}', b"[]", b'{"a": 1, "a": 2}'],
    ids=["empty", "garbage", "incomplete", "array", "duplicate-member"],
)
def test_a_garbage_manifest_is_malformed(vectors: Path, content: bytes) -> None:
    (vectors / "manifest.json").write_bytes(content)
    error = _reason(vectors, _trust())
    assert (error.reason, error.path) == ("malformed", vectors / "manifest.json")


def test_no_manifest_is_missing(vectors: Path) -> None:
    error = _reason(vectors, _trust())
    assert (error.reason, error.path) == ("missing", vectors / "manifest.json")


def test_a_path_leaving_the_folder_is_malformed(vectors: Path, test_publisher_seed: bytes) -> None:
    manifest = build_manifest(vectors)
    manifest["files"][0]["path"] = "core/jcs/../../../outside.json"
    write_manifest(vectors, sign_manifest(manifest, test_publisher_seed, CREATED))
    assert _reason(vectors, _trust(publisher_did(test_publisher_seed))).reason == "malformed"


def test_a_malformed_vector_is_refused_on_load(vectors: Path, test_publisher_seed: bytes) -> None:
    target = vectors / "core" / "jcs" / "literals.json"
    target.write_text(json.dumps({"id": "core/jcs/literals", "input": {}}) + "\n")
    verified = verify_manifest(vectors, _signed(vectors, test_publisher_seed))
    with pytest.raises(ManifestError) as caught:
        load_vectors(verified)
    assert (caught.value.reason, caught.value.path) == ("malformed", target)


def test_a_file_changed_after_verification_is_refused_on_load(
    vectors: Path, test_publisher_seed: bytes
) -> None:
    verified = verify_manifest(vectors, _signed(vectors, test_publisher_seed))
    target = vectors / "core" / "jcs" / "literals.json"
    target.write_bytes(target.read_bytes() + b" ")
    with pytest.raises(ManifestError) as caught:
        load_vectors(verified)
    assert caught.value.reason == "hash-mismatch"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("abc", "holds 3 characters"),
        ("zz" * 32, "64 hex characters"),
        ("00" * 31, "holds 62 characters"),
    ],
)
def test_a_bad_seed_file_is_named_without_its_content(
    tmp_path: Path, content: str, message: str
) -> None:
    seed_file = tmp_path / "throwaway-test.seed"
    seed_file.write_text(content)
    with pytest.raises(ManifestError, match=message) as caught:
        read_publisher_seed(seed_file)
    assert (caught.value.reason, caught.value.path) == ("malformed", seed_file)
    assert content not in str(caught.value)
    with pytest.raises(ManifestError, match="no such publisher key file") as missing:
        read_publisher_seed(tmp_path / "absent.seed")
    assert missing.value.reason == "missing"


def test_the_committed_manifest_verifies_and_lists_what_the_generator_writes() -> None:
    trusted = load_trusted_publishers(TRUSTED)
    try:
        verified = verify_manifest(VECTORS, trusted)
    except ManifestError as error:
        pytest.fail(f"vectors/manifest.json does not verify ({error}); {RESIGN}")
    assert verified.publisher in trusted
    signer = trusted.get(str(verified.publisher))
    assert signer is not None
    assert signer.until is None, "the manifest is signed by a retired key"
    listed = {entry.path.relative_to(VECTORS).as_posix() for entry in verified.files}
    assert listed == set(vector_files()), f"the manifest is stale; {RESIGN}"
    fresh = build_manifest(VECTORS)
    signed = _manifest(VECTORS)
    assert signed["files"] == fresh["files"], f"the manifest is stale; {RESIGN}"
    assert signed["specVersion"] == SPEC_VERSION


def test_the_trusted_publishers_file_is_well_formed(tmp_path: Path) -> None:
    trusted = load_trusted_publishers(TRUSTED)
    assert len(trusted) >= 1
    assert all(entry.id.startswith("did:key:z6Mk") for entry in trusted)
    broken = tmp_path / "trusted.json"
    broken.write_text('{"publishers": [{"id": "did:web:example.com"}]}')
    with pytest.raises(ManifestError) as caught:
        load_trusted_publishers(broken)
    assert caught.value.reason == "malformed"


def test_a_retired_key_verifies_what_it_signed_before_but_nothing_after(
    vectors: Path, test_publisher_seed: bytes
) -> None:
    did = publisher_did(test_publisher_seed)
    write_manifest(vectors, sign_manifest(build_manifest(vectors), test_publisher_seed, CREATED))
    assert verify_manifest(vectors, _trust(did, until="2099-01-01")).publisher == did
    error = _reason(vectors, _trust(did, until=CREATED[:10]))
    assert error.reason == "untrusted-publisher"
    assert "outside the key's validity" in str(error)
    not_yet = TrustedKeys([TrustedKey(did, "test", "2999-01-01")])
    assert _reason(vectors, not_yet).reason == "untrusted-publisher"
