from __future__ import annotations

import libcst as cst

from fuselint.model.kernel import _argument
from fuselint.model.source import code_of
from fuselint.rule import Rule

_BITS = {
    "float16": 16, "bfloat16": 16, "float32": 32, "float64": 64, "int8": 8, "uint8": 8,
    "float8e4nv": 8, "float8e5": 8, "float8e4b15": 8, "float8e4b8": 8, "float8e5b16": 8,
    "fp16": 16, "bf16": 16, "fp32": 32, "fp64": 64,
}
# Smallest K per operand bit width: `min_dot_size` in triton/backends/nvidia/compiler.py.
# Triton 3.6: 32 for 8-bit operands, 16 for every other width. Triton 3.9: 32 for 8-bit,
# 16 for 16-bit, 8 for fp32, 4 for fp64.
MIN_K = {"3.6": {8: 32, 16: 16, 32: 16, 64: 16}, "3.9": {8: 32, 16: 16, 32: 8, 64: 4}}


def operand_bits(kernel, node: cst.BaseExpression | None, depth: int = 0) -> int | None:
    """The element bit width of a dot operand when its source says it: `tl.zeros(..., dtype)`,
    `tl.full(..., dtype)`, `x.to(tl.float16)`, a local bound once to one of those."""
    if node is None or depth > 8:
        return None
    if isinstance(node, cst.Name):
        return operand_bits(kernel, kernel.single_binding(node.value), depth + 1)
    if not isinstance(node, cst.Call):
        return None
    name = kernel.imports.tl_function(node.func)
    dtype = None
    if name in ("zeros", "full"):
        dtype = _argument(node, "dtype", 1 if name == "zeros" else 2)
    elif isinstance(node.func, cst.Attribute) and node.func.attr.value == "to":
        dtype = _argument(node, "dtype", 0)
    if dtype is None:
        return None
    member = kernel.imports.tl_function(dtype)
    return _BITS.get(member) if member is not None else None


_WIDTH_NAMES = {8: "8-bit", 16: "16-bit", 32: "fp32", 64: "fp64"}


def _k_finding(k: int, bits: int | None) -> tuple[str, bool] | None:
    """The message and fatality for a dot of reduction size `k` on operands of `bits` (None:
    the source does not say). A version is named only where it rejects every width the
    operands may have: with an unknown dtype, K = 16 passes 16-bit and wider operands and is
    no finding (only 8-bit operands need 32)."""
    widths = [bits] if bits is not None else sorted(MIN_K["3.9"])
    rejecting = [v for v in MIN_K if all(k < MIN_K[v][w] for w in widths)]
    if not rejecting:
        return None
    what = f"{bits}-bit operands" if bits is not None else "operands of any dtype"
    need = "; ".join(f"{v}: K >= {MIN_K[v][bits]}" if bits is not None else
                     f"{v}: " + ", ".join(f"K >= {MIN_K[v][w]} for {_WIDTH_NAMES[w]}" for w in widths) for v in MIN_K)
    if len(rejecting) == len(MIN_K):
        return f"tl.dot with K = {k} on {what}: Triton rejects it, 3.6 and 3.9 ({need})", True
    others = [v for v in MIN_K if v not in rejecting]
    if bits is not None:
        verdict = f"Triton {' and '.join(rejecting)} rejects it, {' and '.join(others)} compiles it"
    else:
        verdict = f"Triton {' and '.join(rejecting)} rejects it for every dtype; " + "; ".join(
            f"{v} compiles it only for {'/'.join(_WIDTH_NAMES[w] for w in widths if k >= MIN_K[v][w])} operands" for v in others)
    return f"tl.dot with K = {k} on {what}: {verdict} ({need})", False


