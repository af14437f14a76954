"""The model of one Triton kernel: parameters, bindings, index vectors, memory accesses, loops.

Built once per kernel by one visit of its body; every rule reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from fuselint.model.names import ImportTable
from fuselint.model.shapes import Dim, Shape, ShapeInference, _kw, split_shape
from fuselint.model.source import code_of
from fuselint.model.walk import Walker

if TYPE_CHECKING:
    from fuselint.model.module import Launch, ModuleModel

ACCESS_FUNCTIONS = {
    # name: positions of (pointer, value, mask, other); None where the call has no such argument
    "load": (0, None, 1, 2),
    "store": (0, 1, 2, None),
    "atomic_add": (0, 1, 2, None), "atomic_max": (0, 1, 2, None), "atomic_min": (0, 1, 2, None),
    "atomic_and": (0, 1, 2, None), "atomic_or": (0, 1, 2, None), "atomic_xor": (0, 1, 2, None),
    "atomic_xchg": (0, 1, 2, None), "atomic_cas": (0, 2, None, None),
}
_STATIC_LOOPS = {"static_range"}


@dataclass(frozen=True)
class Param:
    name: str
    node: cst.Param
    constexpr: bool
    default: cst.BaseExpression | None


@dataclass(frozen=True)
class Loop:
    node: cst.For | cst.While
    targets: frozenset[str]
    iter: cst.BaseExpression | None  # None for `while`
    static: bool  # tl.static_range: unrolled at compile time, its variable is a constexpr


@dataclass(frozen=True)
class Binding:
    """One binding of a local name: `kind` is assign, aug, unpack, loop, with, param."""

    name: str
    kind: str
    value: cst.BaseExpression | None
    node: cst.CSTNode
    index: int | None = None  # position in a tuple unpacking

    def shape(self, shapes: ShapeInference) -> Shape:
        if self.kind == "loop":
            return ()
        if self.kind == "param":
            return shapes.param_shape(self.name)
        if self.value is None:
            return None
        if self.kind == "unpack":
            if isinstance(self.value, cst.Call) and shapes._tl(self.value.func) == "split":
                arg = _kw(self.value, "a", 0)
                return None if arg is None else split_shape(shapes.shape_of(arg))
            return None
        return shapes.shape_of(self.value)


@dataclass
class Access:
    """A tl.load / tl.store / tl.atomic_* call."""

    kind: str
    call: cst.Call
    pointer: cst.BaseExpression | None
    value: cst.BaseExpression | None
    mask: cst.BaseExpression | None
    other: cst.BaseExpression | None
    loops: tuple[Loop, ...]

    def keyword(self, name: str) -> cst.BaseExpression | None:
        for arg in self.call.args:
            if arg.keyword is not None and arg.keyword.value == name:
                return arg.value
        return None


@dataclass
class TlCall:
    """A call of a triton.language function inside the kernel."""

    name: str  # "arange", "math.exp", "extra.cuda.libdevice.tanh"
    call: cst.Call
    loops: tuple[Loop, ...]


@dataclass
class Kernel:
    node: cst.FunctionDef
    module: "ModuleModel"
    params: list[Param] = field(default_factory=list)
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    accesses: list[Access] = field(default_factory=list)
    tl_calls: list[TlCall] = field(default_factory=list)
    other_calls: list[tuple[cst.Call, tuple[Loop, ...]]] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)
    loop_exits: list[tuple[cst.CSTNode, Loop]] = field(default_factory=list)  # break/continue/return
    subscripts: list[tuple[cst.Subscript, tuple[Loop, ...]]] = field(default_factory=list)
    decorators: list[cst.Decorator] = field(default_factory=list)
    _shapes: ShapeInference | None = None
    _param_busy: bool = False

    @property
    def name(self) -> str:
        return self.node.name.value

    @property
    def imports(self) -> ImportTable:
        return self.module.imports

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    @property
    def launches(self) -> list["Launch"]:
        return self.module.launches_of(self)

    def calls(self, *names: str) -> list[TlCall]:
        return [c for c in self.tl_calls if c.name in names]

    def single_binding(self, name: str) -> cst.BaseExpression | None:
        """The one expression a local name is bound to, when it is bound exactly once."""
        bound = self.bindings.get(name, [])
        if len(bound) == 1 and bound[0].kind == "assign":
            return bound[0].value
        return None

    def loop_variables(self, static: bool | None = None) -> set[str]:
        names: set[str] = set()
        for loop in self.loops:
            if static is None or loop.static == static:
                names |= loop.targets
        return names

    # --- values ---------------------------------------------------------------------------
    def values_of(self, node: cst.BaseExpression) -> list:
        """Every known value of a size expression: a literal, a module constant, or a
        constexpr parameter's values from its default, launch sites, autotune configs and
        heuristics. Unknown sources add nothing: a rule never guesses."""
        from fuselint.model.constexprs import values_of

        return values_of(self, node)

    def dim_of(self, node: cst.BaseExpression) -> Dim:
        """A size expression as a shape dim: its value when it has exactly one, else its
        source as a symbol."""
        values = {v.value for v in self.values_of(node)}
        if len(values) == 1:
            value = values.pop()
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        if isinstance(node, (cst.Name, cst.Attribute, cst.BinaryOperation)):
            return code_of(node)
        return None

    # --- shapes ---------------------------------------------------------------------------
    @property
    def shapes(self) -> ShapeInference:
        if self._shapes is None:
            self._shapes = ShapeInference(
                self.imports.tl_function, lambda name: self.bindings.get(name, []), self.dim_of, self._param_shape
            )
        return self._shapes

    def shape_of(self, node: cst.BaseExpression) -> Shape:
        return self.shapes.shape_of(node)

    def _param_shape(self, name: str) -> Shape:
        """A host launch passes scalars (and scalar pointers); a kernel of the module that
        calls this one as a helper may pass blocks: () when every such call passes a scalar,
        else None (not known)."""
        from fuselint.model.module import call_argument

        calls = self.module.calls_of(self)
        if not calls:
            return ()
        if self._param_busy:
            return None  # helpers calling each other
        self._param_busy = True
        try:
            names = [p.name for p in self.params]
            for caller, call in calls:
                argument = call_argument(call, names, name)
                if argument is None or caller.shape_of(argument) != ():
                    return None
            return ()
        finally:
            self._param_busy = False


class KernelScanner(Walker):
    """One walk of a kernel body that fills a Kernel."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.loop_stack: list[Loop] = []

    # nested scopes (functions, lambdas, classes) are not the kernel's ------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    # bindings ---------------------------------------------------------------------------
    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None, node: cst.CSTNode, kind: str) -> None:
        k = self.kernel
        if isinstance(target, cst.Name):
            k.bindings.setdefault(target.value, []).append(Binding(target.value, kind, value, node))
        elif isinstance(target, (cst.Tuple, cst.List)):
            names = [e.value for e in target.elements]
            if kind == "assign" and isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) == len(names):
                for t, v in zip(names, value.elements):
                    self._bind(t, v.value, node, "assign")
                return
            for i, t in enumerate(names):
                if isinstance(t, cst.Name):
                    k.bindings.setdefault(t.value, []).append(
                        Binding(t.value, "unpack" if kind == "assign" else kind, value, node, i)
                    )

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target, node.value, node, "assign")

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, node.value, node, "assign")

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target, node.value, node, "aug")

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name, node.item, node, "with")

    # loops ------------------------------------------------------------------------------
    def _loop(self, loop: Loop, inside: list, after: cst.CSTNode | None) -> bool:
        """Walk a loop's parts with the loop on the stack, and its `else` block without."""
        self.kernel.loops.append(loop)
        self.loop_stack.append(loop)
        for part in inside:
            self.walk(part)
        self.loop_stack.pop()
        if after is not None:
            self.walk(after)
        return False

    def visit_For(self, node: cst.For) -> bool:
        static = isinstance(node.iter, cst.Call) and self.kernel.imports.tl_function(node.iter.func) in _STATIC_LOOPS
        self._bind(node.target, None, node, "loop")
        self.walk(node.iter)
        return self._loop(Loop(node, frozenset(_names_in(node.target)), node.iter, static), [node.body], node.orelse)

    def visit_While(self, node: cst.While) -> bool:
        return self._loop(Loop(node, frozenset(), None, False), [node.test, node.body], node.orelse)

    def _exit(self, node: cst.CSTNode) -> None:
        if self.loop_stack:
            self.kernel.loop_exits.append((node, self.loop_stack[-1]))

    def visit_Break(self, node: cst.Break) -> None:
        self._exit(node)

    def visit_Continue(self, node: cst.Continue) -> None:
        self._exit(node)

    def visit_Return(self, node: cst.Return) -> None:
        self._exit(node)

    # calls and subscripts -------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        loops = tuple(self.loop_stack)
        name = self.kernel.imports.tl_function(node.func)
        if name is None:
            self.kernel.other_calls.append((node, loops))
            return
        self.kernel.tl_calls.append(TlCall(name, node, loops))
        positions = ACCESS_FUNCTIONS.get(name)
        if positions is None:
            return
        names = ("pointer", "val" if name != "load" else None, "mask", "other")
        pointer, value, mask, other = (
            None if pos is None else _argument(node, kw, pos) for pos, kw in zip(positions, names)
        )
        if name == "store":
            value = _argument(node, "value", 1)
        mask, other = _unless_none(mask), _unless_none(other)
        self.kernel.accesses.append(Access(name, node, pointer, value, mask, other, loops))

    def visit_Subscript(self, node: cst.Subscript) -> None:
        self.kernel.subscripts.append((node, tuple(self.loop_stack)))


