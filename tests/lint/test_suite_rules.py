"""Every suite rule (spec/prose/suite.md, SUITE-NNN) has a test, and tests name only real ones.

The suite's rules are about the harness, not a node, so they stay out of the requirement
registry and its check and vector lints; the suite's own tests carry them as
``@pytest.mark.suite("SUITE-NNN")``.
"""

from __future__ import annotations

import ast
import re

from tests.support import REPO_ROOT

SUITE_PROSE = REPO_ROOT / "spec" / "prose" / "suite.md"
RULE = re.compile(r"^### (SUITE-\d{3}) ", re.MULTILINE)


def _rules() -> list[str]:
    return RULE.findall(SUITE_PROSE.read_text(encoding="utf-8"))


def _named_in_tests() -> dict[str, set[str]]:
    """SUITE IDs → the test files whose ``pytest.mark.suite(...)`` names them."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO_ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "suite"
            ):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found.setdefault(arg.value, set()).add(path.name)
    return found


def test_the_rules_are_numbered_once() -> None:
    rules = _rules()
    assert rules, "spec/prose/suite.md defines no SUITE-NNN rule"
    assert len(rules) == len(set(rules)), "a SUITE ID is defined twice"


def test_every_suite_rule_has_a_test() -> None:
    named = _named_in_tests()
    missing = [rule for rule in _rules() if rule not in named]
    assert not missing, f"suite rules no test names with pytest.mark.suite: {missing}"


def test_tests_name_only_defined_rules() -> None:
    unknown = sorted(set(_named_in_tests()) - set(_rules()))
    assert not unknown, f"tests name suite rules spec/prose/suite.md does not define: {unknown}"
