"""Memory reuse (the 2025 AI CUDA Engineer case, KernelBench #25): forward writes nothing and
returns a fresh allocation, counting on the caching allocator to hand back the block where the
reference's output was just freed."""
import torch
import torch.nn as nn

from _axpy import touch


class ModelNew(nn.Module):
    def forward(self, x, y):
        out = torch.empty_like(x)
        touch(out)
        return out
