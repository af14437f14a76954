from __future__ import annotations

import builtins

from fuselint.model.constructs import bound_anywhere, global_reads, module_binds_unseen_names, rewrites_kernel_source
from fuselint.rule import Rule

# Python builtins a kernel may use: triton/runtime/jit.py DependenciesFinder.supported_python_builtins
# and CodeGenerator.builtin_namespace (3.6 and 3.9 have the same two sets).
SUPPORTED_BUILTINS = {"float", "getattr", "hasattr", "int", "isinstance", "len", "list", "max", "min", "print", "range"}
_BUILTINS = {n for n in dir(builtins) if not n.startswith("_")} | {"__import__"}


def bound_anywhere_outside(module, kernel, name: str) -> bool:
    """Whether the module binds `name` at module level (a global the kernel may read), or may
    bind it where the model does not see (exec, a star import, a rewritten kernel source)."""
    return name in module.scope.assignments or name in module.imports.aliases or any(
        f.name == name and f.scope.parent is module.scope for f in module.functions
    ) or module_binds_unseen_names(module) or rewrites_kernel_source(module)


def _module_function(module, name: str):
    """The one module-level `def name` of the module, when the name is bound by nothing else."""
    defs = [f for f in module.functions if f.name == name and f.class_name is None and f.scope.parent is module.scope]
    if len(defs) != 1 or name in module.imports.aliases or name in module.scope.assignments:
        return None
    if any(c.name.value == name for c in module.classes):
        return None
    return defs[0]


