"""The lines a change touches: `git diff` of the working tree against the merge base of a ref
and HEAD, plus untracked files (each wholly changed). Only git is run; nothing is imported."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(?P<start>\d+)(?:,(?P<count>\d+))? @@")
_ESCAPES = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


class DiffError(Exception):
    """git is missing, the folder is not in a repository, or the ref is unknown (exit 2)."""


@dataclass
class ChangedLines:
    """Changed lines per file, keyed by resolved path; None for a file that is wholly new."""

    root: Path
    base: str  # the merge-base commit
    files: dict[Path, set[int] | None] = field(default_factory=dict)

    def touches_file(self, path: str | Path) -> bool:
        return Path(path).resolve() in self.files

    def touches(self, path: str | Path, first_line: int, last_line: int) -> bool:
        """Does the change touch any line from first_line to last_line of path?"""
        key = Path(path).resolve()
        if key not in self.files:
            return False
        lines = self.files[key]
        return lines is None or any(n in lines for n in range(first_line, max(first_line, last_line) + 1))


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-c", "core.quotePath=false", *args], cwd=cwd,
                              capture_output=True, text=True, encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        raise DiffError("--diff-base needs git, and git is not installed") from None
    if done.returncode != 0:
        raise DiffError((done.stderr.strip().splitlines() or [f"git {args[0]} failed"])[-1])
    return done.stdout


def _unquote(name: str) -> str:
    """git C-quotes a path that holds a tab, newline, quote or backslash: "a\\tb.py"."""
    if not (len(name) >= 2 and name[0] == name[-1] == '"'):
        return name
    body, out, i = name[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            following = body[i + 1]
            if following in "01234567" and re.match(r"[0-7]{3}", body[i + 1:i + 4]):
                out.append(int(body[i + 1:i + 4], 8))
                i += 4
                continue
            out.extend(_ESCAPES.get(following, following).encode())
            i += 2
            continue
        out.extend(char.encode("utf-8", "surrogateescape"))
        i += 1
    return out.decode("utf-8", "surrogateescape")


def parse_unified_diff(text: str) -> dict[str, set[int]]:
    """Added or changed lines of the new side, per path relative to the repository root, from
    `git diff --unified=0`. A deleted file is left out; a new empty file has no lines."""
    files: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in text.splitlines():
        if line.startswith("+++ "):
            target = line[4:].rstrip("\t")
            if target == "/dev/null":
                current = None
                continue
            target = _unquote(target)
            current = files.setdefault(target[2:] if target.startswith("b/") else target, set())
        elif line.startswith("@@ ") and current is not None:
            match = _HUNK.match(line)
            if match:
                start, count = int(match["start"]), int(match["count"] or 1)
                current.update(range(start, start + count))
    return files


def changed_lines(base_ref: str, cwd: str | Path = ".") -> ChangedLines:
    """What the working tree changes against the merge base of base_ref and HEAD."""
    cwd = Path(cwd)
    try:
        root = Path(_git(cwd, "rev-parse", "--show-toplevel").strip()).resolve()
    except DiffError:
        raise DiffError(f"--diff-base needs a git repository, and {cwd.resolve()} is not in one") from None
    try:
        _git(root, "rev-parse", "--verify", "--quiet", f"{base_ref}^{{commit}}")
    except DiffError:
        raise DiffError(f"--diff-base {base_ref}: git knows no such commit, branch or tag "
                        f"(in CI, check out with fetch-depth: 0)") from None
    try:
        base = _git(root, "merge-base", base_ref, "HEAD").strip()
    except DiffError as error:
        raise DiffError(f"--diff-base {base_ref}: no merge base with HEAD ({error})") from None
    # Every option that user configuration could change is pinned: prefixes (diff.noprefix,
    # diff.mnemonicPrefix), colour, external and textconv drivers, diff.relative.
    diff = _git(root, "diff", "--unified=0", "--no-color", "--no-ext-diff", "--no-textconv", "--no-relative",
                "--src-prefix=a/", "--dst-prefix=b/", "--find-renames", base, "--")
    result = ChangedLines(root, base)
    for name, lines in parse_unified_diff(diff).items():
        result.files[(root / name).resolve()] = lines
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z")
    for name in filter(None, untracked.split("\0")):
        result.files[(root / name).resolve()] = None
    return result
