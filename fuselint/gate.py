"""The CI gate: between the engine and the reporters, keep only what a change adds.

`--diff-base REF` keeps findings on lines changed since the merge base of REF and HEAD;
`--baseline FILE` drops findings recorded in FILE; `--write-baseline FILE` records today's.
Every reporter then sees an ordinary LintResult, so every output format honours both."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from fuselint import baseline
from fuselint.diff import DiffError, changed_lines
from fuselint.engine import LintResult
from fuselint.findings import Finding


# Findings about the whole file are reported whenever the change touches the file at all: a
# syntax error hides every other finding, and Python may place it on a line the change did not
# touch ("'(' was never closed"); a rule that crashed left the file half-checked; a finding on
# the module itself (the zero-width span at 1:1, as `missing import torch` is) has no line of
# its own, and a change anywhere (deleting the import) can cause it.
_WHOLE_FILE = {"FL998", "FL999"}


def _about_the_whole_file(finding: Finding) -> bool:
    span = (finding.line, finding.column, finding.end_line, finding.end_column)
    return finding.code in _WHOLE_FILE or span == (1, 1, 1, 1)


class GateError(Exception):
    """A gate option cannot be honoured: not a git repository, unknown ref, bad baseline (exit 2)."""


def add_arguments(check: argparse.ArgumentParser) -> None:
    group = check.add_argument_group("CI gate (only what a change adds)")
    group.add_argument("--diff-base", metavar="REF",
                       help="report only findings on lines changed since the merge base of REF and HEAD "
                            "(working tree included; untracked files count as wholly changed)")
    group.add_argument("--baseline", type=Path, metavar="FILE",
                       help="do not report findings recorded in FILE (matched on code, path and source line, "
                            "not line number)")
    group.add_argument("--write-baseline", type=Path, metavar="FILE",
                       help="record every current finding in FILE, then report as --baseline FILE would (nothing)")


def apply(args: argparse.Namespace, result: LintResult, note: TextIO | None = None) -> LintResult:
    """The result with only the findings the gate options let through; a line on `note`
    (standard error) says what was held back (unless --quiet)."""
    note = note or sys.stderr
    findings = list(result.findings)
    held: list[str] = []
    try:
        if args.write_baseline is not None:
            count = baseline.write(args.write_baseline, findings)
            if not args.quiet:
                note.write(f"fuselint: recorded {count} finding{'s' * (count != 1)} in {args.write_baseline}\n")
            recorded, folder = baseline.read(args.write_baseline), args.write_baseline.parent
            findings = baseline.new_findings(findings, recorded, folder)
        if args.baseline is not None:
            before = len(findings)
            findings = baseline.new_findings(findings, baseline.read(args.baseline), args.baseline.parent)
            held.append(f"{before - len(findings)} in the baseline")
        if args.diff_base is not None:
            changes = changed_lines(args.diff_base)
            before = len(findings)
            findings = [f for f in findings if changes.touches(f.path, f.line, f.end_line)
                        or (_about_the_whole_file(f) and changes.touches_file(f.path))]
            held.append(f"{before - len(findings)} on lines not changed since {args.diff_base}")
    except (baseline.BaselineError, DiffError) as error:
        raise GateError(str(error)) from None
    if held and not args.quiet:
        note.write(f"fuselint: not reported: {', '.join(held)}\n")
    return replace(result, findings=findings)
