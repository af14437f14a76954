from __future__ import annotations

import libcst as cst

from fuselint.model.constructs import body_facts
from fuselint.rule import Rule


class UnsupportedConstruct(Rule):
    """## What it does
    Flags Python constructs that Triton's front end cannot compile inside a `@triton.jit`
    function. Rejected by Triton 3.6 and 3.9 alike:
    - a lambda, a nested `def` or `class`, `try`, `raise`, `del`, `global`/`nonlocal`,
      `import`, `yield`/`await`, `match`;
    - dict and set literals, dict/set comprehensions, generator expressions;
    - a list comprehension over `range(...)`/`tl.static_range(...)`/`tl.arange(...)`
      (only comprehensions over tuples compile) and nested comprehensions;
    - `in`/`not in` comparisons, the `@` operator (use `tl.dot`);
    - assignments to an attribute (`x.a = ...`), to a subscript (`acc[0] = ...`) or to a
      starred target (`a, *b = ...`).
    Rejected by Triton 3.6 only (3.9 compiles them; the finding is a warning):
    - chained comparisons (`0 <= i < n`), assignment expressions (`:=`).
    `break`/`continue`/`return` inside loops are FL006's. A construct under an `if` that may be
    a compile-time constant is a warning: Triton compiles only the branch it takes. A `raise`
    under an `if` that certainly is one (constexpr parameters, dtype tests: `if MODE == 0: ...
    else: raise ValueError(...)`) is not reported: Triton visits it only for the values it is
    there to refuse, and refusing them is what it does.

    ## Why is this bad?
    Triton's `CodeGenerator` (triton/compiler/code_generator.py) lowers the kernel's Python AST
    node by node; a node type without a `visit_*` method reaches `generic_visit`, which raises
    `unsupported AST node type: Lambda` (or Try, Dict, ...). `visit_ListComp` raises `only
    tuple comprehensions are supported` / `nested comprehensions are not supported`,
    `_get_operator` (3.9) and `visit_Compare` (3.6) reject `in` and `@`, `visit_Assign`/
    `visit_Subscript_Store` reject attribute and item assignment, and 3.6's `visit_Compare`
    raises `simultaneous multiple comparison is not supported`.

    ## Example
    ```python
    scale = lambda v: v * 2
    offs = [i * BLOCK for i in range(4)]
    ```

    ## Use instead
    ```python
    @triton.jit
    def scale(v):             # a module-level @triton.jit helper
        return v * 2

    offs = [i * BLOCK for i in (0, 1, 2, 3)]   # a tuple comprehension, or tl.static_range loop
    ```
    """

    code, name, fatal = "FL012", "unsupported-construct", True

    def check_kernel(self, kernel):
        for construct in body_facts(kernel).constructs:
            if isinstance(construct.node, cst.Raise) and construct.constexpr_guarded:
                continue  # the invalid-value branch of a constexpr dispatch
            if construct.rejected_by == ("3.6", "3.9"):
                if construct.guarded:
                    yield self.report(
                        construct.node,
                        f"{construct.what} in a @triton.jit function: Triton rejects it when this branch is compiled "
                        f"({construct.raiser})",
                        fatal=False,
                    )
                else:
                    yield self.report(
                        construct.node,
                        f"{construct.what} in a @triton.jit function: Triton rejects it, 3.6 and 3.9 ({construct.raiser})",
                    )
            else:
                versions = " and ".join(construct.rejected_by)
                yield self.report(
                    construct.node,
                    f"{construct.what} in a @triton.jit function: Triton {versions} rejects it ({construct.raiser}); "
                    f"3.9 compiles it",
                    fatal=False,
                )

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = [i * BLOCK for i in (0, 1, 2)]
    for i in tl.static_range(3):
        x = tl.load(x_ptr + offs[i] + tl.arange(0, BLOCK))
    ok = n is None
    y = 1 if n > 0 else 2
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, DEBUG: tl.constexpr):
    if DEBUG:
        tl.device_print("n", n)
    return
    f = lambda v: v

def host():
    table = {1: 2}
    return [i for i in range(3)], (lambda v: v)
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n):
    with tl.async_task([0]):
        pass
    x: tl.constexpr = 3
    tl.static_assert(x > 2)
""",
        # a constexpr dispatch refuses the values it does not handle: Triton visits the `raise`
        # only for them (`visit_If` on a constant condition)
        """
import triton
import triton.language as tl

@triton.jit
def act(x, MODE: tl.constexpr):
    if MODE == 0:
        y = x
    elif MODE == 1:
        y = tl.maximum(x, 0.0)
    else:
        raise ValueError(f"unknown MODE {MODE}")
    return y

@triton.jit
def gate(x, KIND):
    if KIND == "relu":
        return tl.maximum(x, 0.0)
    else:
        raise ValueError("unknown gate")

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    x = tl.load(x_ptr + tl.arange(0, BLOCK))
    tl.store(x_ptr + tl.arange(0, BLOCK), act(x, 1) + gate(x, "relu"))

@triton.jit
def swap(x, ids):
    if tl.constexpr(x.dtype.primitive_bitwidth) == 16:
        kind = tl.int16
    elif x.dtype == tl.float32 and ids is not None:
        kind = tl.int32
    else:
        raise ValueError("unsupported dtype")
    if not (x.shape[0] >= 16):
        raise ValueError("tile too small")
    return x.to(kind, bitcast=True)
""",
    ]
    INVALID = [
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    f = lambda v: v * 2  # error
    offs = [i * BLOCK for i in range(4)]  # error
    try:  # error
        x = tl.load(x_ptr)
    except Exception:
        x = 0
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n):
    cfg = {"a": 1}  # error
    if n in (1, 2):  # error
        n.value = 3  # error
    acc = tl.zeros((16,), tl.float32)
    acc[0] = 1.0  # error
    a, *rest = (1, 2, 3)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    if 0 <= n < 10:  # error
        pass
    if (m := n + 1) > 0:  # error
        pass
    if n > 1024:
        raise ValueError("too big")  # error
    def inner(v):  # error
        return v
""",
        # a raise the compiler always meets: unguarded, or under an `if` on a tensor
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    x = tl.load(x_ptr)
    if x > 0:
        raise ValueError("negative input")  # error
    raise NotImplementedError  # error
""",
    ]
