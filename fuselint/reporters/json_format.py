from __future__ import annotations

import json
from typing import TextIO

from fuselint.engine import LintResult


def write(result: LintResult, out: TextIO) -> None:
    json.dump([f.to_dict() for f in sorted(result.findings)], out, indent=2)
    out.write("\n")
