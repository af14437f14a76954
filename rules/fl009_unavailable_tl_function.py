from __future__ import annotations

from fuselint.rule import Rule

# Absent from triton.language in every Triton 3.x release (checked: 3.6 and 3.9): a compile error.
_ABSENT = {
    "tanh": "libdevice.tanh(x) (from triton.language.extra import libdevice), or by hand: "
            "t = tl.exp(-2 * tl.abs(x)); tl.where(x >= 0, (1 - t) / (1 + t), (t - 1) / (1 + t))",
    "gelu": "0.5 * x * (1 + tl.erf(x * 0.7071067811865476))",
    "silu": "x / (1 + tl.exp(-x))",
    "mish": "x * tanh(softplus(x)), softplus(x) = tl.log(1 + tl.exp(x)), tanh written by hand as for tl.tanh",
}
# Present in Triton 3.x (triton/language/standard.py) but the house rules ask for them by hand.
_HOUSE = {
    "sigmoid": "1 / (1 + tl.exp(-x))",
    "softmax": "e = tl.exp(x - tl.max(x, axis=0)); e / tl.sum(e, axis=0)",
}


class UnavailableTlFunction(Rule):
    """## What it does
    Flags calls of `tl.tanh`, `tl.gelu`, `tl.silu`, `tl.mish` (also through `tl.math`), which
    do not exist in `triton.language` (Triton 3.6 and 3.9 checked), and of `tl.sigmoid` and
    `tl.softmax`, which exist but the house rules ask to write by hand. The message gives the
    expression to write instead.

    ## Why is this bad?
    House rule: "Missing Triton Functions (implement manually): tl.tanh, tl.sigmoid, tl.gelu,
    tl.silu, tl.softmax, tl.mish". A missing one fails compilation with an AttributeError
    deep in a traceback; the present ones differ between versions and backends.

    ## Example
    ```python
    y = tl.silu(x)
    ```

    ## Use instead
    ```python
    y = x / (1 + tl.exp(-x))
    ```
    """

    code, name, fatal = "FL009", "unavailable-tl-function", True

    def check_kernel(self, kernel):
        for tl_call in kernel.tl_calls:
            short = tl_call.name.removeprefix("math.")
            if short in _ABSENT:
                yield self.report(
                    tl_call.call.func,
                    f"tl.{tl_call.name} does not exist in triton.language (Triton 3.x); write {_ABSENT[short]}",
                )
            elif short in _HOUSE:
                yield self.report(
                    tl_call.call.func,
                    f"tl.{tl_call.name} exists in Triton 3.x but the house rules ask for it by hand: {_HOUSE[short]}",
                    fatal=False,
                )

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)
    tl.store(x_ptr + offs, x / (1 + tl.exp(-x)))
""",
        """
import triton
import triton.language as tl
from triton.language.extra import libdevice

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)
    tl.store(x_ptr + offs, libdevice.tanh(x) + tl.erf(x))
""",
        """
import torch
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    x = tl.load(x_ptr + tl.arange(0, BLOCK))

def reference(x):
    return torch.tanh(x) + torch.sigmoid(x)
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)
    tl.store(x_ptr + offs, tl.tanh(x))  # error
""",
        """
from triton import language as tl
import triton

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)
    y = tl.math.gelu(x) + tl.silu(x)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)
    y = tl.sigmoid(x)  # error
    z = tl.softmax(x)  # error
""",
    ]
