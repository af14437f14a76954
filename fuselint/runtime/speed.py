"""Stage 3: speed on the GPU (child process only).

``triton.testing.do_bench`` with ``return_mode="median"``: it warms up, then
before every timed call zeroes a buffer larger than L2 (Triton's own flush), and
times with CUDA events. ModelNew, the reference in eager mode and
``torch.compile(reference)`` are timed in the same process, together with a
device-to-device copy that gives the bandwidth this GPU reaches right now.
"""

from __future__ import annotations

COPY_BYTES = 1 << 30


def measure(pair, ref_model, new_model, spec: dict, correctness: dict, progress) -> dict:
    import torch
    from triton.testing import do_bench

    from .candidate import clone_tree, tensors_in
    from .checks import compare_output

    bench = dict(warmup=spec["warmup_ms"], rep=spec["rep_ms"], return_mode="median")
    inputs, _ = pair.make_inputs(spec["seed"], "cuda")
    result = {"status": "pass", "reason": None, "ms": {}, "gbps": {}, "notes": [], "timing": "do_bench median, L2 flushed before each call"}
    with torch.no_grad():
        first_inputs = clone_tree(inputs)
        want = tensors_in(ref_model(*first_inputs))
        result["min_bytes"] = minimal_bytes(first_inputs, want)

        progress.phase("speed: device copy bandwidth")
        src = torch.empty(COPY_BYTES // 4, dtype=torch.float32, device="cuda").normal_()
        dst = torch.empty_like(src)
        copy_ms = do_bench(lambda: dst.copy_(src), **bench)
        result["copy_gbps"] = 2 * COPY_BYTES / copy_ms / 1e6
        del src, dst

        last = {}

        def run_new():
            last["out"] = new_model(*inputs)

        progress.phase("speed: ModelNew")
        result["ms"]["model_new"] = do_bench(run_new, **bench)
        progress.phase("speed: reference (eager)")
        ref_inputs = clone_tree(inputs)
        result["ms"]["reference_eager"] = do_bench(lambda: ref_model(*ref_inputs), **bench)
        progress.phase("speed: torch.compile(reference)")
        try:
            compiled = torch.compile(ref_model)
            compiled(*ref_inputs)
            result["ms"]["reference_compiled"] = do_bench(lambda: compiled(*ref_inputs), **bench)
        except Exception as error:  # a reference torch.compile cannot take is no fault of the candidate
            result["notes"].append(f"torch.compile(reference) failed: {type(error).__name__}: {str(error).strip().splitlines()[0][:200] if str(error).strip() else ''}")
        torch.cuda.synchronize()

        # The outputs of the timed calls must be right too (a race can show only there).
        if any(p["check"] == "mutation" for p in correctness.get("problems", [])):
            result["timed_outputs"] = "not comparable: ModelNew changes its inputs, so each timed call saw other inputs"
        else:
            got = tensors_in(last["out"])
            problems = [p for g, w in zip(got, want) for p in compare_output(g, w)]
            if len(got) != len(want):
                problems.append({"check": "shape", "detail": f"{len(got)} outputs, reference {len(want)}"})
            result["timed_outputs"] = "match the reference" if not problems else f"{problems[0]['check']}: {problems[0]['detail']}"
            if problems:
                result.update(status="fail", reason=f"output of the last timed call: {result['timed_outputs']}")

    for name, ms in result["ms"].items():
        result["gbps"][name] = result["min_bytes"] / ms / 1e6
    result["fraction_of_copy"] = {name: gbps / result["copy_gbps"] for name, gbps in result["gbps"].items()}
    new_ms = result["ms"]["model_new"]
    result["speedup"] = {f"vs_{name.removeprefix('reference_')}": ms / new_ms
                         for name, ms in result["ms"].items() if name != "model_new"}
    floor = spec.get("min_speedup")
    if floor is not None and result["status"] == "pass" and result["speedup"]["vs_eager"] < floor:
        result.update(status="fail", reason=f"speedup over eager {result['speedup']['vs_eager']:.2f}x < --min-speedup {floor}")
    return result


def minimal_bytes(inputs, outputs) -> int:
    """Each input read once, each output written once; an output that shares
    storage with an input (returned as is, or updated in place) is not counted
    again."""
    import torch

    seen, total = set(), 0
    for x in inputs:
        if isinstance(x, torch.Tensor):
            key = (x.untyped_storage().data_ptr(), x.storage_offset(), tuple(x.shape))
            if key not in seen:
                seen.add(key)
                total += x.numel() * x.element_size()
    input_storages = {x.untyped_storage().data_ptr() for x in inputs if isinstance(x, torch.Tensor)}
    for y in outputs:
        if isinstance(y, torch.Tensor) and y.untyped_storage().data_ptr() not in input_storages:
            total += y.numel() * y.element_size()
    return total
