"""A cache of each file's findings, keyed by its content, its path, fuselint's code and the
settings (as Ruff's is). A corrupt or unwritable cache is ignored, never fatal: its problems are
collected in `problems` for the caller to warn about once (worker processes never print)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from fuselint import __version__
from fuselint.config import Settings
from fuselint.findings import Finding

DEFAULT_FOLDER = ".fuselint_cache"


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Changes whenever fuselint's own code does, so a development install never reads results
    of older rules."""
    import fuselint
    import fuselint.rules

    digest = hashlib.sha256(__version__.encode())
    for package in (fuselint, fuselint.rules):
        for path in sorted(Path(package.__file__).parent.rglob("*.py")):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


class Cache:
    def __init__(self, folder: Path, settings: Settings) -> None:
        self.root = Path(folder)
        self.folder = self.root / code_fingerprint()
        self._settings = repr(settings).encode()
        self._writable = True
        self.problems: set[str] = set()

    def _file(self, path: Path, data: bytes) -> Path:
        key = hashlib.sha256(self._settings + b"\0" + str(path).encode() + b"\0" + data).hexdigest()
        return self.folder / key[:2] / f"{key}.json"

    def get(self, path: Path, data: bytes) -> list[Finding] | None:
        entry = self._file(path, data)
        try:
            records = json.loads(entry.read_text(encoding="utf-8"))
            return [Finding.from_dict(record) for record in records]
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError, TypeError):
            self.problems.add(f"unreadable entries in the cache {self.folder} were ignored")
            return None

    def put(self, path: Path, data: bytes, findings: list[Finding]) -> None:
        if not self._writable:
            return
        entry = self._file(path, data)
        try:
            if not entry.parent.is_dir():
                entry.parent.mkdir(parents=True, exist_ok=True)
                _mark_as_cache(self.root)
            descriptor, temporary = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                json.dump([f.to_dict() for f in findings], out)
            os.replace(temporary, entry)
        except OSError as error:
            self._writable = False
            self.problems.add(f"cannot write the cache in {self.folder} ({error.strerror or error}); it was not used")


def _mark_as_cache(root: Path) -> None:
    """As Ruff, mypy and pytest do: the cache ignores itself in git, and backup tools skip it."""
    for name, text in ((".gitignore", "# Automatically created by fuselint.\n*\n"),
                       ("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n"
                                        "# This file is a cache directory tag created by fuselint.\n")):
        marker = root / name
        if not marker.exists():
            marker.write_text(text, encoding="utf-8")
