from __future__ import annotations

import libcst as cst

from fuselint.findings import Edit
from fuselint.model.divisibility import (checked_multiple, checked_multiples, data_extent, exact_by_construction, form,
                                        integer_value, names_checked_anywhere, numel_multiple, product_key)
from fuselint.model.fusion import HOST_BUILTINS
from fuselint.model.grid import grid_dimensions, resolve
from fuselint.model.kernel import tile_extents
from fuselint.model.launch_sizes import values_at
from fuselint.model.offsets import access_text, mask_of
from fuselint.model.source import code_of
from fuselint.rule import Rule


def _ceil_division(node: cst.BinaryOperation) -> bool:
    """`(n + b - 1) // b`, `(n + (b - 1)) // b`, `(n + 127) // 128`: zero only when n is."""
    left, divisor = node.left, code_of(node.right).replace(" ", "")
    if not isinstance(left, cst.BinaryOperation):
        return False
    if isinstance(left.operator, cst.Subtract) and isinstance(left.left, cst.BinaryOperation):
        # (n + b - 1) parses as ((n + b) - 1)
        inner = left.left
        return (isinstance(inner.operator, cst.Add) and code_of(inner.right).replace(" ", "") == divisor
                and code_of(left.right) == "1")
    if not isinstance(left.operator, cst.Add):
        return False
    addend = code_of(left.right).replace(" ", "").strip("()")
    if addend == f"{divisor}-1":
        return True
    return divisor.isdigit() and addend.isdigit() and int(addend) == int(divisor) - 1


def _divides_itself(node: cst.BinaryOperation, scope) -> bool:
    """`n // (n // 16)`: the quotient is about 16 whenever it is defined."""
    divisor = resolve(node.right, scope) if isinstance(node.right, cst.Name) else node.right
    return (isinstance(divisor, cst.BinaryOperation) and isinstance(divisor.operator, cst.FloorDivide)
            and code_of(divisor.left) == code_of(node.left) and isinstance(divisor.right, cst.Integer)
            and divisor.right.evaluated_value > 0)


def zero_cause(node: cst.BaseExpression, scope, is_block, depth: int = 0) -> cst.BaseExpression | None:
    """The sub-expression that can make a grid dimension 0, or None when it cannot be 0.
    Only a division by a block size counts (`is_block`): `x.numel() // n_cols` is a row count,
    not a tiling."""
    if depth > 8:
        return None
    again = lambda n: zero_cause(n, scope, is_block, depth + 1)  # noqa: E731
    if isinstance(node, cst.Integer):
        return node if node.evaluated_value == 0 else None
    if isinstance(node, cst.BinaryOperation):
        if isinstance(node.operator, cst.FloorDivide):
            if (_ceil_division(node) or not is_block(node.right) or data_extent(node.right, scope)
                    or _divides_itself(node, scope)):
                return None
            return node
        if isinstance(node.operator, cst.Multiply):
            return again(node.left) or again(node.right)
        return None
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "int":
        inner = node.args[0].value if node.args else None
        if isinstance(inner, cst.BinaryOperation) and isinstance(inner.operator, cst.Divide) and is_block(inner.right):
            return node
        return None
    if isinstance(node, cst.Name):
        bound = resolve(node, scope)
        return None if bound is None else again(bound)
    return None


def _block_sizes(launch) -> set[str]:
    """The source of every value the launch passes to a block size: a constexpr parameter
    that is a tile extent of the kernel."""
    kernel = launch.kernel
    extents = {e.node.value for e in tile_extents(kernel) if isinstance(e.node, cst.Name)}
    return {
        code_of(arg) for p in kernel.params if p.constexpr and p.name in extents
        if (arg := launch.argument_for(kernel, p.name)) is not None
    }


def _division(cause: cst.BaseExpression) -> tuple[cst.BaseExpression, cst.BaseExpression]:
    """(numerator, divisor) of `a // b` or `int(a / b)`."""
    division = cause.args[0].value if isinstance(cause, cst.Call) else cause
    return division.left, division.right


