"""RoPE benchmark: one run, one table, one chart.

Peers, all in this one process on one GPU: the reference (examples/rope_reference.py) in eager
mode, torch.compile of the reference, the house kernel (examples/rope_baseline.py), Liger-Kernel's
RoPE (liger_kernel.ops.rope.rope_forward, given its native (B, S, H, D) layout, its best case),
and examples/rope.py. Every implementation is checked against a float64 reference on the GPU
(bf16 included) before anything is timed.

Bytes: q and k read once and written once, cos[:S, :D/2] and sin[:S, :D/2] read once.
Copy bandwidth: a 1 GiB device-to-device copy in the same run, bytes read plus bytes written.
Time: device time, the median over many calls, each call preceded on the stream by a 256 MB write
that clears the L2 (as triton.testing.do_bench does) and by a GPU spin three times as long as the
host takes to launch the call (plus 100 us), so that the host has enqueued the call before the GPU
reaches its start event: Python launch overhead does not
show in the device time (it is reported apart, as host microseconds per call on the decode-like
shape). Each implementation is timed in two passes over all shapes; the difference between the
passes is the spread.
Back to back: the same implementations (and a copy of the same bytes, and the 1 GiB copy) also
timed as a model calls them, many calls in a row with no L2 clear between them, each call on its
own inputs (rotating over enough input sets that none is still in the L2), the host's launches
queued behind a GPU spin so that the GPU never waits for the host. A single call after an L2
clear pays for the write-back of the clear's dirty lines and for the start and drain of one
kernel; back to back, each launch is already queued when the kernel before it ends.

Usage: python benchmarks/rope.py [--out DIR] [--sweep] [--tensors] [--no-unaligned] [--skip-compile]
Writes DIR/rope_bench.json, DIR/rope_table.md and DIR/rope_bandwidth.png (DIR defaults to $OUT,
else the current folder); prints the table last.
"""
import argparse
import functools
import importlib.util
import json
import os
import platform
import time
from pathlib import Path

import torch
import triton
import triton.language as tl

ROOT = Path(__file__).resolve().parents[1]

SHAPES = [  # (B, H, S, D, dtype)
    (4, 32, 4096, 128, torch.bfloat16),
    (1, 32, 4096, 128, torch.bfloat16),
    (8, 32, 2048, 128, torch.float16),
    (4, 32, 4096, 128, torch.float32),
    (16, 16, 1024, 64, torch.bfloat16),
    (1, 32, 128, 128, torch.bfloat16),
]
IMPLS = ["eager", "compile", "house", "liger", "rope"]
# cos/sin as a rotary cache of (S + 7, D/2 + 5) holds them: cos[:S, :D/2] has rows D/2 + 5
# elements apart (69 for D = 128), so Triton cannot prove 16-byte alignment of its rows. Timed
# for the peers that take the tables as given (the house kernel copies them, eager is far off).
UNALIGNED_IMPLS = ["compile", "liger", "rope"]
LABELS = {"copy": "device copy of the same bytes", "eager": "reference (eager)", "compile": "torch.compile(reference)", "house": "house kernel (baseline)",
          "liger": "Liger rope (native BSHD)", "rope": "examples/rope.py"}
# ||out - ref|| / ||ref|| against float64. Liger computes in the input dtype (not fp32), so it
# is held to four times the bound; the others compute in fp32 and round once.
TOLERANCE = {torch.float32: 1e-6, torch.float16: 1e-3, torch.bfloat16: 8e-3}
SWEEP = [(16, 2), (32, 2), (16, 4), (32, 4), (64, 4), (16, 8), (32, 8), (64, 8), (128, 8)]  # (BLOCK_ROWS, num_warps)
SWEEP_SEQ = [(32, 4), (16, 8)]
SWEEP_TENSORS = [1, 2]  # rope.py forced to one tensor a program, or to q and k a program


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_liger():
    """liger_kernel.ops.rope; if the package's own __init__ fails here, the module file alone."""
    try:
        from liger_kernel.ops import rope as liger_rope
        return liger_rope, "liger_kernel.ops.rope"
    except Exception as exc:  # noqa: BLE001 - fall back, and say so in the results
        import importlib.util as iu
        spec = iu.find_spec("liger_kernel")
        path = Path(spec.submodule_search_locations[0]) / "ops" / "rope.py"
        s = iu.spec_from_file_location("liger_rope_file", path)
        module = iu.module_from_spec(s)
        s.loader.exec_module(module)
        return module, f"{path} loaded alone ({type(exc).__name__}: {exc})"


