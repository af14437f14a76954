"""Every rule's VALID and INVALID examples, turned into tests (as Fixit does)."""

from __future__ import annotations

import re

import pytest

from fuselint.config import Settings
from fuselint.engine import lint_source
from fuselint.rules import all_rules

RULES = all_rules()
# Rules whose findings come from the engine itself, not from examples of kernels.
_NO_EXAMPLES = {"FL998"}


def _cases(kind: str):
    for rule in RULES:
        for index, source in enumerate(getattr(rule, kind)):
            yield pytest.param(rule, source, id=f"{rule.code}-{kind.lower()}-{index}")


def _lint(rule, source: str):
    settings = Settings(select=(rule.code,))
    return [f for f in lint_source(source, "example.py", settings) if f.code == rule.code]


def _marked_lines(source: str) -> list[int]:
    return [n for n, line in enumerate(source.splitlines(), 1) if re.search(r"#\s*error\s*$", line)]


@pytest.mark.parametrize("rule", [pytest.param(r, id=r.code) for r in RULES])
def test_rule_has_docs_and_examples(rule):
    docs = rule.docs()
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert section in docs, f"{rule.code} docs lack {section!r}"
    assert re.fullmatch(r"FL\d{3}", rule.code)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
    if rule.code not in _NO_EXAMPLES:
        assert len(rule.VALID) >= 3 and len(rule.INVALID) >= 3


@pytest.mark.parametrize("rule, source", list(_cases("VALID")))
def test_valid_example_is_clean(rule, source):
    assert _lint(rule, source) == []


@pytest.mark.parametrize("rule, source", list(_cases("INVALID")))
def test_invalid_example_is_flagged_on_marked_lines(rule, source):
    expected = _marked_lines(source)
    assert expected, "an INVALID example marks its flagged lines with `# error`"
    found = sorted({f.line for f in _lint(rule, source)})
    assert found == expected


def test_codes_and_names_are_unique():
    assert len({r.code for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)