def _divisor_value(launch, divisor: cst.BaseExpression) -> cst.BaseExpression:
    """`meta["BLOCK"]` in a grid function is what the launch passes for BLOCK, when it passes it."""
    if isinstance(divisor, cst.Subscript) and len(divisor.slice) == 1 and isinstance(divisor.slice[0].slice, cst.Index):
        key = divisor.slice[0].slice.value
        if isinstance(key, cst.SimpleString):
            passed = launch.argument_for(launch.kernel, key.evaluated_value)
            if passed is not None:
                return passed
    return divisor


def _exact(module, launch, cause: cst.BaseExpression, scope) -> bool:
    """Is the division exact, or never 0: by construction, by known values (`size = 1024` then
    `size // 128`; a block of 1), or checked on the host before the launch? Then it is 0 only
    when the numerator is (an empty input). `a // s // b` is exact where `a % (s * b) == 0`."""
    numerator, divisor = _division(cause)
    stated = names_checked_anywhere(module)
    if (code_of(numerator), (code_of(divisor),)) in stated:
        return True
    divisor = _divisor_value(launch, divisor)
    top, bottom = integer_value(numerator, scope), integer_value(divisor, scope)
    if bottom == 1 or (top is not None and bottom and top // bottom > 0):
        return True
    if exact_by_construction(numerator, divisor, scope):
        return True
    divisors = [divisor]
    while isinstance(numerator, cst.BinaryOperation) and isinstance(numerator.operator, cst.FloorDivide):
        numerator, divisors = numerator.left, [numerator.right, *divisors]
    key, checked = product_key(divisors, scope), checked_multiples(launch) | stated
    return checked_multiple(form(numerator, scope), key, checked) or numel_multiple(numerator, key, checked, scope)


def _mentions(key, atom) -> bool:
    if key == atom:
        return True
    if isinstance(key, (tuple, frozenset)):
        return any(_mentions(item, atom) for item in key)
    return False


def _bound_of(kernel, launch, numerator: cst.BaseExpression, scope) -> str | None:
    """The kernel parameter the launch passes the numerator to (`n` of `n // BLOCK`), if any."""
    wanted = form(numerator, scope)
    for param in kernel.params:
        passed = launch.argument_for(kernel, param.name)
        if passed is not None and not param.constexpr and form(passed, launch.scope) == wanted:
            return param.name
    return None


def _unmasked(kernel, bound: str, axis: int):
    """The first access of the kernel whose mask does not keep its lanes below `bound` along
    program axis `axis` (a conjunct `X < bound` where X moves with tl.program_id(axis)); None
    when every access is so masked. A call of a helper function may access memory unseen: it
    counts as unmasked."""
    program = ("pid", ("const", axis))
    for access in kernel.accesses:
        mask = mask_of(kernel, access)
        keys = mask.keys if mask is not None else ()
        if not any(k[0] == "cmp" and k[1] == "<" and k[3] == ("param", bound) and _mentions(k[2], program) for k in keys):
            return access
    for call, _ in kernel.other_calls:
        if isinstance(call.func, cst.Name) and call.func.value not in HOST_BUILTINS and _may_access(kernel, call.func.value):
            return call
    return None



def _may_access(kernel, name: str, depth: int = 0) -> bool:
    """Can a call of `name` from this kernel load or store? No only for a jit function of the
    module that does not, nor calls one that may."""
    helper = kernel.module.callee(kernel, name)
    if helper is None or helper is kernel or depth > 4 or helper.accesses:
        return True
    return any(isinstance(c.func, cst.Name) and c.func.value not in HOST_BUILTINS and _may_access(helper, c.func.value, depth + 1)
               for c, _ in helper.other_calls)


def _cdiv(module, launch, cause: cst.BaseExpression, scope, axis: int) -> tuple[Edit | None, str]:
    """`a // b` and `int(a / b)` become `triton.cdiv(a, b)`: a safe fix when every access of the
    kernel is masked against `a` along that grid axis (the last, partial block then stays in
    bounds), an unsafe one when the kernel receives `a` but does not mask every access with it,
    none when the kernel does not receive `a` (it cannot mask a partial block). The second item
    says why the fix is unsafe or absent, for the message."""
    triton = module.imports.local_name("triton")
    numerator, denominator = _division(cause)
    kernel = launch.kernel
    bound = _bound_of(kernel, launch, numerator, scope)
    if bound is None:
        return None, (f"; `{code_of(numerator)}` is not passed to `{kernel.name}`, which then cannot mask a last, "
                      "partial block: check that the sizes are multiples of the block, or pass the size and mask")
    unmasked = _unmasked(kernel, bound, axis)
    why = ""
    if unmasked is not None:
        what = access_text(kernel, unmasked) if not isinstance(unmasked, cst.Call) else f"`{code_of(unmasked.func)}(...)`"
        why = f"; {what} is not masked against `{bound}`: mask it first, or triton.cdiv's last, partial block runs past `{bound}`"
    if triton is None:
        return None, why
    call = cst.Call(
        cst.Attribute(cst.Name(triton), cst.Name("cdiv")),
        [cst.Arg(numerator.with_changes(lpar=[], rpar=[]) if isinstance(numerator, cst.BinaryOperation) else numerator),
         cst.Arg(denominator)],
        lpar=cause.lpar, rpar=cause.rpar,
    )
    return Edit(cause, call, safe=unmasked is None), why

# A test that launches on the tensors it makes, at the sizes of its parametrize rows.
_TEST_ROWS = """
import pytest
import torch
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs) * 2)

@pytest.mark.parametrize("rows", [8, {rows}])
def test_double(rows):
    x = torch.ones(rows, 256, device="cuda")
    numel = x.numel()
    k[(numel // 1024,)](x, BLOCK=1024){mark}
"""


class GridMayBeZero(Rule):
    """## What it does
    Flags a launch-grid dimension that can be 0: a floor division by a block size such as
    `N // BLOCK` or `int(N / BLOCK)` (0 whenever `N < BLOCK`), or a literal 0. A division that
    is exact is not flagged, since it is 0 only for an empty input: by construction
    (`x.numel() // x.shape[-1]` rows: a numel divided by tensor dimensions, `(B * S) // S`), or
    checked by the host before the launch (`assert N % BLOCK == 0`, `torch._check(...)`,
    `if N % BLOCK: raise ...` or `return ...`, a launch under `if N % BLOCK == 0:`; `a // s // b`
    checked as `a % (s * b)`; `x.numel() // B` where a dimension of x is checked), or stated by
    another function of the module on the same names or values (`assert S % chunk_size == 0` in
    the function the wrapper calls next; an autograd forward's `assert Tkv % 64 == 0` for its
    backward's `Tkv // BLOCK_N` with `BLOCK_N = 64`, `Tkv = k.shape[2]` in both). Nor is a
    division by a tensor dimension (`head_dim // cache.size(-1)`, in every branch that binds
    the divisor): a dimension is a data extent, not a tile the host picks. Nor is one whose values the host knows and that is not 0
    (`size = 1024` then `size // 128`; a test's parametrize rows; `x.numel()` of a tensor the
    function makes with literal sizes), nor a division by 1.

    ## Why is this bad?
    House rule: "Grid size MUST be > 0". A zero grid launches no program: the kernel silently
    does nothing and the output keeps whatever memory held. A floor division also drops the
    tail of every size that is not a multiple of the block.

    ## Example
    ```python
    grid = (n // BLOCK,)
    kernel[grid](x, n, BLOCK=BLOCK)
    ```

    ## Use instead
    ```python
    grid = (triton.cdiv(n, BLOCK),)   # with every access masked: offs < n
    ```
    or `(max(1, n // BLOCK),)` when the kernel loops over the rest. `--fix` writes
    `triton.cdiv(n, BLOCK)` when every load and store of the kernel is masked against `n` along
    that grid axis. Otherwise the last, partial block would read and write past the end: the fix
    is unsafe, applied only with `--unsafe-fixes` (the memory-safety rules then report the
    unmasked accesses), and not offered at all when the kernel does not receive `n`.
    """

    code, name = "FL002", "grid-may-be-zero"
    fix = "sometimes"

    def check_module(self, module):
        for launch in module.launches:
            if launch.kernel is None:
                continue
            blocks = _block_sizes(launch)

            def is_block(divisor: cst.BaseExpression) -> bool:
                if isinstance(divisor, cst.Integer):  # house block sizes start at 16; `// 2` halves a count
                    return divisor.evaluated_value >= 16
                if isinstance(divisor, cst.Subscript):  # meta["BLOCK"] in a grid function, not x.shape[-1]
                    return (len(divisor.slice) == 1 and isinstance(divisor.slice[0].slice, cst.Index)
                            and isinstance(divisor.slice[0].slice.value, cst.SimpleString))
                return code_of(divisor) in blocks

            for axis, (dim, scope) in enumerate(grid_dimensions(module, launch) or ()):
                cause = zero_cause(dim, scope, is_block)
                if cause is None or not isinstance(cause, cst.Integer) and _exact(module, launch, cause, scope):
                    continue
                values = values_at(module, launch, dim, scope)  # a test's sizes: each known, none 0
                if values and all(isinstance(v, int) and v > 0 for v in values):
                    continue
                fix, why = _cdiv(module, launch, cause, scope, axis) if not isinstance(cause, cst.Integer) else (None, "")
                yield self.report(cause, f"grid dimension `{code_of(cause)}` can be 0, and then the kernel never runs; "
                                         f"use triton.cdiv(...) or max(1, ...){why}", fix=fix)

    VALID = [
        # values the host knows, a block of one row, a chained division checked as a product, a
        # numel whose last dimension is checked, a contract stated by the function called next
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    pass

def check_chunks(S, chunk_size):
    assert S % chunk_size == 0

def launch(x, q_len, stride, S, chunk_size, fast):
    if fast:
        BLOCK = 128
    else:
        BLOCK = 128
    size = 1024
    k[(size // BLOCK,)](x, size, BLOCK=BLOCK)
    ROWS = 1
    k[(x.shape[0] // ROWS,)](x, size, BLOCK=ROWS)
    assert q_len % (stride * 64) == 0
    k[(q_len // stride // 64,)](x, q_len, BLOCK=64)
    if x.shape[-1] % 128 != 0:
        raise ValueError("the last dimension must be a multiple of 128")
    k[(x.numel() // 128,)](x, size, BLOCK=128)
    k[(S // chunk_size,)](x, S, BLOCK=chunk_size)
    check_chunks(S, chunk_size)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    pass

def launch(x, n):
    k[(triton.cdiv(n, 128),)](x, n, BLOCK=128)
    k[(max(1, n // 128),)](x, n, BLOCK=128)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    pass

def launch(x, n):
    grid = lambda meta: (triton.cdiv(n, meta["BLOCK"]),)
    k[grid](x, n, BLOCK=128)
    k[((n + 127) // 128, 4)](x, n, BLOCK=128)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)

def launch(x, n, rows):
    def grid(meta):
        return (rows, triton.cdiv(n, meta["BLOCK"]))
    k[grid](x, n, BLOCK=128)
    if n % 128 == 0 and rows > 0:
        k[(n // 128,)](x, n, BLOCK=128)

def launch_checked(x, block):
    assert x.size(-1) % block == 0, "the last dimension must be a multiple of the block"
    n = x.size(-1)
    k[(n // block,)](x, n, BLOCK=block)
""",
        # exact by construction: row counts of a tensor divided by its own dimensions
        """
import triton
import triton.language as tl

@triton.jit
def rows_kernel(x_ptr, n_cols, BLOCK: tl.constexpr):
    cols = tl.arange(0, BLOCK)
    tl.store(x_ptr + tl.program_id(0) * n_cols + cols, 0.0, mask=cols < n_cols)

def launch(x, y, weight):
    n_rows = x.numel() // x.shape[-1]
    rows_kernel[(n_rows,)](x, x.shape[-1], BLOCK=triton.next_power_of_2(x.shape[-1]))
    M, N = y.shape
    rows_kernel[(y.numel() // N,)](y, N, BLOCK=N)
    hidden = weight.size(0)
    rows_kernel[(x.numel() // hidden,)](x, hidden, BLOCK=hidden)
    B, S, D = y.size()
    rows_kernel[(B * S * D // D,)](y, D, BLOCK=D)
    padded = triton.cdiv(D, 64) * 64
    rows_kernel[(padded // 64,)](y, D, BLOCK=64)
""",
        # the host checks the divisibility before the launch, in its own words
        """
import torch
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, 0.0)

def raises(x, block):
    n = x.numel()
    if n % block:
        raise ValueError(f"{n} is not a multiple of {block}")
    k[(n // block,)](x, n, BLOCK=block)

def falls_back(x):
    n = x.shape[0] * x.shape[1]
    if n % 256 != 0 or x.stride(-1) != 1:
        return x.zero_()
    k[(n // 256,)](x, n, BLOCK=256)

def asserts(x, N):
    assert not N % 128 and N > 0
    grid = lambda meta: (N // meta["BLOCK"],)
    k[grid](x, N, BLOCK=128)

def checks(x):
    torch._check(x.size(0) % 64 == 0, lambda: "rows must be a multiple of 64")
    rows = x.shape[0]
    k[(rows // 64,)](x, rows, BLOCK=64)
""",
        # the forward states the contract in its words, the backward divides the same dimension;
        # a divisor that is a tensor dimension in every branch is a data extent, not a tile
        """
import torch
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, 0.0)

def forward(q, k_):
    Tkv = k_.shape[2]
    assert Tkv % 64 == 0, "kv length must be a multiple of 64"
    k[(triton.cdiv(Tkv, 64),)](q, Tkv, BLOCK=64)

def backward(do, k_):
    Tkv = k_.shape[2]
    BLOCK_N = 64
    k[(Tkv // BLOCK_N,)](do, Tkv, BLOCK=BLOCK_N)

def copy_split(x, cache, split):
    bsz, heads, head_dim = x.shape
    part = head_dim
    if split:
        part = cache.size(-1)
    k[(head_dim // part,)](x, head_dim, BLOCK=part)
""",
        # every row gives at least 1024 elements
        _TEST_ROWS.format(rows="16", mark=""),
    ]
    INVALID = [
        # the row of 2: 512 elements, 512 // 1024 programs
        _TEST_ROWS.format(rows="2", mark="  # error"),
        # a known size below the block, and a chain checked for one factor only
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    pass

def launch(x, q_len, stride):
    size = 64
    k[(size // 128,)](x, size, BLOCK=128)  # error
    assert q_len % stride == 0
    k[(q_len // stride // 64,)](x, q_len, BLOCK=64)  # error
""",
        # checks of another size, another block, or a test that does not leave the function
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, 0.0, mask=offs < n)

def launch(x, m):
    n = x.numel()
    assert n % 128 == 0 and m % 256 == 0
    if n % 256:
        print("the tail is dropped")
    k[(n // 256,)](x, n, BLOCK=256)  # error
    k[(x.numel() // 256,)](x, n, BLOCK=256)  # error
    rows = x.shape[0]
    k[(rows * x.shape[1] // 256,)](x, n, BLOCK=256)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    pass

def launch(x, n):
    k[(n // 128,)](x, n, BLOCK=128)  # error
""",
        # another function's contract is on another multiple; a block that is a dimension in one
        # branch only may still be a tile the host picks
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)

def forward(q, k_):
    Tkv = k_.shape[2]
    assert Tkv % 32 == 0

def backward(do, k_, split):
    Tkv = k_.shape[2]
    k[(Tkv // 64,)](do, Tkv, BLOCK=64)  # error
    part = 128
    if split:
        part = k_.size(-1)
    k[(Tkv // part,)](do, Tkv, BLOCK=part)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    pass

def launch(x, n):
    blocks = int(n / 128)  # error
    grid = (blocks,)
    k[grid](x, n, BLOCK=128)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    pass

def launch(x, n, b):
    grid = lambda meta: (b * (n // meta["BLOCK"]),)  # error
    k[grid](x, n, BLOCK=128)
""",
    ]
