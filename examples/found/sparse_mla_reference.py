"""Sparse MLA forward (DeepSeek DSA), causal: each query position attends to the top-k kv positions
its kv group's indices name (those <= its position; none left gives 0). VG = 2 kv groups of
G = 4 heads: G is no multiple of the kernel's head block (16)."""
import torch
import torch.nn as nn

B, SQ, VG, G, D, TD, K = 1, 8, 2, 4, 16, 16, 8


class Model(nn.Module):
    def __init__(self, d_v):
        super().__init__()
        self.d_v = d_v

    def forward(self, q, kv, indices):
        b, sq, h, dt = q.shape
        vg = kv.shape[2]
        g = h // vg
        qf, kvf = q.float(), kv.float()
        group = torch.arange(h) // g  # the kv group of each head
        ids = indices.long()  # [B, SQ, VG, K]
        valid = (ids >= 0) & (ids <= torch.arange(sq).view(1, sq, 1, 1))
        safe = ids.clamp(0, kv.shape[1] - 1)
        # keys[b, s, v, k, :] = kv[b, ids[b, s, v, k], v, :]
        keys = kvf[torch.arange(b).view(b, 1, 1, 1), safe, torch.arange(vg).view(1, 1, vg, 1)]
        keys = keys[:, :, group]  # [B, SQ, H, K, DT]
        scores = torch.einsum("bshd,bshkd->bshk", qf, keys) * dt ** -0.5
        scores = scores.masked_fill(~valid[:, :, group], float("-inf"))
        p = torch.softmax(scores, dim=-1).nan_to_num(0.0)
        out = torch.einsum("bshk,bshkd->bshd", p, keys[..., : self.d_v])
        return out.to(q.dtype)


def get_inputs():
    q = torch.randn(B, SQ, VG * G, D + TD, dtype=torch.float16)
    kv = torch.randn(B, SQ, VG, D + TD, dtype=torch.float16)
    indices = torch.randint(0, SQ, (B, SQ, VG, K), dtype=torch.int32)
    return [q, kv, indices]


def get_init_inputs():
    return [D]
