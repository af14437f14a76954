from __future__ import annotations

import libcst as cst

from fuselint.rule import Rule

_KEYWORD = {cst.Break: "break", cst.Continue: "continue", cst.Return: "return"}


class LoopControlFlow(Rule):
    """## What it does
    Flags `break`, `continue` and `return` inside a `for` or `while` loop of a kernel
    (`tl.static_range` loops included).

    ## Why is this bad?
    House rule: "No `continue`, `break`, `return` inside loops — use masking". Triton lowers a
    loop to one structured `scf.for`/`scf.while` whose body runs to its end on every iteration;
    its code generator rejects these statements (`visit_Break`/`visit_Continue` and the
    early-return check in triton/compiler/code_generator.py).

    ## Example
    ```python
    for k in range(0, K, BLOCK_K):
        if k >= limit:
            break
        acc += tl.load(ptr + k + offs)
    ```

    ## Use instead
    ```python
    for k in range(0, K, BLOCK_K):
        acc += tl.load(ptr + k + offs, mask=(k + offs) < limit, other=0.0)
    ```
    """

    code, name, fatal = "FL006", "loop-control-flow", True

    def check_kernel(self, kernel):
        for node, loop in kernel.loop_exits:
            keyword = _KEYWORD[type(node)]
            kind = "while" if isinstance(loop.node, cst.While) else "for"
            yield self.report(node, f"`{keyword}` inside a `{kind}` loop: Triton rejects it; mask the work instead")

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, K, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    acc = tl.zeros((BLOCK,), tl.float32)
    for start in range(0, K, BLOCK):
        acc += tl.load(x_ptr + start + offs, mask=start + offs < K, other=0.0)
    tl.store(x_ptr + offs, acc)
    return
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n):
    if n == 0:
        return
    i = 0
    while i < n:
        i += 1
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n):
    for i in tl.static_range(4):
        pass
    else:
        return

def host(xs):
    for x in xs:
        if x is None:
            break
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, K):
    for i in range(K):
        if i > 3:
            break  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, K):
    i = 0
    while i < K:
        i += 1
        continue  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, K):
    for i in tl.static_range(4):
        for j in range(K):
            if j == i:
                return  # error
""",
    ]
