"""The candidate's own process: ``python -m fuselint.runtime.child STAGE SPEC OUT``.

STAGE is ``compile`` (stage 1) or ``run`` (stages 2, 3 and 4). SPEC is a JSON
file of options; OUT is where the partial report goes. OUT is rewritten
(atomically) after every step, with ``phase`` naming the step under way, so
that when this process hangs or dies the parent still knows what finished
and where it stopped.

The parent sets TRITON_INTERPRET=1 for a ``run`` on a machine without a GPU;
Triton reads it once, at import, hence one process per stage.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback


class Progress:
    def __init__(self, path: str):
        self.path = path
        self.data: dict = {"phase": "starting"}

    def phase(self, text: str) -> None:
        self.data["phase"] = text
        self.flush()

    def put(self, key: str, value) -> None:
        self.data[key] = value
        self.flush()

    def flush(self) -> None:
        tmp = f"{self.path}.tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f, default=str)
        os.replace(tmp, self.path)


# Failures worth naming before the exception's own words.
_KINDS = (("illegal memory access", "illegal memory access"), ("misaligned address", "illegal memory access"),
          ("out of memory", "out of memory"), ("can't allocate memory", "out of memory"))


def short_error(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    # CUDA errors put the useful line first, Python ones last.
    line = next((t for t in text if "CUDA error" in t or "out of memory" in t), text[-1] if text else "")
    kind = next((k for marker, k in _KINDS if marker in str(error)), None)
    return (f"{kind}: " if kind else "") + f"{type(error).__name__}: {line}"[:500]


def where_in_candidate(error: BaseException, paths: list[str]) -> str | None:
    """file:line of the deepest traceback frame inside the candidate's files,
    following the chain of causes: the interpreter re-raises a kernel's error
    from the launch line, with the kernel's own line in the cause."""
    where, seen = None, set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        frames = [f for f in traceback.extract_tb(error.__traceback__) if os.path.realpath(f.filename) in paths]
        if frames:
            where = f"{frames[-1].filename}:{frames[-1].lineno}"
        error = error.__cause__ or error.__context__
    return where


def environment(torch, triton, interpreted: bool) -> dict:
    gpu = torch.cuda.is_available() and not interpreted
    return {
        "device": torch.cuda.get_device_name() if gpu else "cpu (Triton interpreter)" if interpreted else "cpu",
        "torch": torch.__version__,
        "triton": triton.__version__,
        "interpreter": interpreted,
        "cuda_available": torch.cuda.is_available(),
    }


def prepare_sizes(pair, spec, shrink_over: int | None) -> dict:
    """Apply --dims, then shrink the size knobs when the inputs exceed shrink_over elements."""
    if spec.get("dims"):
        unknown = set(spec["dims"]) - set(pair.size_knobs())
        if unknown:
            raise ValueError(f"--dims names {sorted(unknown)}, not size variables of get_inputs() ({sorted(pair.size_knobs())})")
        pair.set_sizes(spec["dims"])
    if shrink_over and not spec.get("dims"):
        return {k: list(v) for k, v in pair.shrink_to(shrink_over).items()}
    return {}


def stage_compile(spec: dict, progress: Progress) -> None:
    import torch
    import triton
    from triton.runtime.jit import JITFunction

    from .candidate import Pair, cuda_on_cpu
    from .compile_stage import Compiler, parse_target
    from .launches import intercept_launches

    progress.put("environment", environment(torch, triton, interpreted=False))
    result = {"status": "pass", "reason": None, "target": spec["target"], "kernels": [], "notes": []}
    progress.put("compile", result)
    progress.phase("compile: loading the candidate")
    target = parse_target(spec["target"])
    pair = Pair(spec["kernel"], spec["reference"])
    gpu = torch.cuda.is_available()
    # The wrapper's torch ops run for real on the CPU: keep their memory sane.
    shrunk = prepare_sizes(pair, spec, None if gpu else spec["compile_max_elements"])
    if shrunk:
        result["notes"].append(f"inputs shrunk to fit the CPU: {shrunk}; constexprs that follow sizes may differ from the full run")
    result["reached_via"] = "cuda tensors" if gpu else "cpu tensors posing as cuda (no GPU here)"
    device = "cuda" if gpu else "cpu"
    _, new_model = pair.make_models(spec["seed"])
    new_model.to(device)
    inputs, _ = pair.make_inputs(spec["seed"], device)
    compiler = Compiler(target)
    progress.phase("compile: forward with launches intercepted")
    forward_error = None
    with intercept_launches(compiler.on_launch), (contextlib.nullcontext() if gpu else cuda_on_cpu(target.arch)), torch.no_grad():
        try:
            new_model(*inputs)
        except Exception as error:  # the candidate's own code failed
            forward_error = error
    rows = list(compiler.rows.values())
    launched = {r["name"] for r in rows}
    for fn in _top_level_kernels(pair.kernel, JITFunction):
        if fn.fn.__name__ not in launched:
            from .compile_stage import _def_line

            file, line = _def_line(fn)
            rows.append({"name": fn.fn.__name__, "file": file, "line": line, "status": "not_reached", "launches": 0, "variants": []})
    result["kernels"] = rows
    if forward_error is not None:
        where = where_in_candidate(forward_error, [os.path.realpath(spec["kernel"])])
        stop = f"ModelNew's forward raised {short_error(forward_error)}" + (f" at {where}" if where else "")
        if not launched:
            result.update(status="fail", reason=f"no kernel reached: {stop}")
        else:
            result["notes"].append(f"{stop} after {sum(r['launches'] for r in rows)} launches (kernels were not run here; later launches may need their results)")
    errors = [r for r in rows if r["status"] == "error"]
    if errors:
        first = errors[0]
        detail = (first.get("errors") or [{"message": "; ".join(first.get("launch_errors", []))}])[0]
        location = f"{detail.get('file', first['file'])}:{detail.get('line', first['line'])}"
        result.update(status="fail", reason=f"{first['name']}: {detail['message']} ({location})")
    elif not launched and forward_error is None:
        result.update(status="skip", reason="no Triton launch in ModelNew's forward")
    progress.put("compile", result)
    progress.phase("done")


def _top_level_kernels(module, jit_class) -> list:
    """@triton.jit functions of the module that no other kernel calls (helpers are compiled inside their callers)."""
    found = []
    for value in vars(module).values():
        while value is not None and not isinstance(value, jit_class) and hasattr(value, "fn"):
            value = value.fn  # Autotuner / Heuristics wrappers
        if isinstance(value, jit_class) and value not in found:
            found.append(value)
    sources = {f: getattr(f, "src", "") for f in found}
    return [f for f in found if not any(f"{f.fn.__name__}(" in src for g, src in sources.items() if g is not f)]


def main(argv: list[str]) -> int:
    stage, spec_path, out_path = argv
    with open(spec_path) as f:
        spec = json.load(f)
    progress = Progress(out_path)
    try:
        if stage == "compile":
            stage_compile(spec, progress)
        else:
            from .run_stage import stage_run

            stage_run(spec, progress)
    except Exception as error:
        progress.put("error", {"message": short_error(error), "where": where_in_candidate(
            error, [os.path.realpath(spec["kernel"]), os.path.realpath(spec["reference"])]),
            "traceback": traceback.format_exc()[-4000:]})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
