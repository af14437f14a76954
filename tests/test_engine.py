"""Engine guarantees: one failing rule is reported as FL998 and the others still run."""

from __future__ import annotations

from conftest import KERNEL_BAD

from fuselint.config import Settings
from fuselint.engine import enabled_rules, lint_source
from fuselint.rule import Rule


class ExplodingRule(Rule):
    """## What it does\nFails.\n\n## Why is this bad?\n-\n\n## Example\n-\n\n## Use instead\n-"""

    code, name = "FL990", "exploding"

    def check_kernel(self, kernel):
        raise RuntimeError("boom on purpose\nsecond line")


def test_a_failing_rule_becomes_fl998_and_others_still_run():
    rules = [ExplodingRule(), *enabled_rules(Settings())]
    findings = lint_source(KERNEL_BAD, "k.py", Settings(), rules)
    internal = [f for f in findings if f.code == "FL998"]
    assert len(internal) == 1
    assert internal[0].message == "internal error in FL990 exploding: RuntimeError: boom on purpose"
    assert {"FL002", "FL003", "FL010"} <= {f.code for f in findings}


def test_files_without_triton_are_not_parsed():
    # Not even a syntax error is reported: the file cannot hold a kernel.
    assert lint_source("def broken(:\n", "plain.py", Settings()) == []


def test_non_utf8_bytes_are_a_syntax_error_finding():
    findings = lint_source(b"import triton\nx = '\xff\xfe'\n", "bad.py", Settings())
    assert [f.code for f in findings] == ["FL999"]
    assert "not valid UTF-8" in findings[0].message


def test_noqa_lines_count_only_python_line_ends():
    source = "# page\x0cbreak\n" + KERNEL_BAD.replace("other=0.0)", "other=0.0)  # noqa: FL010")
    assert "FL010" not in {f.code for f in lint_source(source, "k.py", Settings())}


def test_an_opt_in_rule_runs_only_when_named():
    def codes(**kw):
        return {r.code for r in enabled_rules(Settings(**kw))}

    assert "FL407" not in codes() and "FL407" not in codes(select=("FL4",))
    assert "FL407" in codes(select=("FL407",)) and "FL407" in codes(select=("ALL", "int32-offset-overflow"))
    assert "FL407" in codes(select=("FL4",), extend_select=("FL407",))
    assert "FL407" not in codes(select=("FL407",), ignore=("FL4",))
