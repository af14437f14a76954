"""What a kernel's loads and stores index: offsets and masks as canonical expressions.

Every name read in a kernel is resolved to the binding that reaches it (a straight-line
reaching-definitions pass over the body: a binding in an `if` branch or a loop body that does
not enclose the read, or one a loop carries back to it, makes the name a join of several
values), and inlined back to what it stands for: `tl.arange`, `tl.program_id`, loop variables,
parameters, module constants, loaded values. The result is a canonical key, the same for two
expressions that differ only in names bound to the same value, in the order of the operands of
`+`, `*`, `&`, `|`, or in parentheses; casts (`.to`, `tl.cast`) and hints (`tl.multiple_of`,
`tl.max_contiguous`) are transparent. Subscripts `[:, None]` / `[None, :]` are pushed down to
the tile-varying atoms (`(a + b)[:, None]` is `a[:, None] + b[:, None]`).

The **offsets** of an access are its pointer minus the base pointer parameter, as a multiset of
index terms with the strides taken out: a factor of a product that does not vary (a parameter,
a constexpr, a literal, arithmetic of those) is a stride, so `x_ptr + offs` and
`y_ptr + offs * stride_y` share offsets, while `offs` and `offs + HALF` do not. Terms are
sorted into three kinds: *tile* terms vary inside the tile (they hold a `tl.arange` or a loaded
tile), *program* terms vary between programs (`tl.program_id`, loop variables, loaded scalars),
*shift* terms are constant.

The **mask** of an access is the set of its conjuncts (`a & b & c`, `a and b`), each a canonical
comparison (`n > offs` is `offs < n`).

Unknown is never a difference: a key holding a join of several bindings, or an expression of a
kind not modelled, can equal another key, but a rule never reports on a difference that
involves it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

import libcst as cst

from fuselint.model.memo import once_per_owner
from fuselint.model.source import code_of
from fuselint.model.walk import Walker, children

if TYPE_CHECKING:
    from fuselint.model.kernel import Access, Binding, Kernel

Key = tuple
# tl functions that return their first argument's value: casts and compiler hints.
_TRANSPARENT = {"cast", "multiple_of", "max_contiguous", "max_constancy", "assume"}
_TRANSPARENT_METHODS = {"to", "cast"}
HINTS = {"multiple_of", "max_contiguous", "max_constancy"}
_ATOMS_STATIC = {"param", "const", "global", "name"}
# tl functions whose result is an index the model can compare (element-wise arithmetic).
_INDEX_FUNCTIONS = {"where", "minimum", "maximum", "abs", "cdiv", "umulhi", "fdiv", "clamp"}
_ATOMS_PROGRAM = {"pid", "nprog", "loop"}
_ATOMS_UNKNOWN = {"phi", "opaque"}
_COMPARE = {cst.LessThan: "<", cst.LessThanEqual: "<=", cst.Equal: "==", cst.NotEqual: "!=",
            cst.GreaterThan: ">", cst.GreaterThanEqual: ">="}
_MIRROR = {">": "<", ">=": "<="}
_BINARY = {cst.FloorDivide: "//", cst.Divide: "/", cst.Modulo: "%", cst.LeftShift: "<<",
           cst.RightShift: ">>", cst.Power: "**", cst.BitXor: "^", cst.MatrixMultiply: "@"}
_MAX_DEPTH = 80


# --- where names are read and bound ----------------------------------------------------------

@dataclass(frozen=True)
class Place:
    order: int
    regions: tuple  # the enclosing branches and loop bodies, outermost first: (id, kind)


class _Flow(Walker):
    """One walk of the kernel body: the place of every name read and every binding statement,
    and the calls whose value is thrown away (expression statements)."""

    def __init__(self) -> None:
        self.order = 0
        self.regions: list[tuple[int, str]] = []
        self.starts: dict[int, cst.CSTNode] = {}  # id(block) -> region it opens
        self.names: dict[int, Place] = {}
        self.bound: dict[int, Place] = {}  # binding statement -> where its value is bound
        self.begun: dict[int, Place] = {}  # binding statement -> where it starts (reads its target)
        self.discarded: list[cst.Call] = []

    def _place(self) -> Place:
        self.order += 1
        return Place(self.order, tuple(self.regions))

    def visit_FunctionDef(self, node):
        return False

    def visit_Lambda(self, node):
        return False

    def visit_ClassDef(self, node):
        return False

    def visit_Name(self, node):
        self.names[id(node)] = self._place()

    def visit_Call(self, node):
        self.names[id(node)] = self._place()

    def _statement(self, node):
        self.begun[id(node)] = self._place()

    def _bound(self, node):
        self.bound[id(node)] = self._place()

    visit_Assign = visit_AugAssign = visit_AnnAssign = visit_WithItem = _statement
    leave_Assign = leave_AugAssign = leave_AnnAssign = leave_WithItem = _bound

    def visit_Expr(self, node):
        if isinstance(node.value, cst.Call):
            self.discarded.append(node.value)

    def _region(self, block: cst.CSTNode | None, key: tuple) -> None:
        if block is not None:
            self.regions.append(key)
            self.walk(block)
            self.regions.pop()

    def visit_If(self, node):
        self.walk(node.test)
        self._region(node.body, (id(node), "then"))
        self._region(node.orelse, (id(node), "else"))
        return False

    def visit_For(self, node):
        self.walk(node.iter)
        self.regions.append((id(node), "loop"))
        self.bound[id(node)] = self._place()  # the loop variable, bound in the body
        self.walk(node.target)
        self.walk(node.body)
        self.regions.pop()
        self._region(node.orelse, (id(node), "else"))
        return False

    def visit_While(self, node):
        self.regions.append((id(node), "loop"))
        self.walk(node.test)
        self.walk(node.body)
        self.regions.pop()
        self._region(node.orelse, (id(node), "else"))
        return False


def _continues(body: cst.CSTNode) -> bool:
    """Does a `continue` of this loop (not of a loop inside it) skip the rest of the body?"""
    stack = [body]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Continue):
            return True
        if not isinstance(current, (cst.For, cst.While, cst.FunctionDef)):
            stack.extend(children(current))
    return False


def _advance_of(kernel: "Kernel", node: cst.BaseExpression | None, name: str) -> cst.Tuple | cst.List | None:
    """The deltas of `tl.advance(name, deltas)` or `name.advance(deltas)`, as a literal tuple."""
    if not isinstance(node, cst.Call):
        return None
    args = [a.value for a in node.args if a.keyword is None and not a.star]
    if kernel.imports.tl_function(node.func) == "advance" and len(args) == 2:
        pointer, deltas = args
    elif isinstance(node.func, cst.Attribute) and node.func.attr.value == "advance" and len(args) == 1:
        pointer, deltas = node.func.value, args[0]
    else:
        return None
    if not (isinstance(pointer, cst.Name) and pointer.value == name and isinstance(deltas, (cst.Tuple, cst.List))):
        return None
    return deltas


def range_arguments(kernel: "Kernel", iterator: cst.BaseExpression | None):
    """(start, end, step) of `range(...)`, `tl.range(...)`, `tl.static_range(...)`, start and
    step None where absent; None for another iterator."""
    if not isinstance(iterator, cst.Call) or any(a.keyword is not None or a.star for a in iterator.args[:3]):
        return None
    is_range = (iterator.func.value == "range" if isinstance(iterator.func, cst.Name)
                else kernel.imports.tl_function(iterator.func) in ("range", "static_range"))
    args = [a.value for a in iterator.args[:3]]
    if not is_range or not args:
        return None
    if len(args) == 1:
        return None, args[0], None
    return args[0], args[1], (args[2] if len(args) > 2 else None)


def _encloses(outer: tuple, inner: tuple) -> bool:
    return inner[: len(outer)] == outer


def exclusive(kernel: "Kernel", a: cst.CSTNode, b: cst.CSTNode) -> bool:
    """Are two calls in the two branches of one `if` (never both run)?"""
    flow = canon_of(kernel).flow
    first, second = flow.names.get(id(a)), flow.names.get(id(b))
    if first is None or second is None:
        return False
    for x, y in zip(first.regions, second.regions):
        if x != y:
            return x[0] == y[0] and {x[1], y[1]} == {"then", "else"}
    return False


# --- canonical keys ------------------------------------------------------------------------------

def _bag(kind: str, items: Iterable[Key]) -> Key:
    return (kind, frozenset(Counter(items).items()))


def bag_items(key: Key) -> list[Key]:
    """The operands of a sum/product/and/or key, with repeats."""
    return [item for item, count in key[1] for _ in range(count)]


class Canon:
    """Canonical keys of one kernel's expressions (built once per kernel, memoised per node)."""

    def __init__(self, kernel: "Kernel") -> None:
        self.kernel = kernel
        self.flow = _Flow()
        self.flow.walk(kernel.node.body)
        self._memo: dict[int, Key] = {}
        self._busy: set[int] = set()
        self._binding_memo: dict[tuple, Key] = {}
        self._facts: dict[Key, tuple[bool, bool, bool, bool]] = {}
        self._reaching_memo: dict[int, list] = {}

    # names --------------------------------------------------------------------------------------
    def reaching(self, name: str, place: Place | None) -> list["Binding"] | None:
        """The bindings of `name` that can reach a read at `place`; None when the name is not
        bound in the kernel (a module-level name)."""
        bindings = self.kernel.bindings.get(name)
        if not bindings:
            return None
        if place is None:
            return list(bindings) if len(bindings) > 1 else [bindings[0]]
        before, carried = [], []
        for binding in bindings:
            where = self._where(binding)
            if where is None:
                return list(bindings)
            if where.order < place.order:
                before.append((where, binding))
            else:
                # bound later in a loop that also holds the read: the next iteration sees it
                loops = {r for r in where.regions if r[1] == "loop"}
                if loops & set(place.regions):
                    carried.append(binding)
        reaching = []
        for where, binding in reversed(before):
            reaching.append(binding)
            if _encloses(where.regions, place.regions):
                break
        return reaching + carried

    def _where(self, binding: "Binding") -> Place | None:
        if binding.kind == "param":
            return Place(0, ())
        return self.flow.bound.get(id(binding.node))

    def _name(self, node: cst.Name, place: Place | None) -> Key:
        name = node.value
        if name in ("True", "False", "None"):
            return ("const", name)
        reaching = self.reaching(name, place)
        if reaching is None:
            return ("global", name)
        if len(reaching) != 1:
            stepped = self._induction(reaching, place)
            return ("phi", name, frozenset(id(b.node) for b in reaching)) if stepped is None else stepped
        return self.binding_key(reaching[0])

    def _induction(self, reaching: list["Binding"], place: Place | None) -> Key | None:
        """A name stepped once per iteration at the top level of the body of
        `for v in range(a, b, s)`, read inside that loop where its value from before the loop
        and the one the loop carries back both reach. `p += step` is `p0 + (v - a) // s * step`
        (the steps of the iterations before this one), kept only where `s` divides the step
        (`(v - a) * (step / s)`); a block pointer moved by `p = tl.advance(p, deltas)` (or
        `p.advance(deltas)`) is `("advanced", p0, moves)` with one such move per axis. None for
        any other pattern (a step in a branch, a `continue`, a step that varies)."""
        if place is None or len(reaching) != 2:
            return None
        first, step = reaching  # the binding before the read, then the one carried back to it
        if step.kind == "aug" and isinstance(step.node, cst.AugAssign) and isinstance(step.node.operator, cst.AddAssign):
            deltas = None
        elif step.kind == "assign" and (deltas := _advance_of(self.kernel, step.value, step.name)) is not None:
            pass
        else:
            return None
        at, start = self.flow.bound.get(id(step.node)), self._where(first)
        if at is None or start is None or not at.regions or at.regions[-1][1] != "loop":
            return None
        loop = next((l for l in self.kernel.loops if id(l.node) == at.regions[-1][0]), None)
        inside = at.regions
        moved = step.value if deltas is None else deltas
        if (loop is None or not isinstance(loop.node, cst.For) or not isinstance(loop.node.target, cst.Name)
                or place.regions[: len(inside)] != inside or start.regions[: len(inside)] == inside
                or _continues(loop.node.body) or not self._invariant(moved, inside)):
            return None
        bounds = range_arguments(self.kernel, loop.iter)
        if bounds is None:
            return None
        lo, stride = (self.key(b) if b is not None else None for b in (bounds[0], bounds[2]))
        count = ("loop", loop.node.target.value, id(loop.node))
        if lo is not None:
            count = self._combine("Subtract", count, lo)

        def steps_before(each: Key) -> Key | None:
            if stride is not None and stride != ("const", 1):
                rest = Counter(_factors(each)) - Counter(_factors(stride))
                if sum(Counter(_factors(stride)).values()) + sum(rest.values()) != len(_factors(each)):
                    return None  # the loop's step does not divide this one
                each = _bag("prod", rest.elements()) if sum(rest.values()) > 1 else next(rest.elements(), ("const", 1))
            return self._combine("Multiply", count, each)

        if deltas is None:
            total = steps_before(self.key(step.value))
            return None if total is None else self._combine("Add", self.binding_key(first), total)
        moves = tuple(steps_before(self.key(e.value)) or ("opaque", "advance", id(e)) for e in deltas.elements)
        return ("advanced", self.binding_key(first), moves)

    def _invariant(self, node: cst.BaseExpression, loop_regions: tuple) -> bool:
        """Is every name `node` reads bound outside the loop (the same at every iteration)?"""
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.Name):
                for binding in self.reaching(current.value, self.flow.names.get(id(current))) or ():
                    where = self._where(binding)
                    if where is None or where.regions[: len(loop_regions)] == loop_regions:
                        return False
            stack.extend(children(current))
        return True

    def binding_key(self, binding: "Binding") -> Key:
        memo_key = (id(binding.node), binding.name, binding.index)
        if memo_key in self._binding_memo:
            return self._binding_memo[memo_key]
        self._binding_memo[memo_key] = ("opaque", "cycle", memo_key)  # a binding that reads itself
        key = self._binding_key(binding)
        self._binding_memo[memo_key] = key
        return key

    def _binding_key(self, binding: "Binding") -> Key:
        if binding.kind == "param":
            return ("param", binding.name)
        if binding.kind == "loop":
            return ("loop", binding.name, id(binding.node))
        if binding.kind == "assign" and binding.value is not None:
            return self.key(binding.value)
        if binding.kind == "aug" and isinstance(binding.node, cst.AugAssign):
            start = self.flow.begun.get(id(binding.node))
            before = self.reaching(binding.name, start)
            if before is None:
                previous: Key = ("global", binding.name)
            elif len(before) != 1:
                previous = self._induction(before, start) or ("phi", binding.name, frozenset(id(b.node) for b in before))
            else:
                previous = self.binding_key(before[0])
            operator = binding.node.operator
            return self._combine(type(operator).__name__.replace("Assign", ""), previous, self.key(binding.value))
        return ("opaque", binding.kind, id(binding.node), binding.index)

    # expressions --------------------------------------------------------------------------------
    def key(self, node: cst.BaseExpression) -> Key:
        memo = self._memo.get(id(node))
        if memo is not None:
            return memo
        if id(node) in self._busy or len(self._busy) > _MAX_DEPTH:
            return ("opaque", "deep", id(node))
        self._busy.add(id(node))
        try:
            key = self._key(node)
        finally:
            self._busy.discard(id(node))
        self._memo[id(node)] = key
        return key

    def _combine(self, operator: str, left: Key, right: Key) -> Key:
        if operator in ("Add", "Subtract"):
            right_terms = _terms(right) if operator == "Add" else [_negate(t) for t in _terms(right)]
            terms = [t for t in _terms(left) + right_terms if t != ("const", 0)]
            if not terms:
                return ("const", 0)
            return terms[0] if len(terms) == 1 else _bag("sum", terms)
        if operator == "Multiply":
            factors = [f for f in _factors(left) + _factors(right) if f != ("const", 1)]
            if ("const", 0) in factors:
                return ("const", 0)
            if not factors:
                return ("const", 1)
            return factors[0] if len(factors) == 1 else _bag("prod", factors)
        if operator == "BitAnd":
            return _bag("and", _conjuncts(left) + _conjuncts(right))
        if operator == "BitOr":
            return _bag("or", _flat("or", left) + _flat("or", right))
        symbol = {"FloorDivide": "//", "Divide": "/", "Modulo": "%", "LeftShift": "<<", "RightShift": ">>",
                  "Power": "**", "BitXor": "^", "MatrixMultiply": "@"}.get(operator, operator)
        return ("bin", symbol, left, right)

    def _key(self, node: cst.BaseExpression) -> Key:
        if isinstance(node, cst.Name):
            return self._name(node, self.flow.names.get(id(node)))
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary)):
            return ("const", node.evaluated_value)
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            return ("const", code_of(node))
        if isinstance(node, cst.BinaryOperation):
            return self._combine(type(node.operator).__name__, self.key(node.left), self.key(node.right))
        if isinstance(node, cst.BooleanOperation):
            kind = "and" if isinstance(node.operator, cst.And) else "or"
            left, right = self.key(node.left), self.key(node.right)
            return _bag(kind, _flat(kind, left) + _flat(kind, right))
        if isinstance(node, cst.UnaryOperation):
            inner = self.key(node.expression)
            if isinstance(node.operator, cst.Minus):
                return _negate(inner)
            if isinstance(node.operator, cst.Plus):
                return inner
            return ("not", inner)
        if isinstance(node, cst.Comparison):
            parts, left = [], node.left
            for target in node.comparisons:
                symbol = _COMPARE.get(type(target.operator))
                if symbol is None:
                    return ("opaque", "compare", id(node))
                a, b = self.key(left), self.key(target.comparator)
                if symbol in _MIRROR:
                    symbol, a, b = _MIRROR[symbol], b, a
                parts.append(("cmp", symbol, a, b))
                left = target.comparator
            return parts[0] if len(parts) == 1 else _bag("and", parts)
        if isinstance(node, cst.Subscript):
            return self._subscript(node)
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, cst.Attribute):
            qualified = self.kernel.imports.qualname(node)
            if qualified is not None:
                return ("name", qualified)
            return ("attr", self.key(node.value), node.attr.value)
        if isinstance(node, cst.IfExp):
            return ("if", self.key(node.test), self.key(node.body), self.key(node.orelse))
        if isinstance(node, (cst.Tuple, cst.List)):
            return ("tuple",) + tuple(self.key(e.value) for e in node.elements)
        return ("opaque", type(node).__name__, id(node))

    def _subscript(self, node: cst.Subscript) -> Key:
        base = self.key(node.value)
        slices = []
        for element in node.slice:
            index = element.slice
            if isinstance(index, cst.Index) and isinstance(index.value, cst.Name) and index.value.value == "None":
                slices.append("None")
            elif isinstance(index, cst.Slice) and index.lower is None and index.upper is None and index.step is None:
                slices.append(":")
            else:
                return ("item", base, tuple(self.key(e.slice.value) if isinstance(e.slice, cst.Index) else
                                            ("opaque", "slice", id(e)) for e in node.slice))
        return self._push(base, tuple(slices))

    def _push(self, key: Key, slices: tuple) -> Key:
        """`x[slices]` with the subscript pushed down to the tile atoms: scalars drop it."""
        kind = key[0]
        if kind in ("and", "or"):
            return _bag(kind, [self._push(item, slices) for item in bag_items(key)])
        if kind == "cmp":
            return (kind, key[1], self._push(key[2], slices), self._push(key[3], slices))
        tile, _, unknown, _ = self.facts(key)
        if not tile and not unknown:
            return key  # a scalar: the subscript only adds size-1 axes
        # An index vector keeps its subscript whole: `rows[:, None]` with rows = pid * B + arange
        # is one term of axis 0, not a program term and a tile term (that would make a
        # transposed read equal to the straight one).
        return ("sub", key, slices)

    def _call(self, node: cst.Call) -> Key:
        func = node.func
        name = self.kernel.imports.tl_function(func)
        args = [a for a in node.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}

        def argument(position: int, keyword: str):
            if keyword in keywords:
                return keywords[keyword]
            return args[position].value if position < len(args) else None

        if name is not None:
            if name in _TRANSPARENT:
                first = argument(0, "input")
                return self.key(first) if first is not None else ("opaque", "call", id(node))
            if name == "arange":
                start, end = argument(0, "start"), argument(1, "end")
                if start is None or end is None:
                    return ("opaque", "arange", id(node))
                return ("arange", self.key(start), self.key(end))
            if name in ("program_id", "num_programs"):
                axis = argument(0, "axis")
                axis_key = ("const", 0) if axis is None else self.key(axis)
                return ("pid" if name == "program_id" else "nprog", axis_key)
            if name == "load":
                pointer = argument(0, "pointer")
                return ("load", self.key(pointer) if pointer is not None else ("opaque", "load", id(node)))
            return ("call", name, tuple(self.key(a.value) for a in args),
                    frozenset((k, self.key(v)) for k, v in keywords.items()))
        if isinstance(func, cst.Attribute) and func.attr.value in _TRANSPARENT_METHODS:
            return self.key(func.value)
        if isinstance(func, cst.Attribute) and self.kernel.imports.qualname(func) is None:
            return ("method", func.attr.value, self.key(func.value), tuple(self.key(a.value) for a in args))
        callee = code_of(func)
        return ("call", callee, tuple(self.key(a.value) for a in args),
                frozenset((k, self.key(v)) for k, v in keywords.items()))

    # facts about keys ---------------------------------------------------------------------------
    def facts(self, key: Key) -> tuple[bool, bool, bool, bool]:
        """(tile, program, unknown, load): does the key vary inside a tile (holds a
        tl.arange or a loaded tile), between programs, hold something not known, read memory."""
        found = self._facts.get(key)
        if found is not None:
            return found
        kind = key[0]
        tile = program = unknown = load = False
        if kind == "arange":
            tile = True
        elif kind in _ATOMS_PROGRAM:
            program = True
        elif kind in _ATOMS_UNKNOWN:
            unknown = True
        elif kind == "load":
            load = True
            program = True
        elif kind == "sub":
            tile = True  # only tile atoms keep a subscript
        elif kind == "call" and key[1] not in _INDEX_FUNCTIONS:
            unknown = True  # zeros_like, cumsum, a helper: not an index vector the model follows
        if kind not in _ATOMS_STATIC:
            for child in _children(key):
                t, p, u, ld = self.facts(child)
                tile, program, unknown, load = tile or t, program or p, unknown or u, load or ld
        found = (tile, program, unknown, load)
        self._facts[key] = found
        return found

    def shape(self, key: Key):
        """The tile shape of a key (a pointer, an index), from its atoms: `tl.arange` gives an
        axis, subscripts add size-1 axes, operations broadcast (Triton's `broadcast_impl_shape`).
        None when unknown. Dims are ints where the size has one known value, else its source."""
        from fuselint.model.shapes import Incompatible, broadcast_all

        memo = self.__dict__.setdefault("_shapes", {})
        if key in memo:
            return memo[key]
        memo[key] = None
        kind = key[0]
        shape = None
        if kind in _ATOMS_STATIC or kind in _ATOMS_PROGRAM:
            shape = ()
        elif kind == "arange":
            start, end = self._dim(key[1]), self._dim(key[2])
            if start == 0:
                shape = (end,)
            elif isinstance(start, int) and isinstance(end, int):
                shape = (end - start,)
        elif kind == "sub":
            base = self.shape(key[1])
            if base is not None:
                rest, out = list(base), []
                for part in key[2]:
                    if part == "None":
                        out.append(1)
                    elif rest:
                        out.append(rest.pop(0))
                    else:
                        out = None
                        break
                shape = None if out is None else tuple(out + rest)
        elif kind == "load":
            shape = self.shape(key[1])
        elif kind in ("sum", "prod", "and", "or", "neg", "bin", "cmp", "if") or (kind == "call" and key[1] in _INDEX_FUNCTIONS):
            parts = [self.shape(c) for c in _children(key)]
            if kind == "bin" or kind == "cmp":
                parts = [self.shape(key[2]), self.shape(key[3])]
            try:
                shape = broadcast_all(parts)
            except Incompatible:
                shape = None
        memo[key] = shape
        return shape

    def _dim(self, key: Key):
        if key[0] == "const" and isinstance(key[1], int) and not isinstance(key[1], bool):
            return key[1]
        if key[0] == "param":
            values = {v.value for v in self.kernel.values_of(cst.Name(key[1]))}
            if len(values) == 1:
                value = values.pop()
                if isinstance(value, int) and not isinstance(value, bool):
                    return value
        return render(key)

    def is_remap(self, key: Key) -> bool:
        """Does the key compute a tile index by more than sums and products of index vectors
        (`offs // W`, `offs % C`, `tl.where`, `tl.minimum`, `offs ^ 1`): a remapped index, as
        in pads, upsampling, rolls and pixel shuffles, which no shared offsets can replace."""
        memo = self.__dict__.setdefault("_remaps", {})
        if key in memo:
            return memo[key]
        kind = key[0]
        if kind in ("bin", "call", "if", "method", "item", "attr") and self.facts(key)[0]:
            found = True
        elif kind in _ATOMS_STATIC or kind in _ATOMS_PROGRAM or kind == "arange":
            found = False
        else:
            found = any(self.is_remap(c) for c in _children(key))
        memo[key] = found
        return found

    def is_static(self, key: Key) -> bool:
        tile, program, unknown, _ = self.facts(key)
        return not (tile or program or unknown)

    def is_known(self, key: Key) -> bool:
        return not self.facts(key)[2]


