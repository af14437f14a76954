from __future__ import annotations

import libcst as cst

from fuselint.config import DEFAULT_BLOCK_SIZES
from fuselint.model.kernel import tile_extents
from fuselint.model.values import is_power_of_two
from fuselint.rule import Rule


class BlockSizeOutOfRange(Rule):
    """## What it does
    Flags a block size — a `tl.constexpr` parameter used as a tile extent — whose known value
    (from a launch, an autotune config, a heuristic or its default) is a power of two outside
    the allowed set: 16, 32, 64, 128, 256 by default, `block-sizes` in `[tool.fuselint]`.
    Non-powers of two are FL003's.

    ## Why is this bad?
    House rule: "BLOCK sizes MUST be power-of-2: 16, 32, 64, 128, 256". Tiles under 16 waste
    the vector width and cannot feed `tl.dot`; tiles over 256 elements per axis spill registers
    on the target GPU (RTX 4090) unless the kernel was designed for it.

    ## Example
    ```python
    kernel[grid](x, n, BLOCK=1024)
    ```

    ## Use instead
    ```python
    kernel[grid](x, n, BLOCK=256)   # or widen `block-sizes` in [tool.fuselint] for this project
    ```
    """

    code, name = "FL004", "block-size-out-of-range"

    def check_kernel(self, kernel):
        allowed = tuple(self.settings.block_sizes) if self.settings is not None else DEFAULT_BLOCK_SIZES
        seen = set()
        for extent in tile_extents(kernel):
            node = extent.node
            if not isinstance(node, cst.Name) or kernel.param(node.value) is None or node.value in seen:
                continue
            seen.add(node.value)
            for value in kernel.values_of(node):
                size = value.value
                if isinstance(size, int) and is_power_of_two(size) and size not in allowed:
                    yield self.report(
                        value.node,
                        f"block size {node.value} = {size} (from the {value.origin}) is outside the allowed "
                        f"sizes {', '.join(map(str, allowed))}",
                    )

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)

def launch(x, n):
    k[(1,)](x, n, BLOCK=256)
    k[(1,)](x, n, BLOCK=16)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    pair = tl.arange(0, 2)
    offs = tl.arange(0, BLOCK)

def launch(x, n):
    k[(1,)](x, n, BLOCK=triton.next_power_of_2(n))
""",
        """
import triton
import triton.language as tl

@triton.autotune(configs=[triton.Config({"BLOCK": b}) for b in [32, 64, 128]], key=["n"])
@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr, NUM_ITERS: tl.constexpr = 4096):
    offs = tl.arange(0, BLOCK)
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)

def launch(x, n):
    k[(1,)](x, n, BLOCK=1024)  # error
""",
        """
import triton
import triton.language as tl

@triton.autotune(configs=[triton.Config({"BLOCK": b}) for b in [8, 64]], key=["n"])  # error
@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK_M: tl.constexpr = 512):  # error
    acc = tl.zeros((BLOCK_M, 32), dtype=tl.float32)
""",
    ]
