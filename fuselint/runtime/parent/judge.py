"""Comparing what the candidate's process returned with what the reference's computed
(fuselint's own process: the only place outputs are judged).

Every value here was read back from bytes (`common.wire`): plain tensors of a checked dtype and
shape, nothing with methods of the candidate's. Tolerances follow KernelBench.
"""

from __future__ import annotations

import functools
import math

import torch

from ..common.poison import poison_value

# KernelBench tolerances, used as both atol and rtol.
TOLERANCE = {torch.float32: 1e-4, torch.float64: 1e-4, torch.float16: 1e-2, torch.bfloat16: 1e-2}
# The magnitude check allows a relative L2 error of this many times the tolerance: a right kernel
# lands far under it, a zero, constant or rescaled output far over.
MAGNITUDE_FACTOR = 10
# The most telling problem names the failure: an unwritten tail also shows as NaN and wrong
# values, but "unwritten" says what to fix.
CHECK_PRIORITY = ("output", "structure", "device", "unwritten", "mutation", "shape", "dtype", "finite", "values",
                  "magnitude", "replay", "repeat")


@functools.lru_cache(maxsize=1)
def _compare_device():
    """Large outputs compare far faster on a GPU; fuselint's process may use one it has."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def tolerance_for(dtype) -> float:
    return TOLERANCE.get(dtype, 0.0)


def _index_of(flat_index: int, shape) -> list[int]:
    index = []
    for size in reversed(shape):
        index.append(flat_index % size if size else 0)
        flat_index //= size if size else 1
    return list(reversed(index))


def _kind(value) -> str:
    if isinstance(value, torch.Tensor):
        return "a tensor"
    if isinstance(value, (list, tuple)):
        inner = {_kind(v) for v in value}
        what = f" {inner.pop().removeprefix('a ')}" if len(inner) == 1 else ""
        return f"a {type(value).__name__} of {len(value)}{what}{'s' if what and len(value) != 1 else ''}"
    return f"a {type(value).__name__}"


def structure(got, want) -> list[dict]:
    """The same nesting of the same kinds (a tensor is not a list holding a tensor)."""
    if isinstance(want, torch.Tensor) or isinstance(got, torch.Tensor):
        same = isinstance(want, torch.Tensor) and isinstance(got, torch.Tensor)
    elif isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        same = len(want) == len(got) and all(not structure(g, w) for g, w in zip(got, want))
    elif isinstance(want, dict) and isinstance(got, dict):
        same = want.keys() == got.keys() and all(not structure(got[k], want[k]) for k in want)
    else:
        same = type(got) is type(want) or isinstance(got, (int, float)) and isinstance(want, (int, float))
    return [] if same else [{"check": "structure", "detail": f"ModelNew returned {_kind(got)} where the reference "
                                                             f"returns {_kind(want)}"}]


def compare_output(got, want, tol: float | None = None) -> list[dict]:
    """Problems of one output against the reference's; [] when it matches."""
    if not isinstance(want, torch.Tensor):
        if isinstance(got, torch.Tensor) or got != want:
            return [{"check": "values", "detail": f"expected {want!r}, got {got!r}"}]
        return []
    if not isinstance(got, torch.Tensor):
        return [{"check": "shape", "detail": f"expected a tensor, got {type(got).__name__}"}]
    if tuple(got.shape) != tuple(want.shape):
        return [{"check": "shape", "detail": f"shape {list(got.shape)}, reference {list(want.shape)}"}]
    if got.dtype != want.dtype:
        return [{"check": "dtype", "detail": f"dtype {str(got.dtype).removeprefix('torch.')}, "
                                             f"reference {str(want.dtype).removeprefix('torch.')}"}]
    if want.numel() == 0:
        return []
    tol = tolerance_for(want.dtype) if tol is None else tol
    device = _compare_device()
    g, w = got.detach().to(device).double(), want.detach().to(device).double()
    problems = []
    finite_lost = torch.isfinite(w) & ~torch.isfinite(g)
    if (n := int(finite_lost.sum())):
        first = int(torch.nonzero(finite_lost.reshape(-1))[0])
        problems.append({"check": "finite", "detail": f"{n} of {w.numel()} elements NaN/inf where the reference is "
                                                      f"finite, first at {_index_of(first, w.shape)}"})
    close = torch.isclose(g, w, rtol=tol, atol=tol, equal_nan=True)
    if (n := int((~close).sum())):
        # the worst element among those that differ (an inf matching an inf is no difference)
        err = torch.where(close, torch.zeros_like(g), (g - w).abs().nan_to_num(nan=math.inf, posinf=math.inf))
        worst = int(torch.argmax(err.reshape(-1)))
        problems.append({
            "check": "values",
            "detail": f"{n} of {w.numel()} elements off by more than {tol:g}; worst at {_index_of(worst, w.shape)}: "
                      f"{g.reshape(-1)[worst].item():.6g} vs {w.reshape(-1)[worst].item():.6g}",
        })
    problems += _magnitude(g, w, tol)
    return problems