def _children(key: Key) -> list[Key]:
    kind = key[0]
    if kind in ("sum", "prod", "and", "or"):
        return [item for item, _ in key[1]]
    found = []
    for part in key[1:]:
        if isinstance(part, tuple) and part and isinstance(part[0], str):
            found.append(part)
        elif isinstance(part, (tuple, frozenset)):
            for item in part:
                if isinstance(item, tuple) and item and isinstance(item[0], str):
                    found.append(item)
                elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], tuple):
                    found.append(item[1])  # (keyword, key)
    return found


def _terms(key: Key) -> list[Key]:
    return bag_items(key) if key[0] == "sum" else [key]


def _factors(key: Key) -> list[Key]:
    return bag_items(key) if key[0] == "prod" else [key]


def _conjuncts(key: Key) -> list[Key]:
    return bag_items(key) if key[0] == "and" else [key]


def _flat(kind: str, key: Key) -> list[Key]:
    return bag_items(key) if key[0] == kind else [key]


def _negate(key: Key) -> Key:
    if key[0] == "neg":
        return key[1]
    if key[0] == "const" and isinstance(key[1], (int, float)):
        return ("const", -key[1])
    return ("neg", key)


@once_per_owner
def canon_of(kernel: "Kernel") -> Canon:
    return Canon(kernel)


