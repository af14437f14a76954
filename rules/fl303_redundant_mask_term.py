from __future__ import annotations

from fuselint.model.fusion import grid_dimension_is_argument
from fuselint.model.offsets import conjuncts
from fuselint.model.source import code_of
from fuselint.rule import Rule


class RedundantMaskTerm(Rule):
    """## What it does
    Flags a mask term `tl.program_id(a) < n` where every launch of the kernel in its file makes
    grid dimension `a` exactly `n` (the same expression passed for parameter `n`, and the grid
    function does not rebind it). Program ids run from 0 to the grid size minus one, so the
    term is always true. A kernel not launched in its file is not judged.

    ## Why is this bad?
    An always-true term is work in every program and noise in every mask: it hides which
    conjuncts are the real boundary condition that the house rule wants shared ("all masks
    derived from same boundary condition"), and it suggests a bound that the grid already
    guarantees.

    ## Example
    ```python
    valid = (pid_bh < BH) & (pid_s < S)
    mask = (offs_d < HALF_D) & valid
    ...
    kernel[(BH, S, triton.cdiv(HALF_D, BLOCK_D))](..., BH, S, ...)
    ```

    ## Use instead
    ```python
    mask = offs_d < HALF_D
    ```
    """

    code, name = "FL303", "redundant-mask-term"

    def check_module(self, module):
        for kernel in module.kernels:
            launches = kernel.launches
            if not launches:
                continue
            seen: set[int] = set()
            for access in kernel.accesses:
                if access.mask is None:
                    continue
                for term in conjuncts(kernel, access.mask):
                    key = term.key
                    if id(term.node) in seen or key[0] != "cmp" or key[1] != "<":
                        continue
                    pid, bound = key[2], key[3]
                    if pid[0] != "pid" or pid[1][0] != "const" or bound[0] != "param":
                        continue
                    axis, param = pid[1][1], bound[1]
                    if all(grid_dimension_is_argument(module, launch, kernel, axis, param) for launch in launches):
                        seen.add(id(term.node))
                        text = code_of(term.node.with_changes(lpar=[], rpar=[])) if hasattr(term.node, "lpar") else code_of(term.node)
                        yield self.report(term.node, f"`{text}` is always true: every launch of "
                                                     f"`{kernel.name}` makes grid dimension {axis} exactly `{param}`; "
                                                     f"drop it from the mask")

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) + 1, mask=offs < n)

def launch(x, n):
    k[(triton.cdiv(n, 256),)](x, n, BLOCK=256)
""",
        # the grid is larger than the bound (rounded up): the term is a real boundary
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, rows, N, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = (row < rows) & (cols < N)
    tl.store(x_ptr + row * N + cols, tl.load(x_ptr + row * N + cols, mask=mask) + 1, mask=mask)

def launch(x, rows, N):
    k[(triton.next_power_of_2(rows),)](x, rows, N, BLOCK=256)
""",
        # one launch passes another bound than its grid; a kernel never launched here
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, rows, N, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = (row < rows) & (cols < N)
    tl.store(x_ptr + row * N + cols, tl.load(x_ptr + row * N + cols, mask=mask) + 1, mask=mask)

@triton.jit
def j(x_ptr, rows, BLOCK: tl.constexpr):
    cols = tl.arange(0, BLOCK)
    tl.store(x_ptr + cols, 1, mask=tl.program_id(0) < rows)

def launch(x, rows, N):
    k[(rows,)](x, rows, N, BLOCK=256)
    k[(rows * 2,)](x, rows, N, BLOCK=256)
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, rows, N, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = (row < rows) & (cols < N)  # error
    tl.store(x_ptr + row * N + cols, tl.load(x_ptr + row * N + cols, mask=mask) + 1, mask=mask)

def launch(x, rows, N):
    k[(rows,)](x, rows, N, BLOCK=256)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BH, S, D, BLOCK_D: tl.constexpr):
    pid_bh = tl.program_id(0)
    pid_s = tl.program_id(1)
    offs = tl.program_id(2) * BLOCK_D + tl.arange(0, BLOCK_D)
    valid = (pid_bh < BH) & (S > pid_s)  # error
    mask = (offs < D) & valid
    ptrs = x_ptr + (pid_bh * S + pid_s) * D + offs
    tl.store(ptrs, tl.load(ptrs, mask=mask) * 2, mask=mask)

def launch(x, BH, S, D):
    def grid(meta):
        return (BH, S, triton.cdiv(D, meta["BLOCK_D"]))
    k[grid](x, BH, S, D, BLOCK_D=64)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n_rows, N, BLOCK: tl.constexpr):
    cols = tl.arange(0, BLOCK)
    row = tl.program_id(0)
    tl.store(x_ptr + row * N + cols, 0.0,
             mask=(cols < N) & (tl.program_id(0) < n_rows))  # error

def launch(x, M, N):
    grid = (M,)
    k[grid](x, n_rows=M, N=N, BLOCK=256)
""",
    ]
