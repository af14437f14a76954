from __future__ import annotations

from fuselint.model.fusion import fused_groups, is_broadcast_member, same_indexing
from fuselint.model.offsets import access_text, boundary, render
from fuselint.rule import Rule

_VERDICT = ("build one `mask` from the output's boundary condition and pass it to every load and store; "
            "if an op needs another boundary, do not fuse: split this kernel")


def _text(keys) -> str:
    return " & ".join(sorted(render(k) for k in keys))


class FusedMasksDiffer(Rule):
    """## What it does
    Flags a load or store of a kernel's fused group (the loads and stores whose tile shape is
    the output store's; see FL101) whose mask is not the output's: not the same expression and
    not the same boundary condition. A mask is compared as the set of its conjuncts
    (`a & b`, `a and b`), each inlined back to index vectors and parameters, so
    `mask = offs < n` and a second `offs < n` written elsewhere are the same condition, and
    `(rows[:, None] < M) & (cols[None, :] < N)` equals the same terms in the other order. A
    missing mask where the output has one is a difference. Only boundary conditions are
    compared: conjuncts that compare an index with a bound that does not vary (`offs < n`);
    a causal `cols > rows` or a mask loaded from memory selects values, not a boundary. A
    broadcast member (cos/sin rows shared by all heads) indexes a smaller tensor and keeps its
    own bounds; a member whose offsets differ is FL101's finding, not this rule's.

    ## Why is this bad?
    House rule: "Every fused op MUST use identical boundary mask" and "all masks derived from
    same boundary condition". Two masks over one tile let one op read or write elements the
    other skips: a tail that is loaded but not stored, or stored from padding.

    ## Example
    ```python
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    y = tl.load(y_ptr + offs)                      # no mask
    tl.store(out_ptr + offs, x + y, mask=offs < N_OUT)
    ```

    ## Use instead
    ```python
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    y = tl.load(y_ptr + offs, mask=mask)
    tl.store(out_ptr + offs, x + y, mask=mask)
    ```
    """

    code, name = "FL102", "fused-masks-differ"

    def check_kernel(self, kernel):
        reported: set = set()
        for group in fused_groups(kernel):
            output = group.output
            want = boundary(kernel, output.mask)
            for member in group.members:
                if member is output or id(member.access.call) in reported:
                    continue
                if not same_indexing(member.offsets, output.offsets) or (member.offsets.program - output.offsets.program):
                    continue  # other offsets (FL101), another row, or not known: its mask bounds other elements
                if is_broadcast_member(member.offsets, output.offsets):
                    continue  # it indexes a smaller tensor: its bounds are that tensor's
                have = boundary(kernel, member.mask)
                if have is None or want is None or have == want:
                    continue
                if not have:
                    detail = f"has no boundary mask, the output {access_text(kernel, output.access)} masks with `{_text(want)}`"
                elif not want:
                    detail = f"masks with `{_text(have)}`, the output {access_text(kernel, output.access)} has no boundary mask"
                else:
                    detail = (f"masks with `{_text(have)}`, the output {access_text(kernel, output.access)} "
                              f"with `{_text(want)}`")
                reported.add(id(member.access.call))
                where = member.access.mask if member.access.mask is not None else member.access.call
                yield self.report(where, f"{access_text(kernel, member.access)} {detail}; {_VERDICT}")

    VALID = [
        # one boundary written two ways: the block's start on either side of the comparison
        """
import triton
import triton.language as tl

@triton.jit
def scale_rows(x_ptr, y_ptr, N, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    start = tl.program_id(1)
    cols = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * N + cols + BLOCK * start, mask=cols < N - start * BLOCK, other=0.0)
    tl.store(y_ptr + row * N + cols + BLOCK * start, x * 2, mask=(BLOCK * start + cols) < N)
""",
        # one mask, and the same condition written twice
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    y = tl.load(y_ptr + offs, mask=n > offs)
    tl.store(out_ptr + offs, x + y, mask=mask)
""",
        # a 2-D boundary, conjuncts in another order; the bias row is a broadcast operand
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, b_ptr, out_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr):
    rows = tl.program_id(0) * BM + tl.arange(0, BM)
    cols = tl.arange(0, BN)
    mask = (rows[:, None] < M) & (cols[None, :] < N)
    x = tl.load(x_ptr + rows[:, None] * N + cols[None, :], mask=(cols[None, :] < N) & (rows[:, None] < M))
    b = tl.load(b_ptr + cols, mask=cols < N)
    tl.store(out_ptr + rows[:, None] * N + cols[None, :], x + b[None, :], mask=mask)
""",
        # a broadcast member drops the condition of the row it does not index
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, c_ptr, out_ptr, n_rows, D, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    offs = tl.arange(0, BLOCK)
    c = tl.load(c_ptr + offs, mask=offs < D)
    x = tl.load(x_ptr + row * D + offs, mask=(offs < D) & (row < n_rows))
    tl.store(out_ptr + row * D + offs, x * c, mask=(offs < D) & (row < n_rows))
""",
        # no masks at all: the same (absent) boundary everywhere
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, out_ptr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, tl.load(x_ptr + offs) * 2)
""",
    ]
    INVALID = [
        # a program picks its tensors with tl.where: the select is the base of both accesses
        """
import triton
import triton.language as tl

@triton.jit
def k(q_ptr, k_ptr, q_out_ptr, k_out_ptr, n, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    tiles = tl.cdiv(n, BLOCK)
    x_ptr = tl.where(pid >= tiles, k_ptr, q_ptr)
    out_ptr = tl.where(pid >= tiles, k_out_ptr, q_out_ptr)
    offs = (pid % tiles) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n - 1)  # error
    tl.store(out_ptr + offs, x * 2, mask=offs < n)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    y = tl.load(y_ptr + offs)  # error
    tl.store(out_ptr + offs, x + y, mask=mask)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, out_ptr, n, n_out, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n)  # error
    tl.store(out_ptr + offs, x, mask=offs < n_out)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, out_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr):
    rows = tl.program_id(0) * BM + tl.arange(0, BM)
    cols = tl.arange(0, BN)
    ptrs = rows[:, None] * N + cols[None, :]
    x = tl.load(x_ptr + ptrs, mask=rows[:, None] < M)  # error
    tl.store(out_ptr + ptrs, x, mask=(rows[:, None] < M) & (cols[None, :] < N))
""",
    ]
