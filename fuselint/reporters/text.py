from __future__ import annotations

from typing import TextIO

from fuselint.engine import LintResult


def write(result: LintResult, out: TextIO) -> None:
    for f in sorted(result.findings):
        suffix = " (will not compile)" if f.fatal else ""
        out.write(f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}{suffix}\n")
    count = len(result.findings)
    if count:
        out.write(f"Found {count} error{'s' if count != 1 else ''}.\n")
    elif not result.errors and result.files:
        out.write(f"All checks passed! ({result.files} file{'s' if result.files != 1 else ''} linted)\n")
