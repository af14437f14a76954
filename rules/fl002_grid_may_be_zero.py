from __future__ import annotations

import libcst as cst

from fuselint.model.grid import grid_dimensions, resolve
from fuselint.model.source import code_of
from fuselint.rule import Rule


def _ceil_division(node: cst.BinaryOperation) -> bool:
    """`(n + b - 1) // b`, `(n + (b - 1)) // b`, `(n + 127) // 128`: zero only when n is."""
    left, divisor = node.left, code_of(node.right).replace(" ", "")
    if not isinstance(left, cst.BinaryOperation):
        return False
    if isinstance(left.operator, cst.Subtract) and isinstance(left.left, cst.BinaryOperation):
        # (n + b - 1) parses as ((n + b) - 1)
        inner = left.left
        return (isinstance(inner.operator, cst.Add) and code_of(inner.right).replace(" ", "") == divisor
                and code_of(left.right) == "1")
    if not isinstance(left.operator, cst.Add):
        return False
    addend = code_of(left.right).replace(" ", "").strip("()")
    if addend == f"{divisor}-1":
        return True
    return divisor.isdigit() and addend.isdigit() and int(addend) == int(divisor) - 1


def zero_cause(node: cst.BaseExpression, scope, depth: int = 0) -> cst.BaseExpression | None:
    """The sub-expression that can make a grid dimension 0, or None when it cannot be 0."""
    if depth > 8:
        return None
    if isinstance(node, cst.Integer):
        return node if node.evaluated_value == 0 else None
    if isinstance(node, cst.BinaryOperation):
        if isinstance(node.operator, cst.FloorDivide | cst.RightShift):
            return None if _ceil_division(node) else node
        if isinstance(node.operator, cst.Multiply):
            return zero_cause(node.left, scope, depth + 1) or zero_cause(node.right, scope, depth + 1)
        return None
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "int":
        if node.args and isinstance(node.args[0].value, cst.BinaryOperation) and isinstance(node.args[0].value.operator, cst.Divide):
            return node
        return None
    if isinstance(node, cst.Name):
        bound = resolve(node, scope)
        return None if bound is None else zero_cause(bound, scope, depth + 1)
    return None


class GridMayBeZero(Rule):
    """## What it does
    Flags a launch-grid dimension that can be 0: a floor division such as `N // BLOCK` or
    `int(N / BLOCK)` (0 whenever `N < BLOCK`), or a literal 0.

    ## Why is this bad?
    House rule: "Grid size MUST be > 0". A zero grid launches no program: the kernel silently
    does nothing and the output keeps whatever memory held. A floor division also drops the
    tail of every size that is not a multiple of the block.

    ## Example
    ```python
    grid = (n // BLOCK,)
    kernel[grid](x, n, BLOCK=BLOCK)
    ```

    ## Use instead
    ```python
    grid = (triton.cdiv(n, BLOCK),)   # or (max(1, n // BLOCK),) when the kernel loops over the rest
    ```
    """

    code, name = "FL002", "grid-may-be-zero"

    def check_module(self, module):
        for launch in module.launches:
            if launch.kernel is None:
                continue
            for dim, scope in grid_dimensions(module, launch) or ():
                cause = zero_cause(dim, scope)
                if cause is not None:
                    yield self.report(cause, f"grid dimension `{code_of(cause)}` can be 0, and then the kernel never runs; "
                                             "use triton.cdiv(...) or max(1, ...)")

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    pass

def launch(x, n):
    k[(triton.cdiv(n, 128),)](x, n, BLOCK=128)
    k[(max(1, n // 128),)](x, n, BLOCK=128)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    pass

def launch(x, n):
    grid = lambda meta: (triton.cdiv(n, meta["BLOCK"]),)
    k[grid](x, n, BLOCK=128)
    k[((n + 127) // 128, 4)](x, n, BLOCK=128)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    pass

def launch(x, n, rows):
    def grid(meta):
        return (rows, triton.cdiv(n, meta["BLOCK"]))
    k[grid](x, n, BLOCK=128)
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    pass

def launch(x, n):
    k[(n // 128,)](x, n, BLOCK=128)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    pass

def launch(x, n):
    blocks = int(n / 128)  # error
    grid = (blocks,)
    k[grid](x, n, BLOCK=128)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    pass

def launch(x, n, b):
    grid = lambda meta: (b * (n // meta["BLOCK"]),)  # error
    k[grid](x, n, BLOCK=128)
""",
    ]
