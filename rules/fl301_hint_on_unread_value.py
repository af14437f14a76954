from __future__ import annotations

import libcst as cst

from fuselint.model.offsets import HINTS, discarded_calls
from fuselint.model.reads import readers_of
from fuselint.model.source import code_of
from fuselint.rule import Rule


def _hinted(kernel, call: cst.Call) -> cst.BaseExpression | None:
    """The expression whose value a hint marks: its first argument, through nested hints and
    whole-tensor slices (`x[:]`), which return that same value."""
    while True:
        args = [a for a in call.args if a.keyword is None or a.keyword.value == "input"]
        value = args[0].value if args and not args[0].star else None
        while isinstance(value, cst.Subscript) and all(
                isinstance(e.slice, cst.Slice) and e.slice.lower is e.slice.upper is e.slice.step is None
                for e in value.slice):
            value = value.value
        if isinstance(value, cst.Call) and kernel.imports.tl_function(value.func) in HINTS:
            call = value
            continue
        return value


class HintOnUnreadValue(Rule):
    """## What it does
    Flags a `tl.multiple_of(x, n)`, `tl.max_contiguous(x, n)` or `tl.max_constancy(x, n)`
    written as a statement whose `x` is a value that nothing else reads: an expression built
    only for the hint (`tl.multiple_of(x_ptr + offs, 16)`), or a name that no load, store or
    computation reads (`ptrs = x_ptr + offs; tl.multiple_of(ptrs, 16)` and the load builds
    `x_ptr + offs` again).

    A hint on a name that is read elsewhere is not flagged: the hints set an attribute on the
    operation that defines `x` and return `x` itself (`x.handle.set_attr(...)`, `return x` in
    triton/language/semantic.py, Triton 3.6 and 3.9), so `tl.multiple_of(offs, 16)` as a
    statement marks `offs` for every access that reads it, before or after the hint, exactly as
    `offs = tl.multiple_of(offs, 16)` does (compiled for sm_89, both give the same vectorised
    loads).

    ## Why is this bad?
    The hint marks a temporary that is never used: the compiler drops it with the hint, and the
    load or store that builds its own `x_ptr + offs` sees no hint (compiled for sm_89, the loads
    stay scalar). The line reads as if it made the accesses vectorisable, and does nothing.

    ## Example
    ```python
    tl.multiple_of(x_ptr + offs, 16)
    x = tl.load(x_ptr + offs)
    ```

    ## Use instead
    ```python
    offs = tl.multiple_of(offs, 16)      # or the statement tl.multiple_of(offs, 16)
    x = tl.load(x_ptr + offs)
    ```
    or hint the pointer the access reads: `x = tl.load(tl.multiple_of(x_ptr + offs, 16))`.
    No automatic fix: which access the hint was meant for, and whether the claim holds for it,
    is the author's call (a false alignment hint makes vectorised accesses read wrong data).
    """

    code, name = "FL301", "hint-on-unread-value"

    def check_kernel(self, kernel):
        hints = [c for c in discarded_calls(kernel) if kernel.imports.tl_function(c.func) in HINTS]
        hinted = {id(c): _hinted(kernel, c) for c in hints}
        only_hinted = {id(value) for value in hinted.values() if isinstance(value, cst.Name)}
        for call in hints:
            value = hinted[id(call)]
            hint = code_of(call.func)
            if value is None:
                continue
            if not isinstance(value, cst.Name):
                yield self.report(call, f"{hint}(...) marks `{code_of(value)}`, a value built only for the hint and read by "
                                        f"nothing: an access that builds `{code_of(value)}` again does not see it; hint a name "
                                        f"the access reads, or pass the hinted value to the access")
                continue
            readers = readers_of(kernel, value)
            if readers is not None and not [r for r in readers if id(r) not in only_hinted]:
                yield self.report(call, f"{hint}(...) marks `{value.value}`, which nothing else reads: the loads and stores "
                                        f"build their own values and do not see the hint; hint the name they read")

    VALID = [
        # a hint as a statement marks the value of `offs` itself: every access reading it sees it
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.multiple_of(offs, BLOCK)
    tl.max_contiguous(tl.multiple_of(offs, BLOCK), BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) + 1, mask=offs < n)
""",
        # assigned, on a pointer the access reads, inside the access, after the access,
        # in a branch and a loop
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, n, start, BLOCK: tl.constexpr):
    offs = tl.max_contiguous(tl.multiple_of(start + tl.arange(0, BLOCK), BLOCK), BLOCK)
    ptrs = x_ptr + offs
    tl.multiple_of(ptrs, 16)
    y = tl.load(tl.multiple_of(y_ptr + offs, 16))
    tl.store(y_ptr + offs, tl.load(ptrs) + y)
    tl.max_contiguous(offs, BLOCK)
    if n > 0:
        cols = start + tl.arange(0, BLOCK)
        tl.multiple_of(cols[:], BLOCK)
        tl.store(x_ptr + cols, 1.0)
    for i in range(0, n, BLOCK):
        row = start + i
        tl.multiple_of(row, BLOCK)
        tl.store(y_ptr + row + tl.arange(0, BLOCK), 0.0)
""",
        # a statement call that is not a hint, and a hint outside any kernel
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs) + 1)
    tl.debug_barrier()

def host(x):
    tl.multiple_of(x + 1, 16)
""",
    ]
    INVALID = [
        # the hint marks a pointer the load builds again
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.multiple_of(x_ptr + offs, 16)  # error
    tl.max_contiguous(tl.multiple_of(x_ptr + offs, 16), 16)  # error
    tl.store(x_ptr + offs, tl.load(x_ptr + offs) + 1)
""",
        # a named pointer that only the hints read
        """
import triton
import triton.language as tl
from triton.language import multiple_of

@triton.jit
def k(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x_ptrs = x_ptr + offs
    if n > 0:
        multiple_of(x_ptrs, 16)  # error
    tl.max_contiguous(x_ptrs, 16)  # error
    tl.store(y_ptr + offs, tl.load(x_ptr + offs))
""",
        # a broadcast of the index vector, rebuilt at the access
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, N, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.arange(0, BLOCK_N)
    for i in range(4):
        tl.max_constancy(rows[:, None] * N, [1, BLOCK_N])  # error
    tl.store(x_ptr + rows[:, None] * N + cols[None, :], 0.0)
""",
    ]