# --- rendering ---------------------------------------------------------------------------------

def render(key: Key) -> str:
    """A key as readable source (names inlined), for messages."""
    kind = key[0]
    if kind in ("param", "global"):
        return key[1]
    if kind == "name":
        return key[1].replace("triton.language.", "tl.")
    if kind == "const":
        return str(key[1])
    if kind == "loop":
        return key[1]
    if kind == "phi":
        return key[1]
    if kind == "arange":
        return f"tl.arange({render(key[1])}, {render(key[2])})"
    if kind in ("pid", "nprog"):
        return f"tl.{'program_id' if kind == 'pid' else 'num_programs'}({render(key[1])})"
    if kind == "sum":
        parts = sorted(render(t) for t in bag_items(key) if t[0] != "neg")
        negatives = sorted(render(t[1]) for t in bag_items(key) if t[0] == "neg")
        text = " + ".join(parts) if parts else "0"
        return text + "".join(f" - {_wrap(n)}" for n in negatives)
    if kind == "prod":
        return " * ".join(sorted(_wrap(render(f)) for f in bag_items(key)))
    if kind == "and":
        return " & ".join(sorted(f"({render(c)})" if c[0] in ("cmp", "or") else render(c) for c in bag_items(key)))
    if kind == "or":
        return " | ".join(sorted(render(c) for c in bag_items(key)))
    if kind == "neg":
        return f"-{_wrap(render(key[1]))}"
    if kind in ("bin", "cmp"):
        return f"{_wrap(render(key[2]))} {key[1]} {_wrap(render(key[3]))}"
    if kind == "sub":
        inner = render(key[1])
        if key[1][0] in ("sum", "prod", "neg", "bin", "and", "or"):
            inner = f"({inner})"
        return f"{inner}[{', '.join(key[2])}]"
    if kind == "load":
        return f"tl.load({render(key[1])})"
    if kind == "call":
        return f"{'tl.' if '.' not in key[1] and key[1][:1].islower() else ''}{key[1]}({', '.join(render(a) for a in key[2])})"
    if kind == "method":
        return f"{_wrap(render(key[2]))}.{key[1]}({', '.join(render(a) for a in key[3])})"
    if kind == "attr":
        return f"{_wrap(render(key[1]))}.{key[2]}"
    return "…"