@triton.jit
def rope_kernel_2d(q_ptr, k_ptr, q_out_ptr, k_out_ptr, cos_ptr, sin_ptr, n_rows, seq_len,
                   stride_cos_s, stride_sin_s, D: tl.constexpr, BLOCK_ROWS: tl.constexpr):
    """Comparison variant for --sweep only (power-of-two D): the same [BLOCK_ROWS, D] full-row
    tile as examples/rope.py, but q is loaded, rotated and stored before k is loaded (fewer
    registers, fewer bytes in flight per thread)."""
    pid = tl.program_id(0)
    rows = pid * BLOCK_ROWS + tl.arange(0, BLOCK_ROWS)
    cols = tl.arange(0, D)
    halves = tl.arange(0, D // 2)
    offs = rows[:, None].to(tl.int64) * D + cols[None, :]
    mask = (rows[:, None] < n_rows) & (cols[None, :] < D)
    cs_mask = (rows[:, None] < n_rows) & (halves[None, :] < D // 2)
    pos = rows % seq_len
    c = tl.load(cos_ptr + pos[:, None] * stride_cos_s + halves[None, :], mask=cs_mask, other=0.0).to(tl.float32)
    s = tl.load(sin_ptr + pos[:, None] * stride_sin_s + halves[None, :], mask=cs_mask, other=0.0).to(tl.float32)
    q = tl.load(q_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    q1, q2 = tl.split(tl.permute(tl.reshape(q, [BLOCK_ROWS, 2, D // 2]), [0, 2, 1]))
    q = tl.reshape(tl.permute(tl.join(q1 * c - q2 * s, q2 * c + q1 * s), [0, 2, 1]), [BLOCK_ROWS, D])
    tl.store(q_out_ptr + offs, q.to(q_out_ptr.dtype.element_ty), mask=mask)
    k = tl.load(k_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    k1, k2 = tl.split(tl.permute(tl.reshape(k, [BLOCK_ROWS, 2, D // 2]), [0, 2, 1]))
    k = tl.reshape(tl.permute(tl.join(k1 * c - k2 * s, k2 * c + k1 * s), [0, 2, 1]), [BLOCK_ROWS, D])
    tl.store(k_out_ptr + offs, k.to(k_out_ptr.dtype.element_ty), mask=mask)


def rope_2d(q, k, cos, sin, block_rows=32, num_warps=4):
    B, H, S, D = q.shape
    c, s = cos[:S, : D // 2], sin[:S, : D // 2]
    assert c.stride(1) == 1 and s.stride(1) == 1 and q.is_contiguous() and k.is_contiguous()
    q_out, k_out = torch.empty_like(q), torch.empty_like(k)
    n_rows = B * H * S
    rope_kernel_2d[(triton.cdiv(n_rows, block_rows),)](
        q, k, q_out, k_out, c, s, n_rows, S, c.stride(0), s.stride(0), D=D, BLOCK_ROWS=block_rows,
        num_warps=num_warps)
    return q_out, k_out, c, s


def exact(x, cos, sin):
    """float64 rotate-half of (B, H, S, D) x, on x's device."""
    S, D = x.shape[-2], x.shape[-1]
    c, s = cos[:S, : D // 2].double(), sin[:S, : D // 2].double()
    x = x.double()
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1)


def rel_err(out, ref):
    return ((out.double() - ref).norm() / ref.norm()).item()


def shape_name(B, H, S, D, dtype, unaligned=False):
    dt = str(dtype).split('.')[1].replace('bfloat16', 'bf16').replace('float16', 'fp16').replace('float32', 'fp32')
    return f"{B}x{H}x{S}x{D} {dt}" + (f", cos/sin rows {D // 2 + 5} apart" if unaligned else "")


def minimal_bytes(B, H, S, D, dtype):
    esize = torch.finfo(dtype).bits // 8
    return 4 * B * H * S * D * esize + 2 * S * (D // 2) * esize


_L2_CLEAR = []


def device_ms(fn, budget_ms=120.0):
    """Median device time of fn() in ms; see the module docstring."""
    if not _L2_CLEAR:
        _L2_CLEAR.append(torch.empty(256 << 20, dtype=torch.int8, device="cuda"))
    clear = _L2_CLEAR[0]
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(5):
        fn()
    end.record()
    torch.cuda.synchronize()
    estimate = start.elapsed_time(end) / 5
    # The spin gives the host three times its own launch time per call (plus 100 us) to enqueue
    # the call before the GPU reaches the start event.
    spin = int((3 * host_us(fn, n=5) + 100) * spin_cycles_per_us())
    n = int(max(10, min(1000, budget_ms / (estimate + 0.25))))
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(n)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(n)]
    for i in range(n):
        clear.zero_()
        torch.cuda._sleep(spin)
        starts[i].record()
        fn()
        ends[i].record()
    torch.cuda.synchronize()
    times = sorted(s.elapsed_time(e) for s, e in zip(starts, ends))
    return times[len(times) // 2]


@functools.lru_cache(maxsize=None)
def l2_bytes():
    return getattr(torch.cuda.get_device_properties(0), "L2_cache_size", 64 << 20)


@functools.lru_cache(maxsize=None)
def spin_cycles_per_us():
    """torch.cuda._sleep counts GPU clock cycles; how many run in a microsecond at the clock the
    GPU runs at under load (after a ~10 ms spin to raise it; the highest of three readings)."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda._sleep(20_000_000)
    readings = []
    for _ in range(3):
        start.record()
        torch.cuda._sleep(2_000_000)
        end.record()
        torch.cuda.synchronize()
        readings.append(2_000_000 / (start.elapsed_time(end) * 1e3))
    return max(readings)


def back_to_back_ms(fns, calls=None, repeats=7):
    """Device time per call, in ms, of calls run back to back as in a model's forward pass: call i
    runs fns[i % len(fns)], each on its own inputs (so no call finds its inputs in the L2), with
    no L2 clear between calls. A GPU spin before the first call lasts longer than the host takes
    to enqueue the first ones, so the GPU runs them without waiting for the host. Returns (median
    ms per call over the repeats in which the host kept ahead of the GPU, True) when it did in
    most repeats, else (median over all repeats, False)."""
    for fn in fns:
        fn()
    torch.cuda.synchronize()
    per_call = device_ms(fns[0], budget_ms=10.0)
    host = host_us(fns[0], n=10)
    calls = calls or int(max(10, min(60, 20.0 / per_call)))
    spin_us = 1.5 * calls * host + 500
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    kept_up, fell_behind = [], []
    for _ in range(repeats):
        torch.cuda._sleep(int(spin_us * spin_cycles_per_us()))
        t0 = time.perf_counter()
        start.record()
        for i in range(calls):
            fns[i % len(fns)]()
        end.record()
        host_us_taken = (time.perf_counter() - t0) * 1e6
        torch.cuda.synchronize()
        # The GPU waited for the host if the host enqueued the last call after the GPU would have
        # reached it (the spin, then the calls before it at their single-call device time); an
        # allocator call that synchronizes does that to a repeat now and then.
        ok = host_us_taken < spin_us + (calls - 1) * per_call * 1e3
        (kept_up if ok else fell_behind).append(start.elapsed_time(end) / calls)
    times = kept_up if len(kept_up) > len(fell_behind) else kept_up + fell_behind
    return sorted(times)[len(times) // 2], len(kept_up) > len(fell_behind)


def host_us(fn, n=200):
    """Mean host time per call in microseconds, without synchronizing (launch overhead)."""
    fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    t1 = time.perf_counter()
    torch.cuda.synchronize()
    return (t1 - t0) / n * 1e6


def copy_fns(nbytes):
    """Device-to-device copies that move nbytes (half read, half written), each from its own
    source (enough sources that back-to-back copies never find theirs in the L2)."""
    half = nbytes // 2
    dst = torch.empty(half, dtype=torch.uint8, device="cuda")
    srcs = [torch.randint(0, 255, (half,), dtype=torch.uint8, device="cuda")
            for _ in range(1 + triton.cdiv(3 * l2_bytes(), half))]
    return [lambda src=src: dst.copy_(src) for src in srcs]


def copy_bandwidth():
    """Bytes per second of a 1 GiB copy (read plus written): (one call after an L2 clear, back to back)."""
    nbytes = 2 << 30
    fns = copy_fns(nbytes)
    cold = device_ms(fns[0], budget_ms=200.0)
    b2b, _ = back_to_back_ms(fns)
    del fns
    torch.cuda.empty_cache()
    return nbytes / (cold * 1e-3), nbytes / (b2b * 1e-3)


class Case:
    """Inputs and a timed callable per implementation for one shape."""

    def __init__(self, shape, modules, compiled, unaligned=False):
        B, H, S, D, dtype = shape
        self.shape, self.dtype = shape, dtype
        reference, fast, baseline, liger = modules
        if unaligned:  # a (S + 7, D/2 + 5) cache
            self.cos, self.sin = reference.rope_tables(S + 7, D + 10, dtype, device="cuda")
        else:
            self.cos, self.sin = reference.rope_tables(S + 64, D, dtype, device="cuda")
        self.model, self.compiled, self.fast, self.baseline_model = reference.Model(), compiled, fast.ModelNew(), baseline.ModelNew()
        self.fast_module = fast
        self.cos_l = self.cos[:S, : D // 2].contiguous()
        self.sin_l = self.sin[:S, : D // 2].contiguous()
        self.liger = liger
        # Input sets for back-to-back timing: enough that the sets a call does not use hold more
        # than three L2s of q and k, so that no call finds its inputs in the L2.
        qk_bytes = 2 * B * H * S * D * torch.finfo(dtype).bits // 8
        self.sets = [self._inputs() for _ in range(1 + triton.cdiv(3 * l2_bytes(), qk_bytes))]

    def _inputs(self):
        """q and k, and the copies the in-place peers write over: the house kernel gets its own
        copies, Liger its native (B, S, H, D) layout."""
        B, H, S, D, dtype = self.shape
        q = torch.randn(B, H, S, D, dtype=dtype, device="cuda")
        k = torch.randn(B, H, S, D, dtype=dtype, device="cuda")
        return {"q": q, "k": k, "q_house": q.clone(), "k_house": k.clone(),
                "q_bshd": q.transpose(1, 2).contiguous(), "k_bshd": k.transpose(1, 2).contiguous()}

    def fn(self, impl, index=0):
        """A callable running impl on input set `index`."""
        inputs = self.sets[index]
        q, k, cos, sin = inputs["q"], inputs["k"], self.cos, self.sin
        D = self.shape[3]
        if impl == "eager":
            return lambda: self.model(q, k, cos, sin)
        if impl == "compile":
            return lambda: self.compiled(q, k, cos, sin)
        if impl == "house":
            return lambda: self.baseline_model(inputs["q_house"], inputs["k_house"], cos, sin)
        if impl == "liger":
            return lambda: self.liger.rope_forward(inputs["q_bshd"].transpose(1, 2), inputs["k_bshd"].transpose(1, 2),
                                                   self.cos_l, self.sin_l, rotary_dim=D)
        if impl == "rope":
            return lambda: self.fast(q, k, cos, sin)
        if impl.startswith("rope_R"):
            rows, warps = (int(x) for x in impl[len("rope_R"):].split("_w"))
            return lambda: self.fast_module.rope_triton(q, k, cos, sin, block_rows=rows, num_warps=warps)
        if impl.startswith("rope2d_R"):
            rows, warps = (int(x) for x in impl[len("rope2d_R"):].split("_w"))
            return lambda: rope_2d(q, k, cos, sin, block_rows=rows, num_warps=warps)
        if impl.startswith("rope_T"):
            return lambda: self.fast_module.rope_triton(q, k, cos, sin, tensors_per_program=int(impl[len("rope_T"):]))
        raise KeyError(impl)

    def check(self, impl):
        """Relative error of impl on fresh random inputs; checks that unwritten outputs are caught
        (NaN-poisoned out= buffers for rope.py) and that rope.py leaves its inputs unchanged."""
        B, H, S, D, dtype = self.shape
        q = torch.randn(B, H, S, D, dtype=dtype, device="cuda")
        k = torch.randn(B, H, S, D, dtype=dtype, device="cuda")
        # Random tables of the timing tables' shape (longer and wider than needed), so that the
        # compiled reference is not compiled again for the check.
        cos = torch.randn(self.cos.shape, dtype=dtype, device="cuda")
        sin = torch.randn(self.sin.shape, dtype=dtype, device="cuda")
        ref_q, ref_k = exact(q, cos, sin), exact(k, cos, sin)
        notes = []
        if impl == "liger":
            qn, kn = q.transpose(1, 2).contiguous(), k.transpose(1, 2).contiguous()
            cl, sl = cos[:S, : D // 2].contiguous(), sin[:S, : D // 2].contiguous()
            out_q, out_k, _, _ = self.liger.rope_forward(qn.transpose(1, 2), kn.transpose(1, 2), cl, sl, rotary_dim=D)
        elif impl == "house":
            out_q, out_k, _, _ = self.baseline_model(q.clone(), k.clone(), cos, sin)
        elif impl == "rope":
            saved = [t.clone() for t in (q, k, cos, sin)]
            poisoned = (torch.full_like(q, float("nan")), torch.full_like(k, float("nan")))
            out_q, out_k, _, _ = self.fast_module.rope_triton(q, k, cos, sin, out=poisoned)
            plain = self.fast(q, k, cos, sin)
            if not (torch.equal(plain[0], out_q) and torch.equal(plain[1], out_k)):
                notes.append("ModelNew differs from the out= path")
            if not all(torch.equal(a, b) for a, b in zip(saved, (q, k, cos, sin))):
                notes.append("inputs modified")
        elif impl in ("eager", "compile") or impl.startswith(("rope_R", "rope2d_R", "rope_T")):
            if impl.startswith("rope2d_R"):
                cos, sin = cos[:S, : D // 2].contiguous(), sin[:S, : D // 2].contiguous()
            case_fn = {"eager": self.model, "compile": self.compiled}.get(impl)
            if impl.startswith("rope_T"):
                case_fn = functools.partial(self.fast_module.rope_triton, tensors_per_program=int(impl[len("rope_T"):]))
            elif case_fn is None:
                rows, warps = (int(x) for x in impl.split("_R")[1].split("_w"))
                case_fn = (lambda *a: self.fast_module.rope_triton(*a, block_rows=rows, num_warps=warps)) \
                    if impl.startswith("rope_R") else (lambda *a: rope_2d(*a, block_rows=rows, num_warps=warps))
            out_q, out_k, _, _ = case_fn(q, k, cos, sin)
        else:
            raise KeyError(impl)
        torch.cuda.synchronize()
        nan = bool(torch.isnan(out_q).any() or torch.isnan(out_k).any())
        err = max(rel_err(out_q, ref_q), rel_err(out_k, ref_k))
        tol = TOLERANCE[dtype] * (4 if impl == "liger" else 1)
        ok = (not nan) and err < tol and not notes
        if nan:
            notes.append("NaN in output (unwritten elements)")
        return {"ok": ok, "rel_err": err, "tol": tol, "notes": notes}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.environ.get("OUT", "."))
    parser.add_argument("--sweep", action="store_true", help="also time launch-parameter variants")
    parser.add_argument("--skip-compile", action="store_true")
    parser.add_argument("--budget-ms", type=float, default=120.0, help="device time to spend per timing")
    parser.add_argument("--no-unaligned", action="store_true", help="skip the unaligned cos/sin layout")
    parser.add_argument("--tensors", action="store_true", help="also time rope.py forced to one and to two tensors a program")
    args = parser.parse_args()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.time()

    reference, fast, baseline = load_example("rope_reference"), load_example("rope"), load_example("rope_baseline")
    liger, liger_source = load_liger()
    import importlib.metadata as md
    versions = {"torch": torch.__version__, "triton": triton.__version__, "python": platform.python_version(),
                "liger-kernel": md.version("liger-kernel"), "liger_source": liger_source,
                "cuda": torch.version.cuda, "device": torch.cuda.get_device_name(),
                "sm_count": torch.cuda.get_device_properties(0).multi_processor_count,
                "capability": ".".join(map(str, torch.cuda.get_device_capability()))}
    print(json.dumps(versions), flush=True)
    # One compiled graph per shape and cos/sin layout: past dynamo's recompile limit (8) a
    # compiled function runs eagerly, and its rows would time the eager reference.
    for limit in ("recompile_limit", "cache_size_limit"):
        if hasattr(torch._dynamo.config, limit):
            setattr(torch._dynamo.config, limit, 64)
    compiled = torch.compile(reference.Model(), dynamic=False) if not args.skip_compile else None
    impls = [i for i in IMPLS if not (i == "compile" and compiled is None)]
    extra = []
    if args.sweep:
        extra = [f"rope_R{r}_w{w}" for r, w in SWEEP] + [f"rope2d_R{r}_w{w}" for r, w in SWEEP_SEQ]
    if args.tensors:
        extra += [f"rope_T{t}" for t in SWEEP_TENSORS]

    results = {"versions": versions, "shapes": {}, "copy_bw": [], "copy_bw_b2b": []}
    cases = {}
    # Correctness first: every implementation, every shape, fresh random inputs.
    failures = []
    layouts = [False] if args.no_unaligned else [False, True]
    for shape, unaligned in [(shape, u) for u in layouts for shape in SHAPES]:
        name = shape_name(*shape, unaligned=unaligned)
        case = Case(shape, (reference, fast, baseline, liger), compiled, unaligned)
        cases[name] = case
        entry = results["shapes"].setdefault(name, {"bytes": minimal_bytes(*shape), "impls": {},
                                                    "aligned": shape_name(*shape) if unaligned else None})
        for impl in impls + extra:
            if impl.startswith("rope2d") and (shape[3] & (shape[3] - 1) or unaligned):
                continue
            if unaligned and impl not in UNALIGNED_IMPLS and not impl.startswith("rope_T"):
                continue
            check = case.check(impl)
            entry["impls"][impl] = {"check": check, "ms": []}
            print(f"check {name:24s} {impl:16s} ok={check['ok']} rel_err={check['rel_err']:.2e} {check['notes']}", flush=True)
            if not check["ok"]:
                failures.append((name, impl))
        torch.cuda.empty_cache()
    print(f"checks done at {time.time() - t_start:.0f}s; failures: {failures}", flush=True)

    # Timing: two passes over everything, copy bandwidth measured in each pass; each timed once
    # after an L2 clear ("cold") and back to back over rotating inputs.
    for rep in range(2):
        cold_bw, b2b_bw = copy_bandwidth()
        results["copy_bw"].append(cold_bw)
        results["copy_bw_b2b"].append(b2b_bw)
        for name, case in cases.items():
            entry = results["shapes"][name]
            fns = copy_fns(entry["bytes"])
            entry.setdefault("copy_same_size_ms", []).append(device_ms(fns[0]))
            entry.setdefault("copy_same_size_b2b_ms", []).append(back_to_back_ms(fns)[0])
            del fns
            for impl, rec in entry["impls"].items():
                rec["ms"].append(device_ms(case.fn(impl), budget_ms=args.budget_ms))
                if not impl.startswith(("rope_R", "rope2d", "rope_T")):
                    ms, kept_up = back_to_back_ms([case.fn(impl, i) for i in range(len(case.sets))])
                    rec.setdefault("b2b_ms", []).append(ms)
                    rec.setdefault("b2b_host_kept_up", []).append(kept_up)
            torch.cuda.synchronize()
        print(f"pass {rep + 1} done at {time.time() - t_start:.0f}s", flush=True)

    # Host launch overhead, on the smallest shape (where it can exceed the device time).
    small = min(cases, key=lambda n: results["shapes"][n]["bytes"])
    results["host_us"] = {"shape": small, "impls": {impl: host_us(cases[small].fn(impl)) for impl in impls}}

    copy_bw = sum(results["copy_bw"]) / 2
    results["copy_bw_mean"] = copy_bw
    results["copy_bw_b2b_mean"] = sum(results["copy_bw_b2b"]) / 2
    report(results, copy_bw, out_dir, failures)
    print(f"total {time.time() - t_start:.0f}s")


def report(results, copy_bw, out_dir, failures):
    lines = []
    v = results["versions"]
    lines.append(f"Device: {v['device']} (sm_{v['capability'].replace('.', '')}, {v['sm_count']} SMs); torch {v['torch']}, "
                 f"triton {v['triton']}, liger-kernel {v['liger-kernel']}, CUDA {v['cuda']}, Python {v['python']}.")
    b2b_bw = results["copy_bw_b2b_mean"]
    lines.append(f"Copy bandwidth (1 GiB device-to-device, read+write): {results['copy_bw'][0] / 1e9:.0f} / "
                 f"{results['copy_bw'][1] / 1e9:.0f} GB/s in the two passes; {copy_bw / 1e9:.0f} GB/s used below. "
                 f"Back to back: {results['copy_bw_b2b'][0] / 1e9:.0f} / {results['copy_bw_b2b'][1] / 1e9:.0f} GB/s; "
                 f"{b2b_bw / 1e9:.0f} GB/s used for the back-to-back column.")
    lines.append("")
    lines.append("| shape | MB moved | implementation | ms (pass 1) | ms (pass 2) | GB/s | % of copy BW | % of same-size copy "
                 "| back to back: ms | back to back: % of copy BW | rope.py speedup |")
    lines.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    targets = []
    for name, entry in results["shapes"].items():
        mb = entry["bytes"] / 1e6
        rope_ms = sum(entry["impls"]["rope"]["ms"]) / 2
        same_ms = sum(entry["copy_same_size_ms"]) / 2
        entry["copy"] = {"ms": entry["copy_same_size_ms"], "b2b_ms": entry["copy_same_size_b2b_ms"],
                         "b2b_host_kept_up": [True], "check": {"ok": True}}
        rows = list(entry["impls"].items()) + [("copy", entry["copy"])]
        for impl, rec in rows:
            ms = sum(rec["ms"]) / 2
            gbs = entry["bytes"] / (ms * 1e-3) / 1e9
            rec.update(mean_ms=ms, gbs=gbs, pct_copy=100 * gbs * 1e9 / copy_bw, pct_same_size_copy=100 * same_ms / ms,
                       spread=abs(rec["ms"][0] - rec["ms"][1]) / min(rec["ms"]))
            if "b2b_ms" in rec:
                b2b_ms = sum(rec["b2b_ms"]) / len(rec["b2b_ms"])
                rec.update(b2b_mean_ms=b2b_ms, pct_copy_b2b=100 * entry["bytes"] / (b2b_ms * 1e-3) / b2b_bw)
            if impl.startswith(("rope_R", "rope2d", "rope_T")):
                continue
            label = LABELS.get(impl, impl) + ("" if rec["check"]["ok"] else " (FAILED CHECK)")
            speed = "—" if impl in ("rope", "copy") else f"{ms / rope_ms:.2f}×"
            # † marks a back-to-back figure where the host fell behind the GPU in most repeats.
            mark = "" if all(rec["b2b_host_kept_up"]) else " †"
            lines.append(f"| {name} | {mb:.0f} | {label} | {rec['ms'][0]:.4f} | {rec['ms'][1]:.4f} | {gbs:.0f} | "
                         f"{rec['pct_copy']:.1f} | {rec['pct_same_size_copy']:.1f} | {rec['b2b_mean_ms']:.4f}{mark} | "
                         f"{rec['pct_copy_b2b']:.1f} | {speed} |")
        r, imp = entry["impls"]["rope"], entry["impls"]
        if entry.get("aligned"):
            aligned_ms = results["shapes"][entry["aligned"]]["impls"]["rope"]["mean_ms"]
            targets.append((name, "within 3% of the aligned cos/sin time", r["mean_ms"] <= 1.03 * aligned_ms,
                            f"{100 * (r['mean_ms'] / aligned_ms - 1):+.1f}%"))
        if entry["bytes"] >= 64e6:
            targets.append((name, "≥95% of copy BW", r["pct_copy"] >= 95, f"{r['pct_copy']:.1f}%"))
            targets.append((name, "≥95% of copy BW, back to back (both timed back to back)", r["pct_copy_b2b"] >= 95,
                            f"{r['pct_copy_b2b']:.1f}%"))
        if "liger" in imp:
            spread = max(r["spread"], imp["liger"]["spread"])
            ratio = imp["liger"]["mean_ms"] / r["mean_ms"]
            verdict = ratio >= 1.0
            targets.append((name, "at least as fast as Liger", verdict,
                            f"{ratio:.3f}× (spread {100 * spread:.1f}%)" + ("" if verdict else
                            (" — loss within spread" if (1 - ratio) <= spread else " — loss beyond spread"))))
        if "bf16" in name and "house" in imp:
            ratio = imp["house"]["mean_ms"] / r["mean_ms"]
            targets.append((name, "≥1.7× house kernel", ratio >= 1.7, f"{ratio:.2f}×"))
        if name.startswith("1x32x128x128") and not entry.get("aligned"):
            targets.append((name, "decode < 8 µs", r["mean_ms"] * 1e3 < 8, f"{r['mean_ms'] * 1e3:.2f} µs"))
    results["targets"] = [dict(shape=a, target=b, met=c, value=d) for a, b, c, d in targets]
    sweep = [(name, impl, rec) for name, entry in results["shapes"].items() for impl, rec in entry["impls"].items()
             if impl.startswith(("rope_R", "rope2d", "rope_T"))]
    sweep_lines = []
    if sweep:
        sweep_lines += ["", "| shape | variant | ms (pass 1) | ms (pass 2) | % of copy BW | % of same-size copy | check |",
                        "|---|---|---:|---:|---:|---:|---|"]
        for name, impl, rec in sweep:
            sweep_lines.append(f"| {name} | {impl} | {rec['ms'][0]:.4f} | {rec['ms'][1]:.4f} | {rec['pct_copy']:.1f} | "
                               f"{rec['pct_same_size_copy']:.1f} | "
                               f"{'ok' if rec['check']['ok'] else 'FAILED'} |")
    host = results.get("host_us")
    if host:
        sweep_lines += ["", f"Host time per call on {host['shape']} (launch overhead, µs, mean of 200 calls without synchronizing):", "",
                        "| " + " | ".join(LABELS[i] for i in host["impls"]) + " |", "|" + "---:|" * len(host["impls"]),
                        "| " + " | ".join(f"{v:.1f}" for v in host["impls"].values()) + " |"]
    target_lines = ["", "| shape | target | met | value |", "|---|---|---|---|"]
    target_lines += [f"| {a} | {b} | {'yes' if c else 'NO'} | {d} |" for a, b, c, d in targets]
    if failures:
        target_lines.append(f"\nFAILED CHECKS: {failures}")
    text = "\n".join(lines + sweep_lines + target_lines)
    (out_dir / "rope_table.md").write_text(text + "\n")
    (out_dir / "rope_bench.json").write_text(json.dumps(results, indent=1))
    try:
        chart(results, out_dir / "rope_bandwidth.png")
    except Exception as exc:  # noqa: BLE001 - the JSON holds everything the chart needs
        print(f"chart not drawn: {type(exc).__name__}: {exc}")
    print(text, flush=True)


def chart(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["shapes"])
    impls = [i for i in IMPLS if any(i in results["shapes"][n]["impls"] for n in names)] + ["copy"]
    width = 0.8 / len(impls)
    v = results["versions"]
    fig, axes = plt.subplots(2, 1, figsize=(12, 9), sharex=True)
    panels = [("pct_copy", f"one call after an L2 clear (copy {results['copy_bw_mean'] / 1e12:.2f} TB/s)"),
              ("pct_copy_b2b", f"back to back, rotating inputs (copy {results['copy_bw_b2b_mean'] / 1e12:.2f} TB/s)")]
    for ax, (key, title) in zip(axes, panels):
        for j, impl in enumerate(impls):
            recs = [results["shapes"][n]["copy"] if impl == "copy" else results["shapes"][n]["impls"].get(impl, {})
                    for n in names]
            ax.bar([i + (j - (len(impls) - 1) / 2) * width for i in range(len(names))], [r.get(key, 0) for r in recs],
                   width, label=LABELS[impl], color="0.75" if impl == "copy" else None)
        ax.axhline(95, color="k", ls="--", lw=0.8, label="95% target")
        ax.set_ylabel("% of measured copy bandwidth")
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, 118)
        ax.legend(fontsize=8, ncol=4, loc="upper left")
    axes[1].set_xticks(range(len(names)))
    axes[1].set_xticklabels(names, rotation=15, fontsize=8)
    fig.suptitle(f"RoPE forward, {v['device']}; torch {v['torch']}, triton {v['triton']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
