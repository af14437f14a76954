from __future__ import annotations

import libcst as cst

from fuselint.model.shapes import _kw
from fuselint.model.source import code_of
from fuselint.rule import Rule


class ProgramIdAxis(Rule):
    """## What it does
    Flags a `tl.program_id` or `tl.num_programs` axis (positional or `axis=`) that is not
    0, 1 or 2, and an axis that is not a literal or a constant.

    ## Why is this bad?
    House rule: "`tl.program_id(axis)` only supports axis = 0, 1, 2". A launch grid has at
    most three dimensions; Triton rejects any other axis at compile time
    (`program_id axis must be 0, 1, or 2`, `program_id` in triton/language/semantic.py).

    ## Example
    ```python
    pid_batch = tl.program_id(3)
    ```

    ## Use instead
    ```python
    pid = tl.program_id(2)
    pid_batch, pid_head = pid // H, pid % H   # fold extra dimensions into one axis
    ```
    """

    code, name, fatal = "FL005", "program-id-axis", True

    def check_kernel(self, kernel):
        static = kernel.loop_variables(static=True)
        for tl_call in kernel.calls("program_id", "num_programs"):
            axis = _kw(tl_call.call, "axis", 0)
            if axis is None:
                continue
            values = kernel.values_of(axis)
            bad = [v for v in values if v.value not in (0, 1, 2) or isinstance(v.value, bool)]
            for value in bad:
                where = "" if value.node is axis else f" ({code_of(axis)} from the {value.origin})"
                yield self.report(value.node, f"tl.{tl_call.name} axis is {value.value}{where}; only 0, 1 or 2 exist")
            # A parameter (a jit helper's `axis`) takes its callers' constant: unknown here.
            if not values and not (isinstance(axis, cst.Name) and (axis.value in static or kernel.param(axis.value))):
                yield self.report(
                    axis, f"tl.{tl_call.name} axis `{code_of(axis)}` is not a constant; write 0, 1 or 2", fatal=False
                )

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr):
    a = tl.program_id(0)
    b = tl.program_id(axis=1)
    c = tl.num_programs(2)
""",
        """
import triton
import triton.language as tl

AXIS = 1

@triton.jit
def k(x_ptr, AX: tl.constexpr):
    a = tl.program_id(AXIS)
    b = tl.program_id(AX)

def launch(x):
    k[(1, 1)](x, AX=1)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr):
    for axis in tl.static_range(3):
        n = tl.num_programs(axis)
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr):
    pid = tl.program_id(3)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr):
    n = tl.num_programs(axis=-1)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, AX: tl.constexpr):
    pid = tl.program_id(AX)

def launch(x):
    k[(1,)](x, AX=4)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n):
    pid = tl.program_id(n % 3)  # error
""",
    ]
