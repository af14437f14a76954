from __future__ import annotations

import libcst as cst

from fuselint.findings import Edit
from fuselint.model.source import code_of
from fuselint.rule import Rule

# Absent from triton.language in every Triton 3.x release (checked: 3.6 and 3.9): a compile error.
# Each maps to an expression of `tl` functions that exist everywhere ({x}: the argument).
_ABSENT = {
    "tanh": "(2 / (1 + {tl}.exp(-2 * {x})) - 1)",
    "gelu": "(0.5 * {x} * (1 + {tl}.erf({x} * 0.7071067811865476)))",
    "silu": "({x} / (1 + {tl}.exp(-{x})))",
    "mish": "({x} * (2 / (1 + {tl}.exp(-2 * {tl}.log(1 + {tl}.exp({x})))) - 1))",
}
# Present in Triton 3.x (triton/language/standard.py) but the house rules ask for them by hand.
_HOUSE = {
    "sigmoid": "(1 / (1 + {tl}.exp(-{x})))",
    "softmax": None,  # needs the reduction axis: e = tl.exp(x - tl.max(x, axis)); e / tl.sum(e, axis)
}
_SOFTMAX = "e = tl.exp(x - tl.max(x, axis=0)); e / tl.sum(e, axis=0)"
_SIMPLE = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float)


def _argument_text(call: cst.Call) -> str | None:
    """The single positional argument's source, parenthesised unless it is atomic; None when the
    call has other arguments or the argument spans lines or holds a comment (it is repeated)."""
    if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return None
    arg = call.args[0].value
    text = cst.Module([]).code_for_node(arg)
    if "\n" in text or "#" in text:
        return None
    return text if isinstance(arg, _SIMPLE) else f"({text})"


def _manual(template: str | None, call: cst.Call, tl: str | None) -> tuple[str, Edit | None]:
    """What to write instead (for the message) and the edit that writes it, when certain."""
    if template is None:
        return _SOFTMAX, None
    shown = template.format(tl="tl", x="x")[1:-1]
    x = _argument_text(call)
    if x is None or tl is None:
        return shown, None
    replacement = cst.parse_expression(template.format(tl=tl, x=x))
    return shown, Edit(call, replacement.with_changes(lpar=call.lpar, rpar=call.rpar) if call.lpar else replacement)


def _written(call: cst.Call, function: str) -> str:
    """The callee as the file writes it (`tl.tanh`, `tanh` imported from triton.language.math),
    with the function's own name when an alias hides it (`th` for `tanh as th`)."""
    written = code_of(call.func)
    return written if written.rpartition(".")[2] == function else f"{written} ({function})"


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
    `--fix` writes these expressions in place of the call (not for `tl.softmax`, whose axis
    decides the form); for tanh it writes `2 / (1 + tl.exp(-2 * x)) - 1`, exact to fp32
    rounding and saturating correctly at ±inf. `libdevice.tanh` is the faster choice on CUDA.
    """

    code, name, fatal = "FL009", "unavailable-tl-function", True
    fix = "sometimes"

    def check_kernel(self, kernel):
        tl = kernel.imports.local_name("triton.language")
        for tl_call in kernel.tl_calls:
            short = tl_call.name.removeprefix("math.")
            if short in _ABSENT:
                shown, fix = _manual(_ABSENT[short], tl_call.call, tl)
                module = kernel.imports.qualname(tl_call.call.func).rpartition(".")[0]
                yield self.report(tl_call.call.func, f"{_written(tl_call.call, short)} does not exist in {module} "
                                                     f"(Triton 3.x); write {shown}", fix=fix)
            elif short in _HOUSE:
                shown, fix = _manual(_HOUSE[short], tl_call.call, tl)
                yield self.report(tl_call.call.func, f"{_written(tl_call.call, short)} exists in Triton 3.x but the "
                                                     f"house rules ask for it by hand: {shown}", fatal=False, fix=fix)

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
        # imported by name from triton.language.math (Triton 2.x had it there): the message says `tanh`
        """
import triton
import triton.language as tl
from triton.language.math import tanh
from triton.language import sigmoid as sg

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)
    tl.store(x_ptr + offs, tanh(x) + sg(x))  # error
""",
    ]
