"""Where did Liger's fp32 lead come from? A probe, not the benchmark.

Times, in three alternating rounds on one GPU (benchmarks/rope.py's device_ms, L2 cleared before
each call), on the benchmark's shapes:
- examples/rope.py as shipped: a program rotates a [R, D] tile of q or of k (one stream read,
  one written);
- version 2, the kernel it replaced: a program rotates the same tile of q and of k (two streams
  read, two written), which was 0.5-0.8 % behind Liger on fp32;
- the "half-rows" tile [2R, D/2] of both tensors (line j holds half j // R of row j % R; cos/sin
  loaded through the same lines: no layout conversion in Triton 3.6 or 3.9);
- examples/rope.py at 2R rows, and the same tile with q and k programs interleaved (a control:
  is it the streams per program, or q's and k's programs running apart?);
- Liger's RoPE (native BSHD layout, in place) and torch.compile of the reference.
With --ncu, instead launches each fp32 kernel twice (no timing) for Nsight Compute to profile:

    ncu --clock-control none --kernel-name regex:"rope|triton_poi" --section SpeedOfLight \
        --section MemoryWorkloadAnalysis --section Occupancy --section WarpStateStats \
        --section LaunchStats -o DIR/fp32 python benchmarks/rope_fp32_probe.py --ncu
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
import triton
import triton.language as tl

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rope as bench  # noqa: E402  (benchmarks/rope.py)

NCU_SHAPE = (4, 32, 4096, 128, torch.float32)


@triton.jit
def rope_halfrows_kernel(q_ptr, k_ptr, q_out_ptr, k_out_ptr, cos_ptr, sin_ptr, n_rows, seq_len,
                         stride_cos_s, stride_sin_s, HALF: tl.constexpr, BLOCK_ROWS: tl.constexpr):
    """Rows of 2 * HALF contiguous elements (HALF a power of two here); cos/sin rows contiguous."""
    pid = tl.program_id(0)
    lines = tl.arange(0, 2 * BLOCK_ROWS)
    line_rows = pid * BLOCK_ROWS + lines % BLOCK_ROWS
    cols = tl.arange(0, HALF)
    offs = line_rows[:, None].to(tl.int64) * (2 * HALF) + ((lines // BLOCK_ROWS) * HALF)[:, None] + cols[None, :]
    mask = (line_rows[:, None] < n_rows) & (cols[None, :] < HALF)

    # cos/sin are loaded through the same [2R, D/2] lines (the second-half lines masked off), so
    # that after the split they sit in q's registers: no layout conversion for them either.
    pos = line_rows % seq_len
    cs_mask = mask & (lines < BLOCK_ROWS)[:, None]
    c = tl.load(cos_ptr + pos[:, None] * stride_cos_s + cols[None, :], mask=cs_mask, other=0.0).to(tl.float32)
    s = tl.load(sin_ptr + pos[:, None] * stride_sin_s + cols[None, :], mask=cs_mask, other=0.0).to(tl.float32)
    c, _ = tl.split(tl.permute(tl.reshape(c, [2, BLOCK_ROWS, HALF]), [1, 2, 0]))
    s, _ = tl.split(tl.permute(tl.reshape(s, [2, BLOCK_ROWS, HALF]), [1, 2, 0]))

    q = tl.load(q_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    k = tl.load(k_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    q1, q2 = tl.split(tl.permute(tl.reshape(q, [2, BLOCK_ROWS, HALF]), [1, 2, 0]))
    k1, k2 = tl.split(tl.permute(tl.reshape(k, [2, BLOCK_ROWS, HALF]), [1, 2, 0]))
    q_rot = tl.reshape(tl.permute(tl.join(q1 * c - q2 * s, q2 * c + q1 * s), [2, 0, 1]), [2 * BLOCK_ROWS, HALF])
    k_rot = tl.reshape(tl.permute(tl.join(k1 * c - k2 * s, k2 * c + k1 * s), [2, 0, 1]), [2 * BLOCK_ROWS, HALF])
    tl.store(q_out_ptr + offs, q_rot.to(q_out_ptr.dtype.element_ty), mask=mask)
    tl.store(k_out_ptr + offs, k_rot.to(k_out_ptr.dtype.element_ty), mask=mask)


def rope_halfrows(q, k, cos, sin, block_rows=16, num_warps=4):
    B, H, S, D = q.shape
    c, s = cos[:S, : D // 2], sin[:S, : D // 2]
    assert c.stride(1) == 1 and s.stride(1) == 1 and q.is_contiguous() and k.is_contiguous()
    assert D // 2 == triton.next_power_of_2(D // 2)
    q_out, k_out = torch.empty_like(q), torch.empty_like(k)
    n_rows = B * H * S
    rope_halfrows_kernel[(triton.cdiv(n_rows, block_rows),)](
        q, k, q_out, k_out, c, s, n_rows, S, c.stride(0), s.stride(0), HALF=D // 2, BLOCK_ROWS=block_rows,
        num_warps=num_warps)
    return q_out, k_out, c, s


FAST = bench.load_example("rope")
_rotate_half = FAST._rotate_half


@triton.jit
def rope_interleaved_kernel(q_ptr, k_ptr, q_out_ptr, k_out_ptr, cos_ptr, sin_ptr, n_rows, seq_len,
                            stride_cos_s, stride_sin_s, HALF: tl.constexpr, BLOCK_ROWS: tl.constexpr):
    """The control for examples/rope.py's one tensor a program (power-of-two D): the same tile,
    but even programs take q and odd ones k, instead of all of q's programs before k's."""
    pid = tl.program_id(0)
    is_k = pid % 2 == 1
    x_ptr = tl.where(is_k, k_ptr, q_ptr)
    out_ptr = tl.where(is_k, k_out_ptr, q_out_ptr)
    rows = (pid // 2) * BLOCK_ROWS + tl.arange(0, BLOCK_ROWS)
    cols = tl.arange(0, 2 * HALF)
    halves = tl.arange(0, HALF)
    offs = rows[:, None].to(tl.int64) * (2 * HALF) + cols[None, :]
    mask = (rows[:, None] < n_rows) & (cols[None, :] < 2 * HALF)
    pos = rows % seq_len
    cs_mask = (rows[:, None] < n_rows) & (halves[None, :] < HALF)
    c = tl.load(cos_ptr + pos[:, None] * stride_cos_s + halves[None, :], mask=cs_mask, other=0.0).to(tl.float32)
    s = tl.load(sin_ptr + pos[:, None] * stride_sin_s + halves[None, :], mask=cs_mask, other=0.0).to(tl.float32)
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    tl.store(out_ptr + offs, _rotate_half(x, c, s, BLOCK_ROWS, HALF).to(out_ptr.dtype.element_ty), mask=mask)


def rope_interleaved(q, k, cos, sin, block_rows=32, num_warps=4):
    B, H, S, D = q.shape
    c, s = cos[:S, : D // 2], sin[:S, : D // 2]
    assert c.stride(1) == 1 and s.stride(1) == 1 and q.is_contiguous() and k.is_contiguous()
    assert D // 2 == triton.next_power_of_2(D // 2)
    q_out, k_out = torch.empty_like(q), torch.empty_like(k)
    n_rows = B * H * S
    rope_interleaved_kernel[(2 * triton.cdiv(n_rows, block_rows),)](
        q, k, q_out, k_out, c, s, n_rows, S, c.stride(0), s.stride(0), HALF=D // 2,
        BLOCK_ROWS=block_rows, num_warps=num_warps)
    return q_out, k_out, c, s


@triton.jit
def rope_both_tensors_kernel(
    q_ptr, k_ptr, q_out_ptr, k_out_ptr, cos_ptr, sin_ptr,
    n_rows, seq_len,
    stride_cos_s, stride_cos_d, stride_sin_s, stride_sin_d,
    HALF: tl.constexpr,
    BLOCK_HALF: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_ROWS: tl.constexpr,
):
    """examples/rope.py before the one-tensor-a-program change (version 2): a program rotates the
    same tile of q and of k, so it reads two streams and writes two.

    q, k, q_out, k_out: contiguous (n_rows, 2 * HALF), one row per (batch, head, position).
    cos, sin: (>= seq_len, >= HALF), any strides; row r uses cos[r % seq_len, :HALF].

    The tile is BLOCK_ROWS whole rows, [BLOCK_ROWS, BLOCK_D] with BLOCK_D = 2 * BLOCK_HALF: tile
    column j holds element (j // BLOCK_HALF) * HALF + j % BLOCK_HALF of its row, so the two halves
    of a row sit in the two halves of the tile even when HALF is not a power of two (the padding
    columns are masked off). One offsets tuple and one mask serve every load and store of q and k;
    the halves are taken apart and put back together in registers.
    """
    pid = tl.program_id(0)
    rows = pid * BLOCK_ROWS + tl.arange(0, BLOCK_ROWS)
    cols = tl.arange(0, BLOCK_D)
    halves = tl.arange(0, BLOCK_HALF)

    col_in_half = cols % BLOCK_HALF
    offs = rows[:, None].to(tl.int64) * (2 * HALF) + ((cols // BLOCK_HALF) * HALF + col_in_half)[None, :]
    mask = (rows[:, None] < n_rows) & (col_in_half[None, :] < HALF)

    # cos/sin are broadcast over batch and heads: the same row vector, taken modulo the sequence
    # length, and the half-width column vector, sliced explicitly.
    pos = rows % seq_len
    cs_mask = (rows[:, None] < n_rows) & (halves[None, :] < HALF)
    c = tl.load(cos_ptr + pos[:, None] * stride_cos_s + halves[None, :] * stride_cos_d,
                mask=cs_mask, other=0.0).to(tl.float32)
    s = tl.load(sin_ptr + pos[:, None] * stride_sin_s + halves[None, :] * stride_sin_d,
                mask=cs_mask, other=0.0).to(tl.float32)

    q = tl.load(q_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    k = tl.load(k_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    q_rot = _rotate_half(q, c, s, BLOCK_ROWS, BLOCK_HALF)
    k_rot = _rotate_half(k, c, s, BLOCK_ROWS, BLOCK_HALF)
    tl.store(q_out_ptr + offs, q_rot.to(q_out_ptr.dtype.element_ty), mask=mask)
    tl.store(k_out_ptr + offs, k_rot.to(k_out_ptr.dtype.element_ty), mask=mask)


def rope_both_tensors(q, k, cos, sin):
    B, H, S, D = q.shape
    c, s = cos[:S, : D // 2], sin[:S, : D // 2]
    q_out, k_out = torch.empty_like(q), torch.empty_like(k)
    n_rows = B * H * S
    block_half, block_rows = FAST.rope_launch_config(n_rows, D, q.element_size(), q.device)
    # version 2's rule counted a program per tile, not two
    while block_rows > FAST.MIN_ROWS and triton.cdiv(n_rows, block_rows) < 2 * FAST._multiprocessor_count(q.device):
        block_rows //= 2
    rope_both_tensors_kernel[(triton.cdiv(n_rows, block_rows),)](
        q, k, q_out, k_out, c, s, n_rows, S, c.stride(0), c.stride(1), s.stride(0), s.stride(1),
        HALF=D // 2, BLOCK_HALF=block_half, BLOCK_D=2 * block_half, BLOCK_ROWS=block_rows)
    return q_out, k_out, c, s


def implementations(shape, fast, reference, liger, compiled):
    B, H, S, D, dtype = shape
    cos, sin = reference.rope_tables(S + 64, D, dtype, device="cuda")
    q = torch.randn(B, H, S, D, dtype=dtype, device="cuda")
    k = torch.randn(B, H, S, D, dtype=dtype, device="cuda")
    q_bshd, k_bshd = q.transpose(1, 2).contiguous(), k.transpose(1, 2).contiguous()
    cos_l, sin_l = cos[:S, : D // 2].contiguous(), sin[:S, : D // 2].contiguous()
    ref = bench.exact(q, cos, sin), bench.exact(k, cos, sin)
    rows = fast.rope_launch_config(B * H * S, D, q.element_size(), q.device)[1]  # the shipped rule's R
    impls = {
        "rope.py (shipped)": lambda: fast.rope_triton(q, k, cos, sin),
        "both tensors a program (v2)": lambda: rope_both_tensors(q, k, cos, sin),
        "half-rows R16 w4": lambda: rope_halfrows(q, k, cos, sin, 16, 4),
        "one tensor, 2R rows": lambda: fast.rope_triton(q, k, cos, sin, block_rows=2 * rows),
        "one tensor, 2R, interleaved": lambda: rope_interleaved(q, k, cos, sin, 2 * rows),
        "liger (in place, BSHD)": lambda: liger.rope_forward(q_bshd.transpose(1, 2), k_bshd.transpose(1, 2),
                                                             cos_l, sin_l, rotary_dim=D),
        "torch.compile": lambda: compiled(q, k, cos, sin),
    }
    for name, fn in impls.items():
        if name != "liger (in place, BSHD)" and name != "torch.compile":
            out_q, out_k = fn()[:2]
            err = max(bench.rel_err(out_q, ref[0]), bench.rel_err(out_k, ref[1]))
            assert err < bench.TOLERANCE[dtype], (name, err)
    return impls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ncu", action="store_true", help="launch each fp32 kernel twice, untimed, for ncu")
    args = parser.parse_args()
    fast, reference = FAST, bench.load_example("rope_reference")
    liger, _ = bench.load_liger()
    compiled = torch.compile(reference.Model(), dynamic=False)
    if args.ncu:
        impls = implementations(NCU_SHAPE, fast, reference, liger, compiled)
        for fn in impls.values():
            fn()
            fn()
        torch.cuda.synchronize()
        return
    rows = []
    for shape in bench.SHAPES:
        impls = implementations(shape, fast, reference, liger, compiled)
        times = {name: [] for name in impls}
        for _ in range(3):
            for name, fn in impls.items():
                times[name].append(bench.device_ms(fn))
        for name, ms in times.items():
            rows.append((bench.shape_name(*shape), name, ms))
        torch.cuda.empty_cache()
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, triton {triton.__version__}")
    print(f"{'shape':<22} {'implementation':<28} {'round 1':>8} {'round 2':>8} {'round 3':>8} {'median':>8}")
    for shape, name, ms in rows:
        print(f"{shape:<22} {name:<28} " + " ".join(f"{m:8.4f}" for m in ms) + f" {statistics.median(ms):8.4f}")


if __name__ == "__main__":
    main()
