"""The deferred import of rfc3987_syntax: nothing built until used, the same answers when used."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import sys
from twin_conformance._lazy import defer_rfc3987_syntax

defer_rfc3987_syntax()
import jsonschema

assert "lark" not in sys.modules, "the grammars were built at import"
checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
assert {"iri", "iri-reference"} <= set(checker.checkers)
answers = [checker.conforms(value, name) for name in ("iri", "iri-reference")
           for value in ("http://example.org/a?b#c", "ht tp://x", "//x/ä", "a b")]
import rfc3987_syntax
assert type(rfc3987_syntax).__name__ == "module", "the real package replaced the stand-in"
print(answers)
"""

PLAIN = """
import jsonschema
checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
print([checker.conforms(value, name) for name in ("iri", "iri-reference")
       for value in ("http://example.org/a?b#c", "ht tp://x", "//x/ä", "a b")])
"""


def _run(program: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_iri_formats_judge_as_without_the_stand_in() -> None:
    deferred, plain = _run(PROGRAM), _run(PLAIN)
    assert deferred == plain
    assert "True" in plain
    assert "False" in plain
