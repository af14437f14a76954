"""FL104: an element-wise op on a 2-D grid of (row, column block)."""
import torch
import triton
import triton.language as tl


@triton.jit
def scale_kernel(x_ptr, out_ptr, N, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)  # FL104
    mask = cols < N
    tl.store(out_ptr + row * N + cols, tl.load(x_ptr + row * N + cols, mask=mask) * 2.0, mask=mask)


def scale(x):
    M, N = x.shape
    out = torch.empty_like(x)
    scale_kernel[(M, triton.cdiv(N, 256))](x, out, N, BLOCK=256)
    return out
