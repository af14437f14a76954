"""Applying fixes (the safe ones; the unsafe ones too under --unsafe-fixes): node replacements
on the parsed module, so that every byte outside the replaced nodes (comments, formatting, line
ends, a BOM) stays as it was; and writing the result atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import libcst as cst

from fuselint.findings import Edit


class _Replace(cst.CSTTransformer):
    def __init__(self, edits: list[Edit]) -> None:
        self.replacements = {id(edit.old): edit.new for edit in edits}

    def on_leave(self, original_node, updated_node):
        return self.replacements.get(id(original_node), updated_node)


def apply_edits(module: cst.Module, edits: list[Edit]) -> bytes:
    """The module's bytes with the edits applied, in its own encoding."""
    return module.visit(_Replace(edits)).bytes


class ChangedOnDisk(Exception):
    pass


def write_atomically(path: Path, expected: bytes, new: bytes) -> None:
    """Replace `path`'s content by `new`, keeping its permissions, unless the file no longer
    holds `expected` (someone changed it since it was read): then raise ChangedOnDisk."""
    mode = path.stat().st_mode & 0o7777
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".fuselint")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(new)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        if path.read_bytes() != expected:
            raise ChangedOnDisk(f"{path} changed on disk since it was read; not overwritten")
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
