"""Stage 1: compile every launched kernel for the target GPU, no GPU needed.

One forward pass of ModelNew runs with Triton launches intercepted
(``launches.intercept_launches``): each launch's signature, specialization and
constexprs are derived from its real arguments by Triton's own binder, built
for a CUDA backend of the target rather than for the local driver, and the
kernel goes through ``triton.compile(ASTSource(...), target=GPUTarget(...))``
to PTX and cubin. ``create_function_from_signature`` and
``JITFunction._pack_args`` are the code ``JITFunction.run`` itself uses, in
Triton 3.6 and 3.9 alike, so the kernel compiled here is the one the GPU would
compile for these arguments.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import tempfile
from typing import Any

# Largest dynamic shared memory one block may opt into, by compute capability
# (CUDA C Programming Guide, "Technical Specifications per Compute Capability").
MAX_SHARED_BYTES = {80: 166912, 86: 101376, 87: 166912, 89: 101376, 90: 232448, 100: 232448, 120: 101376}
REGISTERS_PER_SM = 65536
MAX_GRID = (2**31 - 1, 65535, 65535)


def parse_target(text: str):
    """'sm_89' / 'sm_90a' / '89' -> GPUTarget('cuda', 89, 32)."""
    from triton.backends.compiler import GPUTarget

    match = re.fullmatch(r"(?:sm_?)?(\d+)a?", text.strip())
    if not match:
        raise ValueError(f"target {text!r} is not of the form sm_89")
    return GPUTarget("cuda", int(match.group(1)), 32)


def jsonable(value) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)


def _def_line(fn) -> tuple[str, int]:
    """File and line of the ``def`` of a @triton.jit function."""
    python_fn = getattr(fn, "fn", fn)
    try:
        lines, start = inspect.getsourcelines(python_fn)
    except (OSError, TypeError):
        return python_fn.__code__.co_filename, python_fn.__code__.co_firstlineno
    offset = next((i for i, line in enumerate(lines) if line.lstrip().startswith("def ")), 0)
    return inspect.getsourcefile(python_fn) or python_fn.__code__.co_filename, start + offset


def jit_functions_near(fn) -> list:
    """The JIT functions a kernel can call: those in its module's globals."""
    from triton.runtime.jit import JITFunction

    found = [fn]
    for value in getattr(fn, "__globals__", getattr(fn.fn, "__globals__", {})).values():
        if isinstance(value, JITFunction) and value not in found:
            found.append(value)
    return found


def locate_compile_error(error: BaseException, launched_fn) -> dict:
    """Message, file and line of the innermost CompilationError in the chain.

    Triton raises one CompilationError per call level, each with the source of
    its function (def line first, decorators stripped) and the AST node; the
    innermost names the real cause."""
    from triton.compiler.errors import CompilationError

    innermost, seen = None, error
    while seen is not None:
        if isinstance(seen, CompilationError):
            innermost = seen
        seen = seen.__cause__ or seen.__context__
    if innermost is None:
        file, line = _def_line(launched_fn)
        lines = str(error).strip().splitlines()
        return {"message": f"{type(error).__name__}: {lines[-1] if lines else ''}", "file": file, "line": line, "column": None}
    owner = next(
        (f for f in jit_functions_near(launched_fn) if getattr(f, "src", None) == innermost.src),
        launched_fn,
    )
    file, def_line = _def_line(owner)
    node_line = getattr(innermost.node, "lineno", 1)
    message = innermost.error_message or str(innermost).strip().splitlines()[-1]
    return {
        "message": str(message).strip().splitlines()[-1] if str(message).strip() else type(innermost).__name__,
        "file": file,
        "line": def_line + node_line - 1,
        "column": getattr(innermost.node, "col_offset", -1) + 1,
    }


def ptxas_usage(ptx: str, arch: int) -> dict:
    """Registers and spills as ptxas -v reports them for this PTX."""
    from triton import knobs

    tool = knobs.nvidia.ptxas
    if arch >= 100 and hasattr(knobs.nvidia, "ptxas_blackwell"):
        tool = knobs.nvidia.ptxas_blackwell
    gpu = re.search(r"^\.target\s+(\S+)", ptx, re.M)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "k.ptx")
        with open(path, "w") as f:
            f.write(ptx)
        out = subprocess.run(
            [tool.path, "-v", f"--gpu-name={gpu.group(1) if gpu else f'sm_{arch}'}", path, "-o", os.path.join(tmp, "k.cubin")],
            capture_output=True, text=True, timeout=120,
        )
    log = out.stdout + out.stderr
    usage: dict = {}
    if m := re.search(r"Used (\d+) registers", log):
        usage["registers"] = int(m.group(1))
    if m := re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", log):
        usage["spill_stores"], usage["spill_loads"] = int(m.group(1)), int(m.group(2))
    if m := re.search(r"(\d+) bytes stack frame", log):
        usage["stack_bytes"] = int(m.group(1))
    return usage


