"""Symbolic tile shapes of kernel expressions.

A shape is a tuple of dims; a dim is an int (known), a str (a symbol: the source of a
constexpr such as "BLOCK_M", equal only to itself) or None (unknown). A scalar is ().
An expression whose shape cannot be known has shape None. Broadcasting follows Triton's
`broadcast_impl_shape` (triton/language/semantic.py): right-aligned, a 1 stretches.
"""

from __future__ import annotations

from typing import Callable, Optional, Union

import libcst as cst

Dim = Union[int, str, None]
Shape = Optional[tuple]


class Incompatible(Exception):
    """Two shapes that Triton cannot broadcast together (a compile error)."""

    def __init__(self, left: tuple, right: tuple):
        super().__init__(f"{format_shape(left)} and {format_shape(right)}")
        self.left, self.right = left, right


def format_shape(shape: Shape) -> str:
    if shape is None:
        return "[?]"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _broadcast_dim(a: Dim, b: Dim) -> Dim:
    if a == b:
        return a
    if a == 1:
        return b
    if b == 1:
        return a
    if a is None or b is None:
        return None
    if isinstance(a, int) and isinstance(b, int):
        raise Incompatible((a,), (b,))
    return None  # two symbols, or a symbol and a number: equal only at some launches


def broadcast(left: Shape, right: Shape) -> Shape:
    """The broadcast of two shapes; raises Incompatible when both are known to clash."""
    if left is None or right is None:
        return None
    rank = max(len(left), len(right))
    a = (1,) * (rank - len(left)) + tuple(left)
    b = (1,) * (rank - len(right)) + tuple(right)
    try:
        return tuple(_broadcast_dim(x, y) for x, y in zip(a, b))
    except Incompatible:
        raise Incompatible(tuple(left), tuple(right)) from None


def broadcast_all(shapes: list) -> Shape:
    result: Shape = ()
    for shape in shapes:
        result = broadcast(result, shape)
    return result


def provably_different(a: Shape, b: Shape) -> bool:
    """True when two known shapes differ for every launch (rank, or a 1 against a non-1)."""
    if a is None or b is None:
        return False
    if len(a) != len(b):
        return True
    for x, y in zip(a, b):
        if x is None or y is None or x == y:
            continue
        if isinstance(x, int) and isinstance(y, int):
            return True
        if 1 in (x, y):
            return True  # a symbol is a tile extent >= 16 in practice; 1 is a broadcast axis
    return False


# --- inference -----------------------------------------------------------------------------

_ELEMENTWISE = {
    "abs", "exp", "exp2", "log", "log2", "sqrt", "sqrt_rn", "rsqrt", "sin", "cos", "erf", "floor", "ceil",
    "sigmoid", "softmax", "fma", "maximum", "minimum", "clamp", "where", "fdiv", "div_rn", "umulhi",
    "cast", "multiple_of", "max_contiguous", "max_constancy", "cdiv", "math.exp", "math.log",
    "math.sqrt", "math.abs", "math.exp2", "math.rsqrt", "math.fma", "math.erf", "math.cos", "math.sin",
    "math.floor", "math.ceil", "math.log2", "math.div_rn", "math.fdiv", "math.umulhi", "math.sqrt_rn",
    "randn", "rand", "randint", "inline_asm_elementwise",
}
_REDUCTIONS = {"sum", "max", "min", "argmax", "argmin", "reduce", "xor_sum", "prod", "reduce_or"}
_SCANS = {"cumsum", "cumprod", "associative_scan", "sort", "flip"}
_TENSOR_METHODS_SAME_SHAPE = {"to", "cast", "__neg__"}
_SCALARS = {"program_id", "num_programs"}


def _kw(call: cst.Call, name: str, position: int) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[position].value if position < len(positional) else None


