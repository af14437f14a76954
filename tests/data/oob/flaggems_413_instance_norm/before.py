# FlagGems src/flag_gems/ops/instancenorm.py weight_bias_backward_kernel before
# https://github.com/flagos-ai/FlagGems/pull/413 ("adding a missing row_mask to the tl.load
# operations for Mean and Rstd"). Trimmed to the rows/columns loop of the kernel; the Mean and
# Rstd loads are the lines the PR changes.
import triton
import triton.language as tl


@triton.jit
def weight_bias_backward_kernel(dY, X, Mean, Rstd, dW, dB, M, N, C, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    pid = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    col_mask = pid < C
    accW = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
    accB = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
    for off in range(0, M * N, BLOCK_N):
        j = off + tl.arange(0, BLOCK_N)
        mid = j // N
        ij = mid * N * C + pid[:, None] * N + (j % N)[None, :]
        row_mask = j < M * N
        mask = col_mask[:, None] & row_mask[None, :]
        dy = tl.load(dY + ij, mask=mask, other=0.0).to(tl.float32)
        x = tl.load(X + ij, mask=mask, other=0.0).to(tl.float32)
        mean = tl.load(Mean + mid).to(tl.float32)  # oob
        rstd = tl.load(Rstd + mid).to(tl.float32)  # oob
        x_hat = (x - mean[None, :]) * rstd[None, :]
        accW += dy * x_hat
        accB += dy
    tl.store(dW + pid, tl.sum(accW, axis=1), mask=col_mask)
    tl.store(dB + pid, tl.sum(accB, axis=1), mask=col_mask)
