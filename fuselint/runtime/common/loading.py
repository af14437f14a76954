"""Importing a user's file as a fresh module."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import types
from pathlib import Path

_module_ids = itertools.count()


def load_module(path: str | Path, role: str) -> types.ModuleType:
    """Import a file as a fresh module (registered in sys.modules: Triton's JIT reads kernel
    source through ``inspect``, which needs the module). Imports next to the file (helpers of
    the kernel) resolve as they would for a script."""
    path = Path(path).resolve()
    name = f"_fuselint_{role}_{next(_module_ids)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent))
    spec.loader.exec_module(module)
    return module
