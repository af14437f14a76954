"""Minimal reproducer of a finding on flag-gems 5.0.2 (ops/kron.py:209 and :210, FL401
tail-access), for an upstream report: for 4-D inputs `kron` allocates `batch_indices` as
`torch.empty(batch_size * 2)` and launches `calculate_batch_indices_kernel` on
cdiv(batch_size, 256) programs of 256 lanes, which store `2 * offset` and `2 * offset + 1` with no
mask: every lane past batch_size writes two int64 past the buffer (up to 510 of them when
batch_size % 256 != 0; 476 for the 6 x 6 batch below).

    fuselint check --witness examples/found/flaggems_kron_batch_indices.py
    fuselint run examples/found/flaggems_kron_batch_indices.py --reference examples/found/kron_reference.py --sanitize

Trimmed from flag_gems/ops/kron.py (FlagGems, https://github.com/flagos-ai/FlagGems, Apache
License 2.0, (c) the FlagGems authors; modified): the 4-D path of `kron` only; `kron_kernel`
without `@triton.autotune` (BLOCK_M = BLOCK_N = 32, one of its configs) and with `tl.program_id`
for `tle.program_id`; C takes A's dtype (torch.promote_types, which `fuselint run` counts as torch
work, is left out). `calculate_batch_indices_kernel` and the allocation are as released.
"""
import math

import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def kron_kernel(
    a_ptr,
    b_ptr,
    c_ptr,
    map_ptr,
    batch_size: tl.int64,
    M: tl.int64,
    N: tl.int64,
    M1: tl.int64,
    M2: tl.int64,
    N1: tl.int64,
    N2: tl.int64,
    a_stride_0: tl.int64,
    a_stride_1: tl.int64,
    b_stride_0: tl.int64,
    b_stride_1: tl.int64,
    c_stride_0: tl.int64,
    c_stride_1: tl.int64,
    a_batch_stride: tl.int64,
    b_batch_stride: tl.int64,
    c_batch_stride: tl.int64,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    pid = tl.program_id(0)
    num_blocks_n = tl.cdiv(N, BLOCK_N)
    num_blocks_m = tl.cdiv(M, BLOCK_M)
    num_blocks_per_batch = num_blocks_m * num_blocks_n

    batch_id = pid // num_blocks_per_batch
    local_pid = pid % num_blocks_per_batch
    block_m = local_pid // num_blocks_n
    block_n = local_pid % num_blocks_n

    offs_m = block_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = block_n * BLOCK_N + tl.arange(0, BLOCK_N)

    mask = (offs_m[:, None] < M) & (offs_n[None, :] < N) & (batch_id < batch_size)

    offset = batch_id * 2
    is_valid = batch_id < batch_size
    a_batch_idx = tl.load(map_ptr + offset, mask=is_valid)
    b_batch_idx = tl.load(map_ptr + offset + 1, mask=is_valid)

    a_row = offs_m[:, None] // M2
    a_col = offs_n[None, :] // N2
    b_row = offs_m[:, None] % M2
    b_col = offs_n[None, :] % N2

    a_idx = a_batch_idx * a_batch_stride + a_row * a_stride_0 + a_col * a_stride_1
    b_idx = b_batch_idx * b_batch_stride + b_row * b_stride_0 + b_col * b_stride_1

    a = tl.load(a_ptr + a_idx, mask=mask)
    b = tl.load(b_ptr + b_idx, mask=mask)
    c = a * b

    c_idx = (
        batch_id * c_batch_stride
        + offs_m[:, None] * c_stride_0
        + offs_n[None, :] * c_stride_1
    )
    tl.store(c_ptr + c_idx, c, mask=mask)


@triton.jit
def calculate_batch_indices_kernel(
    batch_indices_ptr,
    a_batch0: tl.int64,
    a_batch1: tl.int64,
    b_batch0: tl.int64,
    b_batch1: tl.int64,
    out_batch0: tl.int64,
    out_batch1: tl.int64,
    BLOCK_SIZE: tl.constexpr,
):
    pid = tl.program_id(axis=0)

    offset = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)

    out_indice1 = offset % out_batch1
    remaining = offset // out_batch1
    out_indice0 = remaining % out_batch0
    a_idx = out_indice0 // b_batch0
    a_idx = a_idx * a_batch1 + (out_indice1 // b_batch1)
    b_idx = out_indice0 % b_batch0
    b_idx = b_idx * b_batch1 + (out_indice1 % b_batch1)

    a_store_offset = 2 * offset
    b_store_offset = 2 * offset + 1
    tl.store(batch_indices_ptr + a_store_offset, a_idx)
    tl.store(batch_indices_ptr + b_store_offset, b_idx)


def kron(A, B):
    assert A.dim() == 4 and B.dim() == 4 and A.dtype == B.dtype, "the 4-D path of flag_gems' kron"
    out_shape = tuple(a * b for a, b in zip(A.shape, B.shape))
    M1, N1 = A.shape[-2:]
    M2, N2 = B.shape[-2:]
    M, N = M1 * M2, N1 * N2
    batch_size = math.prod(out_shape[:-2]) if out_shape[:-2] else 1

    C = torch.empty(out_shape, device=A.device, dtype=A.dtype)

    C_reshaped = C.view(-1, M, N)
    A_view = A.reshape(-1, M1, N1).contiguous()
    B_view = B.reshape(-1, M2, N2).contiguous()
    a_batch_stride = M1 * N1
    b_batch_stride = M2 * N2
    c_batch_stride = M * N
    batch_indices = torch.empty(batch_size * 2, device=A.device, dtype=torch.int64)
    a_batch0, a_batch1 = A.shape[:-2]
    b_batch0, b_batch1 = B.shape[:-2]
    out_batch0 = a_batch0 * b_batch0
    out_batch1 = a_batch1 * b_batch1
    indice_tile_size = 256
    grid_for_indice = (triton.cdiv(batch_size, indice_tile_size),)
    calculate_batch_indices_kernel[grid_for_indice](
        batch_indices,
        a_batch0,
        a_batch1,
        b_batch0,
        b_batch1,
        out_batch0,
        out_batch1,
        BLOCK_SIZE=indice_tile_size,
    )
    BLOCK_M, BLOCK_N = 32, 32
    grid = (batch_size * triton.cdiv(M, BLOCK_M) * triton.cdiv(N, BLOCK_N),)
    kron_kernel[grid](
        A_view, B_view, C_reshaped, batch_indices, batch_size, M, N, M1, M2, N1, N2,
        A_view.stride(1), A_view.stride(2), B_view.stride(1), B_view.stride(2),
        C_reshaped.stride(1), C_reshaped.stride(2), a_batch_stride, b_batch_stride, c_batch_stride,
        BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return C


class ModelNew(nn.Module):
    def forward(self, a, b):
        return kron(a, b)
