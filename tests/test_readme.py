"""README.md stays true: its rule table lists every rule, and its two set-up commands are the
ones .ci/run runs."""

from __future__ import annotations

from conftest import ROOT

from fuselint.rules import all_rules


def test_rule_table_lists_every_rule():
    readme = (ROOT / "README.md").read_text()
    for rule in all_rules():
        assert readme.count(f"| {rule.code} | `{rule.name}` |") == 1, f"README.md's rule table lists {rule.code} not once"


def test_ci_runs_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install -e ".[dev]"' in readme and 'python -m pip install -e ".[dev]"' in ci
    assert "python -m pytest -q" in readme and "python -m pytest -q" in ci
