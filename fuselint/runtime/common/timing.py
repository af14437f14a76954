"""The timed-call loop, the same code for the reference's process (trusted figures: the device
copy, the reference, the loop's own cost) and the candidate's (ModelNew).

One call: clear the L2 (a 256 MiB buffer written FLUSH_REPEATS times, as triton.testing.do_bench
clears it once: the further writes keep the GPU busy for about 250 us on an H200, long enough for
the host to enqueue the call, its Python wrapper included, before the GPU reaches the start
event, so launch overhead is not counted as device time; a write is bound by the memory's clock,
which does not move with load as the GPU's does, so every loop of both processes pays the same
and fuselint's clock sees it in the loop's own cost), record a start event, make the call, synchronise the whole device (every stream, so that work left on a side
stream is waited for), record the end event. The end event then lands a fixed delay after the
work is done (the host's wake-up and the event's launch); the reference's process measures that
delay on an empty call in the same run, and the candidate's figures are net of it. Calls
rotate over several input sets; the first call on each set is the first time the candidate sees
those inputs.

The functions used here are taken when this module is imported, which in the candidate's
process is before the candidate's file is: a candidate that later replaces torch.cuda.Event,
torch.cuda.synchronize or Tensor.zero_ does not change what this loop calls.
"""

from __future__ import annotations

import time

FLUSH_BYTES = 256 << 20
COPY_BYTES = 1 << 30
FLUSH_REPEATS = 4

_perf_counter = time.perf_counter
try:
    import torch as _torch

    _EventBase = _torch._C._CudaEventBase
    _record, _elapsed = _EventBase.record, _EventBase.elapsed_time
    _synchronize = _torch._C._cuda_synchronize
    _zero = _torch._C.TensorBase.zero_
    _clone = _torch._C.TensorBase.clone
except (ImportError, AttributeError):  # a torch without CUDA support: no timing here
    _EventBase = None


def available() -> bool:
    return _EventBase is not None


def timed_calls(call, n_sets: int, rounds: int, keep: bool = False) -> dict:
    """Run call(j) for j = 0..n_sets-1, rounds times over. Returns {"ms": [per call, in order],
    "wall_s": host seconds for the loop, "kept": {(j, "first"|"last"): outputs}} (outputs of the
    first and the last call on each set, cloned, when keep)."""
    import torch
    from torch.utils._pytree import tree_map

    flush = torch.empty(FLUSH_BYTES, dtype=torch.int8, device="cuda")
    total = n_sets * rounds
    starts = [_EventBase(enable_timing=True) for _ in range(total)]
    ends = [_EventBase(enable_timing=True) for _ in range(total)]
    stream = torch.cuda.current_stream()
    kept = {}
    _synchronize()
    began = _perf_counter()
    for i in range(total):
        j = i % n_sets
        for _ in range(FLUSH_REPEATS):
            _zero(flush)
        _record(starts[i], stream)
        out = call(j)
        _synchronize()
        _record(ends[i], stream)
        if keep and (i < n_sets or i >= total - n_sets):
            kept[(j, "first" if i < n_sets else "last")] = tree_map(
                lambda x: _clone(x) if isinstance(x, torch.Tensor) else x, out)
    _synchronize()
    wall = _perf_counter() - began
    return {"ms": [_elapsed(s, e) for s, e in zip(starts, ends)], "wall_s": wall, "kept": kept}


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def sets_for(set_bytes: int, budget_bytes: int = 1 << 30) -> int:
    """How many distinct input sets the timed calls rotate over: as many as fit in the budget,
    3 to 8."""
    return max(3, min(8, budget_bytes // max(1, set_bytes)))


def rounds_for(estimate_ms: float, sets: int, target_ms: float = 100.0, max_calls: int = 500) -> int:
    """Rounds over the sets so that the loop takes about target_ms (at least 3)."""
    calls = max(10, min(max_calls, int(target_ms / max(estimate_ms + 0.1, 1e-3))))
    return max(3, -(-calls // sets))
