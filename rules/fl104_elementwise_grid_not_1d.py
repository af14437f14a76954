from __future__ import annotations

import libcst as cst

from fuselint.model.fusion import access_kinds, device_function, elementwise, program_axes
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
    count). A kernel is element-wise when it loads and stores (itself or through its helpers),
    and has no `tl.dot`, no reduction or scan (`tl.sum`, `tl.max`, `tl.cumsum`, `tl.softmax`,
    ...), no op that moves elements (`tl.trans`, `tl.reshape`,
    `tl.flip`, `tl.gather`, ...), no atomic (a reduction across programs), no loop, and calls
    only helpers of the module that are element-wise too. A `@triton.jit` helper (it returns a
    value, or another kernel calls it, and nothing launches it) runs on its callers' grid: it
    is judged through them. A launch runs the kernel its own scope sees: a module may define
    several kernels of one name (one per test function).

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
            if device_function(kernel) or elementwise(kernel) is not True:
                continue
            if not {"load", "store"} <= access_kinds(kernel):
                continue  # it maps no elements: it only prints, or stores its program ids
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
        # helpers run on their callers' grid: one returns a value, one is called by a matmul kernel
        """
import triton
import triton.language as tl

@triton.jit
def tile_offsets(BM: tl.constexpr, BN: tl.constexpr):
    return tl.program_id(0) * BM + tl.arange(0, BM), tl.program_id(1) * BN + tl.arange(0, BN)

@triton.jit
def store_tile(c_ptr, acc, N, BM: tl.constexpr, BN: tl.constexpr):
    rm = tl.program_id(0) * BM + tl.arange(0, BM)
    rn = tl.program_id(1) * BN + tl.arange(0, BN)
    tl.store(c_ptr + rm[:, None] * N + rn[None, :], acc)

@triton.jit
def mm(a_ptr, b_ptr, c_ptr, N, K: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    rm, rn = tile_offsets(BM, BN)
    rk = tl.arange(0, K)
    a = tl.load(a_ptr + rm[:, None] * K + rk[None, :])
    b = tl.load(b_ptr + rk[:, None] * N + rn[None, :])
    store_tile(c_ptr, tl.dot(a, b), N, BM, BN)
""",
        # one `kernel` per test function, as in Triton's own tests: each launch runs its own;
        # a transpose and a flip move elements (not element-wise)
        """
import torch
import triton
import triton.language as tl

def test_add(device):
    @triton.jit
    def kernel(x_ptr, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) + 1, mask=offs < n)

    x = torch.zeros(1000, device=device)
    kernel[(triton.cdiv(1000, 128),)](x, 1000, BLOCK=128)

def test_row_sum(device):
    @triton.jit
    def kernel(x_ptr, out_ptr, N: tl.constexpr):
        row = tl.program_id(0) * tl.num_programs(1) + tl.program_id(1)
        tl.store(out_ptr + row, tl.sum(tl.load(x_ptr + row * N + tl.arange(0, N)), axis=0))

    x = torch.ones(4, 8, 64, device=device)
    kernel[(4, 8)](x, torch.empty(32, device=device), N=64)

def test_transpose(device):
    @triton.jit
    def kernel(x_ptr, y_ptr, B: tl.constexpr):
        rows = tl.program_id(0) * B + tl.arange(0, B)
        cols = tl.program_id(1) * B + tl.arange(0, B)
        x = tl.load(x_ptr + rows[:, None] * 256 + cols[None, :])
        tl.store(y_ptr + rows[:, None] * 256 + cols[None, :], tl.flip(tl.trans(x), 0))

    x = torch.ones(256, 256, device=device)
    kernel[(8, 8)](x, torch.empty_like(x), B=32)
""",
        # a debug helper that only prints (it maps no elements), and a row softmax on a 2-D grid
        # (a reduction over the row)
        """
import triton
import triton.language as tl

@triton.jit
def print_once(prefix, val):
    if (tl.program_id(0) == 0) and (tl.program_id(1) == 0):
        tl.device_print(prefix, val)

@triton.jit
def softmax(x_ptr, y_ptr, N, BLOCK: tl.constexpr):
    row = tl.program_id(0) * tl.num_programs(1) + tl.program_id(1)
    cols = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * N + cols, mask=cols < N, other=-float("inf"))
    tl.store(y_ptr + row * N + cols, tl.softmax(x), mask=cols < N)

def launch(x, y):
    softmax[(x.shape[0], x.shape[1])](x, y, x.shape[2], BLOCK=triton.next_power_of_2(x.shape[2]))
""",
    ]
    INVALID = [
        # the element-wise `kernel` of one test function on a 2-D grid; the reduction `kernel`
        # of another is left alone whichever is defined last
        """
import torch
import triton
import triton.language as tl

def test_add(device):
    @triton.jit
    def kernel(x_ptr, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) + 1, mask=offs < n)

    x = torch.zeros(4, 1000, device=device)
    kernel[(triton.cdiv(1000, 128), 4)](x, 1000, BLOCK=128)  # error

def test_row_sum(device):
    @triton.jit
    def kernel(x_ptr, out_ptr, N: tl.constexpr):
        row = tl.program_id(0) * tl.num_programs(1) + tl.program_id(1)
        tl.store(out_ptr + row, tl.sum(tl.load(x_ptr + row * N + tl.arange(0, N)), axis=0))

    kernel[(4, 8)](torch.ones(4, 8, 64, device=device), torch.empty(32, device=device), N=64)
""",
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
