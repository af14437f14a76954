from __future__ import annotations

import libcst as cst

from fuselint.model.constructs import global_reads
from fuselint.rule import Rule

_LITERALS = (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString, cst.FormattedString,
             cst.Tuple, cst.List, cst.Dict, cst.Set, cst.ListComp, cst.SetComp, cst.DictComp)


def plain_value(module, node: cst.BaseExpression | None, depth: int = 0) -> bool:
    """True when a module global's value is certainly a plain Python value (number, string, bool,
    tuple, list, dict, set), never a `tl.constexpr`, a dtype, a module or a function. `None`
    is allowed by Triton (it is a constexpr-like leaf), so it is not plain."""
    if node is None or depth > 8:
        return False
    if isinstance(node, _LITERALS):
        return True
    if isinstance(node, cst.Name):
        if node.value in ("True", "False"):
            return True
        if node.value == "None":
            return False
        return plain_value(module, _module_value(module, node.value), depth + 1)
    if isinstance(node, cst.UnaryOperation):
        return plain_value(module, node.expression, depth + 1)
    if isinstance(node, cst.BinaryOperation):
        # `tl.constexpr(2) * 2` is a constexpr again: plain only when both sides are plain
        return plain_value(module, node.left, depth + 1) and plain_value(module, node.right, depth + 1)
    return False


def _module_value(module, name: str) -> cst.BaseExpression | None:
    """The one value a module-level name is assigned, when it is assigned once and neither
    imported nor defined as a function or class."""
    if name in module.imports.aliases or any(f.name == name and f.scope.parent is module.scope for f in module.functions):
        return None
    if any(c.name.value == name for c in module.classes):
        return None
    values = module.scope.assignments.get(name)
    return values[0] if values is not None and len(values) == 1 else None


class GlobalNotConstexpr(Rule):
    """## What it does
    Flags a kernel (or `@triton.jit` helper) that reads a module global whose value is a plain
    Python number, string, bool, tuple, list or dict — `SCALE = 2.0`, `EPS = 1e-6`,
    `DIMS = (1, 2)` — rather than a `tl.constexpr(...)`. Globals bound to modules, dtypes
    (`DTYPE = tl.float16`), `@triton.jit` functions, `tl.constexpr(...)` values (and arithmetic
    on them) and `None` are allowed, as Triton allows them. A read under an `if` on a
    compile-time constant is reported as a warning only: Triton visits just the branch taken.

    ## Why is this bad?
    Triton resolves every global a kernel reads when it compiles it, and only constexpr globals
    may be captured: anything else raises `NameError: Cannot access global variable NAME from
    within @jit'ed function` (`CodeGenerator._define_name_lookup.global_lookup` in
    triton/compiler/code_generator.py, Triton 3.6 and 3.9 alike, unless the environment sets
    `TRITON_ALLOW_NON_CONSTEXPR_GLOBALS=1`).

    ## Example
    ```python
    EPS = 1e-6

    @triton.jit
    def norm(x_ptr, n, BLOCK: tl.constexpr):
        ...
        y = x / (tl.sqrt(var) + EPS)
    ```

    ## Use instead
    ```python
    EPS = tl.constexpr(1e-6)     # or pass it as a parameter: eps, or EPS: tl.constexpr
    ```
    """

    code, name, fatal = "FL011", "global-not-constexpr", True

    def check_kernel(self, kernel):
        for read in global_reads(kernel):
            name = read.node.value
            value = _module_value(kernel.module, name)
            if value is None or not plain_value(kernel.module, value):
                continue
            if read.guarded:
                yield self.report(
                    read.node,
                    f"global `{name}` is not a tl.constexpr: Triton rejects the kernel when this branch is compiled "
                    f"(`Cannot access global variable`); write `{name} = tl.constexpr(...)`",
                    fatal=False,
                )
            else:
                yield self.report(
                    read.node,
                    f"global `{name}` is not a tl.constexpr: Triton rejects it (`Cannot access global variable`, "
                    f"3.6 and 3.9); write `{name} = tl.constexpr(...)` or pass it as a parameter",
                )

    VALID = [
        """
import triton
import triton.language as tl

EPS = tl.constexpr(1e-6)
DTYPE = tl.float16
TWICE = EPS * 2
NOTHING = None

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n, other=0.0).to(DTYPE)
    tl.store(x_ptr + offs, x + EPS + TWICE, mask=offs < n)
""",
        """
import triton
import triton.language as tl

BLOCK = 128

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr = BLOCK):
    offs = tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, offs, mask=offs < n)

def launch(x, n):
    k[(triton.cdiv(n, BLOCK),)](x, n, BLOCK=BLOCK)
""",
        """
import triton
import triton.language as tl

SCALE = 2.0

@triton.jit
def k(x_ptr, n):
    SCALE = 3.0
    tl.store(x_ptr, SCALE)
    vals = [SCALE for SCALE in (1, 2)]
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

EPS = 1e-6

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n, other=0.0)
    tl.store(x_ptr + offs, x + EPS, mask=offs < n)  # error
""",
        """
import triton
import triton.language as tl

DIMS = (1, 2)
FLAG = True

@triton.jit
def helper(x):
    if FLAG:  # error
        return x * DIMS[0]  # error
    return x
""",
        """
import triton
import triton.language as tl

SCALE = -2 * 3

@triton.jit
def k(x_ptr, DEBUG: tl.constexpr):
    if DEBUG:
        tl.store(x_ptr, SCALE)  # error
""",
    ]
