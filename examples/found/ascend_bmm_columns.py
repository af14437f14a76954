"""Minimal reproducer of a finding on flag-gems 5.0.2 (runtime/backend/_ascend/ops/bmm.py:78,
FL402 mask-misses-axis), for an upstream report: `bmm_kernel` masks B's loads on K only, so the
last column tile reads `offs_n >= N`: past each row of B and, on its last row, past B's end.

    fuselint check examples/found/ascend_bmm_columns.py
    fuselint run examples/found/ascend_bmm_columns.py --reference examples/found/bmm_reference.py --sanitize

Trimmed from the fork's kernel: no GROUP_M reordering, `tl.program_id` for `tle.program_id`.
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def bmm_kernel(A, B, O, M, N, K, TILE_M: tl.constexpr, TILE_N: tl.constexpr, TILE_K: tl.constexpr):
    pid_b = tl.program_id(2)
    A += pid_b * M * K
    B += pid_b * K * N
    O += pid_b * M * N
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    offs_m = pid_m * TILE_M + tl.arange(0, TILE_M)
    offs_n = pid_n * TILE_N + tl.arange(0, TILE_N)
    offs_k = tl.arange(0, TILE_K)
    a_ptrs = A + offs_m[:, None] * K + offs_k[None, :]
    b_ptrs = B + offs_k[:, None] * N + offs_n[None, :]
    o_ptrs = O + offs_m[:, None] * N + offs_n[None, :]
    num_iters = tl.cdiv(K, TILE_K)
    o = tl.zeros((TILE_M, TILE_N), dtype=tl.float32)
    for i in range(num_iters):
        mask_a = offs_k[None, :] < K - i * TILE_K
        mask_b = offs_k[:, None] < K - i * TILE_K
        a = tl.load(a_ptrs, mask=mask_a)
        b = tl.load(b_ptrs, mask=mask_b)
        a_ptrs += TILE_K
        b_ptrs += TILE_K * N
        o += tl.dot(a, b, input_precision="ieee")
    mask_m = (pid_m * TILE_M + tl.arange(0, TILE_M)) < M
    mask_n = (pid_n * TILE_N + tl.arange(0, TILE_N)) < N
    mask_c = mask_m[:, None] & mask_n[None, :]
    tl.store(o_ptrs, o, mask_c)


def bmm(a, b):
    batch, M, K = a.shape
    _, _, N = b.shape
    out = torch.empty((batch, M, N), dtype=torch.float32, device=a.device)
    grid = (triton.cdiv(M, 32), triton.cdiv(N, 32), batch)
    bmm_kernel[grid](a.contiguous(), b.contiguous(), out, M, N, K, TILE_M=32, TILE_N=32, TILE_K=32)
    return out


class ModelNew(nn.Module):
    def forward(self, a, b):
        return bmm(a, b)
