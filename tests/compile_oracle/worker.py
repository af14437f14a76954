"""The oracle: compile kernels with the Triton of the interpreter that runs this file.

Standalone (it needs only triton, plus what the kernel's module imports), so that one harness
can ask several Triton versions: `python worker.py < jobs.jsonl > verdicts.jsonl`. Each job is
{"id", "source", "kernel", "signature", "constexprs", "target"}; each verdict is {"id",
"verdict": "compiles" | "rejected" | "import-error", "message"}. A kernel is compiled the way
`JITFunction.run` compiles it: `triton.compile(ASTSource(fn, signature, constexprs),
target=GPUTarget("cuda", 89, 32))` (fuselint/runtime/candidate/compile_stage.py does the same for
intercepted launches; its target parser and error locator are reused here).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _jit_function(value):
    from triton.runtime.jit import JITFunction

    while not isinstance(value, JITFunction):  # Autotuner / Heuristics wrap the JITFunction in .fn
        value = getattr(value, "fn", None)
        if value is None:
            return None
    return value


def compile_job(job: dict, folder: str) -> dict:
    from triton.compiler import ASTSource
    import triton

    from fuselint.runtime.candidate.compile_stage import locate_compile_error, parse_target

    name = f"_fl_oracle_{job['id']}"
    path = os.path.join(folder, name + ".py")
    with open(path, "w") as f:
        f.write(job["source"])
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        fn = _jit_function(getattr(module, job["kernel"]))
    except Exception as error:  # the mutant's module does not even import: no compile verdict
        return {"verdict": "import-error", "message": f"{type(error).__name__}: {error}"[:300]}
    import triton.language as tl

    # a dtype constexpr travels as {"dtype": "float16"}
    constexprs = {(i,): getattr(tl, v["dtype"]) if isinstance(v, dict) else v for i, v in job["constexprs"]}
    try:
        triton.compile(ASTSource(fn, job["signature"], constexprs), target=parse_target(job.get("target", "sm_89")))
    except Exception as error:
        located = locate_compile_error(error, fn)
        return {"verdict": "rejected", "message": located["message"][:300], "line": located["line"]}
    finally:
        sys.modules.pop(name, None)
    return {"verdict": "compiles", "message": ""}


def main() -> None:
    sys.path.insert(0, REPO)
    # Packages the kernels import (torch, liger_kernel) from another environment, searched
    # after this interpreter's own, so that its triton stays the one compiling.
    sys.path += [p for p in os.environ.get("FL_ORACLE_EXTRA_PATH", "").split(os.pathsep) if p]
    import triton

    with tempfile.TemporaryDirectory() as folder:
        for line in sys.stdin:
            job = json.loads(line)
            try:
                result = compile_job(job, folder)
            except Exception:  # a failure of the harness itself, kept apart from verdicts
                result = {"verdict": "harness-error", "message": traceback.format_exc()[-300:]}
            result.update(id=job["id"], triton=triton.__version__)
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
