"""Host-side floor divisions that are exact: `a // b` where `b` divides `a` by construction
(`x.numel() // x.shape[-1]`, `(B * S) // S`, `cdiv(n, B) * B // B`) or by a check the host makes
before the launch (`assert n % B == 0`, `torch._check(n % B == 0)`, `if n % B: raise ...`, a launch under
`if n % B == 0:`).

Host expressions are compared by their *form*: the source with each name bound once replaced by
its value, `t.size(i)` written `t.shape[i]`, and a name unpacked from a value (`M, N = t.shape`)
written as that value's item (`t.shape[1]`); two spellings of one host value get one form.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

import libcst as cst

from fuselint.model.memo import once_per_owner
from fuselint.model.source import code_of

if TYPE_CHECKING:
    from fuselint.model.module import Launch, Scope

_MAX_DEPTH = 12
_OPERATORS = {cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.FloorDivide: "//", cst.Modulo: "%",
              cst.Divide: "/", cst.Power: "**"}


def _binding(name: str, scope: "Scope | None"):
    """(value, None) for a name bound once, (value, i) for one unpacked once from `value`;
    None when unbound or bound more than once (the innermost scope that binds it decides)."""
    while scope is not None:
        values = scope.assignments.get(name)
        if values is not None:
            if len(values) != 1:
                return None
            if values[0] is not None:
                return values[0], None
            return scope.unpacked.get(name)
        scope = scope.parent
    return None


def form(node: cst.BaseExpression, scope: "Scope", seen: frozenset = frozenset(), depth: int = 0) -> str:
    """The host expression's form (see the module's docstring)."""
    if depth > _MAX_DEPTH:
        return code_of(node)
    again = lambda n: form(n, scope, seen, depth + 1)  # noqa: E731
    if isinstance(node, cst.Name):
        bound = None if node.value in seen else _binding(node.value, scope)
        if bound is None:
            return node.value
        value, index = bound
        inner = form(value, scope, seen | {node.value}, depth + 1)
        return inner if index is None else f"{_items(inner)}[{index}]"
    if isinstance(node, cst.Integer):
        return str(node.evaluated_value)
    if isinstance(node, cst.BinaryOperation) and type(node.operator) in _OPERATORS:
        return f"({again(node.left)} {_OPERATORS[type(node.operator)]} {again(node.right)})"
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        return f"-{again(node.expression)}"
    if isinstance(node, cst.Attribute):
        return f"{again(node.value)}.{node.attr.value}"
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        return f"{_items(again(node.value))}[{again(node.slice[0].slice.value)}]"
    if isinstance(node, cst.Call):
        args = [a for a in node.args if a.keyword is None and not a.star]
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "size" and len(args) == len(node.args) <= 1:
            shape = f"{again(node.func.value)}.shape"
            return f"{shape}[{again(args[0].value)}]" if args else shape
        parts = [again(a.value) if a.keyword is None else f"{a.keyword.value}={again(a.value)}" for a in node.args]
        return f"{again(node.func)}({', '.join(parts)})"
    return code_of(node)


def integer_value(node: cst.BaseExpression, scope: "Scope", depth: int = 0) -> int | None:
    """The integer a host expression always has: a literal, a name every binding of which (in
    the innermost scope binding it, a parameter excluded) is the same integer (`BLOCK = 128` in
    both branches of an `if`), or `+ - * //` of such; None when it can vary or is unknown."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, cst.Integer):
        return node.evaluated_value
    if isinstance(node, cst.Name):
        while scope is not None and node.value not in scope.assignments and node.value not in scope.unpacked:
            if node.value in scope.params():
                return None
            scope = scope.parent
        values = scope.assignments.get(node.value) if scope is not None else None
        if not values or any(v is None for v in values):
            return None
        found = {integer_value(v, scope, depth + 1) for v in values}
        return found.pop() if len(found) == 1 and None not in found else None
    if isinstance(node, cst.BinaryOperation) and type(node.operator) in (cst.Add, cst.Subtract, cst.Multiply, cst.FloorDivide):
        left, right = integer_value(node.left, scope, depth + 1), integer_value(node.right, scope, depth + 1)
        if left is None or right is None:
            return None
        if isinstance(node.operator, cst.FloorDivide):
            return left // right if right else None
        return {cst.Add: left + right, cst.Subtract: left - right, cst.Multiply: left * right}[type(node.operator)]
    return None