def _argument(call: cst.Call, keyword: str | None, position: int) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if position < len(positional):
        return positional[position].value
    return None


def _unless_none(node: cst.BaseExpression | None) -> cst.BaseExpression | None:
    """A literal `None` argument is the same as leaving it out."""
    return None if isinstance(node, cst.Name) and node.value == "None" else node


def _names_in(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _names_in(e.value)]
    return []


def build_kernel(node: cst.FunctionDef, module: "ModuleModel", decorators: list[cst.Decorator]) -> Kernel:
    kernel = Kernel(node=node, module=module, decorators=decorators)
    params = node.params
    for p in [*params.posonly_params, *params.params, *params.kwonly_params]:
        constexpr = False
        if p.annotation is not None:
            ann = p.annotation.annotation
            constexpr = module.imports.tl_function(ann) == "constexpr" or (
                isinstance(ann, (cst.SimpleString,)) and "constexpr" in ann.value
            )
        kernel.params.append(Param(p.name.value, p, constexpr, p.default))
        kernel.bindings.setdefault(p.name.value, []).append(Binding(p.name.value, "param", None, p))
    KernelScanner(kernel).walk(node.body)
    return kernel


@dataclass(frozen=True)
class Extent:
    """A size that becomes a tile dimension: it must be a power of two (Triton's rule for
    every block shape, checked in `tl.arange` and in `block_type`)."""

    node: cst.BaseExpression  # the size expression (for arange(start, end): `end`)
    start: cst.BaseExpression | None  # arange's start, when it is not a literal 0
    call: cst.Call

    @property
    def what(self) -> str:
        """"tl.arange(0, BLOCK)", for messages (written only for the extents reported)."""
        return code_of(self.call)


