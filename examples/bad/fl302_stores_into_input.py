"""FL302: the kernel stores into `x.contiguous()`, which is the caller's own x."""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def double_kernel(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=mask) * 2.0, mask=mask)


def double(x):
    x_flat = x.contiguous().view(-1)
    n = x_flat.numel()
    double_kernel[(triton.cdiv(n, 256),)](x_flat, n, BLOCK=256)  # FL302
    return x_flat.view_as(x)


class ModelNew(nn.Module):
    def forward(self, x):
        return double(x)
