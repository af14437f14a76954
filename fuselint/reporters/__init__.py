"""Reporters turn findings into text for people, CI and tools; rules never print."""

from __future__ import annotations

from typing import Callable, TextIO

from fuselint.engine import LintResult
from fuselint.reporters import github, json_format, sarif, text

Reporter = Callable[[LintResult, TextIO], None]

REPORTERS: dict[str, Reporter] = {
    "text": text.write,
    "json": json_format.write,
    "sarif": sarif.write,
    "github": github.write,
}
