from __future__ import annotations

from fuselint.model.ranges import overrun_text, overruns
from fuselint.rule import Rule
from fuselint.rules.fl401_unmasked_tail_access import _BLOCK_ROWS  # one kernel, the other boundary_check

# Rows padded to 32 columns, as the kernel promises with tl.assume ({pitch}); N = 24 bounds b only.
_PADDED_ROWS = """
import triton
import triton.language as tl

@triton.jit
def gate(h_ptr, b_ptr, out_ptr, M, n, stride_hm, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    tl.assume(n == 4)
    tl.assume({pitch})
    tl.assume(BLOCK_N == 32)
    N = 2 * n + n * n
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.arange(0, BLOCK_N)
    b = tl.load(b_ptr + cols, mask=cols < N, other=0.0)
    h = tl.load(h_ptr + offs_m[:, None] * stride_hm + cols[None, :], mask=offs_m[:, None] < M, other=0.0){mark}
"""


class MaskMissesAxis(Rule):
    """## What it does
    Flags a 2-D (or higher) access whose mask bounds some of the index vectors it varies along
    but not another one that can pass its extent: rows never bounded when the grid rounds `M`
    up, or `cols < N` never applied where `BLOCK_N = triton.next_power_of_2(N)`. Columns that
    stay below a row pitch the kernel pins (`tl.assume(stride_hm == 32)` with 32 columns) stay
    inside the row the bounded axis selects, and are not flagged.

    ## Why is this bad?
    A mask on one axis looks like a masked access, so the missing axis goes unnoticed: the
    last row tile reads or writes up to `BLOCK_M - 1` rows past the end whenever
    `M % BLOCK_M != 0`, and a power-of-two column block reads past every row's end.

    ## Example
    ```python
    tl.store(c_ptrs, acc, mask=rn[None, :] < N)
    ```

    ## Use instead
    ```python
    tl.store(c_ptrs, acc, mask=(rm[:, None] < M) & (rn[None, :] < N))
    ```
    """

    code, name = "FL402", "mask-misses-axis"

    def check_kernel(self, kernel):
        for overrun in overruns(kernel):
            if overrun.kind == "axis":
                what = "`boundary_check`" if overrun.access.mask is None else "the mask"
                yield self.report(overrun.access.call, f"{what} misses an axis: {overrun_text(kernel, overrun)}",
                                  witness=overrun.witness)

    VALID = [
        # boundary_check on both axes of a block pointer
        _BLOCK_ROWS.format(check=", boundary_check=(0, 1)", mark=""),
        """
import triton
import triton.language as tl

@triton.jit
def store_tile(C, M, N, stride_cm, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    rm = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    tl.store(C + rm[:, None] * stride_cm + rn[None, :], acc, mask=(rm[:, None] < M) & (rn[None, :] < N))
""",
        # next_power_of_2 columns with both axes bounded
        """
import triton
import triton.language as tl

@triton.jit
def rows(x_ptr, M, N, stride, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    r = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    c = tl.arange(0, BLOCK_N)
    x = tl.load(x_ptr + r[:, None] * stride + c[None, :], mask=(r[:, None] < M) & (c[None, :] < N), other=0.0)
    tl.store(x_ptr + r[:, None] * stride + c[None, :], x * 2, mask=(r[:, None] < M) & (c[None, :] < N))

def launch(x, M, N):
    rows[(triton.cdiv(M, 16),)](x, M, N, x.stride(0), BLOCK_M=16, BLOCK_N=triton.next_power_of_2(N))
""",
        # the rows are exact: the grid has one program per BLOCK_M rows and M divides it (EVEN_M)
        """
import triton
import triton.language as tl

@triton.heuristics({"EVEN_M": lambda args: args["M"] % args["BLOCK_M"] == 0})
@triton.jit
def rows(x_ptr, M, N, stride, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, EVEN_M: tl.constexpr):
    r = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    c = tl.arange(0, BLOCK_N)
    if EVEN_M:
        x = tl.load(x_ptr + r[:, None] * stride + c[None, :], mask=c[None, :] < N, other=0.0)
        tl.store(x_ptr + r[:, None] * stride + c[None, :], x * 2, mask=c[None, :] < N)
    else:
        x = tl.load(x_ptr + r[:, None] * stride + c[None, :], mask=(r[:, None] < M) & (c[None, :] < N), other=0.0)
        tl.store(x_ptr + r[:, None] * stride + c[None, :], x * 2, mask=(r[:, None] < M) & (c[None, :] < N))
""",
        # 32 columns inside rows 32 apart: N bounds another operand
        _PADDED_ROWS.format(pitch="stride_hm == 32", mark=""),
    ]
    INVALID = [
        # boundary_check names the columns only: the last row block reads past T
        _BLOCK_ROWS.format(check=", boundary_check=(1,)", mark="  # error"),
        # rows only 16 apart: columns 16..31 of the last row pass the end of h
        _PADDED_ROWS.format(pitch="stride_hm == 16", mark="  # error"),
        # rows never bounded although the grid rounds M up
        """
import triton
import triton.language as tl

@triton.jit
def rows(x_ptr, y_ptr, M, N, stride, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    r = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    c = tl.arange(0, BLOCK_N)
    x = tl.load(x_ptr + r[:, None] * stride + c[None, :], mask=c[None, :] < N, other=0.0)  # error
    tl.store(y_ptr + r[:, None] * stride + c[None, :], x * 2, mask=(r[:, None] < M) & (c[None, :] < N))
""",
        # cols < N never applied with BLOCK_N = next_power_of_2(N)
        """
import triton
import triton.language as tl

@triton.jit
def rows(x_ptr, M, N, stride, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    r = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    c = tl.arange(0, BLOCK_N)
    x = tl.load(x_ptr + r[:, None] * stride + c[None, :], mask=(r[:, None] < M) & (c[None, :] < N), other=0.0)
    tl.store(x_ptr + r[:, None] * stride + c[None, :], x * 2, mask=r[:, None] < M)  # error

def launch(x, M, N):
    rows[(triton.cdiv(M, 16),)](x, M, N, x.stride(0), BLOCK_M=16, BLOCK_N=triton.next_power_of_2(N))
""",
        # the grid alone states the row extent
        """
import triton
import triton.language as tl

@triton.jit
def fill(y_ptr, M, N, stride, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    r = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    c = tl.arange(0, BLOCK_N)
    zero = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    tl.store(y_ptr + r[:, None] * stride + c[None, :], zero, mask=c[None, :] < N)  # error

def launch(y, M, N):
    fill[(triton.cdiv(M, 32),)](y, M, N, y.stride(0), BLOCK_M=32, BLOCK_N=64)
""",
    ]
