from __future__ import annotations

from fuselint.model.offsets import access_text, render
from fuselint.model.ranges import off_by_one, ranges_of
from fuselint.model.source import code_of
from fuselint.model.witness import equal_witness, witness_text
from fuselint.rule import Rule


class OffByOneBound(Rule):
    """## What it does
    Flags a mask conjunct `offs <= n` (or `offs < n + 1`) where the kernel bounds the same
    index vector by `n` elsewhere (`offs < n`).

    ## Why is this bad?
    The two bounds cannot both be right: if the tensor has `n` elements, the `<=` keeps lane
    `n`, one element past the end, and the access reads or writes it.

    ## Example
    ```python
    x = tl.load(x_ptr + offs, mask=offs <= n)
    tl.store(y_ptr + offs, x, mask=offs < n)
    ```

    ## Use instead
    ```python
    x = tl.load(x_ptr + offs, mask=offs < n)
    tl.store(y_ptr + offs, x, mask=offs < n)
    ```
    """

    code, name = "FL406", "off-by-one-bound"

    def check_kernel(self, kernel):
        for access, node, extent, bound in off_by_one(kernel):
            witness = equal_witness(ranges_of(kernel), bound)
            yield self.report(
                node,
                f"`{code_of(node)}` keeps `{render(extent.vector)} == {bound.text()}`, one past the bound "
                f"`{bound.text()}` that {extent.how} states for the same vector; {access_text(kernel, access)} "
                f"touches that element; {witness_text(witness)}",
                witness=witness,
            )

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def copy(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n)
    tl.store(y_ptr + offs, x, mask=offs < n)
""",
        # `<=` against a bound that is one less: the same extent
        """
import triton
import triton.language as tl

@triton.jit
def copy(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs <= n - 1)
    tl.store(y_ptr + offs, x, mask=offs < n)
""",
        # a row of n + 1 entries (offsets of a CSR matrix) bounded once
        """
import triton
import triton.language as tl

@triton.jit
def row_lengths(indptr_ptr, out_ptr, n_rows, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    starts = tl.load(indptr_ptr + offs, mask=offs <= n_rows)
    tl.store(out_ptr + offs, starts, mask=offs <= n_rows)
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def copy(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs <= n)  # error
    tl.store(y_ptr + offs, x, mask=offs < n)
""",
        """
import triton
import triton.language as tl

@triton.jit
def scale(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    tl.store(x_ptr + offs, x * 2, mask=offs < n + 1)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def rows(x_ptr, M, N, stride, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    r = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    c = tl.arange(0, BLOCK_N)
    x = tl.load(x_ptr + r[:, None] * stride + c[None, :], mask=(r[:, None] < M) & (c[None, :] < N))
    tl.store(x_ptr + r[:, None] * stride + c[None, :], x, mask=(r[:, None] <= M) & (c[None, :] < N))  # error
""",
    ]
