from __future__ import annotations

from fuselint.model.fusion import computed_by_dot, foreign_vectors, fused_groups
from fuselint.model.offsets import access_text, render_vector
from fuselint.model.shapes import format_shape
from fuselint.rule import Rule

_VERDICT = ("index it with the output's own index vector, sliced explicitly (`offs_n[None, :]`, "
            "`offs_m[:, None]`); if it needs another index, do not fuse: split this kernel")


class ImplicitBroadcast(Rule):
    """## What it does
    Flags a broadcast operand of a fused group (a load of smaller rank or with size-1 axes
    that Triton broadcasts to the output's tile: a bias row, a per-row scale) whose index
    vector is not the output's on the axis where the operand's value lands: followed from the
    load to the store, through `[:, None]` / `[None, :]`, `tl.trans` / `.T` and element-wise
    ops (a bare 1-D vector lands on the last axis, as broadcasting puts it). Index vectors are
    compared after inlining (a second name bound to the same `pid_n * BLOCK_N + tl.arange(0,
    BLOCK_N)` is the same vector) and strides are taken out. A vector computed by `//`, `%`,
    `tl.where` (a remapped index) or loaded from memory is not known and not flagged, nor is
    an operand whose way to the store is not followed (a helper call, a reshape).

    ## Why is this bad?
    House rule: "If broadcast needed: explicit `[None, :]` or `[:, None]`, NOT different
    offsets". A bias loaded at a separately computed `tl.arange(0, BLOCK_N)` (no program
    offset) reads the first columns in every program; a `[BN, 1]` operand on the column
    vector broadcasts along the wrong axis whenever the sizes happen to agree.

    ## Example
    ```python
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    bias = tl.load(b_ptr + tl.arange(0, BLOCK_N))          # not offs_n
    tl.store(c_ptr + offs_m[:, None] * N + offs_n[None, :], acc + bias, mask=mask)
    ```

    ## Use instead
    ```python
    bias = tl.load(b_ptr + offs_n, mask=offs_n < N)
    tl.store(c_ptr + offs_m[:, None] * N + offs_n[None, :], acc + bias[None, :], mask=mask)
    ```
    """

    code, name = "FL103", "implicit-broadcast"

    def check_kernel(self, kernel):
        reported: set[int] = set()
        for group in fused_groups(kernel):
            output = group.output
            if computed_by_dot(kernel, output.access):
                continue  # a matmul's epilogue: FL105
            for operand in group.broadcast:
                if id(operand.access.call) in reported:
                    continue
                foreign = foreign_vectors(kernel, operand, output)
                if foreign is None:
                    continue
                reported.add(id(operand.access.call))
                axis, vector, other = foreign[0]
                vectors = f"`{render_vector(vector)}` on axis {axis}"
                mine = f"`{render_vector(other)}`" if other else "no index vector"
                yield self.report(
                    operand.access.call,
                    f"broadcast operand {access_text(kernel, operand.access)} ({format_shape(operand.shape)} against the "
                    f"output's {format_shape(output.shape)}) is indexed by {vectors}, where the output "
                    f"{access_text(kernel, output.access)} has {mine}; {_VERDICT}",
                )

    VALID = [
        # the bias row indexed by offs_n: 1-D, or sliced explicitly
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, b_ptr, out_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr):
    offs_m = tl.program_id(0) * BM + tl.arange(0, BM)
    offs_n = tl.program_id(1) * BN + tl.arange(0, BN)
    mask = (offs_m[:, None] < M) & (offs_n[None, :] < N)
    b = tl.load(b_ptr + offs_n, mask=offs_n < N)
    b2 = tl.load(b_ptr + offs_n[None, :], mask=offs_n[None, :] < N)
    x = tl.load(x_ptr + offs_m[:, None] * N + offs_n[None, :], mask=mask)
    tl.store(out_ptr + offs_m[:, None] * N + offs_n[None, :], x + b[None, :] + b2, mask=mask)
