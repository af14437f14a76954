from __future__ import annotations

from fuselint.model.kernel import tile_extents
from fuselint.model.source import code_of
from fuselint.model.values import is_power_of_two
from fuselint.rule import Rule


MAX_TENSOR_NUMEL = 1 << 20  # TRITON_MAX_TENSOR_NUMEL in triton/_utils.py (3.6 and 3.9)


def _origin(value, extent) -> str:
    if value.origin == "literal":
        return ""
    return f" ({code_of(extent.node)} = {value.value} from the {value.origin})"


class BlockNotPowerOfTwo(Rule):
    """## What it does
    Flags a tile size that is not a power of two: the extent of a `tl.arange` (`end - start` for
    `tl.arange(start, end)`), a dimension of `tl.zeros`/`tl.full`, or a target of
    `tl.reshape`/`tl.view`/`tl.broadcast_to` and of the tensor methods `x.reshape(...)`,
    `x.view(...)`, `x.broadcast_to(...)` (shapes as tuples, spread over the arguments, or held in a
    local) — whether written as a literal or
    given to a `tl.constexpr` parameter by a launch (`BLOCK=48`), an autotune `triton.Config`,
    a heuristic or a default. The finding is placed where the value is written.

    ## Why is this bad?
    House rule: "BLOCK sizes MUST be power-of-2". Triton rejects every other tile shape, and a
    `tl.zeros`/`tl.full` of more than 2**20 elements, at compile time (`arange's range must be a power of 2`, `Shape element ... must be a power of 2`:
    `tl.arange` in triton/language/semantic.py and `block_type` in triton/language/core.py).

    ## Example
    ```python
    offs = pid * 48 + tl.arange(0, 48)
    ```

    ## Use instead
    ```python
    offs = pid * 64 + tl.arange(0, 64)   # and mask the tail: offs < n
    ```
    """

    code, name, fatal = "FL003", "block-not-power-of-two", True

    def check_kernel(self, kernel):
        reported: set[int] = set()  # one finding per written value, however many tiles use it
        extents = tile_extents(kernel, every_shape=True)
        yield from self._too_many_elements(kernel, extents)
        for extent in extents:
            if extent.start is not None:
                starts = {v.value for v in kernel.values_of(extent.start)}
                ends = kernel.values_of(extent.node)
                if len(starts) == 1:
                    start = starts.pop()
                    for end in ends:
                        span = end.value - start
                        if isinstance(span, int) and not is_power_of_two(span):
                            yield self.report(end.node, f"{extent.what} spans {span}, not a power of two: Triton rejects it")
                continue
            for value in kernel.values_of(extent.node):
                if isinstance(value.value, bool) or not isinstance(value.value, int):
                    continue
                if not is_power_of_two(value.value) and id(value.node) not in reported:
                    reported.add(id(value.node))
                    yield self.report(
                        value.node,
                        f"{extent.what} has size {value.value}{_origin(value, extent)}, not a power of two: Triton rejects it",
                    )

    def _too_many_elements(self, kernel, extents):
        """A tl.zeros/tl.full shape whose known dims multiply past TRITON_MAX_TENSOR_NUMEL
        (2**20): `validate_block_shape` in triton/_utils.py raises `numel (...) exceeds triton
        maximum tensor numel` (3.6 and 3.9)."""
        by_call: dict[int, list] = {}
        for extent in extents:
            if kernel.imports.tl_function(extent.call.func) in ("zeros", "full"):
                by_call.setdefault(id(extent.call), []).append(extent)
        for group in by_call.values():
            numel = 1
            for extent in group:
                values = {v.value for v in kernel.values_of(extent.node)}
                if len(values) != 1 or not isinstance(next(iter(values)), int):
                    break
                numel *= values.pop()
            else:
                if numel > MAX_TENSOR_NUMEL:
                    yield self.report(group[0].call, f"{group[0].what} has {numel} elements, more than Triton's maximum "
                                                     f"{MAX_TENSOR_NUMEL}: Triton rejects it")

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.zeros((BLOCK,), tl.float32), mask=offs < n)

def launch(x, n):
    k[(triton.cdiv(n, 128),)](x, n, BLOCK=128)
""",
        """
import triton
import triton.language as tl

@triton.autotune(configs=[triton.Config({"BLOCK": b}) for b in [32, 64, 128]], key=["n"])
@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.full([BLOCK, 2], 0, tl.float32).reshape((2 * BLOCK,)) if False else 0)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, D: tl.constexpr):
    cols = tl.arange(16, 48)
    acc = tl.reshape(tl.zeros((4, 16), tl.float32), (64,))

def launch(x, n):
    D = triton.next_power_of_2(n)
    k[(1,)](x, n, D=D)
    k[(1,)](x, n, D=triton.next_power_of_2(100))
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n):
    offs = tl.arange(0, 48)  # error
    big = tl.zeros((2048, 1024), tl.float32)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK_D: tl.constexpr):
    offs = tl.arange(0, BLOCK_D)

def launch(x, n):
    k[(1,)](x, n, BLOCK_D=96)  # error
    k[(1,)](x, n, BLOCK_D=64)
""",
        """
import triton
import triton.language as tl

@triton.autotune(configs=[
    triton.Config({"BLOCK": 64}),
    triton.Config({"BLOCK": 100}),  # error
], key=["n"])
@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    acc = tl.zeros((BLOCK, 16), dtype=tl.float32)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr = 24):  # error
    acc = tl.zeros((BLOCK,), dtype=tl.float32)
    row = tl.arange(8, 20)  # error
    flat = tl.reshape(acc, (3, 8))  # error
    tile = acc.reshape(4, 6)  # error
    shape = (12, 2)  # error
    two = tl.zeros(shape, tl.float32)
""",
        # configs built by a module function: every value it can return counts
        """
import triton
import triton.language as tl

def cfggen():
    configs = []
    for rows in [8, 12]:
        configs.append(triton.Config({"BLOCK_ROWS": rows}, num_warps=4))  # error
    return configs

@triton.autotune(configs=cfggen(), key=["M"])
@triton.jit
def k(x_ptr, M, BLOCK_ROWS: tl.constexpr):
    rows = tl.program_id(0) * BLOCK_ROWS + tl.arange(0, BLOCK_ROWS)
    tl.store(x_ptr + rows, 0.0, mask=rows < M)
""",
    ]
