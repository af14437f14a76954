"""GitHub Actions workflow commands: each finding becomes an inline annotation on the PR."""

from __future__ import annotations

from typing import TextIO

from fuselint.engine import LintResult
from fuselint.reporters.review import review_text


def _escape(value: str, property_value: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def write(result: LintResult, out: TextIO) -> None:
    # A finding Triton rejects is an error, a house rule a warning, as in SARIF; GitHub shows up
    # to 10 of each a step on the diff, so the split also shows twice as many.
    for f in sorted(result.findings):
        out.write(
            f"::{'error' if f.fatal else 'warning'} file={_escape(f.path, True)},line={f.line},col={f.column},"
            f"endLine={f.end_line},endColumn={f.end_column},title={_escape(f.code, True)}::"
            f"{_escape(f'{f.code} {f.name}: {review_text(f)}')}\n"
        )
