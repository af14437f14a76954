"""FL101: the two halves of each row are loaded at `offs` and at `offs + HALF`."""
import torch
import triton
import triton.language as tl


@triton.jit
def rotate_half_kernel(x_ptr, c_ptr, s_ptr, out_ptr, n_rows, HALF, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    offs = tl.arange(0, BLOCK)
    mask = offs < HALF
    base = row * 2 * HALF
    c = tl.load(c_ptr + offs, mask=mask)
    s = tl.load(s_ptr + offs, mask=mask)
    x1 = tl.load(x_ptr + base + offs, mask=mask)
    x2 = tl.load(x_ptr + base + offs + HALF, mask=mask)  # FL101
    tl.store(out_ptr + base + offs, x1 * c - x2 * s, mask=mask)
    tl.store(out_ptr + base + offs + HALF, x2 * c + x1 * s, mask=mask)


def rotate_half(x, c, s):
    n_rows, D = x.shape
    out = torch.empty_like(x)
    rotate_half_kernel[(n_rows,)](x, c, s, out, n_rows, D // 2, BLOCK=triton.next_power_of_2(D // 2))
    return out
