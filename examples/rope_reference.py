"""RoPE (rotate-half form) in plain PyTorch: the contract that examples/rope.py must meet.

q, k: (B, H, S, D), D even. cos, sin: (S', D') with S' >= S and D' >= D/2; only
cos[:S, :D/2] and sin[:S, :D/2] are used. With x = [x1, x2] split in halves along D:

    rotated = [x1 * cos - x2 * sin,  x2 * cos + x1 * sin]

The arithmetic is done in float32 and the result is stored in the input dtype.
forward returns (q_rot, k_rot, cos[:S, :D/2], sin[:S, :D/2]); the inputs are not modified.
"""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    @staticmethod
    def _rotate_half(x, cos, sin):
        half = x.shape[-1] // 2
        x1 = x[..., :half].float()
        x2 = x[..., half:].float()
        out = torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)
        return out.to(x.dtype)

    def forward(self, q, k, cos, sin):
        seq_len, head_dim = q.shape[-2], q.shape[-1]
        cos_used = cos[:seq_len, : head_dim // 2]
        sin_used = sin[:seq_len, : head_dim // 2]
        cos_f, sin_f = cos_used.float(), sin_used.float()
        return (
            self._rotate_half(q, cos_f, sin_f),
            self._rotate_half(k, cos_f, sin_f),
            cos_used,
            sin_used,
        )


# A Llama-like attention block: 32 heads of 128, 4096 positions, bf16.
BATCH, HEADS, SEQ_LEN, HEAD_DIM = 4, 32, 4096, 128
MAX_POSITIONS = 8192  # the cos/sin cache is built for more positions than one call uses
DTYPE = torch.bfloat16


def rope_tables(max_positions, head_dim, dtype, base=10000.0, device=None):
    """cos/sin tables of shape (max_positions, head_dim // 2), as a model's rotary cache holds them."""
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float64, device=device) / head_dim))
    angles = torch.arange(max_positions, dtype=torch.float64, device=device)[:, None] * inv_freq[None, :]
    return angles.cos().to(dtype), angles.sin().to(dtype)


def get_inputs():
    q = torch.randn(BATCH, HEADS, SEQ_LEN, HEAD_DIM, dtype=DTYPE)
    k = torch.randn(BATCH, HEADS, SEQ_LEN, HEAD_DIM, dtype=DTYPE)
    cos, sin = rope_tables(MAX_POSITIONS, HEAD_DIM, DTYPE)
    return [q, k, cos, sin]


def get_init_inputs():
    return []