def product_key(factors: list[cst.BaseExpression], scope: "Scope") -> tuple[str, ...]:
    """A product compared by its factors, in any order and spelling: each factor's integer value
    where it has one (`PRE_BLOCK` and `BLOCK_N1` both 128), else its form; factors of 1 dropped."""
    keys = []
    for factor in factors:
        for part in _factors(factor, scope):
            value = integer_value(part, scope)
            if value != 1:
                keys.append(form(part, scope) if value is None else str(value))
    return tuple(sorted(keys))


def _items(text: str) -> str:
    """`t.size()` is `t.shape` when indexed."""
    return text[: -len(".size()")] + ".shape" if text.endswith(".size()") else text


def _factors(node: cst.BaseExpression, scope: "Scope", depth: int = 0) -> list[cst.BaseExpression]:
    """The factors of a product, through names bound once."""
    if depth <= _MAX_DEPTH and isinstance(node, cst.Name):
        bound = _binding(node.value, scope)
        if bound is not None and bound[1] is None and isinstance(bound[0], cst.BinaryOperation):
            return _factors(bound[0], scope, depth + 1)
    if depth <= _MAX_DEPTH and isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
        return _factors(node.left, scope, depth + 1) + _factors(node.right, scope, depth + 1)
    return [node]


def _numel_of(node: cst.BaseExpression, scope: "Scope", depth: int = 0) -> str | None:
    """The form of `t` when `node` is `t.numel()` / `t.nelement()` (through names bound once)."""
    if depth <= _MAX_DEPTH and isinstance(node, cst.Name):
        bound = _binding(node.value, scope)
        return _numel_of(bound[0], scope, depth + 1) if bound is not None and bound[1] is None else None
    if (isinstance(node, cst.Call) and not node.args and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("numel", "nelement")):
        return form(node.func.value, scope)
    return None


def data_extent(node: cst.BaseExpression, scope: "Scope", depth: int = 0) -> bool:
    """Is the host value a tensor dimension (`t.shape[i]`, `t.size(i)`, `M` of `M, N = t.shape`),
    also through a name every binding of which is one (`x = head_dim` or, in a branch,
    `x = cache.size(-1)`)? A dimension is a data extent: the host does not choose it as a tile."""
    if re.search(r"\.shape\[[^\[\]]+\]$", form(node, scope)):
        return True
    if depth >= _MAX_DEPTH or not isinstance(node, cst.Name):
        return False
    while scope is not None and node.value not in scope.assignments:
        scope = scope.parent
    values = scope.assignments[node.value] if scope is not None else []
    return bool(values) and None not in values and all(data_extent(v, scope, depth + 1) for v in values)


def exact_by_construction(numerator: cst.BaseExpression, divisor: cst.BaseExpression, scope: "Scope") -> bool:
    """Is `numerator // divisor` exact whatever the sizes: the divisor's factors are factors of
    the numerator (`(B * S) // S`, `cdiv(n, B) * B // B`), or the numerator is a `t.numel()` and
    the divisor a product of tensor dimensions (a row count: `x.numel() // x.shape[-1]`, or
    `x.numel() // w.shape[0]` with the row length taken from the weight: a dimension is a data
    extent, never a tile size)?"""
    wanted = Counter(form(f, scope) for f in _factors(divisor, scope))
    if wanted <= Counter(form(f, scope) for f in _factors(numerator, scope)):
        return True
    return _numel_of(numerator, scope) is not None and all(re.search(r"\.shape\[[^\[\]]+\]$", f) for f in wanted)


def checked_multiples(launch: "Launch") -> set[tuple[str, tuple[str, ...]]]:
    """The (form of a, product_key of b) for which the host makes sure `a % b == 0` where the
    launch runs: an
    enclosing `if` test, an `assert`, or an `if` that leaves the function otherwise
    (`if n % BLOCK: raise ...`, `if n % BLOCK != 0: return fallback(x)`), in the launching
    function or a function enclosing it."""
    facts: set[tuple[str, str]] = set()
    scope = launch.scope
    for test in launch.guards:
        facts |= _multiples(test, True, scope)
    while scope is not None:
        for test in scope.asserts:
            facts |= _multiples(test, True, launch.scope)
        for test in scope.exits:
            facts |= _multiples(test, False, launch.scope)
        scope = scope.parent
    return facts


