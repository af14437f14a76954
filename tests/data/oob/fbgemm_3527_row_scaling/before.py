# FBGEMM row-wise scaling before https://github.com/pytorch/FBGEMM/pull/3527 ("Masking is needed
# to avoid out-of-bound reference for the last row. This fixes an illegal access error.").
# Reconstructed from the PR description: a tile of BLOCK_M rows scales each row by its
# scale; the output is masked, the per-row scale load of the last tile is not.
import torch
import triton
import triton.language as tl


@triton.jit
def scale_rows_kernel(A, A_scale, Out, M, N, stride_am, stride_om, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    rm = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    mask = (rm[:, None] < M) & (rn[None, :] < N)
    a = tl.load(A + rm[:, None] * stride_am + rn[None, :], mask=mask, other=0.0)
    scale = tl.load(A_scale + rm)  # oob
    tl.store(Out + rm[:, None] * stride_om + rn[None, :], a * scale[:, None], mask=mask)


def scale_rows(a, a_scale):
    M, N = a.shape
    out = torch.empty_like(a)
    grid = (triton.cdiv(M, 64), triton.cdiv(N, 128))
    scale_rows_kernel[grid](a, a_scale, out, M, N, a.stride(0), out.stride(0), BLOCK_M=64, BLOCK_N=128)
    return out
