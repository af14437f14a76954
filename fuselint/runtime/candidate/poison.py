"""Poisoning fresh allocations (the candidate's process), so that what a kernel never writes
shows: the two poisons differ, and an element that holds each run's poison was never written."""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ..common.poison import poison_value


class PoisonFreshMemory(TorchDispatchMode):
    """Fills every ``empty``-family allocation with a poison value.

    Outputs a wrapper allocates with torch.empty(_like) start as poison, so elements the kernel
    never writes stay poison and are caught; at the aten level this also sees allocations made
    inside torch (``contiguous``), which are written right after and cost only the fill.
    """

    def __init__(self, which: int):
        super().__init__()
        self.which = which
        aten = torch.ops.aten
        self.fresh = {
            aten.empty.memory_format, aten.empty_like.default, aten.empty_strided.default,
            aten.new_empty.default, aten.new_empty_strided.default,
        }

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in self.fresh and isinstance(out, torch.Tensor) and out.numel():
            out.fill_(poison_value(out.dtype, self.which))
        return out
