from __future__ import annotations

import libcst as cst

from fuselint.findings import Edit
from fuselint.model.offsets import HINTS, discarded_calls
from fuselint.model.source import code_of
from fuselint.model.walk import Walker
from fuselint.rule import Rule


class _Statements(Walker):
    """The expression statements of a kernel body."""

    def __init__(self) -> None:
        self.found: list[cst.Expr] = []

    def visit_Expr(self, node: cst.Expr) -> None:
        self.found.append(node)


def _bind(kernel, call: cst.Call) -> Edit | None:
    """`tl.multiple_of(offs, 16)` as a statement becomes `offs = tl.multiple_of(offs, 16)`, when
    its first argument is a plain name (then the hint reaches every later use of it)."""
    if not call.args or not isinstance(call.args[0].value, cst.Name) or call.args[0].keyword is not None:
        return None
    statements = _Statements()
    statements.walk(kernel.node.body)
    for expr in statements.found:
        if expr.value is call:
            target = cst.AssignTarget(cst.Name(call.args[0].value.value))
            return Edit(expr, cst.Assign(targets=[target], value=call, semicolon=expr.semicolon))
    return None


class DiscardedHint(Rule):
    """## What it does
    Flags `tl.multiple_of(x, n)`, `tl.max_contiguous(x, n)` or `tl.max_constancy(x, n)` written
    as a statement of its own, its result unused.

    ## Why is this bad?
    These hints do not change `x`: they return a new value that carries the hint
    (`multiple_of` in triton/language/core.py sets an attribute on the result). A call whose
    result is thrown away is a no-op: the loads and stores that should be vectorised never see
    the hint, and the line reads as if it did something.

    ## Example
    ```python
    offs_d = pid * BLOCK_D + tl.arange(0, BLOCK_D)
    tl.multiple_of(offs_d, BLOCK_D)
    ```

    ## Use instead
    ```python
    offs_d = tl.multiple_of(pid * BLOCK_D + tl.arange(0, BLOCK_D), BLOCK_D)
    ```
    `--fix` binds the result to the hinted name (`offs_d = tl.multiple_of(offs_d, BLOCK_D)`)
    when the first argument is a plain name.
    """

    code, name = "FL301", "discarded-hint"
    fix = "sometimes"

    def check_kernel(self, kernel):
        for call in discarded_calls(kernel):
            hint = kernel.imports.tl_function(call.func)
            if hint in HINTS:
                target = code_of(call.args[0].value) if call.args else "its argument"
                yield self.report(call, f"the result of tl.{hint}(...) is not used, so the hint is lost: "
                                        f"assign it (`{target} = {code_of(call)}`)", fix=_bind(kernel, call))

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.multiple_of(tl.program_id(0) * BLOCK, BLOCK) + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs) + 1)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    offs = tl.max_contiguous(tl.multiple_of(offs, BLOCK), BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs) + 1)
""",
        # a statement call that is not a hint, and a hint outside any kernel
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs) + 1)
    tl.debug_barrier()

def host(x):
    tl.multiple_of(x, 16)
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.multiple_of(offs, BLOCK)  # error
    tl.store(x_ptr + offs, tl.load(x_ptr + offs) + 1)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.max_contiguous(offs, BLOCK)  # error
    tl.store(x_ptr + offs, tl.load(x_ptr + offs) + 1)
""",
        """
import triton
import triton.language as tl
from triton.language import multiple_of

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    if n > 0:
        multiple_of(offs, BLOCK)  # error
    for i in range(4):
        tl.max_constancy(offs, 4)  # error
    tl.store(x_ptr + offs, tl.load(x_ptr + offs) + 1)
""",
    ]
