from __future__ import annotations

from fuselint.rule import Rule


class InternalError(Rule):
    """## What it does
    Reports that a fuselint rule failed on this file, with the rule, the path and the first
    line of the exception. Every other rule and file still runs.

    ## Why is this bad?
    It is fuselint's bug, not yours: the file was not fully checked. Please report it with
    the file (or a reduced copy).

    ## Example
    `FL998 internal error in FL008 mask-shape-mismatch: RecursionError: ...`

    ## Use instead
    Nothing to change in the kernel; `--ignore FL008` skips the failing rule until it is fixed.
    """

    code, name = "FL998", "internal-error"
