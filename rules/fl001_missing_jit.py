from __future__ import annotations

import libcst as cst

from fuselint.findings import Edit
from fuselint.model.module import AUTOTUNE, HEURISTICS
from fuselint.model.names import dotted
from fuselint.rule import Rule


def _add_jit(module, function) -> Edit | None:
    """`@triton.jit` (or the file's own alias of it) as the innermost decorator."""
    triton = module.imports.local_name("triton")
    jit = module.imports.local_name("triton.jit")
    if triton is not None:
        decorator = cst.Attribute(cst.Name(triton), cst.Name("jit"))
    elif jit is not None:
        decorator = cst.Name(jit)
    else:
        return None
    node = function.node
    return Edit(node, node.with_changes(decorators=[*node.decorators, cst.Decorator(decorator)]))

# `tl.*` functions that only work inside a kernel (Triton's `@builtin`s and `@jit` helpers).
# Other `tl` names — classes, dtypes, private helpers — are used by host code too.
_DEVICE_ONLY = {
    "load", "store", "arange", "program_id", "num_programs", "zeros", "zeros_like", "full", "full_like",
    "dot", "dot_scaled", "sum", "max", "min", "argmax", "argmin", "reduce", "xor_sum", "cumsum", "cumprod",
    "associative_scan", "where", "exp", "exp2", "log", "log2", "sqrt", "sqrt_rn", "rsqrt", "abs", "sin", "cos",
    "erf", "floor", "ceil", "fma", "maximum", "minimum", "clamp", "sigmoid", "softmax", "tanh", "gelu", "silu",
    "mish", "atomic_add", "atomic_max", "atomic_min", "atomic_and", "atomic_or", "atomic_xor", "atomic_xchg",
    "atomic_cas", "reshape", "view", "permute", "trans", "broadcast", "broadcast_to", "expand_dims", "join",
    "split", "interleave", "cat", "sort", "flip", "histogram", "gather", "make_block_ptr", "advance",
    "multiple_of", "max_contiguous", "max_constancy", "debug_barrier", "device_assert", "device_print",
    "static_assert", "static_print", "inline_asm_elementwise", "rand", "randn", "randint", "umulhi", "div_rn",
    "fdiv", "static_range",
}


def _device_only(name: str) -> bool:
    return name.removeprefix("math.") in _DEVICE_ONLY


def _known_host_decorator(module, decorator) -> bool:
    name = module.decorator_name(decorator)
    if name is None:
        expr = decorator.decorator
        return dotted(expr.func if hasattr(expr, "func") else expr) in ("staticmethod", "classmethod", "property")
    return name in AUTOTUNE or name in HEURISTICS or name.startswith(("functools.", "torch."))


class MissingJit(Rule):
    """## What it does
    Flags a function that calls `tl.*` device functions (`tl.load`, `tl.arange`, ...) or is
    launched with `[grid]`, but has no `@triton.jit`.

    ## Why is this bad?
    House rule: "EVERY kernel function MUST have `@triton.jit` decorator". Without it a launch
    fails (`'function' object is not subscriptable`) and a call from a kernel is rejected by the
    compiler (`Unsupported function referenced`).

    ## Example
    ```python
    def add_kernel(x_ptr, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) + 1, mask=offs < n)
    ```

    ## Use instead
    ```python
    @triton.jit
    def add_kernel(x_ptr, n, BLOCK: tl.constexpr):
        ...
    ```
    `--fix` adds `@triton.jit` (the file's own name for it) under the other decorators.
    """

    code, name, fatal = "FL001", "missing-jit", True
    fix = "sometimes"

    def check_module(self, module):
        for function in module.functions:
            if module.is_jit(function):
                continue
            # Any other decorator may be a project's own jit wrapper: say nothing.
            if not all(_known_host_decorator(module, d) for d in function.node.decorators):
                continue
            device_calls = sorted({
                name for call in function.calls
                if (name := module.imports.tl_function(call.func)) is not None and _device_only(name)
            })
            launched = function.class_name is None and any(
                launch.target == function.name and launch.kernel is None for launch in module.launches
            )
            if launched:
                yield self.report(function.node.name, f"`{function.name}` is launched with [grid] but has no @triton.jit",
                                  fix=_add_jit(module, function))
            elif device_calls:
                used = ", ".join(f"tl.{name}" for name in device_calls[:3])
                yield self.report(function.node.name, f"`{function.name}` calls {used} but has no @triton.jit",
                                  fix=_add_jit(module, function))

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def kernel(x_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs))

def launch(x):
    kernel[(1,)](x, BLOCK=64)
""",
        """
from triton import jit
import triton
import triton.language as tl

@triton.autotune(configs=[triton.Config({"BLOCK": 64})], key=["n"])
@jit
def kernel(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)
""",
        """
import triton
import triton.language as tl

def _body(x_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs))

body = triton.jit(_body)

def pick_dtype(x):
    return tl.float16 if x.dtype == 2 else tl.constexpr(32)
""",
        """
import triton
import triton.language as tl
from mylib import my_jit

@my_jit
def helper(x):
    return tl.exp(x)
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

def kernel(x_ptr, BLOCK: tl.constexpr):  # error
    offs = tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs))
""",
        """
import triton
import triton.language as tl

@triton.jit
def kernel(x_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, _square(tl.load(x_ptr + offs)))

def _square(x):  # error
    return tl.math.exp(x) * tl.exp(x)
""",
        """
import triton
import triton.language as tl

def kernel(x_ptr, n):  # error
    pass

def launch(x):
    kernel[(1,)](x, x.numel())
""",
        """
import triton
import triton.language as tl

@triton.autotune(configs=[triton.Config({"BLOCK": 64})], key=["n"])
def kernel(x_ptr, n, BLOCK: tl.constexpr):  # error
    pid = tl.program_id(0)
""",
    ]
