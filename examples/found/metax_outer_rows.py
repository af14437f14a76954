"""Minimal reproducer of a finding on flag-gems 5.0.2 (runtime/backend/_metax/ops/outer.py:40,
FL402 mask-misses-axis), for an upstream report: the MetaX backend's `outer` launches
`mul_outer_kernel` on cdiv(M, 8) x cdiv(N, 512) programs; each stores rows
`pid_x * BLOCK_SIZE_M + i` for i < 8 under the column mask only (the row mask `mask_3` is
commented out), so when M % 8 != 0 the last row block writes up to 7 rows past the end of `out`.

    fuselint check --witness examples/found/metax_outer_rows.py
    fuselint run examples/found/metax_outer_rows.py --reference examples/found/outer_reference.py --sanitize

Trimmed from flag_gems/runtime/backend/_metax/ops/outer.py (FlagGems,
https://github.com/flagos-ai/FlagGems, Apache License 2.0, (c) the FlagGems authors; modified):
the forward only (no autograd.Function, no backward), without `with torch.cuda.device(...)` so
that it runs on the CPU. The kernel and `mul` are as released.
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def mul_outer_kernel(
    inp,
    weight,
    out,
    M,
    N,
    stride_m,
    stride_n,
    BLOCK_SIZE_M: tl.constexpr,
    BLOCK_SIZE_N: tl.constexpr,
):
    pid_x = tl.program_id(axis=0)
    pid_y = tl.program_id(axis=1)
    n_range = tl.arange(0, BLOCK_SIZE_N)
    weight_block_start = pid_y * BLOCK_SIZE_N
    weight_offsets = weight_block_start + n_range[None, :]
    mask_2 = weight_offsets < N
    weight_data = tl.load(weight + weight_offsets, mask=mask_2)
    for i in range(0, BLOCK_SIZE_M):
        inp_offsets = pid_x * BLOCK_SIZE_M + i
        mask_1 = inp_offsets < M
        output_offsets = (pid_x * BLOCK_SIZE_M + i) * N + weight_offsets
        # mask_3 = output_offsets < (M * N)
        inp_data = tl.load(inp + inp_offsets, mask=mask_1)
        inp_bd, weight_bd = tl.broadcast(inp_data, weight_data)
        output = inp_bd * weight_bd
        tl.store(out + output_offsets, output, mask=mask_2)


def mul(inp, weight):
    assert inp.ndim == 2 and weight.ndim == 2, "Invalid input"
    assert inp.shape[1] == 1 and weight.shape[0] == 1, "Invalid input"
    M = inp.shape[0]
    N = weight.shape[1]
    out = torch.empty((M, N), device=inp.device, dtype=inp.dtype)
    num_warps = 1
    BLOCK_SIZE_M = 8
    BLOCK_SIZE_N = 512
    grid = lambda META: (triton.cdiv(M, BLOCK_SIZE_M), triton.cdiv(N, BLOCK_SIZE_N))
    mul_outer_kernel[grid](
        inp,
        weight,
        out,
        M,
        N,
        inp.stride(0),
        weight.stride(1),
        BLOCK_SIZE_M=BLOCK_SIZE_M,
        BLOCK_SIZE_N=BLOCK_SIZE_N,
        num_warps=num_warps,
    )
    return out


def outer(inp, weight):
    assert inp.ndim == 1 and weight.ndim == 1, "Invalid input"
    inp1 = inp[:, None]
    weight1 = weight[None, :]
    inp1 = inp1.contiguous()
    weight1 = weight1.contiguous()
    return mul(inp1, weight1)


class ModelNew(nn.Module):
    def forward(self, a, b):
        return outer(a, b)
