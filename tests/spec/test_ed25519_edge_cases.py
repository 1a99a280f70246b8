"""The Ed25519 edge-case policy against C2SP CCTV and ed25519-speccheck, and its written record.

spec/prose/ed25519.md states a verdict for every case of both sets (CCTV grouped by the first
rule a case trips, with the per-case record in spec/prose/ed25519-cctv-verdicts.tsv). These
tests hold the code, the vectors' own flags, and that record to each other.

Regenerate the per-case record after a deliberate policy change with
``python -m tests.spec.test_ed25519_edge_cases --write``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import nacl.bindings
import pytest

from tests.support import PROSE_DIR, external_vectors_dir, read_json, vector_cases
from twin_spec import SignatureError, SignatureRejection, verify_signature
from twin_spec._curve25519 import (
    SMALL_ORDER_ENCODINGS,
    SMALL_ORDER_POINTS,
    D,
    P,
    decode_point,
    encode_point,
)

PROSE = PROSE_DIR / "ed25519.md"
CCTV_RECORD = PROSE_DIR / "ed25519-cctv-verdicts.tsv"
ACCEPT = "accept"

# The policy checks A before R and canonical form before order, so the first CCTV flag in this
# list that a case carries decides its reason; a case with none of them must verify.
CCTV_RULES = (
    ("non_canonical_A", SignatureRejection.NON_CANONICAL_A, "TWIN-CORE-012"),
    ("low_order_A", SignatureRejection.SMALL_ORDER_A, "TWIN-CORE-013"),
    ("non_canonical_R", SignatureRejection.NON_CANONICAL_R, "TWIN-CORE-012"),
    ("low_order_R", SignatureRejection.SMALL_ORDER_R, "TWIN-CORE-013"),
    ("low_order_residue", SignatureRejection.EQUATION, "TWIN-CORE-014"),
)


def _cctv_cases(path: Path) -> list[tuple[str, Any]]:
    return [(f"case{case['number']}", case) for case in read_json(path)]


def _speccheck_cases(path: Path) -> list[tuple[str, Any]]:
    return [(f"case{index}", (index, case)) for index, case in enumerate(read_json(path))]


def _verdict(public_key: bytes, message: bytes, signature: bytes) -> tuple[str, str]:
    """Return (reason or 'accept', requirement or '-') for one signature."""
    try:
        verify_signature(public_key, message, signature)
    except SignatureError as failure:
        return failure.reason.value, failure.requirement or "-"
    return ACCEPT, "-"


def _cctv_verdict(case: dict[str, Any]) -> tuple[str, str]:
    return _verdict(bytes.fromhex(case["key"]), case["msg"].encode(), bytes.fromhex(case["sig"]))


def _expected_from_flags(flags: list[str] | None) -> tuple[str, str, str]:
    """Return (deciding flag, reason, requirement) from the CCTV flags alone."""
    present = set(flags or ())
    for flag, reason, requirement in CCTV_RULES:
        if flag in present:
            return flag, reason.value, requirement
    return "none of the above", ACCEPT, "-"


def _read_record() -> dict[int, tuple[str, str]]:
    rows = CCTV_RECORD.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "case\tverdict\trequirement"
    record = {}
    for row in rows[1:]:
        number, verdict, requirement = row.split("\t")
        record[int(number)] = (verdict, requirement)
    return record


def _prose_table(heading: str) -> list[list[str]]:
    """Return the rows of the first markdown table under ``heading`` in ed25519.md."""
    text = PROSE.read_text(encoding="utf-8")
    section = text.split(f"\n{heading}\n", 1)[1]
    rows = []
    for line in section.splitlines():
        if line.startswith("|"):
            cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
            if not set("".join(cells)) <= set("-: "):
                rows.append(cells)
        elif rows:
            break
    return rows[1:]  # Without the header row.


@pytest.mark.external_vectors("cctv-ed25519")
@pytest.mark.requirement("TWIN-CORE-012", "TWIN-CORE-013", "TWIN-CORE-014")
@pytest.mark.parametrize("case", vector_cases("cctv-ed25519/ed25519vectors.json", _cctv_cases))
def test_cctv_case_gets_the_verdict_its_flags_call_for(case: dict[str, Any]) -> None:
    _flag, reason, requirement = _expected_from_flags(case["flags"])
    assert _cctv_verdict(case) == (reason, requirement)


@pytest.mark.external_vectors("ed25519-speccheck")
@pytest.mark.requirement("TWIN-CORE-011", "TWIN-CORE-012", "TWIN-CORE-013", "TWIN-CORE-014")
@pytest.mark.parametrize("numbered", vector_cases("ed25519-speccheck/cases.json", _speccheck_cases))
def test_speccheck_case_matches_the_verdict_written_in_the_prose(
    numbered: tuple[int, dict[str, str]],
) -> None:
    index, case = numbered
    written = {int(row[0]): (row[5], row[6], row[7]) for row in _prose_table(SPECCHECK_HEADING)}
    verdict, requirement = _verdict(
        bytes.fromhex(case["pub_key"]),
        bytes.fromhex(case["message"]),
        bytes.fromhex(case["signature"]),
    )
    expected_verdict = "accept" if verdict == ACCEPT else "reject"
    assert written[index] == (expected_verdict, verdict if verdict != ACCEPT else "-", requirement)


SPECCHECK_HEADING = "## Verdicts on ed25519-speccheck"
CCTV_HEADING = "## Verdicts on C2SP CCTV"


def _require_vectors(relative: str) -> Path:
    path = external_vectors_dir() / relative
    if not path.exists():
        pytest.skip(f"public vectors not found at {path}")
    return path


def test_speccheck_prose_has_a_row_for_every_case() -> None:
    cases = read_json(_require_vectors("ed25519-speccheck/cases.json"))
    rows = _prose_table(SPECCHECK_HEADING)
    assert [int(row[0]) for row in rows] == list(range(len(cases)))


@pytest.mark.requirement("TWIN-CORE-012", "TWIN-CORE-013", "TWIN-CORE-014")
def test_cctv_prose_table_counts_every_case_under_its_rule() -> None:
    cases = read_json(_require_vectors("cctv-ed25519/ed25519vectors.json"))
    counted: dict[str, int] = {}
    for case in cases:
        flag = _expected_from_flags(case["flags"])[0]
        counted[flag] = counted.get(flag, 0) + 1
    written = {row[0]: (int(row[1]), row[2], row[3], row[4]) for row in _prose_table(CCTV_HEADING)}
    assert {flag: entry[0] for flag, entry in written.items()} == counted
    assert sum(counted.values()) == len(cases) == 914
    for flag, reason, requirement in CCTV_RULES:
        assert written[flag][1:] == ("reject", reason.value, requirement)
    assert written["none of the above"][1:] == ("accept", "-", "-")


def test_cctv_per_case_record_matches_the_verifier() -> None:
    cases = read_json(_require_vectors("cctv-ed25519/ed25519vectors.json"))
    record = _read_record()
    assert sorted(record) == sorted(case["number"] for case in cases)
    mismatches = [case["number"] for case in cases if record[case["number"]] != _cctv_verdict(case)]
    assert not mismatches, f"cases whose recorded verdict differs: {mismatches[:20]}"


@pytest.mark.requirement("TWIN-CORE-014")
def test_libsodium_alone_gives_the_same_verdicts_as_the_policy() -> None:
    # The policy's own checks come first, so this is not circular: it shows the written policy
    # and the library the reference node links agree on every CCTV case.
    for case in read_json(_require_vectors("cctv-ed25519/ed25519vectors.json")):
        key, sig = bytes.fromhex(case["key"]), bytes.fromhex(case["sig"])
        try:
            nacl.bindings.crypto_sign_open(sig + case["msg"].encode(), key)
            libsodium = True
        except Exception:
            libsodium = False
        assert libsodium == (_cctv_verdict(case)[0] == ACCEPT), case["number"]


@pytest.mark.requirement("TWIN-CORE-013")
def test_the_small_order_blocklist_is_exactly_the_torsion_subgroup() -> None:
    assert len(SMALL_ORDER_POINTS) == len(SMALL_ORDER_ENCODINGS) == 8
    for point in SMALL_ORDER_POINTS:
        assert _multiply(8, point) == (0, 1)
        assert decode_point(encode_point(*point)) == point
        assert not nacl.bindings.crypto_core_ed25519_is_valid_point(encode_point(*point))


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """Add two affine points on -x^2 + y^2 = 1 + d x^2 y^2 (test-only, slow and clear)."""
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2 % P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, P - 2, P) % P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P
    return x3, y3


def _multiply(n: int, point: tuple[int, int]) -> tuple[int, int]:
    result = (0, 1)
    for _ in range(n):
        result = _add(result, point)
    return result


def write_cctv_record() -> None:
    """Rewrite spec/prose/ed25519-cctv-verdicts.tsv from the verifier's verdicts."""
    cases = read_json(external_vectors_dir() / "cctv-ed25519" / "ed25519vectors.json")
    lines = ["case\tverdict\trequirement"]
    for case in cases:
        verdict, requirement = _cctv_verdict(case)
        lines.append(f"{case['number']}\t{verdict}\t{requirement}")
    CCTV_RECORD.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.spec.test_ed25519_edge_cases --write")
    write_cctv_record()
    print(f"wrote {CCTV_RECORD}")
