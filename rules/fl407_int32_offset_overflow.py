from __future__ import annotations

import libcst as cst

from fuselint.model.names import tl_member
from fuselint.model.offsets import access_text
from fuselint.model.source import code_of
from fuselint.rule import Rule

_MAX_DEPTH = 12
_WIDE = {"int64", "uint64"}
# program ids that helper modules already give in 64 bits (flag_gems' `tle.program_id`)
_WIDE_PROGRAM_IDS = {"flag_gems.utils.triton_lang_extension.program_id"}


class _Widths:
    """Which kernel expressions are surely 32-bit integers, and which of those grow with the
    launch (a program id, or a value the kernel itself narrows with `.to(tl.int32)`)."""

    def __init__(self, kernel) -> None:
        self.kernel = kernel
        self.imports = kernel.imports
        self._narrow: dict[str, bool] = {}
        self._grows: dict[str, bool] = {}

    def _dtype(self, node: cst.BaseExpression) -> str | None:
        full = self.imports.qualname(node)
        return tl_member(full) if full is not None else None

    def _cast(self, node: cst.BaseExpression) -> str | None:
        """The dtype of `x.to(tl.int64)` / `tl.cast(x, tl.int64)`."""
        if not isinstance(node, cst.Call) or not node.args:
            return None
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "to":
            return self._dtype(node.args[0].value)
        if self.imports.tl_function(node.func) == "cast" and len(node.args) > 1:
            return self._dtype(node.args[1].value)
        return None

    def _values(self, name: str) -> list[cst.BaseExpression | None] | None:
        """The values a kernel name is bound to (None for a binding without one); None for a
        name the kernel does not bind."""
        bindings = self.kernel.bindings.get(name)
        if not bindings:
            return None
        return [None if b.kind in ("unpack", "with") else b.value for b in bindings if b.kind != "param"]

    def narrow(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        """Surely a 32-bit integer: a program id, an arange, a literal, a scalar parameter (a
        stride or size below 2**31, which Triton passes as int32), `.to(tl.int32)`, or
        arithmetic of those."""
        if depth > _MAX_DEPTH:
            return False
        again = lambda n: self.narrow(n, depth + 1)  # noqa: E731
        if isinstance(node, cst.Integer):
            return True
        if isinstance(node, cst.Name):
            if node.value not in self._narrow:
                self._narrow[node.value] = False  # a cycle is not narrow
                param = self.kernel.param(node.value)
                values = self._values(node.value)
                if values is None:
                    self._narrow[node.value] = param is not None
                else:
                    loop = any(b.kind == "loop" for b in self.kernel.bindings[node.value])
                    self._narrow[node.value] = not loop and all(v is not None and again(v) for v in values) and (
                        param is None or not values or all(again(v) for v in values))
            return self._narrow[node.value]
        if isinstance(node, cst.BinaryOperation):
            return (isinstance(node.operator, (cst.Add, cst.Subtract, cst.Multiply, cst.FloorDivide, cst.Modulo))
                    and again(node.left) and again(node.right))
        if isinstance(node, cst.UnaryOperation):
            return again(node.expression)
        if isinstance(node, cst.Subscript):
            return again(node.value)
        if isinstance(node, cst.Call):
            cast = self._cast(node)
            if cast is not None:
                return cast == "int32"
            if self.imports.qualname(node.func) in _WIDE_PROGRAM_IDS:
                return False
            return self.imports.tl_function(node.func) in ("program_id", "arange")
        return False

    def grows(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        """Scales with the launch or the data: reaches a program id, or a value narrowed with
        `.to(tl.int32)` (a sequence offset loaded from `cu_seqlens`)."""
        if depth > _MAX_DEPTH:
            return False
        if isinstance(node, cst.Name):
            if node.value not in self._grows:
                self._grows[node.value] = False
                values = self._values(node.value) or []
                self._grows[node.value] = any(v is not None and self.grows(v, depth + 1) for v in values)
            return self._grows[node.value]
        if isinstance(node, cst.Call):
            if self.imports.tl_function(node.func) == "program_id" or self._cast(node) == "int32":
                return True
        return any(self.grows(child, depth + 1) for child in _operands(node))

    def runtime(self, node: cst.BaseExpression) -> bool:
        """Is it a scalar parameter the launch passes at run time (not a constexpr), or
        arithmetic holding one?"""
        if isinstance(node, cst.Name):
            param = self.kernel.param(node.value)
            return param is not None and not param.constexpr
        return any(self.runtime(child) for child in _operands(node))


def _operands(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(node, cst.BinaryOperation):
        return [node.left, node.right]
    if isinstance(node, cst.UnaryOperation):
        return [node.expression]
    if isinstance(node, cst.Subscript):
        return [node.value]
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "to":
        return [node.func.value]
    return []


def _products(widths: _Widths, node: cst.BaseExpression, seen: set[str], depth: int = 0):
    """Every `a * b` that the address computes, through the names it reads: the increments of a
    stepped pointer (`x_ptr += row * stride`) included."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, cst.Name):
        if node.value in seen:
            return
        seen.add(node.value)
        for value in widths._values(node.value) or []:
            if value is not None:
                yield from _products(widths, value, seen, depth + 1)
        return
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
        yield node
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "to":
        yield from _products(widths, node.func.value, seen, depth + 1)
        return
    for child in _operands(node):
        yield from _products(widths, child, seen, depth + 1)


def _widened(widths: _Widths, node: cst.BaseExpression, seen: set[str], depth: int = 0) -> bool:
    """Is the address 64-bit on every path: a term widened to 64 bits, through the names it
    reads (a name bound in two branches, each of its values)?"""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, cst.Name):
        if node.value in seen:
            return False
        values = widths._values(node.value)
        return bool(values) and all(v is not None and _widened(widths, v, seen | {node.value}, depth + 1) for v in values)
    if isinstance(node, cst.Call) and (widths._cast(node) in _WIDE or widths.imports.qualname(node.func) in _WIDE_PROGRAM_IDS):
        return True
    return any(_widened(widths, child, seen, depth + 1) for child in _operands(node))


def overflowing_product(kernel, widths: _Widths, pointer: cst.BaseExpression) -> cst.BinaryOperation | None:
    """The first product of an address computed wholly in 32 bits that multiplies a value
    growing with the launch by a scalar the launch passes (`row * stride`). An address that
    widens one of its terms (`row.to(tl.int64) * stride + cols * stride_n`) is the author's
    choice of the term that can reach 2**31 (the outermost): not reported."""
    if _widened(widths, pointer, set()):
        return None
    for product in _products(widths, pointer, set()):
        for grows, scale in ((product.left, product.right), (product.right, product.left)):
            if (widths.grows(grows) and widths.narrow(grows) and widths.runtime(scale) and widths.narrow(scale)):
                return product
    return None


class Int32OffsetOverflow(Rule):
    """## What it does
    Opt-in (`--select FL407`; on with `--select ALL` only when named). Flags a load or store
    whose address multiplies, in 32-bit integers, an index that grows with the launch (a
    `tl.program_id`, or a value the kernel narrows with `.to(tl.int32)`, such as a sequence
    offset from `cu_seqlens`) by a stride or size the launch passes (`row * stride`), when no
    term of the address is widened to `tl.int64` (widening the outer term, `row.to(tl.int64)
    * stride + cols * stride_n`, is the usual fix: the inner terms stay below a row's length).

    ## Why is this bad?
    `tl.program_id` and `tl.arange` are int32, and Triton passes an integer argument below
    2**31 as int32: `row * stride` is computed in 32 bits and wraps once the tensor holds 2**31
    elements (a 32k-token by 128k-vocabulary logits tensor holds 4.2 billion), and the access
    lands far outside the tensor (triton-lang/triton#1058; fixed this way in Liger-Kernel's
    RMSNorm, flash-attention's cross entropy, mamba's chunk cumsum, lightllm, unsloth, torchao).
    It is opt-in because whether a tensor can reach 2**31 elements is a fact of the host and
    of its users that the linter cannot see; `pid * BLOCK` of a 1-D kernel over more than 2**31
    elements wraps too and is not reported.

    ## Example
    ```python
    row = tl.program_id(0)
    x = tl.load(x_ptr + row * stride + cols, mask=cols < n)
    ```

    ## Use instead
    ```python
    row = tl.program_id(0).to(tl.int64)
    x = tl.load(x_ptr + row * stride + cols, mask=cols < n)
    ```
    """

    code, name, opt_in = "FL407", "int32-offset-overflow", True

    def check_kernel(self, kernel):
        widths = _Widths(kernel)
        for access in kernel.accesses:
            if access.pointer is None:
                continue
            product = overflowing_product(kernel, widths, access.pointer)
            if product is not None:
                yield self.report(access.call, f"{access_text(kernel, access)} computes `{code_of(product)}` in 32 bits: it "
                                               "wraps once the tensor holds 2**31 elements; widen the index first "
                                               "(`.to(tl.int64)`)")

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, stride, n, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * stride + cols, mask=cols < n)
    tl.store(y_ptr + row * stride + cols, x, mask=cols < n)
""",
        # the stride widened in the kernel, or at the product; a constexpr block is not reported
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, stride_x, stride_y, n, BLOCK: tl.constexpr):
    stride_x = stride_x.to(tl.int64)
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * stride_x + cols, mask=cols < n)
    tl.store(y_ptr + row * stride_y.to(tl.int64) + cols, x, mask=cols < n)
    offs = tl.program_id(1) * BLOCK + cols
    tl.store(y_ptr + offs, x, mask=offs < n)
""",
        # an index loaded from memory keeps the dtype of its tensor (unknown here): not reported
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, idx_ptr, stride, BLOCK: tl.constexpr):
    row = tl.load(idx_ptr + tl.program_id(0))
    cols = tl.arange(0, BLOCK)
    tl.store(x_ptr + row * stride + cols, 0.0)
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, stride, n, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * stride + cols, mask=cols < n)  # error
    tl.store(y_ptr + row * stride + cols, x, mask=cols < n)  # error
""",
        # a stepped pointer
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, x_row_stride, n, BLOCK: tl.constexpr):
    row_idx = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    x_ptr += row_idx * x_row_stride
    x = tl.load(x_ptr + cols, mask=cols < n)  # error
""",
        # tile rows times a size, narrowed on purpose; a sequence offset narrowed after its load
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, cu_seqlens, n_rows, n_cols, D, BLOCK: tl.constexpr):
    rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)[:, None]
    cols = tl.arange(0, BLOCK)[None, :]
    offsets = (rows * n_cols + cols).to(tl.int32)
    x = tl.load(x_ptr + offsets, mask=(rows < n_rows) & (cols < n_cols))  # error
    bos = tl.load(cu_seqlens + tl.program_id(1)).to(tl.int32)
    tl.store(x_ptr + bos * D + cols, 0.0, mask=cols < D)  # error
""",
        # 64-bit on one path only
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, cu_seqlens, D, VARLEN: tl.constexpr, BLOCK: tl.constexpr):
    cols = tl.arange(0, BLOCK)
    if VARLEN:
        bos = tl.load(cu_seqlens + tl.program_id(1)).to(tl.int32)
        base = x_ptr + bos * D
    else:
        base = x_ptr + tl.program_id(1).to(tl.int64) * D
    tl.store(base + cols, 0.0, mask=cols < D)  # error
""",
    ]
