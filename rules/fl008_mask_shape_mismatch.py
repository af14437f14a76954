from __future__ import annotations

from fuselint.model.shapes import format_shape, provably_different
from fuselint.model.source import code_of
from fuselint.rule import Rule


def _clash(mask: tuple, pointer: tuple, kind: str) -> str | None:
    """Why Triton cannot broadcast `mask` with `pointer` (triton/language/semantic.py): a scalar
    mask always fits, a block mask never fits a scalar pointer. A store (and an atomic) keeps
    the pointer's shape (`_broadcast_ptr_val_mask`): the mask needs the pointer's rank or less
    and, per axis, the pointer's size or 1. A load (Triton 3.5+, `broadcast_impl_value`)
    broadcasts pointer and mask both ways: only sizes that differ and are neither 1 clash."""
    if not mask:
        return None
    if not pointer:
        return "a block mask on a scalar pointer"
    if kind != "load" and len(mask) > len(pointer):
        return f"rank {len(mask)} against rank {len(pointer)}"
    for axis, (m, p) in enumerate(zip(reversed(mask), reversed(pointer))):
        if isinstance(m, int) and isinstance(p, int) and m != p and m != 1 and (kind != "load" or p != 1):
            return f"size {m} against {p} on axis {max(len(mask), len(pointer)) - 1 - axis}"
    return None


class MaskShapeMismatch(Rule):
    """## What it does
    Flags a `tl.load`/`tl.store`/`tl.atomic_*` whose mask shape differs from its pointer
    shape. When Triton cannot broadcast the mask to the pointer at all (another rank, or a
    size that is neither the pointer's nor 1) the finding says it will not compile.

    ## Why is this bad?
    House rule: "mask shape MUST match data shape in tl.load/tl.store". A mask that only
    broadcasts (a `[BLOCK_M, 1]` row mask on a `[BLOCK_M, BLOCK_N]` tile, a scalar) leaves the
    other axis unbounded; one that cannot broadcast is a compile error (`Cannot broadcast, rank
    mismatch`, `broadcast_impl_shape` in triton/language/semantic.py).

    ## Example
    ```python
    ptrs = x_ptr + rows[:, None] * stride + cols[None, :]
    x = tl.load(ptrs, mask=rows[:, None] < M)
    ```

    ## Use instead
    ```python
    mask = (rows[:, None] < M) & (cols[None, :] < N)
    x = tl.load(ptrs, mask=mask)
    ```
    """

    code, name, fatal = "FL008", "mask-shape-mismatch", True

    def check_kernel(self, kernel):
        for access in kernel.accesses:
            if access.mask is None or access.pointer is None:
                continue
            pointer, mask = kernel.shape_of(access.pointer), kernel.shape_of(access.mask)
            if pointer is None or mask is None:
                continue
            where = f"tl.{access.kind}: mask `{code_of(access.mask)}` is {format_shape(mask)}, pointer is {format_shape(pointer)}"
            clash = _clash(mask, pointer, access.kind)
            if clash is not None:
                yield self.report(access.mask, f"{where} ({clash}): Triton cannot broadcast it, this will not compile")
            elif provably_different(mask, pointer):
                yield self.report(access.mask, f"{where}; build the mask over the whole tile", fatal=False)

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=mask), mask=mask)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr):
    rows = tl.arange(0, BM)
    cols = tl.arange(0, BN)
    mask = (rows[:, None] < M) & (cols[None, :] < N)
    x = tl.load(x_ptr + rows[:, None] * N + cols[None, :], mask=mask, other=0.0)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr):
    rows = tl.arange(0, BM)
    cols = tl.arange(0, BN)
    x = tl.load(x_ptr + rows[:, None] * N + cols[None, :])
    s = tl.sum(x, axis=1)
    tl.store(x_ptr + rows, s, mask=rows < M)
    t = tl.reshape(x, (BM * BN,))
    tl.store(x_ptr + tl.arange(0, BM * BN), t, mask=tl.arange(0, BM * BN) < M * N)
""",
        # a helper's pointer parameter: the kernel that calls it passes a block of pointers
        """
import triton
import triton.language as tl

@triton.jit
def load_tile(ptrs, M, N, BM: tl.constexpr, BN: tl.constexpr):
    return tl.load(ptrs, mask=(tl.arange(0, BM) < M)[:, None] & (tl.arange(0, BN) < N)[None, :])

@triton.jit
def copy(x_ptr, y_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr):
    offs = tl.arange(0, BM)[:, None] * N + tl.arange(0, BN)[None, :]
    mask = (tl.arange(0, BM) < M)[:, None] & (tl.arange(0, BN) < N)[None, :]
    tl.store(y_ptr + offs, load_tile(x_ptr + offs, M, N, BM, BN), mask=mask)
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr):
    rows = tl.arange(0, BM)
    cols = tl.arange(0, BN)
    x = tl.load(x_ptr + rows[:, None] * N + cols[None, :], mask=rows[:, None] < M)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr):
    rows = tl.arange(0, BM)
    cols = tl.arange(0, BN)
    ptrs = x_ptr + rows[:, None] * N + cols[None, :]
    tl.store(ptrs, tl.zeros((BM, BN), tl.float32), mask=cols < N)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n):
    offs = tl.arange(0, 64)
    other = tl.arange(0, 32)
    x = tl.load(x_ptr + offs, mask=other < n)  # error
    y = tl.load(x_ptr, mask=offs < n)  # error
""",
    ]
