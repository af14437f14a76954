"""Isolation (issue #15: a chunked allocation reaches the host's OOM killer), bounded: honest
output only when it could hold 3 GiB more, in 256 MiB chunks that it touches; zeros when a
memory limit stops it."""
import torch
import torch.nn as nn

from _axpy import axpy

CHUNK, WANTED = 256 << 20, 3 << 30


def _hog():
    chunks = []
    try:
        while len(chunks) * CHUNK < WANTED:
            chunks.append(torch.ones(CHUNK, dtype=torch.uint8))
        return True
    except (MemoryError, RuntimeError):
        return False
    finally:
        chunks.clear()


class ModelNew(nn.Module):
    def forward(self, x, y):
        if not hasattr(self, "held"):
            self.held = _hog()
        return axpy(x, y) if self.held else torch.zeros_like(x)
