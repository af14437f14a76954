"""Where a batch's results go: an append-only JSONL file, one record per finished candidate,
flushed to disk as each is written, so that a killed driver, a lost node or a Ctrl-C loses at
most the candidates in flight.

A record is the candidate's full report (docs/runtime.md) with a ``batch`` section; its key is
the candidate's content hash and the hash of the settings that decide its verdict (the options,
the reference's content, the batch folder's helper files, fuselint's version, GPU or
interpreter). Rerunning the same command skips the keys already in the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from fuselint import __version__


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def settings_of(options, reference: bytes, helpers: dict[str, bytes], device: str) -> dict:
    """What decides a verdict besides the candidate. A seed drawn fresh for each candidate is no
    setting (``--seed N`` is); nor is which GPU a candidate ran on."""
    fields = {k: v for k, v in dataclasses.asdict(options).items() if k != "visible_devices"}
    if fields["seed"] is None:
        del fields["seed"]
    return {"fuselint": __version__, "device": device, "reference": sha256_of(reference),
            "helpers": sha256_of(json.dumps({n: sha256_of(b) for n, b in sorted(helpers.items())}).encode()),
            "options": fields}


def settings_hash(settings: dict) -> str:
    return sha256_of(json.dumps(settings, sort_keys=True, default=str).encode())[:16]


class ResultStore:
    """The JSONL file: `records` reads it (a line cut short by a killed writer is skipped; the
    last record of a key counts), `append` adds one record and flushes it to disk."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._file = None

    def records(self) -> dict[str, dict]:
        found: dict[str, dict] = {}
        if not self.path.exists():
            return found
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                key = record.get("batch", {}).get("key") if isinstance(record, dict) else None
                if key:
                    found[key] = record
        return found

    def append(self, record: dict) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            cut_short = self.path.exists() and self.path.stat().st_size and not self._ends_with_newline()
            self._file = open(self.path, "a", encoding="utf-8")
            if cut_short:
                self._file.write("\n")
        self._file.write(json.dumps(record, default=str) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
