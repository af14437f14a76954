from __future__ import annotations

from fuselint.model.offsets import access_text, render
from fuselint.model.ranges import below_zero, offset_key, ranges_of, where_arm_loads
from fuselint.model.witness import below_zero_witness, witness_text
from fuselint.rule import Rule


# An offset set to -1 off the mask (Kunlunxin's group norm backward does this), stored under
# `store_mask`: the -1 is never used when that mask implies the where's condition.
_MINUS_ONE_OFF_THE_MASK = """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, C, HW, BLOCK_C: tl.constexpr, BLOCK_HW: tl.constexpr):
    rows = tl.program_id(0) * BLOCK_C + tl.arange(0, BLOCK_C)
    cols = tl.arange(0, BLOCK_HW)
    offs = rows[:, None] * HW + cols[None, :]
    mask = (rows < C)[:, None] & (cols < HW)[None, :]
    x = tl.load(x_ptr + offs, mask=mask, other=0.0)
    safe = tl.where(mask, offs, -1)
    tl.store(y_ptr + safe, x * 2, {store_mask}){mark}
"""


class NegativeOffset(Rule):
    """## What it does
    Flags a load or store whose offset can be negative on a lane its mask keeps: `offs - 1`
    with `offs` from 0, `row - 1` on the first row, unless the mask keeps only `offs >= 1` or
    the offset is clamped (`tl.maximum(offs - 1, 0)`).

    ## Why is this bad?
    The address lands before the tensor's first element: another allocation's memory, or a
    fault. Masks that bound only the top (`offs < n`) do not help.

    ## Example
    ```python
    left = tl.load(x_ptr + offs - 1, mask=offs < n)
    ```

    ## Use instead
    ```python
    left = tl.load(x_ptr + offs - 1, mask=(offs >= 1) & (offs < n), other=0.0)
    ```
    """

    code, name = "FL405", "negative-offset"

    def check_kernel(self, kernel):
        in_arms = {id(w.access.call) for w in where_arm_loads(kernel)}
        for access in kernel.accesses:
            if id(access.call) in in_arms:
                continue
            verdict = below_zero(kernel, access)
            if verdict is None or verdict.kind != "passes":
                continue
            offset = render(offset_key(kernel, access))
            witness = below_zero_witness(ranges_of(kernel), verdict)
            yield self.report(
                access.call,
                f"{access_text(kernel, access)}: its offset `{offset}` reaches `{verdict.reach.text()}` on a lane the "
                f"{'mask keeps' if access.mask is not None else 'access runs (no mask)'}; "
                f"mask it (`offs >= 1`) or clamp it (`tl.maximum(..., 0)`); {witness_text(witness)}",
                witness=witness,
            )

    VALID = [
        _MINUS_ONE_OFF_THE_MASK.format(store_mask="mask", mark=""),
        """
import triton
import triton.language as tl

@triton.jit
def left_neighbour(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    left = tl.load(x_ptr + offs - 1, mask=(offs >= 1) & (offs < n), other=0.0)
    tl.store(y_ptr + offs, left, mask=offs < n)
""",
        """
import triton
import triton.language as tl

@triton.jit
def left_neighbour(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    left = tl.load(x_ptr + tl.maximum(offs - 1, 0), mask=offs < n, other=0.0)
    tl.store(y_ptr + offs, left, mask=offs < n)
""",
        # reversed rows: n - 1 - offs stays at or above zero where offs < n
        """
import triton
import triton.language as tl

@triton.jit
def flip(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + (n - 1 - offs), mask=offs < n)
    tl.store(y_ptr + offs, x, mask=offs < n)
""",
        # modulo-wrapped offsets of a non-negative index
        """
import triton
import triton.language as tl

@triton.jit
def roll(x_ptr, y_ptr, n, shift, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + (offs + n - shift) % n, mask=offs < n)
    tl.store(y_ptr + offs, x, mask=offs < n)
""",
        # Inductor's clamps: `tl.where(x != x, x, ...)` is its NaN test (never true for an
        # integer index), then max with 0 and min with the last row
        """
import triton
import triton.language as tl

@triton.jit
def pool(in_ptr, out_ptr, xnumel, XBLOCK: tl.constexpr):
    xindex = tl.program_id(0) * XBLOCK + tl.arange(0, XBLOCK)
    xmask = xindex < xnumel
    x1 = xindex // 8
    x0 = xindex % 8
    tmp0 = x1 - 1
    tmp4 = 0
    tmp5 = tl.where(tmp0 != tmp0, tmp0, tl.where(tmp0 > tmp4, tmp0, tmp4))
    tmp7 = tl.where(tmp5 != tmp5, tmp5, tl.where(tmp5 < 7, tmp5, 7))
    v = tl.load(in_ptr + (x0 + 8 * tmp7), xmask)
    tl.store(out_ptr + xindex, v, xmask)
""",
        # a load under a scalar ternary runs only where its test holds: i % BT > 0 needs i >= 1
        """
import triton
import triton.language as tl

@triton.jit
def prev_gate(g, out, T, H, BT: tl.constexpr):
    i = tl.program_id(0)
    b_gp = tl.load(g + (i - 1) * H) if i % BT > 0 else 0.
    tl.store(out + i * H, b_gp)
""",
    ]
    INVALID = [
        # the store keeps lanes past C, where the offset is -1
        _MINUS_ONE_OFF_THE_MASK.format(store_mask="(cols < HW)[None, :]", mark="  # error"),
        """
import triton
import triton.language as tl

@triton.jit
def left_neighbour(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    left = tl.load(x_ptr + offs - 1, mask=offs < n, other=0.0)  # error
    tl.store(y_ptr + offs, left, mask=offs < n)
""",
        # the row above, on the first row
        """
import triton
import triton.language as tl

@triton.jit
def row_diff(x_ptr, y_ptr, N, stride, BLOCK_N: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK_N)
    up = tl.load(x_ptr + (row - 1) * stride + cols, mask=cols < N)  # error
    tl.store(y_ptr + row * stride + cols, up, mask=cols < N)
""",
        # a window that starts before the tensor
        """
import triton
import triton.language as tl

@triton.jit
def conv1d(x_ptr, w_ptr, y_ptr, n, PAD: tl.constexpr, BLOCK: tl.constexpr, K: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    acc = tl.zeros((BLOCK,), dtype=tl.float32)
    for k in range(K):
        x = tl.load(x_ptr + offs + k - PAD, mask=offs + k - PAD < n, other=0.0)  # error
        acc += x * tl.load(w_ptr + k)
    tl.store(y_ptr + offs, acc, mask=offs < n)

def launch(x, w, y, n):
    conv1d[(triton.cdiv(n, 128),)](x, w, y, n, PAD=1, BLOCK=128, K=3)
""",
        # the load is the ternary's other arm: it runs where i % BT == 0, i = 0 included
        """
import triton
import triton.language as tl

@triton.jit
def prev_gate(g, out, T, H, BT: tl.constexpr):
    i = tl.program_id(0)
    b_gp = 0. if i % BT > 0 else tl.load(g + (i - 1) * H)  # error
    tl.store(out + i * H, b_gp)
""",
    ]