class NonJitCall(Rule):
    """## What it does
    Flags a `@triton.jit` function that calls (or otherwise references) a plain Python function
    of its own module — a module-level `def` without `@triton.jit` or any other decorator — or
    a Python builtin that Triton does not support (`abs`, `sum`, `round`, `zip`, `enumerate`,
    `tuple`, `bool`, `str`, ...), or a name bound nowhere in the module (including a local
    only ever updated with `+=`). Supported builtins
    (`range`, `len`, `min`, `max`, `print`, `int`, `float`, `isinstance`, `getattr`,
    `hasattr`, `list`), `tl.*`, `@triton.jit` helpers, `triton.language.extra.*`, functions
    with other decorators (`constexpr_function`, `builtin`) and imported names (whose kind is
    not known here) are never flagged. A file that rewrites a kernel's source before it is
    compiled (`kernel.src = kernel.src.replace("OP", op)`, `_unsafe_update_src`,
    `inspect.getsource` + `exec`) fills names in at run time: its undefined names and builtins
    are not flagged.

    ## Why is this bad?
    Triton hashes every global a kernel references before compiling it, and a plain Python
    function raises `RuntimeError: Unsupported function referenced`
    (`DependenciesFinder.record_reference` in triton/runtime/jit.py, 3.6 and 3.9). A builtin
    outside `CodeGenerator.builtin_namespace` and an undefined name raise `NameError: abs is not
    defined` (`CodeGenerator._define_name_lookup.name_lookup` in triton/compiler/code_generator.py).

    ## Example
    ```python
    def gelu(x):
        return 0.5 * x * (1 + tl.erf(x * 0.7071067811865476))

    @triton.jit
    def k(x_ptr, BLOCK: tl.constexpr):
        x = tl.load(x_ptr + tl.arange(0, BLOCK))
        tl.store(x_ptr + tl.arange(0, BLOCK), gelu(abs(x)))
    ```

    ## Use instead
    ```python
    @triton.jit
    def gelu(x):
        return 0.5 * x * (1 + tl.erf(x * 0.7071067811865476))

    @triton.jit
    def k(x_ptr, BLOCK: tl.constexpr):
        x = tl.load(x_ptr + tl.arange(0, BLOCK))
        tl.store(x_ptr + tl.arange(0, BLOCK), gelu(tl.abs(x)))
    ```
    """

    code, name, fatal = "FL013", "non-jit-call", True

    def check_kernel(self, kernel):
        module = kernel.module
        for name, bound in kernel.bindings.items():
            # `acc += x` with no earlier binding reads `acc` first: Python's UnboundLocal is
            # Triton's `NameError: acc is not defined` (the global lookup finds nothing either)
            if all(b.kind == "aug" for b in bound) and not bound_anywhere_outside(module, kernel, name):
                yield self.report(bound[0].node, f"`{name}` is updated with an augmented assignment but never assigned: "
                                                 f"Triton rejects it (`NameError: {name} is not defined`, 3.6 and 3.9)")
        for read in global_reads(kernel):
            name = read.node.value
            if name in ("True", "False", "None") or name.startswith("__"):
                continue
            message = None
            helper = _module_function(module, name)
            if helper is not None:
                if helper.node.decorators:
                    continue  # @triton.jit, constexpr_function, builtin or an unknown wrapper
                message = (f"`{name}` is a plain Python function: Triton rejects it (`Unsupported function referenced`, "
                           f"3.6 and 3.9); decorate it with @triton.jit")
            elif not bound_anywhere(module, name) and not module_binds_unseen_names(module) and not rewrites_kernel_source(module):
                if name in _BUILTINS and name not in SUPPORTED_BUILTINS:
                    message = (f"the builtin `{name}` is not available in Triton kernels (`NameError: {name} is not defined`, "
                               f"3.6 and 3.9)")
                elif name not in _BUILTINS:
                    message = f"`{name}` is not defined in this module: Triton rejects it (`NameError`, 3.6 and 3.9)"
            if message is None:
                continue
            if read.guarded:
                yield self.report(read.node, message.split(":")[0] + ": Triton rejects it when this branch is compiled", fatal=False)
            else:
                yield self.report(read.node, message)

    VALID = [
        """
import triton
import triton.language as tl
from triton.language.extra import libdevice

@triton.jit
def gelu(x):
    return 0.5 * x * (1 + tl.erf(x * 0.7071067811865476))

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n, other=0.0)
    for i in range(min(n, 4)):
        x += max(i, 1)
    print("x", x)
    tl.store(x_ptr + offs, libdevice.tanh(gelu(x)) + len((1, 2)) + float(2), mask=offs < n)
""",
        """
import triton
import triton.language as tl
from mylib.helpers import fast_exp

@triton.constexpr_function
def block_for(n):
    return 1 << (n - 1).bit_length()

def host(x):
    return abs(x)

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    B: tl.constexpr = block_for(BLOCK)
    x = fast_exp(tl.load(x_ptr + tl.arange(0, B)))
    if isinstance(n, tl.constexpr) and hasattr(n, "value") and getattr(n, "value") is not None:
        pass
""",
        """
import triton
import triton.language as tl

def _scale(x):
    return x * 2

scale = triton.jit(_scale)

@triton.jit
def k(x_ptr, n, DEBUG: tl.constexpr):
    abs = tl.abs
    x = abs(tl.load(x_ptr))
    tl.store(x_ptr, scale(x))
""",
        # a template whose placeholders the file fills in before compiling
        """
import triton
import triton.language as tl

@triton.jit
def unary(z_ptr, x_ptr, SIZE: tl.constexpr):
    offs = tl.arange(0, SIZE)
    x = tl.load(x_ptr + offs)
    z = GENERATE_TEST_HERE
    tl.store(z_ptr + offs, OP(z))

def patched(template, replacements):
    kernel = triton.JITFunction(template.fn)
    for key, value in replacements.items():
        kernel._unsafe_update_src(kernel.src.replace(key, value))
    return kernel

relu = patched(unary, {"GENERATE_TEST_HERE": "tl.maximum(x, 0)", "OP": "tl.exp"})
""",
        """
import inspect
import triton
import triton.language as tl

@triton.jit
def reduce_kernel(x_ptr, z_ptr, BLOCK: tl.constexpr):
    x = tl.load(x_ptr + tl.arange(0, BLOCK))
    tl.store(z_ptr, REDUCE(x, axis=0))

def specialise(op):
    namespace = {"tl": tl, "triton": triton}
    exec(inspect.getsource(reduce_kernel.fn).replace("REDUCE", op), namespace)
    return namespace["reduce_kernel"]
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

def gelu(x):
    return 0.5 * x * (1 + tl.erf(x * 0.7071067811865476))

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n, other=0.0)
    tl.store(x_ptr + offs, gelu(x), mask=offs < n)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    x = tl.load(x_ptr)
    y = abs(x)  # error
    for i, v in enumerate((1, 2)):  # error
        y += round(v)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    x = tl.load(x_ptr)
    tl.store(x_ptr, fused_silu(x))  # error
    total += x  # error
""",
    ]
