"""Constant evaluation of the small expressions that give block sizes and grids their values.

Only what is certain is evaluated: literals, module constants, single assignments, arithmetic,
`triton.next_power_of_2`, `triton.cdiv`, `max`/`min`/`int`. Anything else is unknown (None).
"""

from __future__ import annotations

import operator
from typing import Callable, Union

import libcst as cst

Number = Union[int, float, bool]
# Resolves a bare name to the one expression bound to it (or its number), or None when not known.
Lookup = Callable[[str], "cst.BaseExpression | int | float | None"]
# Resolves a call's function to a qualified name (through the module's imports).
Qualify = Callable[[cst.BaseExpression], "str | None"]
# Gives a subscript or call its value where the caller knows one (`x.shape[0]` of a tensor it made).
Known = Callable[[cst.BaseExpression], "Number | None"]

_BINARY = {
    cst.Add: operator.add, cst.Subtract: operator.sub, cst.Multiply: operator.mul,
    cst.FloorDivide: operator.floordiv, cst.Modulo: operator.mod, cst.Power: operator.pow,
    cst.LeftShift: operator.lshift, cst.RightShift: operator.rshift, cst.Divide: operator.truediv,
    cst.BitAnd: operator.and_, cst.BitOr: operator.or_, cst.BitXor: operator.xor,
}
_MAX_DEPTH = 24


def next_power_of_2(n: int) -> int:
    """As `triton.next_power_of_2`: the smallest power of two >= n (1 for n <= 1)."""
    return 1 if n <= 1 else 1 << (n - 1).bit_length()


def is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _call(name: str | None, args: list[Number]) -> Number | None:
    if name in ("triton.next_power_of_2", "triton.runtime.next_power_of_2") and len(args) == 1:
        return next_power_of_2(int(args[0]))
    if name in ("triton.cdiv", "triton.language.cdiv") and len(args) == 2 and args[1]:
        return -(-int(args[0]) // int(args[1]))
    if name == "max" and args:
        return max(args)
    if name == "min" and args:
        return min(args)
    if name == "int" and len(args) == 1:
        return int(args[0])
    if name in ("triton.language.constexpr",) and len(args) == 1:
        return args[0]
    return None


def _item(node: cst.Subscript, lookup: Lookup, again) -> Number | None:
    """`shape[0]` where `shape` is a literal tuple or list (through a name bound to one)."""
    sequence = node.value
    if isinstance(sequence, cst.Name):
        sequence = lookup(sequence.value)
    index = again(node.slice[0].slice.value)
    if not isinstance(sequence, (cst.Tuple, cst.List)) or not isinstance(index, int) or isinstance(index, bool):
        return None
    elements = sequence.elements
    if any(isinstance(e, cst.StarredElement) for e in elements) or not -len(elements) <= index < len(elements):
        return None
    return again(elements[index].value)


def evaluate(node: cst.BaseExpression, lookup: Lookup, qualify: Qualify, depth: int = 0,
             known: Known | None = None) -> Number | None:
    """The value of `node`, or None when it is not certain."""
    if depth > _MAX_DEPTH:
        return None
    again = lambda n: evaluate(n, lookup, qualify, depth + 1, known)  # noqa: E731
    if known is not None and isinstance(node, (cst.Subscript, cst.Call)):
        value = known(node)
        if value is not None:
            return value
    if isinstance(node, cst.Integer):
        return int(node.evaluated_value)
    if isinstance(node, cst.Float):
        return float(node.evaluated_value)
    if isinstance(node, cst.Name):
        if node.value in ("True", "False"):
            return node.value == "True"
        bound = lookup(node.value)
        if isinstance(bound, (int, float)):  # a lookup may know the value itself
            return bound
        return None if bound is None else again(bound)
    if isinstance(node, cst.UnaryOperation):
        inner = again(node.expression)
        if inner is None:
            return None
        if isinstance(node.operator, cst.Minus):
            return -inner
        if isinstance(node.operator, cst.Plus):
            return inner
        return None
    if isinstance(node, cst.BinaryOperation):
        fn = _BINARY.get(type(node.operator))
        left, right = again(node.left), again(node.right)
        if fn is None or left is None or right is None:
            return None
        try:
            return fn(left, right)
        except (ZeroDivisionError, OverflowError, ValueError, TypeError):
            return None
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        return _item(node, lookup, again)
    if isinstance(node, cst.Call):
        if any(arg.keyword is not None or arg.star for arg in node.args):
            return None
        name = qualify(node.func)
        if name is None and isinstance(node.func, cst.Name):
            name = node.func.value  # a builtin: max, min, int
        values = [again(arg.value) for arg in node.args]
        if any(v is None for v in values):
            return None
        return _call(name, values)
    return None
