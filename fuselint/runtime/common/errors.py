"""Naming an exception in a report: a short line, where it was raised, and by whom."""

from __future__ import annotations

import os
import traceback

# Failures worth naming before the exception's own words.
_KINDS = (("illegal memory access", "illegal memory access"), ("misaligned address", "illegal memory access"),
          ("out of memory", "out of memory"), ("can't allocate memory", "out of memory"))


def short_error(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    # CUDA errors put the useful line first, Python ones last.
    line = next((t for t in text if "CUDA error" in t or "out of memory" in t), text[-1] if text else "")
    kind = next((k for marker, k in _KINDS if marker in str(error)), None)
    return (f"{kind}: " if kind else "") + f"{type(error).__name__}: {line}"[:500]


def _chain(error: BaseException) -> list[BaseException]:
    chain, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def where_in(error: BaseException, paths: list[str]) -> str | None:
    """file:line of the deepest traceback frame inside the given files, following the chain of
    causes: the interpreter re-raises a kernel's error from the launch line, with the kernel's
    own line in the cause."""
    where = None
    for link in _chain(error):
        frames = [f for f in traceback.extract_tb(link.__traceback__) if os.path.realpath(f.filename) in paths]
        if frames:
            where = f"{frames[-1].filename}:{frames[-1].lineno}"
    return where


def raised_in(error: BaseException) -> str:
    """The file where the first error of the chain was raised (its deepest frame)."""
    root = _chain(error)[-1]
    frames = traceback.extract_tb(root.__traceback__)
    return os.path.realpath(frames[-1].filename) if frames else ""


def frames_of(error: BaseException) -> list[str]:
    """Every 'file:function' of every traceback in the chain, for telling who raised it."""
    return [f"{f.filename}:{f.name}" for link in _chain(error) for f in traceback.extract_tb(link.__traceback__)]


def error_record(error: BaseException, paths: list[str]) -> dict:
    return {"message": short_error(error), "where": where_in(error, paths), "raised_in": raised_in(error),
            "frames": frames_of(error)[-40:], "traceback": traceback.format_exc()[-4000:]}