""",
        # a per-row scale with [:, None]; a second name bound to the same vector
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, s_ptr, out_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr):
    pid = tl.program_id(0)
    rows = pid * BM + tl.arange(0, BM)
    same_rows = tl.arange(0, BM) + pid * BM
    cols = tl.arange(0, BN)
    mask = (rows[:, None] < M) & (cols[None, :] < N)
    s = tl.load(s_ptr + same_rows[:, None], mask=same_rows[:, None] < M)
    x = tl.load(x_ptr + rows[:, None] * N + cols[None, :], mask=mask)
    tl.store(out_ptr + rows[:, None] * N + cols[None, :], x * s, mask=mask)
""",
        # a remapped index (channel of each element) is not known: not flagged
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, w_ptr, out_ptr, M, N, C, BM: tl.constexpr, BN: tl.constexpr):
    rows = tl.program_id(0) * BM + tl.arange(0, BM)
    cols = tl.arange(0, BN)
    mask = (rows[:, None] < M) & (cols[None, :] < N)
    w = tl.load(w_ptr + (rows % C)[:, None])
    x = tl.load(x_ptr + rows[:, None] * N + cols[None, :], mask=mask)
    tl.store(out_ptr + rows[:, None] * N + cols[None, :], x * w, mask=mask)
""",
        # a per-column scale loaded as a column and transposed; a per-row vector sliced where it is used
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, s_ptr, r_ptr, out_ptr, N, BM: tl.constexpr, BN: tl.constexpr):
    rows = tl.program_id(0) * BM + tl.arange(0, BM)
    cols = tl.program_id(1) * BN + tl.arange(0, BN)
    s = tl.load(s_ptr + cols[:, None])
    r = tl.load(r_ptr + rows)
    x = tl.load(x_ptr + rows[:, None] * N + cols[None, :])
    y = tl.exp(x - r[:, None])
    tl.store(out_ptr + rows[:, None] * N + cols[None, :], s.T * y)
""",
        # a row of per-m scales sliced explicitly `[None, :]` where the output's axis 1 is offs_m, and
        # the same row transposed onto the rows of an [M, N] output
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, s_ptr, out_ptr, out2_ptr, M, N, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    s = tl.load(s_ptr + offs_m[None, :], mask=offs_m[None, :] < M, other=0.0)
    x = tl.load(x_ptr + offs_n[:, None] * M + offs_m[None, :])
    tl.store(out_ptr + offs_n[:, None] * M + offs_m[None, :], x * s)
    y = tl.load(y_ptr + offs_m[:, None] * N + offs_n[None, :])
    tl.store(out2_ptr + offs_m[:, None] * N + offs_n[None, :], y * s.T)
""",
    ]
    INVALID = [
        # a per-row vector used bare lands on the columns
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, r_ptr, out_ptr, N, B: tl.constexpr):
    rows = tl.program_id(0) * B + tl.arange(0, B)
    cols = tl.program_id(1) * B + tl.arange(0, B)
    r = tl.load(r_ptr + rows)  # error
    x = tl.load(x_ptr + rows[:, None] * N + cols[None, :])
    tl.store(out_ptr + rows[:, None] * N + cols[None, :], x - r)
""",
        # the bias re-indexed without the program's offset
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, b_ptr, out_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr):
    offs_m = tl.program_id(0) * BM + tl.arange(0, BM)
    offs_n = tl.program_id(1) * BN + tl.arange(0, BN)
    mask = (offs_m[:, None] < M) & (offs_n[None, :] < N)
    b = tl.load(b_ptr + tl.arange(0, BN))  # error
    x = tl.load(x_ptr + offs_m[:, None] * N + offs_n[None, :], mask=mask)
    tl.store(out_ptr + offs_m[:, None] * N + offs_n[None, :], x + b, mask=mask)
""",
        # a per-row scale re-indexed from 0 in every program (the rows start at pid * BM)
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, s_ptr, out_ptr, N, BM: tl.constexpr, BN: tl.constexpr):
    rows = tl.program_id(0) * BM + tl.arange(0, BM)
    cols = tl.arange(0, BN)
    s = tl.load(s_ptr + tl.arange(0, BM))  # error
    x = tl.load(x_ptr + rows[:, None] * N + cols[None, :])
    tl.store(out_ptr + rows[:, None] * N + cols[None, :], x * s[:, None])
""",
        # a [B, 1] operand on the column vector
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, s_ptr, out_ptr, N, B: tl.constexpr):
    rows = tl.program_id(0) * B + tl.arange(0, B)
    cols = tl.arange(0, B)
    s = tl.load(s_ptr + cols[:, None])  # error
    x = tl.load(x_ptr + rows[:, None] * N + cols[None, :])
    tl.store(out_ptr + rows[:, None] * N + cols[None, :], x * s)
""",
    ]
