# add_vec2mat_2d from https://github.com/triton-lang/triton/issues/3351 (the question's kernel,
# with its bounds mask commented out), trimmed to the kernel and its launch; "after" applies the
# 2-D mask the thread settles on.
import torch
import triton
import triton.language as tl


@triton.jit
def add_vec2mat_2d(X, Y, Z, L, K, BLOCK_SIZE_L: tl.constexpr, BLOCK_SIZE_K: tl.constexpr):
    row = tl.program_id(0) * BLOCK_SIZE_L + tl.arange(0, BLOCK_SIZE_L)
    col = tl.program_id(1) * BLOCK_SIZE_K + tl.arange(0, BLOCK_SIZE_K)
    mask = (row[:, None] < L) & (col[None, :] < K)
    x = tl.load(X + col, mask=col < K)  # fixed
    y = tl.load(Y + row[:, None] * K + col, mask=mask)  # fixed
    z = x + y
    tl.store(Z + row[:, None] * K + col, z, mask=mask)  # fixed


def add_vec2mat(x, y, L, K):
    z = torch.empty_like(y)
    BLOCK_SIZE_L, BLOCK_SIZE_K = 4, 4
    grid = (triton.cdiv(L, BLOCK_SIZE_L), triton.cdiv(K, BLOCK_SIZE_K))
    add_vec2mat_2d[grid](x, y, z, L, K, BLOCK_SIZE_L=BLOCK_SIZE_L, BLOCK_SIZE_K=BLOCK_SIZE_K)
    return z
