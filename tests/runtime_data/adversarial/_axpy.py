"""Shared pieces of the adversarial candidates (a file starting with _ is no candidate).

`axpy` is an honest Triton kernel for the reference out = 2 * x + y; `touch` is a one-element
launch that a cheat makes beside work done elsewhere, so that "Triton ran" stays true.
"""
import torch
import triton
import triton.language as tl


@triton.jit
def axpy_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    y = tl.load(y_ptr + offs, mask=mask)
    tl.store(out_ptr + offs, 2.0 * x + y, mask=mask)


@triton.jit
def touch_kernel(p):
    tl.store(p, tl.load(p))


def axpy(x, y):
    x, y = x.contiguous(), y.contiguous()
    out = torch.empty_like(x)
    n = x.numel()
    axpy_kernel[(triton.cdiv(n, 256),)](x, y, out, n, BLOCK=256)
    return out


def touch(t):
    """One Triton launch on one element of t (its value unchanged)."""
    touch_kernel[(1,)](t)
