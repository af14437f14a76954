"""Why is torch.compile's kernel faster than examples/rope.py on the decode-like shape after an L2
clear (5.6 against 6.4 us) and slower back to back (4.1 against 3.9 us)? A probe, not the benchmark.

On 1x32x128x128 bf16, times (benchmarks/rope.py's device_ms after an L2 clear, and back to back
over rotating inputs), in three alternating rounds: examples/rope.py at its rule's tile (16 rows,
4 warps, 512 programs) and at smaller tiles with fewer warps (more, shorter programs), Liger,
torch.compile of the reference, torch.compile's generated kernel copied and launched through
Triton's own launcher, an empty Triton kernel of 512 programs, and a device copy of the same bytes.
With --ncu, instead launches each kernel twice (no timing) for Nsight Compute, which flushes the
caches before each launch, as the L2 clear does:

    ncu --clock-control none --kernel-name regex:"rope|triton_poi|copy" --section SpeedOfLight \\
        --section WarpStateStats --section LaunchStats --section Occupancy \\
        -o DIR/decode python benchmarks/rope_decode_probe.py --ncu
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

SHAPE = (1, 32, 128, 128, torch.bfloat16)
TILES = [(16, 4), (8, 2), (4, 1), (32, 4)]  # (BLOCK_ROWS, num_warps); the rule picks (16, 4)


@triton.jit
def inductor_rope_kernel(in_ptr0, in_ptr1, in_ptr2, in_ptr3, out_ptr1, out_ptr3, xnumel, XBLOCK: tl.constexpr):
    """torch.compile's kernel for this shape (torch 2.11, TORCH_LOGS=output_code), copied with its
    temporaries folded, to launch it through Triton's own launcher: q = in_ptr0, k = in_ptr3,
    cos = in_ptr1, sin = in_ptr2; each element loads its own half and the other half of its row."""
    xindex = tl.program_id(0) * XBLOCK + tl.arange(0, XBLOCK)
    x0 = xindex % 128
    x4 = xindex // 128
    x1 = (xindex // 128) % 128
    lo = x0 < 64
    hi = x0 >= 64
    c_lo = tl.load(in_ptr1 + (64 * x1 + x0), lo, eviction_policy="evict_last", other=0.0).to(tl.float32)
    s_lo = tl.load(in_ptr2 + (64 * x1 + x0), lo, eviction_policy="evict_last", other=0.0).to(tl.float32)
    c_hi = tl.load(in_ptr1 + (64 * x1 + (x0 - 64)), hi, eviction_policy="evict_last", other=0.0).to(tl.float32)
    s_hi = tl.load(in_ptr2 + (64 * x1 + (x0 - 64)), hi, eviction_policy="evict_last", other=0.0).to(tl.float32)
    _inductor_rotate(in_ptr0, out_ptr1, xindex, x0, x4, lo, hi, c_lo, s_lo, c_hi, s_hi)
    _inductor_rotate(in_ptr3, out_ptr3, xindex, x0, x4, lo, hi, c_lo, s_lo, c_hi, s_hi)


@triton.jit
def _inductor_rotate(x_ptr, out_ptr, xindex, x0, x4, lo, hi, c_lo, s_lo, c_hi, s_hi):
    a = tl.load(x_ptr + (128 * x4 + x0), lo, eviction_policy="evict_last", other=0.0).to(tl.float32)
    b = tl.load(x_ptr + (64 + 128 * x4 + x0), lo, eviction_policy="evict_last", other=0.0).to(tl.float32)
    c = tl.load(x_ptr + (64 + 128 * x4 + (x0 - 64)), hi, eviction_policy="evict_last", other=0.0).to(tl.float32)
    d = tl.load(x_ptr + (128 * x4 + (x0 - 64)), hi, eviction_policy="evict_last", other=0.0).to(tl.float32)
    y = tl.where(lo, a * c_lo - b * s_lo, c * c_hi + d * s_hi)
    tl.store(out_ptr + xindex, y.to(out_ptr.dtype.element_ty), None)


@triton.jit
def empty_kernel(x_ptr):
    pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ncu", action="store_true", help="launch each kernel twice, untimed, for ncu")
    args = parser.parse_args()
    fast, reference = bench.load_example("rope"), bench.load_example("rope_reference")
    liger, _ = bench.load_liger()
    compiled = torch.compile(reference.Model(), dynamic=False)
    case = bench.Case(SHAPE, (reference, fast, bench.load_example("rope_baseline"), liger), compiled)
    B, H, S, D, dtype = SHAPE
    copies = bench.copy_fns(bench.minimal_bytes(*SHAPE))

    def variant(rows, warps):
        return lambda i: (lambda: fast.rope_triton(case.sets[i]["q"], case.sets[i]["k"], case.cos, case.sin,
                                                   block_rows=rows, num_warps=warps))

    impls = {f"rope.py R{rows} w{warps}": variant(rows, warps) for rows, warps in TILES}
    impls["liger (in place, BSHD)"] = lambda i: case.fn("liger", i)
    impls["torch.compile"] = lambda i: case.fn("compile", i)
    impls["copy of the same bytes"] = lambda i: copies[i % len(copies)]

    def inductor_copy(i):
        q, k = case.sets[i]["q"], case.sets[i]["k"]
        c, s = case.cos[:S].contiguous(), case.sin[:S].contiguous()

        def run():
            q_out, k_out = torch.empty_like(q), torch.empty_like(k)
            inductor_rope_kernel[(q.numel() // 512,)](q, c, s, k, q_out, k_out, q.numel(), XBLOCK=512, num_warps=8)
            return q_out, k_out
        return run
    impls["torch.compile's kernel via triton.jit"] = inductor_copy
    impls["empty kernel, 512 programs"] = lambda i: (lambda: empty_kernel[(512,)](case.sets[i]["q"]))
    out_q, out_k = inductor_copy(0)()
    q, k = case.sets[0]["q"], case.sets[0]["k"]
    assert max(bench.rel_err(out_q, bench.exact(q, case.cos, case.sin)),
               bench.rel_err(out_k, bench.exact(k, case.cos, case.sin))) < bench.TOLERANCE[dtype]
    for name, make in impls.items():
        if name.startswith("rope.py"):
            q, k = case.sets[0]["q"], case.sets[0]["k"]
            out_q, out_k = make(0)()[:2]
            err = max(bench.rel_err(out_q, bench.exact(q, case.cos, case.sin)),
                      bench.rel_err(out_k, bench.exact(k, case.cos, case.sin)))
            assert err < bench.TOLERANCE[dtype], (name, err)
    if args.ncu:
        for make in impls.values():
            make(0)()
            make(0)()
        torch.cuda.synchronize()
        return
    n_sets = min(len(case.sets), len(copies))
    cold = {name: [] for name in impls}
    b2b = {name: [] for name in impls}
    for _ in range(3):
        for name, make in impls.items():
            cold[name].append(bench.device_ms(make(0)) * 1e3)
            b2b[name].append(bench.back_to_back_ms([make(i) for i in range(n_sets)])[0] * 1e3)
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}; {bench.shape_name(*SHAPE)}, microseconds")
    print(f"{'implementation':<38} {'after an L2 clear (3 rounds)':>30} {'median':>7} {'back to back (3 rounds)':>26} {'median':>7}")
    for name in impls:
        print(f"{name:<38} " + " ".join(f"{t:9.2f}" for t in cold[name]) + f" {statistics.median(cold[name]):7.2f} "
              + " ".join(f"{t:8.2f}" for t in b2b[name]) + f" {statistics.median(b2b[name]):7.2f}")


if __name__ == "__main__":
    main()
