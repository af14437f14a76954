"""FL303: `row < n_rows` is always true: the grid has exactly n_rows programs."""
import torch
import triton
import triton.language as tl


@triton.jit
def row_scale_kernel(x_ptr, out_ptr, n_rows, N, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = (row < n_rows) & (cols < N)  # FL303
    tl.store(out_ptr + row * N + cols, tl.load(x_ptr + row * N + cols, mask=mask) * 2.0, mask=mask)


def row_scale(x):
    n_rows, N = x.shape
    out = torch.empty_like(x)
    row_scale_kernel[(n_rows,)](x, out, n_rows, N, BLOCK=triton.next_power_of_2(N))
    return out
