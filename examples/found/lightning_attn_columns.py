"""Minimal reproducer of a finding on lightning-attention at d15c3852 (the newest commit of
OpenNLPLab/lightning-attention; lightning_attn/ops/triton/lightning_attn2_no_decay.py:59 and :71,
FL401 unmasked-tail-access; lightning_attn2.py:68 and :79 have the same shape), for an upstream
report: the forward splits the value dimension `e` into column tiles of
BLOCK_MODEL = min(next_power_of_2(e), 32) on a grid of cdiv(e, BLOCK_MODEL) programs and loads V
and stores O masked on the rows only. When `e` is no multiple of 32 (80, as in Phi-2's heads; 48;
or any e > 32 that is not), the last column tile reads V's next row and writes O's: a race with
the program that owns those columns, and past both tensors' ends on their last row.

    fuselint check examples/found/lightning_attn_columns.py
    fuselint run examples/found/lightning_attn_columns.py --reference examples/found/causal_linear_attention_reference.py --sanitize

Trimmed from lightning_attn/ops/triton/lightning_attn2_no_decay.py (lightning-attention,
https://github.com/OpenNLPLab/lightning-attention, MIT License, Copyright (c) 2024 Doraemonzzz;
modified): the forward kernel as released, the autograd Function reduced to its forward.
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def _fwd_kernel(
    Q,
    K,
    V,
    Out,
    b: tl.constexpr,
    h: tl.constexpr,
    n: tl.constexpr,
    d: tl.constexpr,
    e: tl.constexpr,
    BLOCK: tl.constexpr,
    NUM_BLOCK: tl.constexpr,
    BLOCK_MODEL: tl.constexpr,
):
    ##### get offset
    off_bh = tl.program_id(0)
    off_bh % h
    off_e = tl.program_id(1)
    qk_offset = off_bh * n * d
    v_offset = off_bh * n * e
    o_offset = off_bh * n * e
    # channel offset
    e_offset = off_e * BLOCK_MODEL

    ##### get block ptr
    Q_block_ptr = Q + qk_offset + tl.arange(0, d)[None, :]
    K_trans_block_ptr = K + qk_offset + tl.arange(0, d)[:, None]
    V_block_ptr = V + v_offset + e_offset + tl.arange(0, BLOCK_MODEL)[None, :]
    O_block_ptr = Out + o_offset + e_offset + tl.arange(0, BLOCK_MODEL)[None, :]

    ##### init diag decay(Lambda); q, k decay; kv
    # q, k decay
    off_block = tl.arange(
        0, BLOCK
    )  # Not bug, this is a bit different from algorithm 1, but is mathematically equivalent
    # diag decay
    index = off_block[:, None] - off_block[None, :]
    kv = tl.zeros([d, BLOCK_MODEL], dtype=tl.float32)

    ##### compute
    for i in range(NUM_BLOCK):
        # load
        q = tl.load(
            Q_block_ptr + off_block[:, None] * d, mask=off_block[:, None] < n, other=0.0
        ).to(tl.float32)
        k_trans = tl.load(
            K_trans_block_ptr + off_block[None, :] * d,
            mask=off_block[None, :] < n,
            other=0.0,
        ).to(tl.float32)
        v = tl.load(
            V_block_ptr + off_block[:, None] * e, mask=off_block[:, None] < n, other=0.0
        ).to(tl.float32)

        # compute
        qk = tl.dot(q, k_trans)
        qk = tl.where(index >= 0, qk, 0)
        o_intra = tl.dot(qk, v)
        o_inter = tl.dot(q, kv)
        o = o_intra + o_inter

        # save and update
        tl.store(
            O_block_ptr + off_block[:, None] * e,
            o.to(O_block_ptr.dtype.element_ty),
            mask=off_block[:, None] < n,
        )
        kv += tl.dot(k_trans, v)
        off_block += BLOCK


def lightning_attn2_no_decay(q, k, v):
    q = q.contiguous()
    k = k.contiguous()
    v = v.contiguous()

    b, h, n, d = q.shape
    e = v.shape[-1]
    o = torch.empty((b, h, n, e), dtype=q.dtype, device=q.device)

    BLOCK = 64
    NUM_BLOCK = triton.cdiv(q.shape[2], BLOCK)
    # parallel over channel
    BLOCK_MODEL = min(triton.next_power_of_2(e), 32)
    grid = (b * h, triton.cdiv(e, BLOCK_MODEL))

    _fwd_kernel[grid](
        q,
        k,
        v,
        o,
        b,
        h,
        n,
        d,
        e,
        BLOCK=BLOCK,
        NUM_BLOCK=NUM_BLOCK,
        BLOCK_MODEL=BLOCK_MODEL,
    )
    return o


class ModelNew(nn.Module):
    def forward(self, q, k, v):
        return lightning_attn2_no_decay(q, k, v)
