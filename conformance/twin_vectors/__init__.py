"""Generate every vector family from the executable spec, deterministically.

``generate_vectors(out)`` writes ``out/<profile>/<handler>/<name>.json`` for every family and
removes vector files no family produces any more; ``python -m
twin_vectors --out vectors`` does the same from the command line. Every
file is a pure function of this package and the spec core (no clock, no randomness), so two
runs give byte-identical files. The keys in the vectors are test keys derived from seeds the
vectors carry; they sign nothing else.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from twin_vectors import (
    anchoring,
    consensus,
    core,
    documents,
    http,
    identity_credentials,
    identity_dids,
    identity_presentations,
    identity_proofs,
    leader_schedule,
    ledger,
)
from twin_vectors._format import (
    ERROR_CODES,
    HTTP_ERROR_CODES,
    PROFILES,
    RESULTS,
    Family,
    Vector,
    dump,
)

FAMILIES: tuple[Family, ...] = (
    *core.FAMILIES,
    *http.FAMILIES,
    *identity_proofs.FAMILIES,
    *identity_dids.FAMILIES,
    *identity_credentials.FAMILIES,
    *identity_presentations.FAMILIES,
    *anchoring.FAMILIES,
    *consensus.FAMILIES,
    *leader_schedule.FAMILIES,
    *ledger.FAMILIES,
    *documents.FAMILIES,
)
"""Every vector family, each once."""

_BY_NAME = {family.name: family for family in FAMILIES}

__all__ = [
    "ERROR_CODES",
    "FAMILIES",
    "HTTP_ERROR_CODES",
    "PROFILES",
    "RESULTS",
    "Family",
    "build_vectors",
    "family_of",
    "generate_vectors",
    "main",
    "vector_files",
]


def family_of(vector_id: str) -> Family:
    """The family of a vector id (``<profile>/<handler>/<name>``); KeyError if none."""
    profile, _, rest = vector_id.partition("/")
    handler = rest.partition("/")[0]
    return _BY_NAME[f"{profile}/{handler}"]


def build_vectors() -> list[Vector]:
    """Every vector of every family, in id order; an id given twice is an error."""
    vectors: dict[str, Vector] = {}
    for family in FAMILIES:
        for vector in family.build():
            vector_id = str(vector["id"])
            if not vector_id.startswith(family.name + "/"):
                raise AssertionError(f"{family.name} built a vector of another family: {vector_id}")
            if vector_id in vectors:
                raise AssertionError(f"vector {vector_id} is built twice")
            vectors[vector_id] = vector
    return [vectors[vector_id] for vector_id in sorted(vectors)]


def vector_files() -> dict[str, bytes]:
    """Every vector file: its path below the vectors folder, and its bytes."""
    return {f"{vector['id']}.json": dump(vector) for vector in build_vectors()}


def generate_vectors(out_dir: Path) -> list[Path]:
    """Write every vector below ``out_dir``, removing stale vector files; return the paths.

    Only ``<profile>/**/*.json`` files are touched: ``manifest.json`` and ``README.md`` at the
    top of the folder stay as they are (re-sign the manifest after generating).
    """
    files = vector_files()
    for profile in PROFILES:
        folder = out_dir / profile
        if not folder.is_dir():
            continue
        for stale in sorted(folder.rglob("*.json")):
            if stale.relative_to(out_dir).as_posix() not in files:
                stale.unlink()
    written: list[Path] = []
    for relative, content in files.items():
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != content:
            path.write_bytes(content)
        written.append(path)
    return sorted(written)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m twin_vectors --out vectors``."""
    parser = argparse.ArgumentParser(
        prog="python -m twin_vectors",
        description="Generate the TWIN test vectors from the executable spec.",
    )
    parser.add_argument("--out", type=Path, default=Path("vectors"), help="the vectors folder")
    args = parser.parse_args(argv)
    written = generate_vectors(args.out)
    sys.stdout.write(f"wrote {len(written)} vectors of {len(FAMILIES)} families under {args.out}\n")
    sys.stdout.write(
        "re-sign vectors/manifest.json before committing (twin-conformance vectors sign)\n"
    )
    return 0