def render_vector(terms) -> str:
    """An index vector given as the set of its terms, as readable source."""
    terms = list(terms)
    return render(_bag("sum", terms)) if len(terms) > 1 else render(terms[0]) if terms else "0"


def _wrap(text: str) -> str:
    return f"({text})" if any(c in text for c in " +-*/%<>&|") and not text.startswith("tl.") else text


# --- offsets -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Offsets:
    """The offsets of one access: its pointer minus its base (see base_term)."""

    base_term: Key  # ("param", name), or a `tl.where` choice of parameters
    tile: Counter  # index terms that vary inside the tile
    program: Counter  # index terms that vary between programs (or loop iterations)
    shift: Counter  # constant terms
    known: bool  # no term holds a join of bindings or an unmodelled expression

    @property
    def base(self) -> str:
        """The base as written: the parameter's name, or the `tl.where(...)` choice."""
        return self.base_term[1] if self.base_term[0] == "param" else render(self.base_term)

    @property
    def key(self) -> tuple:
        return (frozenset(self.tile.items()), frozenset(self.program.items()), frozenset(self.shift.items()))

    def text(self) -> str:
        terms = list(self.tile.elements()) + list(self.program.elements()) + list(self.shift.elements())
        return render(_bag("sum", terms)) if terms else "0"


