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
        out.write(fixes_line(result))
    elif not result.errors and result.files:
        out.write(f"All checks passed! ({result.files} file{'s' if result.files != 1 else ''} linted)\n")


def fixes_line(result: LintResult) -> str:
    """Ruff's line on the fixes available: `[*] 2 fixable with the `--fix` option (1 hidden fix
    can be enabled with the `--unsafe-fixes` option).`; empty when no finding has a fix."""
    kinds = [f.fix for f in result.findings if f.fix is not None]
    if not kinds:
        return ""
    hidden = 0 if result.unsafe_fixes else kinds.count("unsafe")
    fixable = len(kinds) - hidden
    hint = f" ({hidden} hidden fix{'es' if hidden != 1 else ''} can be enabled with the `--unsafe-fixes` option)" if hidden else ""
    if not fixable:
        return f"No fixes available{hint}.\n"
    return f"[*] {fixable} fixable with the `--fix` option{hint}.\n"
