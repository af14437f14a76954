from __future__ import annotations

import libcst as cst

from fuselint.model.source import code_of
from fuselint.rule import Rule


def _names(node: cst.CSTNode) -> set[str]:
    if isinstance(node, cst.Name):
        return {node.value}
    if isinstance(node, cst.Index):
        return _names(node.value)
    if isinstance(node, cst.Slice):
        return set().union(*(_names(p) for p in (node.lower, node.upper, node.step) if p is not None))
    if isinstance(node, cst.BinaryOperation):
        return _names(node.left) | _names(node.right)
    if isinstance(node, cst.UnaryOperation):
        return _names(node.expression)
    return set()


def _integer(node: cst.CSTNode) -> bool:
    if isinstance(node, cst.Index):
        node = node.value
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            node = node.expression
        return isinstance(node, cst.Integer)
    return False


class LoopIndexSubscript(Rule):
    """## What it does
    Flags a subscript that indexes with a loop variable, such as `x[:, i]` or `acc[i]` inside
    `for i in range(...)`. Under `tl.static_range` the variable is a constant, so indexing a
    tuple with it is fine; indexing a tensor with it is flagged still, as is indexing a tensor
    (an expression with a known tile shape) with an integer literal, `x[3]`.

    ## Why is this bad?
    House rule: "No tensor indexing with loop vars: `x[:, i]` is INVALID". Triton tensors
    support only `None` and `:` in subscripts (`unsupported tensor index`, `tensor.__getitem__`
    in triton/language/core.py); a runtime loop variable cannot index a tuple either.

    ## Example
    ```python
    for i in range(BLOCK_N):
        total += x[:, i]
    ```

    ## Use instead
    ```python
    total = tl.sum(x, axis=1)        # a reduction, or a mask that selects column i:
    col = tl.sum(tl.where(cols[None, :] == i, x, 0.0), axis=1)
    ```
    """

    code, name, fatal = "FL007", "loop-index-subscript", True

    def check_kernel(self, kernel):
        for node, loops in kernel.subscripts:
            runtime = set().union(*(loop.targets for loop in loops if not loop.static)) if loops else set()
            static = set().union(*(loop.targets for loop in loops if loop.static)) if loops else set()
            for element in node.slice:
                if _integer(element.slice):
                    shape = kernel.shape_of(node.value)
                    if shape:  # a tensor of rank >= 1: `x[3]`; tuples (`offs[0]`) have no tile shape
                        yield self.report(node, f"`{code_of(node)}` indexes a tensor with an integer; Triton tensors take only `:` and `None`")
                        break
                    continue
                used = _names(element.slice)
                if used & runtime:
                    var = sorted(used & runtime)[0]
                    yield self.report(node, f"`{code_of(node)}` indexes with the loop variable `{var}`; Triton tensors take only `:` and `None`")
                    break
                if used & static:
                    shape = kernel.shape_of(node.value)
                    if shape:  # a tensor of rank >= 1; tuples and scalars have no known tile shape
                        var = sorted(used & static)[0]
                        yield self.report(node, f"`{code_of(node)}` indexes a tensor with the loop variable `{var}`; Triton tensors take only `:` and `None`")
                        break

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    rows = tl.arange(0, BLOCK)
    for i in range(n):
        x = tl.load(x_ptr + i * BLOCK + rows[:, None])
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(ptrs, n, BLOCK: tl.constexpr):
    for i in tl.static_range(2):
        p = ptrs[i]
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs[None, :])
    for i in range(n):
        col = tl.sum(tl.where(offs[None, :] == i, x, 0.0), axis=1)

def host(xs):
    for i in range(3):
        print(xs[i])
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs[:, None] * BLOCK + offs[None, :])
    for i in range(BLOCK):
        col = x[:, i]  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)
    for i in tl.static_range(4):
        v = x[i]  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(ptrs, n):
    first = tl.arange(0, 16)[0]  # error
    j = 0
    for i in range(n):
        p = ptrs[i + 1]  # error
        q = ptrs[j:i]  # error
""",
    ]