def _is_pointer_name(name: str) -> bool:
    lowered = name.lower()
    return "ptr" in lowered or "pointer" in lowered


def offsets_of(kernel: "Kernel", access: "Access") -> Offsets | None:
    """The offsets of a load/store/atomic; None when its pointer has no single base parameter
    or `tl.where` choice of parameters (a block pointer, a pointer the model cannot follow)."""
    cache = kernel.__dict__.setdefault("_offsets", {})
    if id(access.call) in cache:
        return cache[id(access.call)]
    result = _offsets(kernel, access)
    cache[id(access.call)] = result
    return result


def _offsets(kernel: "Kernel", access: "Access") -> Offsets | None:
    if access.pointer is None:
        return None
    canon = canon_of(kernel)
    terms = _terms(canon.key(access.pointer))
    base = base_term(kernel, terms)
    if base is None:
        return None
    rest = list(terms)
    rest.remove(base)
    tile, program, shift = Counter(), Counter(), Counter()
    known = True
    for term in _strip_strides(canon, rest):
        t, p, unknown, _ = canon.facts(term)
        known = known and not unknown
        (tile if t else program if (p or unknown) else shift)[term] += 1
    for term in tile:
        _, _, unknown, load = canon.facts(term)
        if unknown or load:  # a gather or scatter: the index is data, not an index vector
            return None
    return Offsets(base, tile, program, shift, known)


