from __future__ import annotations

from fuselint.model.offsets import access_text, render
from fuselint.model.ranges import offset_key, where_arm_loads
from fuselint.model.source import code_of
from fuselint.model.witness import witness_text
from fuselint.rule import Rule


class WhereArmLoad(Rule):
    """## What it does
    Flags a `tl.load` in an arm of `tl.where` (directly, or a name bound to it) whose address
    is inside the tensor only where that arm is chosen: below zero or past the extent on the
    lanes where the other arm is taken.

    ## Why is this bad?
    `tl.where` is not a branch: both arms are computed on every lane, then one is selected. The
    load runs on the lanes the condition was meant to protect and reads out of bounds
    (vllm-ascend issue #16275: `tl.where(offs == 0, 0, tl.load(p + offs - 1, m))` reads one
    element before the buffer).

    ## Example
    ```python
    prev = tl.where(offs == 0, 0.0, tl.load(x_ptr + offs - 1, mask=mask))
    ```

    ## Use instead
    ```python
    prev = tl.load(x_ptr + tl.maximum(offs - 1, 0), mask=mask & (offs >= 1), other=0.0)
    ```
    """

    code, name = "FL404", "where-arm-load"

    def check_kernel(self, kernel):
        for arm in where_arm_loads(kernel):
            key = offset_key(kernel, arm.access)
            offset = render(key) if key is not None else "?"
            side = "holds" if arm.arm == 1 else "fails"
            if arm.verdict.below:
                fix = f"clamp it (`tl.maximum({offset}, 0)`) or add the condition to the load's mask"
                what = f"reaches `{arm.verdict.reach.text() if arm.verdict.reach else '< 0'}` below zero"
            else:
                fix = "put the condition into the load's mask"
                what = "passes its extent"
            yield self.report(
                arm.access.call,
                f"{access_text(kernel, arm.access)} is an arm of `tl.where({code_of(arm.condition)}, ...)` and is in "
                f"bounds only where the condition {side}, but both arms run on every lane: its offset `{offset}` "
                f"{what}; {fix}; {witness_text(arm.witness)}",
                witness=arm.witness,
            )

    VALID = [
        # the clamp keeps the address inside
        """
import triton
import triton.language as tl

@triton.jit
def shift_right(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    prev = tl.where(offs == 0, 0.0, tl.load(x_ptr + tl.maximum(offs - 1, 0), mask=mask))
    tl.store(y_ptr + offs, prev, mask=mask)
""",
        # the condition is in the mask
        """
import triton
import triton.language as tl

@triton.jit
def shift_right(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    prev = tl.where(offs == 0, 0.0, tl.load(x_ptr + offs - 1, mask=mask & (offs >= 1), other=0.0))
    tl.store(y_ptr + offs, prev, mask=mask)
""",
        # a masked load as an arm is fine: the where only picks values
        """
import triton
import triton.language as tl

@triton.jit
def relu_rows(x_ptr, y_ptr, N, stride, BLOCK_N: tl.constexpr):
    cols = tl.arange(0, BLOCK_N)
    x = tl.load(x_ptr + tl.program_id(0) * stride + cols, mask=cols < N, other=0.0)
    y = tl.where(x > 0, x, 0.0)
    tl.store(y_ptr + tl.program_id(0) * stride + cols, y, mask=cols < N)
""",
        # the load's own mask drops the lanes of the first row (`~is_first`), where the offset
        # would be negative
        """
import triton
import triton.language as tl

@triton.jit
def prev_token(x_ptr, state_ptr, out_ptr, T, D, n, BLOCK: tl.constexpr):
    idx = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    valid = idx < n
    seq = (idx // D) % T
    feat = idx % D
    x_idx = (idx // (T * D)) * T * D + seq * D + feat
    is_first = seq < 1
    first = tl.load(state_ptr + feat, mask=is_first & valid, other=0.0)
    prev = tl.load(x_ptr + x_idx - D, mask=~is_first & valid, other=0.0)
    tl.store(out_ptr + idx, tl.where(is_first, first, prev), mask=valid)
""",
    ]
    INVALID = [
        # vllm-ascend #16275
        """
import triton
import triton.language as tl

@triton.jit
def shift_right(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    m = offs < n
    prev = tl.where(offs == 0, 0, tl.load(x_ptr + offs - 1, m))  # error
    tl.store(y_ptr + offs, prev, mask=m)
""",
        # the load bound to a name first
        """
import triton
import triton.language as tl

@triton.jit
def diff(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    m = offs < n
    x = tl.load(x_ptr + offs, mask=m)
    before = tl.load(x_ptr + offs - 1, mask=m)  # error
    d = tl.where(offs > 0, x - before, x)
    tl.store(y_ptr + offs, d, mask=m)
""",
        # past the end: the where's condition is the bound the load lacks
        """
import triton
import triton.language as tl

@triton.jit
def pad_tail(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    y = tl.where(offs < n, tl.load(x_ptr + offs), 0.0)  # error
    tl.store(y_ptr + offs, y)

def launch(x, y, n):
    pad_tail[(triton.cdiv(n, 256),)](x, y, n, BLOCK=256)
""",
    ]