def _magnitude(g, w, tol) -> list[dict]:
    """An all-zero, constant or rescaled output can sit inside atol when the reference is small;
    the relative L2 error and the spread cannot hide it."""
    finite = torch.isfinite(w) & torch.isfinite(g)
    g, w = g[finite], w[finite]
    if w.numel() == 0:
        return []
    ref_constant = bool((w == w[0]).all())
    if not ref_constant and bool((g == g[0]).all()):
        return [{"check": "magnitude", "detail": f"output is constant ({g[0].item():.6g}); the reference is not"}]
    ref_norm = float(torch.linalg.vector_norm(w))
    if ref_norm == 0 or tol == 0:
        return []
    rel = float(torch.linalg.vector_norm(g - w)) / ref_norm
    if rel > MAGNITUDE_FACTOR * tol:
        return [{"check": "magnitude", "detail": f"relative L2 error {rel:.3g} > {MAGNITUDE_FACTOR * tol:g} "
                                                 f"(|out| / |ref| = {float(torch.linalg.vector_norm(g)) / ref_norm:.3g})"}]
    return []


def compare_all(got, want) -> list[dict]:
    """Structure, then every leaf: problems with the output index they concern."""
    from ..common.trees import leaves

    problems = structure(got, want)
    if problems:
        return problems
    return [{"output": index, **p} for index, (g, w) in enumerate(zip(leaves(got), leaves(want)))
            for p in compare_output(g, w)]


def matches(got, want) -> bool:
    return not compare_all(got, want)


def unwritten_elements(first, second) -> list[dict]:
    """Elements still holding their poison after two runs with different poisons were never
    written by the kernel."""
    problems = []
    for index, (a, b) in enumerate(zip(first, second)):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)) or a.shape != b.shape or a.dtype != b.dtype:
            continue
        p0, p1 = poison_value(a.dtype, 0), poison_value(a.dtype, 1)
        a0 = torch.isnan(a) if isinstance(p0, float) and math.isnan(p0) else a == p0
        # A written element holds the same value in both runs, never both poisons.
        stale = a0 & (b == p1)
        if (n := int(stale.sum())):
            first_bad = int(torch.nonzero(stale.reshape(-1))[0])
            problems.append({"output": index, "check": "unwritten",
                             "detail": f"{n} of {a.numel()} elements never written, first at {_index_of(first_bad, a.shape)}"})
    return problems


def mutation(after_new, after_ref, before) -> list[dict]:
    """Inputs ModelNew changed where the reference did not (or changed otherwise)."""
    problems = []
    for index, (got, want, orig) in enumerate(zip(after_new, after_ref, before)):
        if not isinstance(orig, torch.Tensor):
            continue
        if not isinstance(got, torch.Tensor) or got.shape != orig.shape or got.dtype != orig.dtype:
            problems.append({"input": index, "check": "mutation", "detail": f"input {index} came back as another kind of value"})
        elif not torch.equal(want, orig):
            if compare_output(got, want):
                problems.append({"input": index, "check": "mutation",
                                 "detail": f"input {index} is changed differently from the reference's in-place update"})
        elif not torch.equal(got, orig):
            changed = int((got != orig).sum())
            problems.append({"input": index, "check": "mutation",
                             "detail": f"ModelNew changed input {index} ({changed} of {orig.numel()} elements); "
                                       "the reference leaves it intact"})
    return problems


def first_problem(problems: list[dict]) -> dict:
    return min(problems, key=lambda p: CHECK_PRIORITY.index(p["check"]) if p["check"] in CHECK_PRIORITY else 99)
