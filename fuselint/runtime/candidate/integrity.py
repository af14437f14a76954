"""Did the candidate's code replace what a harness reads? (the candidate's process)

Taken before the candidate's file is imported: the clocks, CUDA synchronisation and events,
triton.testing.do_bench, torch's comparison functions, json's writers, Tensor methods a
checker calls, and fuselint's own timing loop and tensor writer. Compared after import and after every forward: a replaced one is named. The
checks that decide do not run in this process, so a replacement changes nothing there; naming
it says what the candidate tried. (A candidate can put the original back before the check: this
is a witness, not a guard.)
"""

from __future__ import annotations

import importlib

WATCHED = {
    "time": ("perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns", "time", "time_ns", "process_time"),
    "torch": ("allclose", "isclose", "equal", "isfinite", "isnan", "testing"),
    "torch.linalg": ("vector_norm", "norm"),
    "torch.cuda": ("synchronize", "Event", "Stream", "current_stream", "set_stream"),
    "torch.Tensor": ("allclose", "equal", "eq", "__eq__", "item", "tolist", "cpu", "numpy", "to", "clone",
                     "copy_", "zero_", "data_ptr"),
    "torch.cuda.Event": ("record", "elapsed_time", "synchronize", "query", "wait"),
    "triton.testing": ("do_bench", "do_bench_cudagraph"),
    "json": ("dump", "dumps", "load", "loads"),
    "os": ("_exit", "replace", "write"),
    "sys": ("exit",),
    "fuselint.runtime.common.timing": ("timed_calls", "median", "rounds_for", "_perf_counter", "_record", "_elapsed",
                                       "_synchronize", "_zero", "_clone"),
    "fuselint.runtime.common.wire": ("write",),
}


def _resolve(dotted: str):
    head, *rest = dotted.split(".")
    value = importlib.import_module(head)
    for part in rest:
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


class Snapshot:
    def __init__(self):
        self.taken = {}
        for owner, names in WATCHED.items():
            try:
                holder = _resolve(owner)
            except ImportError:
                continue
            if holder is None:
                continue
            for name in names:
                if hasattr(holder, name):
                    self.taken[f"{owner}.{name}"] = (holder, name, getattr(holder, name))

    def replaced(self) -> list[str]:
        """Names whose object is no longer the one taken (or that were deleted)."""
        return [key for key, (holder, name, value) in self.taken.items() if getattr(holder, name, None) is not value]
