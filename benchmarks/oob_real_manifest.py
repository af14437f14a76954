"""The manifest of the real out-of-bounds benchmark (benchmarks/oob_real/manifest.json): reading
it, checking its shape, and where each pair's files live once rebuilt. Shared by
benchmarks/rebuild_oob_real.py, benchmarks/oob_real.py and tests/test_oob_real.py.

A pair is one public fix of an out-of-bounds access in a @triton.jit kernel: the file at the
commit before the fix and the same file at the fix. `buggy_lines[i]` (before) and `fixed_lines[i]`
(after) are the first line of the same access, the `tl.load(` / `tl.store(` / `tl.atomic_*(`
call, before and after the fix. The third-party files are never committed: they are rebuilt from
local git snapshots into an ignored folder, each checked against its sha256.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "benchmarks" / "oob_real" / "manifest.json"
DEFAULT_CORPUS = ROOT / ".corpus" / "oob_real"
SPLITS = ("dev", "heldout")
PAIR_FIELDS = {"id", "repository", "before", "after", "buggy_lines", "fixed_lines", "class", "reference", "note", "split"}
SIDE_FIELDS = {"commit", "path", "sha256"}
_COMMIT = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")
_ID = re.compile(r"[a-z0-9][a-z0-9.-]*")


def load(path: Path = MANIFEST) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def load_checked(path: Path = MANIFEST) -> dict | None:
    """The manifest, or None after printing what is wrong with it to stderr."""
    manifest = load(path)
    wrong = problems(manifest)
    if wrong:
        print("\n".join(f"{path}: {w}" for w in wrong), file=sys.stderr)
        return None
    return manifest


def problems(manifest: dict) -> list[str]:
    """Everything wrong with the manifest's shape; empty when it is well formed."""
    out: list[str] = []
    split = manifest.get("split")
    if not isinstance(split, dict) or not isinstance(split.get("seed"), int) or not split.get("method"):
        out.append("`split` must record the seed (an int) and the method used to draw the held-out pairs")
    pairs = manifest.get("pairs")
    if not isinstance(pairs, list) or not pairs:
        return out + ["`pairs` must be a non-empty list"]
    seen: set[str] = set()
    for n, pair in enumerate(pairs):
        where = f"pair {n} ({pair.get('id', '?') if isinstance(pair, dict) else '?'})"
        if not isinstance(pair, dict):
            out.append(f"{where}: not an object")
            continue
        if set(pair) != PAIR_FIELDS:
            out.append(f"{where}: fields {sorted(set(pair) ^ PAIR_FIELDS)} missing or unexpected")
            continue
        if not isinstance(pair["id"], str) or not _ID.fullmatch(pair["id"]) or pair["id"] in seen:
            out.append(f"{where}: id must be unique, lower case, letters, digits, '.' and '-'")
        seen.add(pair["id"])
        if not isinstance(pair["repository"], str) or not _REPOSITORY.fullmatch(pair["repository"]):
            out.append(f"{where}: repository must be owner/name")
        for side in ("before", "after"):
            record = pair[side]
            if not isinstance(record, dict) or set(record) != SIDE_FIELDS:
                out.append(f"{where}: {side} must have exactly {sorted(SIDE_FIELDS)}")
                continue
            if not isinstance(record["commit"], str) or not _COMMIT.fullmatch(record["commit"]):
                out.append(f"{where}: {side}.commit must be 40 lower-case hex digits")
            if not isinstance(record["sha256"], str) or not _SHA256.fullmatch(record["sha256"]):
                out.append(f"{where}: {side}.sha256 must be 64 lower-case hex digits")
            if not isinstance(record["path"], str) or not record["path"].endswith(".py") or record["path"].startswith("/"):
                out.append(f"{where}: {side}.path must be a relative .py path")
        buggy, fixed = pair["buggy_lines"], pair["fixed_lines"]
        for name, lines in (("buggy_lines", buggy), ("fixed_lines", fixed)):
            if not isinstance(lines, list) or not lines or not all(type(x) is int and x > 0 for x in lines):
                out.append(f"{where}: {name} must be a non-empty list of positive ints")
        if isinstance(buggy, list) and isinstance(fixed, list) and len(buggy) != len(fixed):
            out.append(f"{where}: buggy_lines and fixed_lines must pair up (same length)")
        if pair["split"] not in SPLITS:
            out.append(f"{where}: split must be one of {SPLITS}")
        for name in ("class", "reference"):
            if not isinstance(pair[name], str) or not pair[name]:
                out.append(f"{where}: {name} must be a non-empty string")
        if not isinstance(pair["note"], str):
            out.append(f"{where}: note must be a string")
    return out


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pair_files(corpus: Path, pair: dict) -> tuple[Path, Path]:
    """Where the rebuilt before/after files of a pair live."""
    return corpus / pair["id"] / "before.py", corpus / pair["id"] / "after.py"


def file_state(path: Path, expected: str) -> str:
    """'ok', 'absent', or 'sha256 mismatch' for one rebuilt file."""
    if not path.is_file():
        return "absent"
    return "ok" if sha256(path.read_bytes()) == expected else "sha256 mismatch"