class ShapeInference:
    """Infers shapes inside one kernel; memoised per node.

    `tl_function(func)` names a tl call ("arange") or None; `binding(name)` gives the
    expression(s) a local name is bound to; `dim_of(expr)` turns a size expression into a Dim;
    `param_shape(name)` is a parameter's shape: (), or None where callers may pass blocks.
    """

    def __init__(
        self,
        tl_function: Callable[[cst.BaseExpression], str | None],
        bindings: Callable[[str], list],
        dim_of: Callable[[cst.BaseExpression], Dim],
        param_shape: Callable[[str], Shape],
    ) -> None:
        self.param_shape = param_shape
        self._tl = tl_function
        self._bindings = bindings
        self._dim_of = dim_of
        self._memo: dict[int, Shape] = {}
        self._busy: set[int] = set()

    def shape_of(self, node: cst.BaseExpression) -> Shape:
        """The shape of `node`; None when unknown. Never raises: clashes give None here,
        and `check_broadcast` says where they are."""
        key = id(node)
        if key in self._memo:
            return self._memo[key]
        if key in self._busy:
            return None
        self._busy.add(key)
        try:
            shape = self._infer(node)
        except Incompatible:
            shape = None
        finally:
            self._busy.discard(key)
        self._memo[key] = shape
        return shape

    def shape_of_name(self, name: str) -> Shape:
        """The shape every binding of `name` agrees on; None when they differ (the shape then
        depends on where the name is read) or when an augmented assignment widens it."""
        shapes, widened = [], []
        for binding in self._bindings(name):
            shape = binding.shape(self)
            if shape is None:
                return None
            (widened if binding.kind == "aug" else shapes).append(shape)
        if not shapes or any(s != shapes[0] for s in shapes):
            return None
        try:
            if any(broadcast(shapes[0], w) != shapes[0] for w in widened):
                return None
        except Incompatible:
            return None
        return shapes[0]

    def shape_list(self, node: cst.BaseExpression) -> Shape:
        """A shape written as a tuple/list of sizes (`tl.zeros((M, N), ...)`)."""
        if isinstance(node, (cst.Tuple, cst.List)):
            if any(isinstance(e, cst.StarredElement) for e in node.elements):
                return None
            return tuple(self._dim_of(e.value) for e in node.elements)
        dim = self._dim_of(node)
        return None if dim is None else (dim,)

    def _infer(self, node: cst.BaseExpression) -> Shape:
        if isinstance(node, (cst.Integer, cst.Float, cst.SimpleString)):
            return ()
        if isinstance(node, cst.Name):
            if node.value in ("True", "False", "None"):
                return ()
            return self.shape_of_name(node.value)
        if isinstance(node, cst.UnaryOperation):
            return self.shape_of(node.expression)
        if isinstance(node, cst.BinaryOperation):
            return broadcast(self.shape_of(node.left), self.shape_of(node.right))
        if isinstance(node, cst.BooleanOperation):
            return broadcast(self.shape_of(node.left), self.shape_of(node.right))
        if isinstance(node, cst.Comparison):
            return broadcast_all([self.shape_of(node.left)] + [self.shape_of(c.comparator) for c in node.comparisons])
        if isinstance(node, cst.IfExp):
            body, orelse = self.shape_of(node.body), self.shape_of(node.orelse)
            return body if body == orelse else None
        if isinstance(node, cst.Subscript):
            return self._subscript(node)
        if isinstance(node, cst.Call):
            return self._call(node)
        return None

    def _subscript(self, node: cst.Subscript) -> Shape:
        base = self.shape_of(node.value)
        if base is None:
            return None
        result, rest = [], list(base)
        for element in node.slice:
            index = element.slice
            if isinstance(index, cst.Index) and isinstance(index.value, cst.Name) and index.value.value == "None":
                result.append(1)
            elif isinstance(index, cst.Slice) and index.lower is None and index.upper is None and index.step is None:
                if not rest:
                    return None
                result.append(rest.pop(0))
            else:
                return None  # integer or tensor indexing: not a tile op Triton supports
        return tuple(result + rest)

    def _call(self, node: cst.Call) -> Shape:
        name = self._tl(node.func)
        if name is None:
            return self._method(node)
        if name == "arange":
            start, end = _kw(node, "start", 0), _kw(node, "end", 1)
            if start is None or end is None:
                return None
            return (self._extent(start, end),)
        if name in ("zeros", "full", "empty"):
            shape = _kw(node, "shape", 0)
            return None if shape is None else self.shape_list(shape)
        if name in ("zeros_like", "full_like", "empty_like"):
            arg = _kw(node, "input", 0)
            return None if arg is None else self.shape_of(arg)
        if name in ("load",):
            # the pointer broadcasts with the mask and `other` both ways (Triton 3.5+:
            # `broadcast_impl_value` in semantic.load; a scalar pointer takes scalars only)
            pointer = _kw(node, "pointer", 0)
            shape = None if pointer is None else self.shape_of(pointer)
            if not shape:
                return shape
            extra = [_kw(node, "mask", 1), _kw(node, "other", 2)]
            return broadcast_all([shape] + [self.shape_of(e) for e in extra if e is not None])
        if name in _SCALARS:
            return ()
        if name in ("reshape", "view"):
            shape = node.args[1:] if len(node.args) > 1 else []
            shape_arg = _kw(node, "shape", 1)
            if len(shape) == 1 or shape_arg is not None:
                return None if shape_arg is None else self.shape_list(shape_arg)
            return None
        if name in ("permute", "trans"):
            return self._permute(node, 1)
        if name == "join":
            a, b = _kw(node, "a", 0), _kw(node, "b", 1)
            if a is None or b is None:
                return None
            joined = broadcast(self.shape_of(a), self.shape_of(b))
            return None if joined is None else joined + (2,)
        if name == "expand_dims":
            return self._expand_dims(node, 1)
        if name == "broadcast_to":
            shape = node.args[1:]
            return self.shape_list(shape[0].value) if len(shape) == 1 else None
        if name in _REDUCTIONS:
            return self._reduce(node, 1)
        if name in _SCANS:
            arg = _kw(node, "input", 0)
            return None if arg is None else self.shape_of(arg)
        if name == "dot":
            return self._dot(node)
        if name in _ELEMENTWISE or name.startswith("extra."):
            shapes = [self.shape_of(a.value) for a in node.args if a.keyword is None or a.keyword.value in ("x", "y", "input", "other", "condition")]
            return broadcast_all(shapes)
        return None

    def _method(self, node: cst.Call) -> Shape:
        """Tensor methods: x.to(...), x.reshape(...), x.sum(axis=...), x.permute(...)."""
        if not isinstance(node.func, cst.Attribute):
            return None
        method = node.func.attr.value
        receiver = node.func.value
        if method in _TENSOR_METHODS_SAME_SHAPE:
            return self.shape_of(receiver)
        if method in ("reshape", "view"):
            if len(node.args) == 1:
                return self.shape_list(node.args[0].value)
            return tuple(self._dim_of(a.value) for a in node.args) if node.args else None
        if method in ("permute", "trans"):
            return self._permute(node, 0, receiver)
        if method in _REDUCTIONS:
            return self._reduce(node, 0, receiver)
        if method == "expand_dims":
            return self._expand_dims(node, 0, receiver)
        return None

    def _extent(self, start: cst.BaseExpression, end: cst.BaseExpression) -> Dim:
        low, high = self._dim_of(start), self._dim_of(end)
        if low == 0:
            return high
        if isinstance(low, int) and isinstance(high, int):
            return high - low
        return None

    def _permute(self, node: cst.Call, first: int, receiver: cst.BaseExpression | None = None) -> Shape:
        args = [a.value for a in node.args if a.keyword is None]
        if receiver is None:
            if not args:
                return None
            receiver, args = args[0], args[1:]
        base = self.shape_of(receiver)
        if base is None:
            return None
        if len(args) == 1 and isinstance(args[0], (cst.Tuple, cst.List)):
            args = [e.value for e in args[0].elements]
        if not args:  # tl.trans(x) of a 2-D tile
            return tuple(reversed(base)) if len(base) == 2 else None
        order = [self._dim_of(a) for a in args]
        if sorted(o for o in order if isinstance(o, int)) != list(range(len(base))) or len(order) != len(base):
            return None
        return tuple(base[i] for i in order)

    def _input_and_axis(self, node: cst.Call, position: int, receiver: cst.BaseExpression | None):
        """The shape of the call's input (`x` of `tl.sum(x, axis)` or of `x.sum(axis)`) and its
        axis: None for no axis; `known` is False when the axis is not a constant."""
        if receiver is None:
            receiver = _kw(node, "input", 0)
        base = None if receiver is None else self.shape_of(receiver)
        axis = _kw(node, "axis", position)
        if axis is None or (isinstance(axis, cst.Name) and axis.value == "None"):
            return base, True, None
        value = self._dim_of(axis)
        return (base, True, value) if isinstance(value, int) else (base, False, None)

    def _reduce(self, node: cst.Call, position: int, receiver: cst.BaseExpression | None = None) -> Shape:
        base, known, axis = self._input_and_axis(node, position, receiver)
        if base is None or not known:
            return None
        keep = _kw(node, "keep_dims", 99)
        keep_dims = isinstance(keep, cst.Name) and keep.value == "True"
        if axis is None:
            return tuple(1 for _ in base) if keep_dims else ()
        if not -len(base) <= axis < len(base):
            return None
        axis %= len(base)
        if keep_dims:
            return base[:axis] + (1,) + base[axis + 1:]
        return base[:axis] + base[axis + 1:]

    def _expand_dims(self, node: cst.Call, position: int, receiver: cst.BaseExpression | None = None) -> Shape:
        base, known, axis = self._input_and_axis(node, position, receiver)
        if base is None or not known or axis is None:
            return None
        if axis < 0:
            axis += len(base) + 1
        return base[:axis] + (1,) + base[axis:]

    def _dot(self, node: cst.Call) -> Shape:
        a, b = _kw(node, "input", 0), _kw(node, "other", 1)
        if a is None or b is None:
            return None
        sa, sb = self.shape_of(a), self.shape_of(b)
        if sa is None or sb is None or len(sa) != len(sb) or len(sa) not in (2, 3):
            return None
        return sa[:-1] + sb[-1:]


def split_shape(shape: Shape) -> Shape:
    """Each half of `tl.split(x)`: x's shape without its last axis (which must be 2)."""
    if shape is None or not shape or shape[-1] not in (2, None):
        return None
    return shape[:-1]
