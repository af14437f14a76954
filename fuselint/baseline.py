"""A baseline: the findings a codebase already has, recorded so that only new ones fail.

An entry matches a finding by its code, its path (relative to the baseline file's folder) and
the text of its source line (stripped), with an occurrence index among findings that share all
three. Line numbers are stored for people to read but never matched, so an entry survives edits
above it; editing the flagged line itself makes the finding new again."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from fuselint.findings import Finding

FORMAT = "fuselint-baseline"
VERSION = 1


class BaselineError(Exception):
    """The baseline file cannot be read, is not JSON, or is not a fuselint baseline (exit 2)."""


@dataclass(frozen=True, order=True)
class Key:
    code: str
    path: str
    source: str
    occurrence: int


def _relative(path: str, folder: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), folder.resolve())).as_posix()


class _Lines:
    """Source lines of linted files, read once each (the engine keeps no text)."""

    def __init__(self) -> None:
        self._files: dict[str, list[str]] = {}

    def text(self, path: str, line: int) -> str:
        if path not in self._files:
            try:
                raw = Path(path).read_bytes()
            except OSError:
                raw = b""
            # Python's line ends only: str.splitlines also breaks at form feeds and other
            # separators, which would shift every later line against the finding's number.
            text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
            self._files[path] = text.split("\n")
        lines = self._files[path]
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def keys_of(findings: Iterable[Finding], folder: Path) -> list[tuple[Key, Finding]]:
    """Each finding with its baseline key; duplicates are numbered in line order."""
    lines = _Lines()
    seen: Counter = Counter()
    keyed = []
    for finding in sorted(findings, key=lambda f: (f.path, f.line, f.column, f.code, f.message)):
        stem = (finding.code, _relative(finding.path, folder), lines.text(finding.path, finding.line))
        keyed.append((Key(*stem, seen[stem]), finding))
        seen[stem] += 1
    return keyed


def write(path: Path, findings: Iterable[Finding]) -> int:
    """Record findings in path; returns how many."""
    keyed = keys_of(findings, path.parent)
    entries = [{"code": key.code, "path": key.path, "source": key.source, "occurrence": key.occurrence,
                "line": finding.line, "message": finding.message}
               for key, finding in sorted(keyed, key=lambda item: item[0])]
    document = {"format": FORMAT, "version": VERSION,
                "note": "fuselint check --baseline FILE reports only findings not recorded here; "
                        "entries match on code, path and source text, never on the line number",
                "findings": entries}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as error:
        raise BaselineError(f"cannot write the baseline {path}: {error.strerror or error}") from None
    return len(entries)


def read(path: Path) -> set[Key]:
    """The keys recorded in path."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"the baseline {path} does not exist (create it with --write-baseline {path})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BaselineError(f"cannot read the baseline {path}: {getattr(error, 'strerror', None) or error}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise BaselineError(f"the baseline {path} is not valid JSON: {error.msg} at line {error.lineno}, "
                            f"column {error.colno}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BaselineError(f"{path} is not a fuselint baseline (no \"format\": \"{FORMAT}\")")
    if document.get("version") != VERSION:
        raise BaselineError(f"the baseline {path} has version {document.get('version')!r}; "
                            f"this fuselint reads version {VERSION}")
    entries = document.get("findings")
    if not isinstance(entries, list):
        raise BaselineError(f"the baseline {path} has no \"findings\" list")
    keys = set()
    for number, entry in enumerate(entries):
        try:
            key = Key(entry["code"], entry["path"], entry["source"], entry.get("occurrence", 0))
        except (TypeError, KeyError) as error:
            raise BaselineError(f"the baseline {path}: entry {number} lacks {error}") from None
        if not (all(isinstance(v, str) for v in (key.code, key.path, key.source)) and type(key.occurrence) is int):
            raise BaselineError(f"the baseline {path}: entry {number} has a field of the wrong type")
        keys.add(key)
    return keys


def new_findings(findings: Iterable[Finding], recorded: set[Key], folder: Path) -> list[Finding]:
    """The findings that the baseline does not record."""
    return [finding for key, finding in keys_of(findings, folder) if key not in recorded]