_SHAPE_METHODS = ("reshape", "view", "broadcast_to")


def _shape_elements(kernel: Kernel, call: cst.Call, first: int, varargs: bool) -> list[cst.BaseExpression]:
    """The elements of a shape argument written as a tuple, a list, a local bound once to one,
    or spread over the remaining positional arguments (`tl.reshape(x, 4, 8)`, `x.view(4, 8)`)."""
    positional = [a.value for a in call.args if a.keyword is None and not a.star]
    shape = _argument(call, "shape", first)
    if isinstance(shape, cst.Name) and kernel.single_binding(shape.value) is not None:
        shape = kernel.single_binding(shape.value)
    if isinstance(shape, (cst.Tuple, cst.List)):
        return [e.value for e in shape.elements if not isinstance(e, cst.StarredElement)]
    if varargs and len(positional) > first + 1:
        return positional[first:]  # tl.reshape(x, 4, 8), x.view(4, 8)
    return [shape] if shape is not None else []  # one bare size: tl.zeros(BLOCK, ...)


def tile_extents(kernel: Kernel, every_shape: bool = False) -> list[Extent]:
    """The sizes of tl.arange, tl.zeros/tl.full and tl.reshape/view/broadcast_to targets.
    `every_shape` adds the forms Triton's `validate_block_shape` checks as well: tensor methods
    (`x.reshape(...)`), shapes spread over arguments and shapes held in a local."""
    if every_shape:
        aranges = {id(e.call): e for e in tile_extents(kernel) if kernel.imports.tl_function(e.call.func) == "arange"}
        extents = []
        for tl_call in kernel.tl_calls:
            name = tl_call.name
            if name in ("zeros", "full") + _SHAPE_METHODS:
                varargs = name not in ("zeros", "full")
                for element in _shape_elements(kernel, tl_call.call, 0 if not varargs else 1, varargs):
                    extents.append(Extent(element, None, tl_call.call))
            elif id(tl_call.call) in aranges:
                extents.append(aranges[id(tl_call.call)])
        for call, _ in kernel.other_calls:
            if isinstance(call.func, cst.Attribute) and call.func.attr.value in _SHAPE_METHODS:
                for element in _shape_elements(kernel, call, 0, True):
                    extents.append(Extent(element, None, call))
        return extents
    extents = []
    for tl_call in kernel.tl_calls:
        call, name = tl_call.call, tl_call.name
        if name == "arange":
            start, end = _argument(call, "start", 0), _argument(call, "end", 1)
            if end is None:
                continue
            is_zero = start is None or (isinstance(start, cst.Integer) and start.evaluated_value == 0)
            extents.append(Extent(end, None if is_zero else start, call))
        elif name in ("zeros", "full", "reshape", "view", "broadcast_to"):
            shape = _argument(call, "shape", 0 if name in ("zeros", "full") else 1)
            if isinstance(shape, (cst.Tuple, cst.List)):
                for element in shape.elements:
                    if not isinstance(element, cst.StarredElement):
                        extents.append(Extent(element.value, None, call))
            elif shape is not None and name in ("zeros", "full"):
                extents.append(Extent(shape, None, call))
    return extents