def base_term(kernel: "Kernel", terms: list) -> Key | None:
    """The base among a pointer's terms: its one non-constexpr parameter (the pointer-named one
    when there are several), else its one `tl.where(cond, a_ptr, b_ptr)` choice between
    parameters (`x_ptr = tl.where(is_k, k_ptr, q_ptr)`: the same base for every access through
    it, so that its loads and stores compare like any others); None otherwise."""
    candidates = [t for t in terms if t[0] == "param" and not _constexpr(kernel, t[1])]
    if len(candidates) > 1:
        candidates = [t for t in candidates if _is_pointer_name(t[1])]
    if not candidates:
        candidates = [t for t in terms if len(_selected_params(kernel, t)) > 1]
    return candidates[0] if len(candidates) == 1 else None


def possible_bases(kernel: "Kernel", access: "Access") -> list[str]:
    """The pointer parameters an access may address: its base parameter, or each parameter that
    a `tl.where` base picks between at run time (nested selects too); [] when the model cannot
    tell."""
    offsets = offsets_of(kernel, access)
    return [] if offsets is None else base_params(kernel, offsets.base_term)


def base_params(kernel: "Kernel", base: Key) -> list[str]:
    """The parameter names a base term stands for (one, or a select's choices)."""
    return [base[1]] if base[0] == "param" else _selected_params(kernel, base)