def checked_multiple(a: str, key: tuple[str, ...], checked) -> bool:
    """Is `a` (a form) checked to be a multiple of the product `key`, or of a constant that
    `key`'s constant divides (`assert N_CTX % 128 == 0` makes N_CTX a multiple of 64)?"""
    if (a, key) in checked:
        return True
    wanted = _constant(key)
    return wanted is not None and any(
        form_ == a and (have := _constant(k)) is not None and have % wanted == 0 for form_, k in checked)


def _constant(key: tuple[str, ...]) -> int | None:
    """The value of a product key whose factors are all integers."""
    if not key or not all(part.isdigit() for part in key):
        return None
    value = 1
    for part in key:
        value *= int(part)
    return value or None


def numel_multiple(numerator: cst.BaseExpression, key: tuple[str, ...], checked, scope: "Scope") -> bool:
    """Is `t.numel()` a multiple of the product `key` because one of t's dimensions is checked
    to be (`if x.shape[-1] % block: raise` before `x.numel() // block`)?"""
    tensor = _numel_of(numerator, scope)
    return tensor is not None and any(a.startswith(f"{tensor}.shape[") and k == key for a, k in checked)


@once_per_owner
def names_checked_anywhere(module) -> set[tuple[str, tuple[str, ...]]]:
    """(form of a, product_key of b), each in its own function, for every `a % b == 0` that a
    function of the module asserts or checks before leaving (`assert S % chunk_size == 0` in the
    function called next; `Tkv = k.shape[2]; assert Tkv % 64 == 0` in an autograd forward for
    `Tkv = k.shape[2]; Tkv // BLOCK` with `BLOCK = 64` in its backward): a size contract the
    module's author states, though not on the launch's own path. Each is also kept as written,
    (code of a, (code of b,)), for names each function binds its own way (`S` a parameter in
    one, `B, S = x.shape` in the other)."""
    checked: set[tuple[str, tuple[str, ...]]] = set()
    for function in module.functions:
        scope = function.scope
        tests = [(t, True) for t in scope.asserts] + [(t, False) for t in scope.exits]
        for test, holds in tests:
            checked |= _multiples(test, holds, scope)
            checked |= {(code_of(r.left), (code_of(r.right),)) for r in _remainders(test, holds)}
    return checked


def _multiples(test: cst.BaseExpression, holds: bool, scope: "Scope") -> set[tuple[str, tuple[str, ...]]]:
    """The (a, b) with `a % b == 0` where `test` is true (`holds`) or false."""
    return {(form(r.left, scope), product_key([r.right], scope)) for r in _remainders(test, holds)}


def _remainders(test: cst.BaseExpression, holds: bool) -> list[cst.BinaryOperation]:
    """The `a % b` that are 0 where `test` is true (`holds`) or false."""
    if isinstance(test, cst.BooleanOperation):
        both = isinstance(test.operator, cst.And) == holds  # `p and q` true, `p or q` false
        return _remainders(test.left, holds) + _remainders(test.right, holds) if both else []
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _remainders(test.expression, not holds)
    remainder, zero_when = test, False  # a bare `a % b` is false exactly when a % b == 0
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        comparison = test.comparisons[0]
        sides = [test.left, comparison.comparator]
        zero = [s for s in sides if isinstance(s, cst.Integer) and s.evaluated_value == 0]
        if len(zero) != 1:
            return []
        remainder = sides[1] if zero[0] is sides[0] else sides[0]
        if isinstance(comparison.operator, cst.Equal):
            zero_when = True
        elif not (isinstance(comparison.operator, cst.NotEqual)
                  or isinstance(comparison.operator, cst.GreaterThan) and zero[0] is sides[1]):
            return []
    if not (isinstance(remainder, cst.BinaryOperation) and isinstance(remainder.operator, cst.Modulo)):
        return []
    return [remainder] if zero_when == holds else []