class Compiler:
    """Compiles each distinct launch once and keeps one report row per kernel."""

    def __init__(self, target):
        from triton.compiler.compiler import make_backend

        self.target = target
        self.backend = make_backend(target)
        self.binders: dict = {}
        self.rows: dict[str, dict] = {}
        self.compiled_keys: set[str] = set()

    def row_for(self, fn) -> dict:
        name = fn.fn.__name__
        if name not in self.rows:
            file, line = _def_line(fn)
            self.rows[name] = {"name": name, "file": file, "line": line, "status": "compiled",
                               "launches": 0, "variants": []}
        return self.rows[name]

    def on_launch(self, launch) -> None:
        from triton.compiler import ASTSource
        from triton.runtime.jit import create_function_from_signature

        import triton

        fn, row = launch.fn, self.row_for(launch.fn)
        row["launches"] += not launch.extra_config
        if fn not in self.binders:
            self.binders[fn] = create_function_from_signature(fn.signature, fn.params, self.backend)
        kwargs = dict(launch.kwargs)
        kwargs.setdefault("debug", False)
        try:
            bound_args, specialization, options = self.binders[fn](*launch.args, **kwargs)
            options, signature, constexprs, attrs = fn._pack_args(self.backend, kwargs, bound_args, specialization, options)
        except Exception as error:  # wrong arguments for the kernel's parameters
            row["status"] = "error"
            row.setdefault("errors", []).append(
                {"message": f"launch arguments: {type(error).__name__}: {error}", "file": row["file"], "line": row["line"], "column": None})
            return
        grid = launch.grid(bound_args) if callable(launch.grid) else launch.grid
        grid = tuple(int(g) for g in (tuple(grid) + (1, 1))[:3])
        key = repr((row["name"], signature, sorted(constexprs.items()), sorted(attrs.items()), options))
        if key in self.compiled_keys:
            self._check_grid(row, grid)
            return
        self.compiled_keys.add(key)
        variant = {
            "signature": {k: v for k, v in signature.items() if v != "constexpr"},
            "constexprs": {fn.arg_names[k[0]]: jsonable(v) for k, v in constexprs.items() if len(k) == 1},
            "grid": list(grid),
        }
        row["variants"].append(variant)
        self._check_grid(row, grid)
        try:
            kernel = triton.compile(ASTSource(fn, signature, constexprs, attrs), target=self.target, options=options.__dict__)
        except Exception as error:
            row["status"] = "error"
            variant["error"] = locate_compile_error(error, fn)
            row.setdefault("errors", []).append(variant["error"])
            return
        meta = kernel.metadata
        variant.update({"num_warps": meta.num_warps, "num_stages": meta.num_stages, "shared_bytes": meta.shared})
        try:
            variant.update(ptxas_usage(kernel.asm["ptx"], self.target.arch))
        except Exception as error:  # the resource report is a bonus; the compile already passed
            variant["usage_error"] = str(error)
        self._check_resources(row, variant)

    def _check_grid(self, row, grid) -> None:
        for axis, (size, limit) in enumerate(zip(grid, MAX_GRID)):
            if size <= 0 or size > limit:
                problem = f"grid axis {axis} is {size}: CUDA launches need 1..{limit}"
                if problem not in row.get("launch_errors", []):
                    row.setdefault("launch_errors", []).append(problem)
                row["status"] = "error"

    def _check_resources(self, row, variant) -> None:
        arch = self.target.arch
        limit = MAX_SHARED_BYTES.get(arch)
        problems = []
        if limit is not None and variant["shared_bytes"] > limit:
            problems.append(f"needs {variant['shared_bytes']} bytes of shared memory; sm_{arch} allows {limit}")
        registers = variant.get("registers")
        if registers and registers * variant["num_warps"] * 32 > REGISTERS_PER_SM:
            problems.append(f"{registers} registers x {variant['num_warps'] * 32} threads exceed the {REGISTERS_PER_SM} registers of an SM")
        if problems:
            row["status"] = "error"
            row.setdefault("launch_errors", []).extend(problems)


def run_compile_stage(spec: dict, exchange, send) -> None:
    """One forward of ModelNew on the compile inputs with every launch intercepted and compiled;
    sends the kernels' rows (and the error that stopped forward, if one did) to fuselint."""
    import contextlib

    import torch
    from triton.runtime.jit import JITFunction

    from ..common import wire
    from ..common.errors import error_record
    from ..common.loading import load_module
    from ..common.trees import to_device
    from .cuda_on_cpu import cuda_on_cpu
    from .launches import intercept_launches

    target = parse_target(spec["target"])
    gpu = torch.cuda.is_available()
    device = "cuda" if gpu else "cpu"
    construction, _ = wire.read(str(exchange / "model.bin"))
    inputs = to_device(wire.read(str(exchange / "inputs" / "compile.bin"))[0], device)
    send("phase", phase="compile: loading the candidate")
    module = load_module(spec["kernel"], "kernel")
    torch.manual_seed(construction["seed"])
    model = module.ModelNew(*construction["init"]).to(device)
    compiler = Compiler(target)
    send("phase", phase="compile: forward with launches intercepted")
    forward_error = None
    with intercept_launches(compiler.on_launch), (contextlib.nullcontext() if gpu else cuda_on_cpu(target.arch)), \
            torch.no_grad():
        try:
            model(*inputs)
        except Exception as error:  # the candidate's own code failed
            forward_error = error_record(error, [os.path.realpath(spec["kernel"])])
    rows = list(compiler.rows.values())
    launched = {r["name"] for r in rows}
    for fn in _top_level_kernels(module, JITFunction):
        if fn.fn.__name__ not in launched:
            file, line = _def_line(fn)
            rows.append({"name": fn.fn.__name__, "file": file, "line": line, "status": "not_reached", "launches": 0,
                         "variants": []})
    send("compile", kernels=rows, forward_error=forward_error,
         reached_via="cuda tensors" if gpu else "cpu tensors posing as cuda (no GPU here)")


def _top_level_kernels(module, jit_class) -> list:
    """@triton.jit functions of the module that no other kernel calls (helpers are compiled
    inside their callers)."""
    found = []
    for value in vars(module).values():
        while value is not None and not isinstance(value, jit_class) and hasattr(value, "fn"):
            value = value.fn  # Autotuner / Heuristics wrappers
        if isinstance(value, jit_class) and value not in found:
            found.append(value)
    sources = {f: getattr(f, "src", "") for f in found}
    return [f for f in found if not any(f"{f.fn.__name__}(" in src for g, src in sources.items() if g is not f)]
