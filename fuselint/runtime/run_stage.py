"""Stages 2 (correctness), 4 (Triton actually ran) and 3 (speed), in the child.

On a GPU the models run there; without one, under Triton's interpreter
(TRITON_INTERPRET=1, set by the parent) with the wrapper's CUDA habits
absorbed by ``candidate.cuda_on_cpu``.
"""

from __future__ import annotations

import contextlib
import os

from .child import Progress, environment, prepare_sizes, short_error, where_in_candidate


def stage_run(spec: dict, progress: Progress) -> None:
    import torch
    import triton

    from .candidate import Pair, clone_tree, cuda_on_cpu, tensors_in
    from .checks import PoisonFreshMemory, compare_output, mutation, unwritten_elements
    from .interpreter_fixes import bool_masks
    from .launches import count_launches, rotate_autotune_configs

    interpreted = os.environ.get("TRITON_INTERPRET") == "1"
    gpu = torch.cuda.is_available() and not interpreted
    device = "cuda" if gpu else "cpu"
    progress.put("environment", environment(torch, triton, interpreted))
    correctness = {"status": "pass", "reason": None, "mode": "gpu" if gpu else "interpreter",
                   "trials": spec["trials"], "seed": spec["seed"], "notes": [], "problems": []}
    launches = {"status": "skip", "reason": "correctness did not get to run ModelNew", "count": 0, "kernels": {}}
    speed = {"status": "skip", "reason": "no GPU: speed is measured on a GPU only" if not gpu else
             "not asked for" if not spec.get("speed", True) else "ModelNew did not finish its correctness runs"}
    progress.put("correctness", correctness)
    progress.put("launches", launches)
    progress.put("speed", speed)
    kernel_paths = [os.path.realpath(spec["kernel"]), os.path.realpath(spec["reference"])]

    progress.phase("correctness: loading the candidate")
    pair = Pair(spec["kernel"], spec["reference"])
    shrunk = prepare_sizes(pair, spec, spec["max_elements"] if interpreted else None)
    if shrunk:
        correctness["notes"].append(f"inputs shrunk for the interpreter: {shrunk} (--dims to choose)")
    ref_model, new_model = pair.make_models(spec["seed"])
    ref_model.to(device)
    new_model.to(device)
    sync = torch.cuda.synchronize if gpu else (lambda: None)
    shim = contextlib.nullcontext if gpu else cuda_on_cpu

    sample, notes = pair.make_inputs(spec["seed"], device)
    correctness["notes"] += notes
    correctness["inputs"] = [_describe(x) for x in sample]
    if interpreted and _has_bf16(sample, ref_model):
        correctness.update(status="skip", reason="bf16 under the Triton interpreter: 3.9 computes it wrong and 3.6 rejects it; verify on a GPU")
        launches["reason"] = correctness["reason"]
        progress.put("correctness", correctness)
        progress.phase("done")
        return

    def forward(model, inputs, poison=None, under_shim=False):
        with torch.no_grad(), (PoisonFreshMemory(poison) if poison is not None else contextlib.nullcontext()), \
                (shim() if under_shim else contextlib.nullcontext()):
            out = model(*inputs)
        sync()
        return out

    from .sanitize import sanitizing

    with (sanitizing(interpreted) if spec.get("sanitize") else contextlib.nullcontext(None)) as sanitizer, \
            count_launches(interpreted) as counter, \
            (bool_masks() if interpreted else contextlib.nullcontext({})) as fixes, \
            (rotate_autotune_configs() if interpreted else contextlib.nullcontext(None)) as rotation:
        try:
            progress.phase("correctness: warm-up forward of ModelNew (compiles, autotunes)")
            forward(new_model, clone_tree(sample), under_shim=True)
            for trial in range(spec["trials"]):
                progress.phase(f"correctness: trial {trial}")
                inputs, _ = pair.make_inputs(spec["seed"] + trial, device) if trial else (sample, [])
                if rotation is not None:
                    rotation.index = trial
                ref_inputs, new_inputs = clone_tree(inputs), clone_tree(inputs)
                want = tensors_in(forward(ref_model, ref_inputs))
                counter.active = trial == 0
                got = tensors_in(forward(new_model, new_inputs, poison=0, under_shim=True))
                counter.active = False
                if trial == 0:
                    launches.update(count=counter.total, kernels=dict(counter.by_kernel))
                problems = _compare_all(got, want, compare_output)
                problems += mutation(new_inputs, ref_inputs, inputs)
                if trial == 0:
                    progress.phase("correctness: second poison run (unwritten elements)")
                    again = tensors_in(forward(new_model, clone_tree(inputs), poison=1, under_shim=True))
                    problems += unwritten_elements(got, again)
                for p in problems:
                    p["trial"] = trial
                correctness["problems"] += problems
                progress.put("correctness", correctness)
        except Exception as error:
            if sanitizer is not None:
                progress.put("sanitize", sanitizer.summary())
            where = where_in_candidate(error, kernel_paths)
            correctness.update(status="fail", reason=short_error(error) + (f" at {where}" if where else ""))
            if interpreted and _interpreter_gap(error):
                correctness.update(status="skip", reason=f"the Triton interpreter cannot run this kernel ({correctness['reason']}); verify on a GPU")
            launches.update(status="skip", reason="ModelNew did not finish a forward") if counter.total == 0 else None
            progress.put("correctness", correctness)
            progress.put("launches", launches)
            progress.phase("done")
            return
    if sanitizer is not None:
        progress.put("sanitize", sanitizer.summary())
    if correctness["problems"]:
        first = min(correctness["problems"], key=lambda p: CHECK_PRIORITY.index(p["check"]))
        failed_trials = sorted({p["trial"] for p in correctness["problems"]})
        what = f"output {first['output']}" if "output" in first else f"input {first['input']}" if "input" in first else ""
        correctness.update(status="fail", reason=f"{first['check']}: {what} {first['detail']} (trials failing: {failed_trials})")
    if rotation is not None and rotation.used:
        correctness["notes"].append(f"autotuned ({', '.join(sorted(rotation.used))}): with no timings under the interpreter, "
                                    "trial t ran config t mod N")
    if fixes.get("masks_cast_to_bool"):
        correctness["notes"].append(f"interpreter work-around: {fixes['masks_cast_to_bool']} int32 masks cast to bool "
                                    "(the interpreter types scalar comparisons joined by & as int32; the compiler types them int1)")
    if interpreted:
        correctness["notes"].append("ran under the Triton interpreter (numpy on CPU): no bf16, no libdevice, no real memory model; races and out-of-bounds reads a GPU would show can pass here")
    progress.put("correctness", correctness)
    launches.update(status="pass" if launches["count"] else "fail",
                    reason=None if launches["count"] else "no Triton kernel ran in ModelNew's forward")
    progress.put("launches", launches)

    if gpu and spec.get("speed", True):
        from .speed import measure

        progress.phase("speed")
        speed = measure(pair, ref_model, new_model, spec, correctness, progress)
        progress.put("speed", speed)
    progress.phase("done")