def _selected_params(kernel: "Kernel", key) -> list[str]:
    """['a_ptr', 'b_ptr'] for the key of `tl.where(cond, a_ptr, b_ptr)` over parameters, else []."""
    if key[0] == "param" and not _constexpr(kernel, key[1]):
        return [key[1]]
    if key[0] == "call" and key[1] == "where" and len(key[2]) == 3:
        first, second = _selected_params(kernel, key[2][1]), _selected_params(kernel, key[2][2])
        return first + [p for p in second if p not in first] if first and second else []
    return []


def _constexpr(kernel: "Kernel", name: str) -> bool:
    param = kernel.param(name)
    return param is not None and param.constexpr


def axis_vectors(kernel: "Kernel", access: "Access", rank: int) -> dict | None:
    """The index vector of each tile axis of an access, strides taken out: axis -> the set of
    the vector's terms (`offs_m[:, None] * stride` gives axis 0 the terms of offs_m). An
    unsliced vector sits on the last axis, as broadcasting puts it; on a 1-D tile every term
    is the one axis's. None when the pointer has no single base (a parameter, or a `tl.where`
    choice of parameters)."""
    offsets = offsets_of(kernel, access)
    if offsets is None:
        return None
    canon = canon_of(kernel)
    axes: dict[int, set] = {}
    for piece in _sliced_terms(kernel, access, offsets):
        inner = piece[1] if piece[0] == "neg" else piece
        if inner[0] == "sub" and list(inner[2]).count(":") == 1 and len(inner[2]) == rank:
            axis = list(inner[2]).index(":")
            parts = _strip_strides(canon, _terms(inner[1]))
            axes.setdefault(axis, set()).update(_negate(p) if piece[0] == "neg" else p for p in parts)
        elif canon.facts(piece)[0] or (rank == 1 and not canon.is_static(piece)):
            axes.setdefault(rank - 1, set()).add(piece)
    return axes


def _sliced_terms(kernel: "Kernel", access: "Access", offsets: Offsets) -> list[Key]:
    """An access's index terms, strides taken out, sliced vectors kept whole."""
    terms = _terms(canon_of(kernel).key(access.pointer))
    rest = list(terms)
    rest.remove(offsets.base_term)
    return _strip_strides(canon_of(kernel), rest, keep_subs=True)


def outside_constants(kernel: "Kernel", access: "Access") -> Counter | None:
    """The constant terms of an access's offsets that are not inside a sliced vector
    (`x_ptr + HALF + offs[:, None]` has `HALF`, `x_ptr + (offs + HALF)[:, None]` none); None
    when the pointer has no base."""
    offsets = offsets_of(kernel, access)
    if offsets is None:
        return None
    canon = canon_of(kernel)
    return Counter(t for t in _sliced_terms(kernel, access, offsets) if canon.is_static(t))


def _strip_strides(canon: Canon, terms: list[Key], depth: int = 0, keep_subs: bool = False) -> list[Key]:
    """Index terms without their stride factors. A product keeps its varying factors (of an
    index vector's product, only those that vary inside the tile: a stride chosen per program,
    `offs * tl.where(is_q, q_stride, k_stride)`, is a stride); when one is left and it is a
    sum, its terms are index terms of their own (`(offs + HALF) * stride` gives the terms of
    `offs` and `HALF`)."""
    out: list[Key] = []
    for term in terms:
        negative = term[0] == "neg"
        inner = term[1] if negative else term
        sign = (lambda k: _negate(k)) if negative else (lambda k: k)
        if inner[0] == "prod" and not canon.is_static(inner):
            varying = [f for f in bag_items(inner) if not canon.is_static(f)]
            if canon.facts(inner)[0]:
                varying = [f for f in varying if canon.facts(f)[0] or canon.facts(f)[2]]
            inner = varying[0] if len(varying) == 1 else _bag("prod", varying)
            if inner[0] == "sum" and not canon.facts(inner)[0]:
                # `(s - 1) * seg_stride`: a row chosen per program or iteration, one program
                # term; its constant is not a shift inside the tile
                out.append(sign(inner))
                continue
        if inner[0] == "sum" and depth < 8:
            out.extend(_strip_strides(canon, [sign(t) for t in bag_items(inner)], depth + 1, keep_subs))
        elif keep_subs and inner[0] == "sub":
            out.append(sign(inner))
        elif inner[0] == "sub" and depth < 8 and _leading_axes_only(inner[2]):
            # `v[None, :]` is `v` where it meets a wider tile: broadcasting aligns to the right
            out.extend(_strip_strides(canon, [sign(t) for t in _terms(inner[1])], depth + 1))
        elif inner[0] == "sub" and depth < 8:
            vector = _strip_strides(canon, _terms(inner[1]), depth + 1)
            out.append(sign(("sub", vector[0] if len(vector) == 1 else _bag("sum", vector), inner[2])))
        else:
            out.append(sign(inner))
    return out


def _leading_axes_only(slices: tuple) -> bool:
    """`[None, :]`, `[None, None, :]`: only size-1 axes in front of the vector's own."""
    rest = list(slices)
    while rest and rest[0] == "None":
        rest.pop(0)
    return len(rest) < len(slices) and all(part == ":" for part in rest)


