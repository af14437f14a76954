"""Minimal reproducer of a finding on FastVideo at 2f3d4074 (fastvideo-kernel/python/
fastvideo_kernel/turbodiffusion_ops.py:130, :138, :148; FL402 mask-misses-axis and FL401
unmasked-tail-access), for an upstream report: `rmsnorm` launches `_rms_norm_fwd_fused` on
cdiv(M, BLOCK_M) programs with BLOCK_M = 32 whenever the row length N <= 512, M being the
number of rows (tokens); each program loads and stores 32 rows masked on the columns only, and
stores 32 `rstd` values unmasked, so when M % 32 != 0 the last program reads X and writes Y and
Rstd up to 31 rows past their ends. `layernorm_param` and `layernorm_noparam` in the same file
(lines 230-255, 328-348) have the same shape.

    fuselint check examples/found/fastvideo_rmsnorm_rows.py
    fuselint run examples/found/fastvideo_rmsnorm_rows.py --reference examples/found/rmsnorm_reference.py --sanitize

Trimmed from fastvideo-kernel/python/fastvideo_kernel/turbodiffusion_ops.py (FastVideo,
https://github.com/hao-ai-lab/FastVideo, Apache License 2.0, (c) the FastVideo authors;
modified): `rmsnorm` and the kernel as released, `flatten_if_batched` reduced to one tensor.
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def _rms_norm_fwd_fused(
    X,
    Y,
    W,
    Rstd,
    x_stride,
    y_stride,
    N: tl.constexpr,  # number of columns in X,
    N2: tl.constexpr,
    eps,  # epsilon to avoid division by zero
    BLOCK_M: tl.constexpr,
):
    # Map the program id to the row of X and Y it should compute.
    pid = tl.program_id(0)
    rows = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.arange(0, N2)
    mask = cols < N

    x_ptr = X + rows[:, None] * x_stride + cols[None, :]
    y_ptr = Y + rows[:, None] * y_stride + cols[None, :]

    x = tl.load(x_ptr, mask=mask[None, :], other=0.0).to(tl.float32)

    # Compute variance
    _var = x * x
    var = tl.sum(_var, axis=1) / N
    rstd = 1 / tl.sqrt(var + eps)

    # Write mean / rstd
    tl.store(Rstd + rows, rstd)
    rstd = tl.reshape(rstd, (BLOCK_M, 1))

    # Normalize and apply linear transformation
    w = tl.load(W + cols)
    x_hat = x * rstd
    y = x_hat * w

    # Write output
    y = y.to(Y.type.element_ty)
    tl.store(y_ptr, y, mask=mask[None, :])


def flatten_if_batched(x):
    if x.dim() == 3:
        return x.reshape(-1, x.shape[-1]), True, x.shape[0]
    return x, False, None


def rmsnorm(x, w, eps):
    assert x.is_contiguous(), "Input must be contiguous"
    # Change batched 3D input to 2D
    x, batched, BS = flatten_if_batched(x)

    # allocate output
    M, N = x.shape
    y = torch.empty_like(x, dtype=x.dtype)
    rstd = torch.empty((M, ), dtype=torch.float32, device=x.device)

    # heuristics for number of warps
    num_warps = 8

    # Avoid illegal memory access
    N2 = triton.next_power_of_2(N)

    if N <= 512:
        BLOCK_M = 32
    else:
        BLOCK_M = 1

    # Call the triton kernel
    _rms_norm_fwd_fused[(triton.cdiv(M, BLOCK_M), )](  #
        x,
        y,
        w,
        rstd,  #
        x.stride(0),
        y.stride(0),
        N,
        N2,
        eps,
        num_warps=num_warps,
        BLOCK_M=BLOCK_M,
    )

    # Recover 2D to 3D
    if batched:
        y = y.reshape(BS, -1, y.shape[-1])

    return y, rstd


class ModelNew(nn.Module):
    def __init__(self, dim=64, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return rmsnorm(x, self.weight, self.eps)[0]
