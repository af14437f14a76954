from __future__ import annotations

import libcst as cst

from fuselint.model.fusion import elementwise, program_axes
from fuselint.model.grid import grid_dimensions
from fuselint.model.source import code_of
from fuselint.rule import Rule

_VERDICT = ("flatten it to a 1-D grid `(triton.cdiv(n_elements, BLOCK),)` with one "
            "`offs = pid * BLOCK + tl.arange(0, BLOCK)` over the output's elements, so that one indexing serves all ops")


def _is_one(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Integer) and node.evaluated_value == 1


class ElementwiseGridNot1d(Rule):
    """## What it does
    Flags an element-wise kernel that uses `tl.program_id(1)` or `tl.program_id(2)`, or that is
    launched with a grid of more than one dimension (dimensions that are a literal 1 do not
    count). A kernel is element-wise when it has no `tl.dot`, no reduction or scan (`tl.sum`,
    `tl.max`, `tl.cumsum`, ...), no atomic (a reduction across programs), no loop, and calls no
    function the module does not define.

    ## Why is this bad?
    House rule: "Element-wise: 1D grid, single `offs = pid * BLOCK + tl.arange(0, BLOCK)`".
    An element-wise op does the same thing to every element; splitting the grid over rows,
    positions and column blocks gives each program a small tile (one row of `BLOCK_D`), many
    more programs, and one offsets expression per axis that every fused op must repeat.

    ## Example
    ```python
    pid_s = tl.program_id(1)
    pid_d = tl.program_id(2)
    kernel[(BH, S, triton.cdiv(D, BLOCK_D))](...)
    ```

    ## Use instead
    ```python
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    kernel[(triton.cdiv(n_elements, BLOCK),)](...)
    ```
    """

    code, name = "FL104", "elementwise-grid-not-1d"

    def check_module(self, module):
        for kernel in module.kernels:
            if elementwise(kernel) is not True:
                continue
            axes = [(axis, call) for axis, call in program_axes(kernel) if axis in (1, 2)]
            if axes:
                axis, call = axes[0]
                others = ", ".join(sorted({f"tl.program_id({a})" for a, _ in axes[1:] if a != axis}))
                also = f" (and {others})" if others else ""
                yield self.report(call, f"element-wise kernel `{kernel.name}` uses tl.program_id({axis}){also}: "
                                        f"its grid is not 1-D; {_VERDICT}")
                continue
            for launch in kernel.launches:
                dims = grid_dimensions(module, launch)
                if dims is None:
                    continue
                real = [d for d, _ in dims if not _is_one(d)]
                if len(real) > 1:
                    yield self.report(launch.grid, f"element-wise kernel `{kernel.name}` is launched on a "
                                                   f"{len(dims)}-D grid `{code_of(launch.grid)}`; {_VERDICT}")

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def add(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) + tl.load(y_ptr + offs, mask=mask), mask=mask)

def launch(x, y, out, n):
    add[(triton.cdiv(n, 1024), 1, 1)](x, y, out, n, BLOCK=1024)
""",
        # a reduction over axis 1 of a 2-D grid is not element-wise
        """
import triton
import triton.language as tl

@triton.jit
def row_sum(x_ptr, out_ptr, N, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    part = tl.program_id(1)
    cols = part * BLOCK + tl.arange(0, BLOCK)
    tl.atomic_add(out_ptr + row, tl.sum(tl.load(x_ptr + row * N + cols, mask=cols < N), axis=0))
""",
        # a matmul tile uses two program ids
        """
import triton
import triton.language as tl

@triton.jit
def mm(a_ptr, b_ptr, c_ptr, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr):
    rm = tl.program_id(0) * BM + tl.arange(0, BM)
    rn = tl.program_id(1) * BN + tl.arange(0, BN)
    rk = tl.arange(0, BK)
    a = tl.load(a_ptr + rm[:, None] * BK + rk[None, :])
    b = tl.load(b_ptr + rk[:, None] * BN + rn[None, :])
    tl.store(c_ptr + rm[:, None] * BN + rn[None, :], tl.dot(a, b))

def launch(a, b, c, M, N):
    mm[(triton.cdiv(M, 64), triton.cdiv(N, 64))](a, b, c, BM=64, BN=64, BK=32)
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def scale(x_ptr, out_ptr, N, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)  # error
    tl.store(out_ptr + row * N + cols, tl.load(x_ptr + row * N + cols, mask=cols < N) * 2, mask=cols < N)
""",
        """
import triton
import triton.language as tl

@triton.jit
def add(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) + 1, mask=offs < n)

def launch(x, out, n, rows):
    add[(triton.cdiv(n, 256), rows)](x, out, n, BLOCK=256)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def rope(q_ptr, BH, S, D, BLOCK_D: tl.constexpr):
    pid_bh = tl.program_id(0)
    pid_s = tl.program_id(1)  # error
    pid_d = tl.program_id(2)
    offs = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)
    ptrs = q_ptr + (pid_bh * S + pid_s) * D + offs
    tl.store(ptrs, tl.load(ptrs, mask=offs < D) * 2, mask=offs < D)

def launch(q, BH, S, D):
    grid = lambda meta: (BH, S, triton.cdiv(D, meta["BLOCK_D"]))
    rope[grid](q, BH, S, D, BLOCK_D=64)
""",
    ]
