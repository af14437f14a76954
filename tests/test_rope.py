"""Correctness of examples/rope.py (and of the house baseline) against examples/rope_reference.py.

The checks run in one child process per device: on the CPU under the Triton interpreter
(TRITON_INTERPRET=1 must be set before triton is imported, and must not leak into other test
modules that import triton in this process), and on a GPU when there is one. The child runs
every case, prints one JSON line per case, and the tests below read those lines.

Every case draws fresh random inputs (never zeros), poisons the output buffers with NaN so that
an element the kernel never writes is caught, and checks that the caller's tensors are unchanged.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

# (name, B, H, S, D, dtype, options). options: cos_extra=(rows, cols) beyond what is needed;
# cos_layout="transposed" | "strided"; qk_layout="transposed" | "sliced"; block_rows=N;
# tensors_per_program=1 | 2 (else the launch rule picks: 2 when the cos/sin rows are unaligned).
CPU_CASES = [
    ("fp32_basic", 2, 3, 16, 64, "float32", {}),
    ("fp16_basic", 2, 3, 16, 64, "float16", {}),
    ("s1_fp32", 2, 4, 1, 128, "float32", {}),
    ("s1_fp16", 1, 2, 1, 64, "float16", {}),
    ("s_not_multiple_of_block_fp32", 1, 2, 37, 64, "float32", {"block_rows": 16}),
    ("hs_not_multiple_fp16", 3, 3, 5, 128, "float16", {}),
    ("hs_not_multiple_rows64", 2, 5, 7, 64, "float32", {"block_rows": 64}),
    ("d64_fp32", 1, 2, 24, 64, "float32", {}),
    ("d128_fp16", 1, 2, 24, 128, "float16", {}),
    ("d256_fp32", 1, 2, 9, 256, "float32", {}),
    ("d256_fp16", 2, 1, 17, 256, "float16", {}),
    ("d96_half_not_pow2", 1, 3, 11, 96, "float32", {}),
    ("d6_tiny", 2, 2, 5, 6, "float16", {}),
    ("cos_longer_wider", 2, 2, 20, 64, "float32", {"cos_extra": (45, 9)}),
    ("cos_transposed", 1, 3, 13, 128, "float16", {"cos_layout": "transposed", "cos_extra": (3, 5)}),
    ("cos_strided", 2, 2, 10, 64, "float32", {"cos_layout": "strided"}),
    ("cos_fp32_q_fp16", 1, 2, 19, 64, "float16", {"cos_dtype": "float32"}),
    ("qk_transposed", 2, 3, 9, 64, "float32", {"qk_layout": "transposed"}),
    ("qk_sliced", 1, 2, 12, 128, "float16", {"qk_layout": "sliced"}),
    ("block_rows_32", 1, 4, 19, 64, "float16", {"block_rows": 32}),
    ("block_rows_128", 1, 3, 50, 128, "float32", {"block_rows": 128}),
    # a rotary cache of (S + 7, D/2 + 5): rows 69 elements apart, so two tensors a program
    ("cos_row_stride_69", 2, 3, 21, 128, "float16", {"cos_extra": (7, 5)}),
    ("two_tensors_aligned", 2, 2, 19, 64, "float32", {"tensors_per_program": 2, "block_rows": 16}),
    ("one_tensor_unaligned", 1, 3, 13, 64, "float16", {"tensors_per_program": 1, "cos_extra": (7, 5)}),
]
# The house baseline's scalar mask term (`valid = (pid_bh < BH) & (pid_s < S)`) is refused by the
# Triton 3.9 interpreter ("mask has unsupported dtype"), so the baseline is checked on the GPU only.
BASELINE_CPU_CASES = []
GPU_CASES = [
    (f"{name}_as_{dt}", b, h, s, d, {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}[dt], opts)
    for dt in ("bf16", "fp16", "fp32")
    for name, b, h, s, d, _, opts in CPU_CASES + [("large", 2, 32, 1000, 128, None, {}), ("decode", 1, 32, 128, 128, None, {})]
]
BASELINE_GPU_CASES = [("baseline_bf16", 2, 8, 33, 128, "bfloat16", {}), ("baseline_fp16", 1, 4, 7, 64, "float16", {})]

# Relative error bound, ||out - ref|| / ||ref|| against a float64 reference, per output dtype.
TOLERANCE = {"float32": 1e-6, "float16": 1e-3, "bfloat16": 8e-3}


def _driver(device, cases, baseline_cases):
    """Runs in the child process: imports the examples, checks every case, prints JSON lines."""
    import importlib.util

    import torch

    def load(name):
        spec = importlib.util.spec_from_file_location(f"_rope_test_{name}", EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    reference, fast, baseline = load("rope_reference"), load("rope"), load("rope_baseline")
    gen = torch.Generator(device="cpu").manual_seed(1234)

    def randn(*shape, dtype):
        return torch.randn(*shape, generator=gen, dtype=torch.float32).to(device=device, dtype=dtype)

    def make_inputs(b, h, s, d, dtype, opts):
        half = d // 2
        if opts.get("qk_layout") == "transposed":  # physical (B, S, H, D), seen as (B, H, S, D)
            q = randn(b, s, h, d, dtype=dtype).transpose(1, 2)
            k = randn(b, s, h, d, dtype=dtype).transpose(1, 2)
        elif opts.get("qk_layout") == "sliced":  # rows of a wider buffer
            q = randn(b, h, s, d + 8, dtype=dtype)[..., 4:d + 4]
            k = randn(b, h, s, d + 8, dtype=dtype)[..., :d]
        else:
            q, k = randn(b, h, s, d, dtype=dtype), randn(b, h, s, d, dtype=dtype)
        extra_rows, extra_cols = opts.get("cos_extra", (0, 0))
        rows, cols = s + extra_rows, half + extra_cols
        cos_dtype = getattr(torch, opts.get("cos_dtype", str(dtype).split(".")[1]))
        if opts.get("cos_layout") == "transposed":
            cos, sin = randn(cols, rows, dtype=cos_dtype).t(), randn(cols, rows, dtype=cos_dtype).t()
        elif opts.get("cos_layout") == "strided":
            cos = randn(2 * rows, 3 * cols, dtype=cos_dtype)[::2, 1::3]
            sin = randn(2 * rows, 3 * cols, dtype=cos_dtype)[::2, 1::3]
        else:
            cos, sin = randn(rows, cols, dtype=cos_dtype), randn(rows, cols, dtype=cos_dtype)
        return q, k, cos, sin

    def exact(x, cos, sin):
        """float64 rotate-half on the CPU."""
        s, d = x.shape[-2], x.shape[-1]
        c, n = cos[:s, : d // 2].double().cpu(), sin[:s, : d // 2].double().cpu()
        x = x.double().cpu()
        x1, x2 = x[..., : d // 2], x[..., d // 2:]
        return torch.cat([x1 * c - x2 * n, x2 * c + x1 * n], dim=-1)

    def rel_err(out, ref):
        return ((out.double().cpu() - ref).norm() / ref.norm()).item()

    def check(name, b, h, s, d, dtype_name, opts, impl):
        dtype = getattr(torch, dtype_name)
        result = {"case": name, "ok": False}
        try:
            q, k, cos, sin = make_inputs(b, h, s, d, dtype, opts)
            saved = [t.clone() for t in (q, k, cos, sin)]
            tol = TOLERANCE[dtype_name]
            ref_q, ref_k = exact(q, cos, sin), exact(k, cos, sin)
            problems = []
            if impl == "rope":
                poisoned = (torch.full(q.shape, float("nan"), dtype=dtype, device=device),
                            torch.full(q.shape, float("nan"), dtype=dtype, device=device))
                outs = fast.rope_triton(q, k, cos, sin, out=poisoned, block_rows=opts.get("block_rows"),
                                        tensors_per_program=opts.get("tensors_per_program"))
                if outs[0] is not poisoned[0] or outs[1] is not poisoned[1]:
                    problems.append("out= was not used")
                model_outs = fast.ModelNew()(q, k, cos, sin)
                ref_model = reference.Model()(q, k, cos, sin)
                for got, want, what in zip(model_outs, ref_model, ("q", "k", "cos", "sin")):
                    if got.shape != want.shape or got.dtype != want.dtype:
                        problems.append(f"ModelNew {what}: {tuple(got.shape)} {got.dtype} vs {tuple(want.shape)} {want.dtype}")
                    elif not torch.equal(got.cpu(), want.cpu()) and what in ("cos", "sin"):
                        problems.append(f"ModelNew {what} differs from the reference's")
                    elif what in ("q", "k"):
                        # Both compute in fp32 and round once; allow one rounding step of difference.
                        diff = (got.double() - want.double()).abs().max().item()
                        scale = want.double().abs().max().item()
                        if diff > scale * {"float32": 1e-6, "float16": 2e-3, "bfloat16": 1.6e-2}[dtype_name]:
                            problems.append(f"ModelNew {what} vs reference Model: max diff {diff:.3g}")
            else:
                q_copy, k_copy = q.clone(), k.clone()
                outs = baseline.ModelNew()(q_copy, k_copy, cos, sin)
            err_q, err_k = rel_err(outs[0], ref_q), rel_err(outs[1], ref_k)
            result.update(err_q=err_q, err_k=err_k)
            for what, out in (("q", outs[0]), ("k", outs[1])):
                if out.shape != q.shape or out.dtype != dtype:
                    problems.append(f"{what} out is {tuple(out.shape)} {out.dtype}")
                if torch.isnan(out).any():
                    problems.append(f"{what} out has {int(torch.isnan(out).sum())} unwritten (NaN) elements")
            if not (err_q < tol and err_k < tol):
                problems.append(f"relative error q {err_q:.3g} k {err_k:.3g} over {tol:g}")
            if not torch.equal(outs[2].cpu(), cos[:s, : d // 2].cpu()) or not torch.equal(outs[3].cpu(), sin[:s, : d // 2].cpu()):
                problems.append("cos/sin outputs are not cos[:S, :D/2], sin[:S, :D/2]")
            if impl == "rope":
                for before, after, what in zip(saved, (q, k, cos, sin), ("q", "k", "cos", "sin")):
                    if not torch.equal(before, after):
                        problems.append(f"the caller's {what} was modified")
            result.update(ok=not problems, problems=problems)
        except Exception as exc:  # reported as a failed case, with its message
            result["problems"] = [f"{type(exc).__name__}: {exc}"]
        print(json.dumps(result), flush=True)

    for case in cases:
        check(*case, impl="rope")
    for case in baseline_cases:
        check(*case, impl="baseline")

    # Invalid inputs are refused, not computed wrongly.
    errors = {}
    q = randn(1, 2, 4, 7, dtype=torch.float32)
    cos = randn(4, 4, dtype=torch.float32)
    for label, args in (("odd_head_dim", (q, q, cos, cos)),
                        ("cos_too_short", (randn(1, 2, 8, 8, dtype=torch.float32),) * 2 + (cos, cos)),
                        ("q_k_shapes_differ", (randn(1, 2, 4, 8, dtype=torch.float32), randn(1, 3, 4, 8, dtype=torch.float32), cos, cos))):
        try:
            fast.rope_triton(*args)
            errors[label] = "no error"
        except ValueError:
            errors[label] = "ValueError"
    print(json.dumps({"case": "invalid_inputs", "ok": all(v == "ValueError" for v in errors.values()), "problems": [errors]}), flush=True)
    # The launch rule loads cos/sin once for q and k only where Triton cannot vectorise their rows.
    table = randn(40, 64, dtype=torch.float16)
    layouts = {"contiguous": (table[:33], True), "cache of (S + 7, D/2 + 5)": (randn(40, 69, dtype=torch.float16)[:33, :64], False),
               "transposed": (randn(64, 40, dtype=torch.float16).t(), False), "offset by one element": (table[1:, 1:], False)}
    picked = {what: fast._rows_vectorise(t) == want for what, (t, want) in layouts.items()}
    print(json.dumps({"case": "launch_rule_reads_cos_sin_alignment", "ok": all(picked.values()), "problems": [picked]}), flush=True)


def _run_child(device):
    env = dict(os.environ)
    if device == "cpu":
        env["TRITON_INTERPRET"] = "1"
    else:
        env.pop("TRITON_INTERPRET", None)
    proc = subprocess.run([sys.executable, __file__, device], env=env, capture_output=True, text=True, timeout=600)
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            results[record["case"]] = record
    return proc, results


@pytest.fixture(scope="module")
def cpu_results():
    proc, results = _run_child("cpu")
    assert results, f"the interpreter run printed no results:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return results


def _cuda_available():
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


@pytest.fixture(scope="module")
def gpu_results():
    proc, results = _run_child("cuda")
    assert results, f"the GPU run printed no results:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return results


@pytest.mark.parametrize("case", [c[0] for c in CPU_CASES + BASELINE_CPU_CASES] + ["invalid_inputs", "launch_rule_reads_cos_sin_alignment"])
def test_interpreter(cpu_results, case):
    assert case in cpu_results, f"case {case} printed no result"
    record = cpu_results[case]
    assert record["ok"], record["problems"]


@pytest.mark.skipif(not _cuda_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("case", [c[0] for c in GPU_CASES + BASELINE_GPU_CASES] + ["invalid_inputs", "launch_rule_reads_cos_sin_alignment"])
def test_gpu(gpu_results, case):
    assert case in gpu_results, f"case {case} printed no result"
    record = gpu_results[case]
    assert record["ok"], record["problems"]


if __name__ == "__main__":
    _device = sys.argv[1]
    if _device == "cpu":
        assert os.environ.get("TRITON_INTERPRET") == "1", "the CPU run needs TRITON_INTERPRET=1 before triton loads"
        _driver("cpu", CPU_CASES, BASELINE_CPU_CASES)
    else:
        _driver("cuda", GPU_CASES, BASELINE_GPU_CASES)
