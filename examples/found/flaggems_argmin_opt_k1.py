"""Minimal reproducer of a finding on flag-gems 5.0.2 (ops/argmin.py:88 and :98, FL401
tail-access), for an upstream report: `argmin_kernel_opt_k1`, the kernel of `argmin` along the
last dimension, loads and stores with `mask=True` while flag_gems' NVIDIA heuristics pick
BLOCK_M = 4 (8 from M = 4096) and BLOCK_N = next_power_of_2(N). A row of N elements then reads
into the next row, the last tile reads past the input and writes past the output, and the argmin
can be an index >= N. Seen on an H100 with flag_gems 5.0.2 itself: (3, 5) returns index 5,
(1000, 33) gets 489 of 1000 rows wrong.

    fuselint check examples/found/flaggems_argmin_opt_k1.py
    fuselint run examples/found/flaggems_argmin_opt_k1.py --reference examples/found/argmin_reference.py --sanitize

The kernel as released, but for its decorators (`@libentry`, `@triton.heuristics`, whose choice
the wrapper makes), `tl.program_id` for `tle.program_id` and +inf for `get_dtype_max(dtype)`.
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def argmin_kernel_opt_k1(inp, out_index, M, N, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    pid_m = tl.program_id(0)
    m_offset = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)

    dtype = inp.type.element_ty
    acc_type = tl.float32 if dtype is tl.bfloat16 else dtype
    min_vals = tl.full([BLOCK_M], dtype=acc_type, value=float("inf"))
    argmin_vals = tl.full([BLOCK_M], dtype=tl.int64, value=0)
    for start_n in range(0, N, BLOCK_N):
        n_offset = start_n + tl.arange(0, BLOCK_N)
        offset = m_offset[:, None] * N + n_offset[None, :]
        inp_vals = tl.load(inp + offset, mask=True)

        local_min, local_argmin = tl.min(inp_vals, 1, return_indices=True, return_indices_tie_break_left=True)
        update = local_min < min_vals
        min_vals = tl.where(update, local_min, min_vals)
        argmin_vals = tl.where(update, start_n + local_argmin, argmin_vals)

    out_ptr = out_index + m_offset
    tl.store(out_ptr, argmin_vals, mask=True)


def argmin_last_dim(x):
    M, N = x.shape
    x = x.contiguous()
    out = torch.empty((M,), dtype=torch.int64, device=x.device)
    block_m = 4 if M < 4096 else 8
    block_n = min(4096, triton.next_power_of_2(N))
    argmin_kernel_opt_k1[(triton.cdiv(M, block_m), 1)](x, out, M, N, BLOCK_M=block_m, BLOCK_N=block_n)
    return out


class ModelNew(nn.Module):
    def forward(self, x):
        return argmin_last_dim(x)
