from __future__ import annotations

import libcst as cst

from fuselint.findings import Edit
from fuselint.model.grid import grid_dimensions, resolve
from fuselint.model.kernel import tile_extents
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


def _divides_itself(node: cst.BinaryOperation, scope) -> bool:
    """`n // (n // 16)`: the quotient is about 16 whenever it is defined."""
    divisor = resolve(node.right, scope) if isinstance(node.right, cst.Name) else node.right
    return (isinstance(divisor, cst.BinaryOperation) and isinstance(divisor.operator, cst.FloorDivide)
            and code_of(divisor.left) == code_of(node.left) and isinstance(divisor.right, cst.Integer)
            and divisor.right.evaluated_value > 0)


def zero_cause(node: cst.BaseExpression, scope, is_block, depth: int = 0) -> cst.BaseExpression | None:
    """The sub-expression that can make a grid dimension 0, or None when it cannot be 0.
    Only a division by a block size counts (`is_block`): `x.numel() // n_cols` is a row count,
    exact by construction, not a tiling."""
    if depth > 8:
        return None
    again = lambda n: zero_cause(n, scope, is_block, depth + 1)  # noqa: E731
    if isinstance(node, cst.Integer):
        return node if node.evaluated_value == 0 else None
    if isinstance(node, cst.BinaryOperation):
        if isinstance(node.operator, cst.FloorDivide):
            if _ceil_division(node) or not is_block(node.right) or _divides_itself(node, scope):
                return None
            return node
        if isinstance(node.operator, cst.Multiply):
            return again(node.left) or again(node.right)
        return None
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "int":
        inner = node.args[0].value if node.args else None
        if isinstance(inner, cst.BinaryOperation) and isinstance(inner.operator, cst.Divide) and is_block(inner.right):
            return node
        return None
    if isinstance(node, cst.Name):
        bound = resolve(node, scope)
        return None if bound is None else again(bound)
    return None


def _divisible(launch, node: cst.BinaryOperation) -> bool:
    """An enclosing `if a % b == 0:`, or an `assert a % b == 0` in the launching function, makes
    `a // b` exact: zero only when `a` is. Names are compared through their one binding
    (`N = x.size(-1)` matches `x.size(-1) % block == 0`)."""
    def canonical(expr):
        bound = launch.scope.single(expr.value) if isinstance(expr, cst.Name) else None
        return code_of(bound if bound is not None else expr)

    wanted = (canonical(node.left), canonical(node.right))
    for test in (*launch.guards, *launch.scope.asserts):
        for comparison in ([test] if not isinstance(test, cst.BooleanOperation) else [test.left, test.right]):
            if (isinstance(comparison, cst.Comparison) and len(comparison.comparisons) == 1
                    and isinstance(comparison.comparisons[0].operator, cst.Equal)
                    and code_of(comparison.comparisons[0].comparator) == "0"
                    and isinstance(comparison.left, cst.BinaryOperation)
                    and isinstance(comparison.left.operator, cst.Modulo)
                    and (canonical(comparison.left.left), canonical(comparison.left.right)) == wanted):
                return True
    return False


def _block_sizes(launch) -> set[str]:
    """The source of every value the launch passes to a block size: a constexpr parameter
    that is a tile extent of the kernel."""
    kernel = launch.kernel
    extents = {e.node.value for e in tile_extents(kernel) if isinstance(e.node, cst.Name)}
    return {
        code_of(arg) for p in kernel.params if p.constexpr and p.name in extents
        if (arg := launch.argument_for(kernel, p.name)) is not None
    }


def _cdiv(module, cause: cst.BaseExpression) -> Edit | None:
    """`a // b` and `int(a / b)` become `triton.cdiv(a, b)`."""
    triton = module.imports.local_name("triton")
    if triton is None:
        return None
    if isinstance(cause, cst.Call):
        cause_div = cause.args[0].value
        numerator, denominator = cause_div.left, cause_div.right
    elif isinstance(cause, cst.BinaryOperation) and isinstance(cause.operator, cst.FloorDivide):
        numerator, denominator = cause.left, cause.right
    else:
        return None
    call = cst.Call(
        cst.Attribute(cst.Name(triton), cst.Name("cdiv")),
        [cst.Arg(numerator.with_changes(lpar=[], rpar=[]) if isinstance(numerator, cst.BinaryOperation) else numerator),
         cst.Arg(denominator)],
        lpar=cause.lpar, rpar=cause.rpar,
    )
    return Edit(cause, call)


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
    `--fix` writes `triton.cdiv(n, BLOCK)`; the kernel must then mask its last, partial block.
    """

    code, name = "FL002", "grid-may-be-zero"
    fix = "sometimes"

    def check_module(self, module):
        for launch in module.launches:
            if launch.kernel is None:
                continue
            blocks = _block_sizes(launch)

            def is_block(divisor: cst.BaseExpression) -> bool:
                if isinstance(divisor, cst.Integer):  # house block sizes start at 16; `// 2` halves a count
                    return divisor.evaluated_value >= 16
                return isinstance(divisor, cst.Subscript) or code_of(divisor) in blocks  # meta["BLOCK"]

            for dim, scope in grid_dimensions(module, launch) or ():
                cause = zero_cause(dim, scope, is_block)
                if isinstance(cause, cst.BinaryOperation) and _divisible(launch, cause):
                    continue
                if cause is not None:
                    yield self.report(cause, f"grid dimension `{code_of(cause)}` can be 0, and then the kernel never runs; "
                                             "use triton.cdiv(...) or max(1, ...)", fix=_cdiv(module, cause))

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
    offs = tl.arange(0, BLOCK)

def launch(x, n, rows):
    def grid(meta):
        return (rows, triton.cdiv(n, meta["BLOCK"]))
    k[grid](x, n, BLOCK=128)
    if n % 128 == 0 and rows > 0:
        k[(n // 128,)](x, n, BLOCK=128)

def launch_checked(x, block):
    assert x.size(-1) % block == 0, "the last dimension must be a multiple of the block"
    n = x.size(-1)
    k[(n // block,)](x, n, BLOCK=block)
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
