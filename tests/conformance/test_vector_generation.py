"""Vector generation: deterministic, byte-identical to the committed vectors, well formed."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, read_json, schema_validator
from twin_vectors import (
    ERROR_CODES,
    FAMILIES,
    build_vectors,
    family_of,
    generate_vectors,
)
from twin_vectors import _edwards as edwards
from twin_vectors._format import dump, vector_test_key

VECTORS = REPO_ROOT / "vectors"
REGENERATE = "python -m twin_vectors --out vectors (or: tox -e vectors)"


def _digests(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*.json"))
        if path.name != "manifest.json"
    }


def test_generating_twice_gives_byte_identical_files(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    written = generate_vectors(first)
    generate_vectors(second)
    assert written == sorted(written)
    assert len(written) == len(build_vectors())
    assert _digests(first) == _digests(second)


def test_the_committed_vectors_are_what_the_generator_writes(tmp_path: Path) -> None:
    generate_vectors(tmp_path)
    fresh, committed = _digests(tmp_path), _digests(VECTORS)
    missing = sorted(set(fresh) - set(committed))
    extra = sorted(set(committed) - set(fresh))
    changed = sorted(path for path in set(fresh) & set(committed) if fresh[path] != committed[path])
    stale = f"vectors/ is stale; regenerate with {REGENERATE} and re-sign the manifest"
    assert not missing, f"{stale}: missing {missing[:5]}"
    assert not extra, f"{stale}: extra {extra[:5]}"
    assert not changed, f"{stale}: changed {changed[:5]}"


def test_generation_removes_stale_files_and_keeps_the_manifest(tmp_path: Path) -> None:
    stale = tmp_path / "core" / "jcs" / "no-longer-generated.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}\n")
    (tmp_path / "manifest.json").write_text("{}\n")
    (tmp_path / "README.md").write_text("# vectors\n")
    generate_vectors(tmp_path)
    assert not stale.exists()
    assert (tmp_path / "manifest.json").read_text() == "{}\n"
    assert (tmp_path / "README.md").exists()


def test_the_module_command_writes_the_vectors(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "twin_vectors", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert f"wrote {len(build_vectors())} vectors" in result.stdout
    assert _digests(tmp_path) == _digests(VECTORS)


def test_every_vector_is_well_formed_and_in_the_writer_format() -> None:
    validator = schema_validator("vector.schema.json")
    for vector in build_vectors():
        errors = [error.message for error in validator.iter_errors(vector)]
        assert not errors, (vector["id"], errors[:3])
        path = VECTORS / f"{vector['id']}.json"
        assert path.read_bytes() == dump(vector), vector["id"]
        assert vector["requirements"] == sorted(set(vector["requirements"]))
        assert family_of(vector["id"]).name == "/".join(vector["id"].split("/")[:2])


def test_the_schema_lists_exactly_the_error_codes() -> None:
    schema = read_json(REPO_ROOT / "spec" / "schemas" / "vector.schema.json")
    assert schema["properties"]["expected"]["properties"]["error"]["enum"] == list(ERROR_CODES)
    used = {v["expected"]["error"] for v in build_vectors() if "error" in v["expected"]}
    assert used <= set(ERROR_CODES)


def test_every_family_has_vectors_and_a_unique_name() -> None:
    names = [family.name for family in FAMILIES]
    assert len(names) == len(set(names))
    counts = {name: 0 for name in names}
    for vector in build_vectors():
        counts[family_of(vector["id"]).name] += 1
    assert all(counts.values()), [name for name, count in counts.items() if not count]
    for family in FAMILIES:
        assert (family.oracle is None) == family.handler.endswith("http"), family.name


def test_every_result_kind_and_both_kinds_of_family_occur() -> None:
    results = {v["expected"]["result"] for v in build_vectors()}
    assert results == {"valid", "invalid", "acceptable"}
    assert {family.live for family in FAMILIES} == {True, False}


def test_test_keys_are_labelled_and_reproducible() -> None:
    key = vector_test_key("generation-test")
    assert key.seed == hashlib.sha256(b"twin-vectors/test-key/generation-test").digest()


def test_the_edwards_helper_agrees_with_libsodium() -> None:
    key = vector_test_key("edwards-check")
    scalar, prefix = edwards.secret_scalar(key.seed)
    public = edwards.encode(edwards.multiply(scalar, edwards.BASE))
    assert public == key.public_key.raw
    message = b"agreement"
    nonce = int.from_bytes(hashlib.sha512(prefix + message).digest(), "little") % edwards.L
    assert edwards.sign_with(scalar, public, nonce, message) == key.sign(message)
    small = edwards.small_order_encodings()
    assert len(small) == 8
    assert (1).to_bytes(32, "little") in small


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.name)
def test_each_family_is_described(family: object) -> None:
    summary = getattr(family, "summary", "")
    assert summary
    assert summary == summary.strip()
    json.dumps(summary)
