from __future__ import annotations

from fuselint.rule import Rule


class OtherWithoutMask(Rule):
    """## What it does
    Flags a `tl.load` that passes `other=` (or a third positional argument) but no mask.

    ## Why is this bad?
    `other` is the value of the lanes the mask turns off; without a mask it means nothing,
    and Triton 3.x rejects it at compile time (``"`other` cannot be provided without `mask`"``,
    `_load_legacy` in triton/language/semantic.py).

    ## Example
    ```python
    x = tl.load(x_ptr + offs, other=0.0)
    ```

    ## Use instead
    ```python
    x = tl.load(x_ptr + offs, mask=offs < n, other=0.0)
    ```
    """

    code, name, fatal = "FL010", "other-without-mask", True

    def check_kernel(self, kernel):
        for access in kernel.accesses:
            if access.kind == "load" and access.other is not None and access.mask is None:
                yield self.report(access.call, "tl.load passes `other` without `mask`: Triton rejects it; add the mask")

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n, other=0.0)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, offs < n, 0.0)
    y = tl.load(x_ptr + offs)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, 1.0, mask=offs < n)
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, other=0.0)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, None, 0.0)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    for i in range(n):
        x = tl.load(x_ptr + i * BLOCK + offs, other=float("-inf"))  # error
""",
    ]