class DotOperandTooSmall(Rule):
    """## What it does
    Flags a `tl.dot` whose operands break the checks Triton makes at compile time: a reduction
    dimension K below the target's minimum, operands that are not both 2-D or both 3-D, K of
    the two operands that differ, or operands of different dtypes. K comes from the operand
    shapes (`tl.zeros`, `tl.arange` tiles, loads of them, constexpr launch values).
    The minimum K depends on the operand width and on the Triton version (NVIDIA backends):
    8-bit operands need K >= 32 and 16-bit ones K >= 16 in 3.6 and 3.9; fp32 operands need
    K >= 16 in 3.6 but K >= 8 in 3.9, fp64 K >= 16 in 3.6 and K >= 4 in 3.9. The width comes
    from the source (`tl.zeros(..., dtype)`, `.to(tl.float16)`); where it does not say, a
    version is named only if it rejects K for every width: K = 16 on loaded operands is no
    finding (16-bit and wider compile), K = 8 is a warning for 3.6 (3.9 compiles fp32/fp64).
    A K that only 3.6 rejects is a warning that names the versions.

    ## Why is this bad?
    `semantic.dot` (triton/language/semantic.py, 3.6 and 3.9) asserts `Input shapes should
    have M >= 1, N >= 1 and K >= 16` with the minimum from `min_dot_size` in
    triton/backends/nvidia/compiler.py, `Both inputs must be either 2D or 3D` (3.9) / `input
    and other must have equal ranks >= 2` (`core.dot`), `equal reduction dimensions` and `Both
    operands must be same dtype`; each is a compile error.

    ## Example
    ```python
    a = tl.load(a_ptrs)            # [BLOCK_M, 8] fp16
    b = tl.load(b_ptrs)            # [8, BLOCK_N] fp16
    acc += tl.dot(a, b)
    ```

    ## Use instead
    ```python
    # pad K to 16 with masked loads (other=0.0), or, for tiny K, multiply-and-sum:
    acc += tl.sum(a[:, :, None] * b[None, :, :], axis=1)
    ```
    """

    code, name, fatal = "FL014", "dot-operand-too-small", True

    def check_kernel(self, kernel):
        for tl_call in kernel.calls("dot"):
            call = tl_call.call
            a, b = _argument(call, "input", 0), _argument(call, "other", 1)
            if a is None or b is None:
                continue
            sa, sb = kernel.shape_of(a), kernel.shape_of(b)
            if sa is None or sb is None or not sa or not sb:
                continue  # unknown, or a scalar that may be a mis-inferred block pointer load
            if len(sa) != len(sb) or len(sa) not in (2, 3):
                yield self.report(call, f"tl.dot of a {len(sa)}-D and a {len(sb)}-D operand: Triton rejects it, 3.6 and 3.9 "
                                        f"(both must be 2-D or both 3-D)")
                continue
            ka, kb = sa[-1], sb[-2]
            if isinstance(ka, int) and isinstance(kb, int) and ka != kb:
                yield self.report(call, f"tl.dot reduces K = {ka} of `{code_of(a)}` against K = {kb} of `{code_of(b)}`: "
                                        f"Triton rejects it, 3.6 and 3.9 (equal reduction dimensions)")
                continue
            k = ka if isinstance(ka, int) else kb if isinstance(kb, int) else None
            bits_a, bits_b = operand_bits(kernel, a), operand_bits(kernel, b)
            if bits_a is not None and bits_b is not None and bits_a != bits_b:
                yield self.report(call, f"tl.dot of {bits_a}-bit and {bits_b}-bit operands: Triton rejects it, 3.6 and 3.9 "
                                        f"(`Both operands must be same dtype`)")
                continue
            if k is None:
                continue
            bits = bits_a if bits_a is not None else bits_b
            finding = _k_finding(k, bits)
            if finding is not None:
                message, fatal = finding
                yield self.report(call, message, fatal=fatal)

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(a_ptr, b_ptr, c_ptr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    rm, rn, rk = tl.arange(0, BLOCK_M), tl.arange(0, BLOCK_N), tl.arange(0, BLOCK_K)
    a = tl.load(a_ptr + rm[:, None] * BLOCK_K + rk[None, :])
    b = tl.load(b_ptr + rk[:, None] * BLOCK_N + rn[None, :])
    acc = tl.dot(a, b)
    tl.store(c_ptr + rm[:, None] * BLOCK_N + rn[None, :], acc)

def launch(a, b, c):
    k[(1,)](a, b, c, BLOCK_M=16, BLOCK_N=16, BLOCK_K=32)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr):
    a = tl.zeros((8, 16), tl.float16)
    b = tl.zeros((16, 8), tl.float16)
    c = tl.dot(a, b)
    d = tl.dot(tl.zeros((2, 16, 16), tl.bfloat16), tl.zeros((2, 16, 32), tl.bfloat16))
""",
        # K = 16 on loaded operands of unknown dtype: 16-bit and wider compile (only 8-bit needs 32)
        """
import triton
import triton.language as tl

@triton.jit
def k(a_ptr, b_ptr, c_ptr, BLOCK_K: tl.constexpr):
    rk = tl.arange(0, BLOCK_K)
    r = tl.arange(0, 16)
    a = tl.load(a_ptr + r[:, None] * BLOCK_K + rk[None, :])
    b = tl.load(b_ptr + rk[:, None] * 16 + r[None, :])
    tl.store(c_ptr + r[:, None] * 16 + r[None, :], tl.dot(a, b))

def launch(a, b, c):
    k[(1,)](a, b, c, BLOCK_K=16)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, K: tl.constexpr):
    a = tl.load(x_ptr + tl.arange(0, 16)[:, None] * K + tl.arange(0, K)[None, :])
    c = tl.dot(a, tl.trans(a))
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr):
    a = tl.zeros((16, 8), tl.float16)
    b = tl.zeros((8, 16), tl.float16)
    c = tl.dot(a, b)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(a_ptr, b_ptr, BLOCK_K: tl.constexpr):
    rk = tl.arange(0, BLOCK_K)
    a = tl.load(a_ptr + tl.arange(0, 16)[:, None] * BLOCK_K + rk[None, :])
    b = tl.load(b_ptr + rk[:, None] * 16 + tl.arange(0, 16)[None, :])
    acc = tl.dot(a, b)  # error
    v = tl.dot(tl.arange(0, 16), tl.arange(0, 16))  # error

def launch(a, b):
    k[(1,)](a, b, BLOCK_K=4)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr):
    a = tl.zeros((16, 8), tl.float32)
    b = tl.zeros((8, 16), tl.float32)
    c = tl.dot(a, b)  # error
    d = tl.dot(tl.zeros((16, 32), tl.float16), tl.zeros((16, 16), tl.float16))  # error
    e = tl.dot(tl.zeros((16, 16), tl.float16), tl.zeros((16, 16), tl.float32))  # error
""",
    ]