# The most telling problem names the failure: an unwritten tail also shows as
# NaN and wrong values, but "unwritten" says what to fix.
CHECK_PRIORITY = ("unwritten", "mutation", "shape", "dtype", "finite", "values", "magnitude")


def _compare_all(got, want, compare_output) -> list[dict]:
    if len(got) != len(want):
        return [{"output": 0, "check": "shape", "detail": f"ModelNew returned {len(got)} outputs, the reference {len(want)}"}]
    problems = []
    for index, (g, w) in enumerate(zip(got, want)):
        for p in compare_output(g, w):
            problems.append({"output": index, **p})
    return problems


def _describe(x):
    import torch

    if isinstance(x, torch.Tensor):
        return {"shape": list(x.shape), "dtype": str(x.dtype).removeprefix("torch.")}
    return {"value": repr(x)[:80]}


def _has_bf16(inputs, model) -> bool:
    import torch

    tensors = [x for x in inputs if isinstance(x, torch.Tensor)] + list(model.parameters()) + list(model.buffers())
    return any(t.dtype == torch.bfloat16 for t in tensors)


def _interpreter_gap(error: BaseException) -> bool:
    """Errors that come from what the interpreter lacks (libdevice, bf16), not from the kernel."""
    text = f"{error} {error.__cause__ or ''}"
    return any(s in text for s in ("_semantic` argument must be provided", "libdevice", "get_bf16", "bfloat16",
                                   "mask has unsupported dtype"))
