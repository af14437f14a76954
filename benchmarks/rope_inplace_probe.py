"""Does writing in place explain Liger's lead on fp32? One run, three alternating rounds of:
Liger's RoPE (in place, native BSHD layout), examples/rope.py into fresh outputs (as shipped),
and examples/rope.py writing over clones of its own inputs (in place, which the shipped wrapper
never does to a caller's tensors). Timed with benchmarks/rope.py's device_ms (L2 cleared).

    python benchmarks/rope_inplace_probe.py
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rope as bench  # noqa: E402  (benchmarks/rope.py)

SHAPES = [(4, 32, 4096, 128, torch.float32), (4, 32, 4096, 128, torch.bfloat16)]


def main() -> None:
    fast = bench.load_example("rope")
    reference = bench.load_example("rope_reference")
    liger, _ = bench.load_liger()
    rows = []
    for B, H, S, D, dtype in SHAPES:
        cos, sin = reference.rope_tables(S + 64, D, dtype, device="cuda")
        q = torch.randn(B, H, S, D, dtype=dtype, device="cuda")
        k = torch.randn(B, H, S, D, dtype=dtype, device="cuda")
        q_bshd, k_bshd = q.transpose(1, 2).contiguous(), k.transpose(1, 2).contiguous()
        cos_l, sin_l = cos[:S, : D // 2].contiguous(), sin[:S, : D // 2].contiguous()
        q_in, k_in = q.clone(), k.clone()
        impls = {
            "liger (in place, BSHD)": lambda: liger.rope_forward(q_bshd.transpose(1, 2), k_bshd.transpose(1, 2),
                                                                 cos_l, sin_l, rotary_dim=D),
            "rope.py (fresh outputs)": lambda: fast.rope_triton(q, k, cos, sin),
            "rope.py (in place, probe)": lambda: fast.rope_triton(q_in, k_in, cos, sin, out=(q_in, k_in)),
        }
        times = {name: [] for name in impls}
        for _ in range(3):
            for name, fn in impls.items():
                times[name].append(bench.device_ms(fn))
        for name, ms in times.items():
            rows.append((bench.shape_name(B, H, S, D, dtype), name, ms))
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}")
    print(f"{'shape':<22} {'implementation':<28} {'round 1':>8} {'round 2':>8} {'round 3':>8} {'median':>8}")
    for shape, name, ms in rows:
        print(f"{shape:<22} {name:<28} " + " ".join(f"{m:8.4f}" for m in ms) + f" {statistics.median(ms):8.4f}")


if __name__ == "__main__":
    main()
