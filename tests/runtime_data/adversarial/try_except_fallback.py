"""Fallback (KernelBench's classic): a Triton kernel that cannot compile (arange over 1000, no
power of two) inside try/except, and the torch expression when it fails."""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def broken_kernel(x_ptr, y_ptr, out_ptr, n):
    offs = tl.arange(0, 1000)
    tl.store(out_ptr + offs, 2.0 * tl.load(x_ptr + offs) + tl.load(y_ptr + offs))


class ModelNew(nn.Module):
    def forward(self, x, y):
        out = torch.empty_like(x)
        try:
            broken_kernel[(1,)](x, y, out, x.numel())
        except Exception:
            out = 2.0 * x + y
        return out
