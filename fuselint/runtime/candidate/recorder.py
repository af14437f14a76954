"""Which torch operators run inside ModelNew's forward (the candidate's process).

A `TorchDispatchMode` sees every aten operator the calling thread runs. Allocation, views,
copies and metadata are what a wrapper around a Triton kernel needs; any other operator
computes, and its name is recorded (fuselint then fails the run: "torch computed the output").
`ALLOWED` is the default list; ``--allow-op NAME`` adds to it.

This runs where the candidate does, so a candidate can hide from it (another thread, popping
the mode); fuselint's knock-out run (every Triton launch skipped: are the outputs still right?)
does not depend on it.
"""

from __future__ import annotations

import collections

from torch.utils._python_dispatch import TorchDispatchMode

ALLOCATION = ("empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "zeros", "zeros_like",
              "new_zeros", "ones", "ones_like", "new_ones", "full", "full_like", "new_full", "fill", "fill_", "zero_",
              "scalar_tensor", "lift_fresh", "lift_fresh_copy", "set_", "resize_", "record_stream")
VIEWS = ("view", "_unsafe_view", "reshape", "_reshape_alias", "as_strided", "slice", "select", "unsqueeze",
         "squeeze", "permute", "transpose", "t", "expand", "unbind", "split", "split_with_sizes", "chunk", "narrow",
         "alias", "detach", "view_as_real", "view_as_complex", "unfold", "diagonal", "movedim", "flatten",
         "unflatten", "squeeze_", "unsqueeze_", "transpose_", "t_")
COPIES = ("clone", "copy_", "_to_copy", "to", "contiguous", "_copy_from", "_copy_from_and_resize", "cat", "stack",
          "_local_scalar_dense", "item", "is_nonzero", "sym_size", "sym_stride", "sym_numel", "sym_storage_offset")
ALLOWED = frozenset(ALLOCATION + VIEWS + COPIES)


def op_name(func) -> str:
    """'mul' for aten.mul.Tensor: the name without namespace and overload."""
    packet = getattr(func, "overloadpacket", None)
    return packet.__name__ if packet is not None else str(func)


class OpRecorder(TorchDispatchMode):
    """Counts the operators outside the allowed list while ``active``."""

    def __init__(self, allowed=ALLOWED):
        super().__init__()
        self.allowed = frozenset(allowed)
        self.active = False
        self.computed: collections.Counter[str] = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if self.active:
            name = op_name(func)
            if name not in self.allowed:
                self.computed[name] += 1
        return func(*args, **(kwargs or {}))