def without_slices(key: Key) -> Key:
    """A key with the `[:, None]` / `[None, :]` subscripts removed (for comparing a broadcast
    operand's 1-D index vector with the output's sliced one)."""
    kind = key[0]
    if kind == "sub":
        return without_slices(key[1])
    if kind in ("sum", "prod", "and", "or"):
        return _bag(kind, [without_slices(k) for k in bag_items(key)])
    if kind == "neg":
        return ("neg", without_slices(key[1]))
    if kind in ("bin", "cmp"):
        return (kind, key[1], without_slices(key[2]), without_slices(key[3]))
    return key


# --- masks ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Conjunct:
    key: Key
    node: cst.BaseExpression  # where it is written


@dataclass(frozen=True)
class Mask:
    conjuncts: tuple[Conjunct, ...]

    @property
    def keys(self) -> frozenset:
        return frozenset(c.key for c in self.conjuncts)

    @property
    def known(self) -> bool:
        return True

    def text(self) -> str:
        return " & ".join(sorted(render(k) for k in self.keys))


def boundary(kernel: "Kernel", mask: Mask | None) -> frozenset | None:
    """The boundary conditions of a mask: its conjuncts that compare one index vector with a
    bound that does not vary (`offs < n`, `rows[:, None] < M`, `pid < n_rows`). Conjuncts that
    compare two index vectors (a causal `cols > rows`, a triangle) choose values, not bounds,
    and are left out. None when a conjunct is not known (a mask or bound loaded from memory, a
    join of bindings): then the boundary is not known either."""
    if mask is None:
        return frozenset()
    canon = canon_of(kernel)
    found = set()
    for key in mask.keys:
        tile, _, unknown, load = canon.facts(key)
        if unknown or load:
            return None
        if key[0] != "cmp":
            if tile:
                return None  # `~m`, `a | b` over the tile: not modelled
            continue
        key = _varying_left(canon, key)
        sides = (key[2], key[3])
        if sum(canon.is_static(side) for side in sides) == 1 and _aranges(key) <= 1:
            found.add(key)
    return frozenset(found)


def _varying_left(canon: Canon, key: Key) -> Key:
    """A comparison with the terms that vary (over the tile or between programs) on the left
    and the others on the right: `cols < N - start * BLOCK` and `cols + BLOCK * start < N` are
    one condition."""
    if all(any(canon.facts(t)[0] for t in _terms(side)) for side in (key[2], key[3])):
        return key  # two index vectors compared (a causal `cols > rows`): values chosen, not a bound
    terms = _terms(key[2]) + [_negate(t) for t in _terms(key[3])]
    varying = [t for t in terms if not canon.is_static(t)]
    if not varying:
        return key
    fixed = [_negate(t) for t in terms if canon.is_static(t)]

    def side(items: list[Key]) -> Key:
        return items[0] if len(items) == 1 else _bag("sum", items) if items else ("const", 0)

    return ("cmp", key[1], side(varying), side(fixed))


def _aranges(key: Key) -> int:
    if key[0] == "arange":
        return 1
    return len({k for k in _atoms(key) if k[0] == "arange"})


def _atoms(key: Key) -> list[Key]:
    found, stack = [], [key]
    while stack:
        item = stack.pop()
        if item[0] == "arange":
            found.append(item)
        else:
            stack.extend(_children(item))
    return found


def mask_of(kernel: "Kernel", access: "Access") -> Mask | None:
    """The conjuncts of an access's mask; None when it has no mask."""
    if access.mask is None:
        return None
    return Mask(tuple(conjuncts(kernel, access.mask)))


def conjuncts(kernel: "Kernel", node: cst.BaseExpression, depth: int = 0) -> list[Conjunct]:
    """The terms of `a & b & c` / `a and b`, following names bound once to such terms, each with
    the node it is written at."""
    canon = canon_of(kernel)
    if depth < 16:
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitAnd) or (
            isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.And)
        ):
            return conjuncts(kernel, node.left, depth + 1) + conjuncts(kernel, node.right, depth + 1)
        if isinstance(node, cst.Name):
            reaching = canon.reaching(node.value, canon.flow.names.get(id(node)))
            if reaching is not None and len(reaching) == 1 and reaching[0].kind == "assign" and reaching[0].value is not None:
                return conjuncts(kernel, reaching[0].value, depth + 1)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _TRANSPARENT_METHODS:
            return conjuncts(kernel, node.func.value, depth + 1)
    key = canon.key(node)
    if key[0] == "and":  # a chained comparison, or an `&` under a cast
        return [Conjunct(k, node) for k in bag_items(key)]
    return [Conjunct(key, node)]


def discarded_calls(kernel: "Kernel") -> list[cst.Call]:
    """Calls written as statements of their own: their value is thrown away."""
    return list(canon_of(kernel).flow.discarded)


def pointer_source(kernel: "Kernel", access: "Access") -> str:
    """The source of an access's pointer, one name deep (`q2_ptrs` shows as what it is bound
    to), for messages."""
    pointer = access.pointer
    if pointer is None:
        return "?"
    if isinstance(pointer, cst.Name):
        canon = canon_of(kernel)
        reaching = canon.reaching(pointer.value, canon.flow.names.get(id(pointer)))
        if reaching and len(reaching) == 1 and reaching[0].kind == "assign" and reaching[0].value is not None:
            return code_of(reaching[0].value)
    return code_of(pointer)


def access_text(kernel: "Kernel", access: "Access") -> str:
    return f"tl.{access.kind}(`{pointer_source(kernel, access)}`)"
