import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def rope_fused_kernel(
    q_ptr, k_ptr, q_out_ptr, k_out_ptr, cos_ptr, sin_ptr,
    n_rows, seq_len, D,
    stride_cos, stride_sin,
    HALF: tl.constexpr,
    BLOCK_ROWS: tl.constexpr,
):
    """Rotate-half RoPE, fused for q and k, by the house rules.

    q, k, q_out, k_out: contiguous (n_rows, D) with D = 2 * HALF, one row per (batch, head,
    position); cos, sin: (>= seq_len, >= HALF), row r uses cos[r % seq_len, :HALF].

    Every load and store of q and k uses one `offs` and one `mask` over a tile of whole rows;
    the two halves of each row are taken apart and put back together in registers. cos and sin
    are broadcast operands: the row index vector and the half-width column vector, each sliced
    explicitly.
    """
    pid = tl.program_id(0)
    rows = pid * BLOCK_ROWS + tl.arange(0, BLOCK_ROWS)
    cols = tl.arange(0, 2 * HALF)
    halves = tl.arange(0, HALF)

    offs = rows[:, None] * D + cols[None, :]
    mask = (rows[:, None] < n_rows) & (cols[None, :] < D)

    pos = rows % seq_len
    cs_mask = (rows[:, None] < n_rows) & (halves[None, :] < HALF)
    c = tl.load(cos_ptr + pos[:, None] * stride_cos + halves[None, :], mask=cs_mask, other=0.0).to(tl.float32)
    s = tl.load(sin_ptr + pos[:, None] * stride_sin + halves[None, :], mask=cs_mask, other=0.0).to(tl.float32)

    q = tl.load(q_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    k = tl.load(k_ptr + offs, mask=mask, other=0.0).to(tl.float32)

    # [R, 2 * HALF] -> [R, 2, HALF] -> [R, HALF, 2] -> two [R, HALF] halves
    q1, q2 = tl.split(tl.permute(tl.reshape(q, [BLOCK_ROWS, 2, HALF]), [0, 2, 1]))
    k1, k2 = tl.split(tl.permute(tl.reshape(k, [BLOCK_ROWS, 2, HALF]), [0, 2, 1]))
    q_rot = tl.reshape(tl.permute(tl.join(q1 * c - q2 * s, q2 * c + q1 * s), [0, 2, 1]), [BLOCK_ROWS, 2 * HALF])
    k_rot = tl.reshape(tl.permute(tl.join(k1 * c - k2 * s, k2 * c + k1 * s), [0, 2, 1]), [BLOCK_ROWS, 2 * HALF])

    tl.store(q_out_ptr + offs, q_rot.to(q_out_ptr.dtype.element_ty), mask=mask)
    tl.store(k_out_ptr + offs, k_rot.to(k_out_ptr.dtype.element_ty), mask=mask)


def rope_fused(q: torch.Tensor, k: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor):
    """q, k: (B, H, S, D); cos, sin: (S, >= D // 2). Returns new rotated q and k (the inputs are
    not changed) and cos/sin truncated to (S, D // 2)."""
    B, H, S, D = q.shape
    HALF = D // 2
    assert D % 2 == 0 and HALF & (HALF - 1) == 0, "head_dim must be twice a power of two"
    q = q.contiguous()
    k = k.contiguous()
    cos = cos.contiguous()
    sin = sin.contiguous()
    q_out = torch.empty_like(q)
    k_out = torch.empty_like(k)
    n_rows = B * H * S
    BLOCK_ROWS = max(1, min(64, 4096 // D))
    grid = (triton.cdiv(n_rows, BLOCK_ROWS),)
    rope_fused_kernel[grid](
        q, k, q_out, k_out, cos, sin,
        n_rows, S, D,
        cos.stride(0), sin.stride(0),
        HALF=HALF,
        BLOCK_ROWS=BLOCK_ROWS,
    )
    return q_out, k_out, cos[:S, :HALF], sin[:S, :HALF]


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, q, k, cos, sin):
        return rope_fused(q, k, cos, sin)
