"""The fused groups of a kernel: which loads and stores must share one indexing.

The **output** of a group is a `tl.store`; the first store of each tile shape and loop nest is
the group's reference. Its **members** are the loads and stores whose tile shape equals the
output's and that run in the output's loops or outside them (a load in a loop the store is not
in feeds an accumulation over that loop: not element-wise). Left out:

- loads whose value reaches a `tl.dot` operand or the input of a reduction or scan (`tl.sum`,
  `tl.max`, `tl.cumsum`, ...): they are not element-wise with the output;
- atomics (a reduction across programs);
- accesses whose shape or offsets are not known.

A member whose offsets drop some of the output's program terms (cos/sin rows broadcast over
heads, a weight row over rows) is a **broadcast member**; it may also drop the mask conjuncts
that bound those terms. An access of another shape that Triton broadcasts to the output's
(lower rank, or size-1 axes) is a **broadcast operand** of the group.

`compare(member, output)` says how a member's offsets differ from the output's; unknown is
never a difference.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from fuselint.model.grid import grid_dimensions
from fuselint.model.memo import once_per_owner
from fuselint.model.offsets import Mask, Offsets, canon_of, exclusive, mask_of, offsets_of
from fuselint.model.shapes import Incompatible, Shape, broadcast
from fuselint.model.source import code_of
from fuselint.model.walk import Walker, children, names_in

if TYPE_CHECKING:
    from fuselint.model.kernel import Access, Kernel

REDUCTIONS = {"sum", "max", "min", "argmax", "argmin", "reduce", "xor_sum", "prod", "reduce_or",
              "cumsum", "cumprod", "associative_scan", "sort", "histogram", "topk", "gather_reduce", "softmax"}
DOTS = {"dot", "dot_scaled"}


@dataclass
class Member:
    access: "Access"
    offsets: Offsets
    mask: Mask | None
    shape: tuple


@dataclass
class Group:
    output: Member
    members: list[Member] = field(default_factory=list)  # the output first, in source order
    broadcast: list[Member] = field(default_factory=list)  # operands of other, broadcastable shapes


@dataclass(frozen=True)
class Difference:
    """How a member's offsets differ from the output's: the terms only it has, and the terms
    only the output has."""

    extra: Counter
    missing: Counter
    kind: str  # "shift" (a constant offset), "tile" (another index vector), "program" (another row)

    def text(self) -> str:
        from fuselint.model.offsets import render

        def terms(counter: Counter) -> str:
            shown = sorted((render(t) if n == 1 else f"{n} * {render(t)}") for t, n in counter.items())
            return ", ".join(f"`{text}`" for text in shown)

        parts = []
        if self.extra:
            parts.append("adds " + terms(self.extra))
        if self.missing:
            parts.append("lacks " + terms(self.missing))
        return " and ".join(parts)


def _known_shape(shape: Shape) -> bool:
    return shape is not None and len(shape) > 0 and all(d is not None for d in shape)


def _broadcasts_to(shape: tuple, output: tuple) -> bool:
    """A smaller operand Triton broadcasts to the output's tile (`broadcast_impl_shape`)."""
    if shape == output or len(shape) > len(output):
        return False
    if len(shape) == 1 and len(output) > 1:
        return shape[0] in output  # a vector, sliced where it is used (`s[:, None]`)
    try:
        return broadcast(shape, output) == output
    except Incompatible:
        return False


# The children `_loads_under` follows: expressions and the parts of calls, literals, subscripts
# and comparisons that hold them (not a comprehension's `for`, a lambda's parameters, ...).
_VALUE_PARTS = (cst.BaseExpression, cst.Arg, cst.Element, cst.SubscriptElement, cst.Index, cst.Slice, cst.ComparisonTarget)
_HOLDS_VALUE: dict[type, bool] = {}  # per node class: is it one of _VALUE_PARTS (isinstance on libcst's ABCs is slow)


def _loads_under(kernel: "Kernel", node: cst.BaseExpression, seen: set[int], into_dots: bool = True) -> None:
    """The ids of the nodes whose value reaches `node` (through names and operations: the
    tl.load calls among them), with facts about the way: ("call", tl name), ("helper", name),
    ("method", attribute), ("carried", id(loop)) for a value a loop carries from one iteration
    to the next, ("index-compare",) for a comparison of two index vectors (a triangle).
    `into_dots=False` stops at a tl.dot: what made its operands is left out."""
    canon = canon_of(kernel)
    tl_function = kernel.imports.tl_function
    holds_value = _HOLDS_VALUE.get

    def follow(node: cst.CSTNode, depth: int) -> None:
        if depth > 60 or id(node) in seen:
            return
        seen.add(id(node))
        kind = node.__class__
        if kind is cst.Name:
            place = canon.flow.names.get(id(node))
            reaching = canon.reaching(node.value, place)
            for binding in reaching or ():
                where = canon.flow.bound.get(id(binding.node))
                if place is not None and where is not None and where.order > place.order:
                    loops = {r[0] for r in place.regions if r[1] == "loop"}
                    seen.update(("carried", r[0]) for r in where.regions if r[1] == "loop" and r[0] in loops)
                if binding.value is not None and binding.kind in ("assign", "aug", "unpack", "with"):
                    follow(binding.value, depth + 1)
                if binding.kind == "aug" and isinstance(binding.node, cst.AugAssign):
                    before = canon.reaching(node.value, canon.flow.begun.get(id(binding.node)))
                    for earlier in before or ():
                        if earlier.value is not None:
                            follow(earlier.value, depth + 1)
            return
        if kind is cst.Call:
            name = tl_function(node.func)
            if name is not None:
                seen.add(("call", name))
                if name in DOTS and not into_dots:
                    return
            elif isinstance(node.func, cst.Name) and node.func.value not in HOST_BUILTINS:
                seen.add(("helper", node.func.value))
            elif isinstance(node.func, cst.Attribute):
                seen.add(("method", node.func.attr.value))  # x.trans(), x.reshape(...)
        elif kind is cst.Attribute and node.attr.value == "T":
            seen.add(("method", "T"))
        elif kind is cst.Comparison:
            sides = [node.left] + [target.comparator for target in node.comparisons]
            if sum(canon.facts(canon.key(side))[0] for side in sides) >= 2:
                seen.add(("index-compare",))
        for child in children(node):
            followed = holds_value(child.__class__)
            if followed is None:
                followed = _HOLDS_VALUE[child.__class__] = issubclass(child.__class__, _VALUE_PARTS)
            if followed:
                follow(child, depth + 1)

    follow(node, 0)


def computed_by_dot(kernel: "Kernel", store: "Access") -> bool:
    """Does a store's value come out of a tl.dot in this kernel (a matmul's epilogue)?"""
    return any(isinstance(item, tuple) and item[0] == "call" and item[1] in DOTS for item in flows_into(kernel, store))


def _computed_by_dot_or_reduction(kernel: "Kernel", store: "Access") -> bool:
    """Does a store's value come out of a tl.dot or a reduction (a matmul's or a norm's
    result, not an element-wise op of the loads beside it)?"""
    return _changed_by(kernel, flows_into(kernel, store), DOTS | REDUCTIONS)


def _changed_by(kernel: "Kernel", seen: set, ops: set[str]) -> bool:
    """Does a way (`_loads_under`) hold one of `ops` (a tl function or a method), or a helper
    that is not element-wise (or not known)?"""
    for item in seen:
        if not isinstance(item, tuple):
            continue
        if item[0] in ("call", "method") and item[1] in ops:
            return True
        if item[0] == "helper":
            helper = kernel.module.callee(kernel, item[1])
            if helper is None or helper is kernel or elementwise(helper) is not True:
                return True
    return False


def flows_into(kernel: "Kernel", store: "Access", into_dots: bool = True) -> set:
    """What reaches a store's value (`_loads_under`): node ids and facts about the way
    (computed once per store)."""
    cache = kernel.__dict__.setdefault("_flows_into", {})
    key = (id(store.call), into_dots)
    if key not in cache:
        seen: set = set()
        if store.value is not None:
            _loads_under(kernel, store.value, seen, into_dots)
        cache[key] = seen
    return cache[key]


def _dot_operands(call: cst.Call) -> list[cst.BaseExpression]:
    positional = [a.value for a in call.args if a.keyword is None][:2]
    return positional + [a.value for a in call.args if a.keyword is not None and a.keyword.value in ("input", "other", "a", "b")]


def product_tile(kernel: "Kernel", store: "Access") -> bool:
    """Does a store write the tile of a `tl.dot`'s product, changed element by element only
    (no reshape, transpose, reduction, or helper that is not element-wise between the dot and
    the store)?"""
    seen = flows_into(kernel, store, into_dots=False)
    return not _changed_by(kernel, seen, REDUCTIONS | _REARRANGING | {"T"})


@once_per_owner
def structured_dots(kernel: "Kernel") -> set[int]:
    """Ids of the tl.dot calls that are not a plain matmul: a product with a triangular or
    banded operand (computed from a comparison of two index vectors: a cumulative sum or
    product, a causal mask), or one that feeds a state its loop carries and stores at every
    step (a recurrence, a chunked scan: `tl.store(h_ptrs, h)` then `h = h * decay +
    tl.dot(k, v)`)."""
    dots = [c for c in kernel.tl_calls if c.name in DOTS]
    found: set[int] = set()
    for dot in dots:
        seen: set = set()
        for operand in _dot_operands(dot.call):
            _loads_under(kernel, operand, seen)
        if ("index-compare",) in seen:
            found.add(id(dot.call))
    for access in kernel.accesses:
        if access.kind != "store" or not access.loops:
            continue
        seen = flows_into(kernel, access)
        carried = {item[1] for item in seen if isinstance(item, tuple) and item[0] == "carried"}
        for loop in access.loops:
            if id(loop.node) in carried:
                found.update(id(d.call) for d in dots if id(d.call) in seen and any(l.node is loop.node for l in d.loops))
    return found


@once_per_owner
def not_elementwise_loads(kernel: "Kernel") -> set[int]:
    """Ids of the loads whose values reach a tl.dot operand or a reduction's input."""
    seen: set[int] = set()
    for tl_call in kernel.tl_calls:
        if tl_call.name in DOTS:
            for operand in _dot_operands(tl_call.call):
                _loads_under(kernel, operand, seen)
        elif tl_call.name in REDUCTIONS:
            for arg in tl_call.call.args[:1]:
                _loads_under(kernel, arg.value, seen)
    for call, _ in kernel.other_calls:
        func = call.func
        if isinstance(func, cst.Attribute) and kernel.imports.qualname(func) is None:
            if func.attr.value in REDUCTIONS:  # x.sum(axis=1), x.max(0)
                _loads_under(kernel, func.value, seen)
            continue
        if isinstance(func, cst.Name) and func.value in HOST_BUILTINS:
            continue
        # a helper the module defines and that is element-wise keeps its arguments in the
        # group; any other function (a sort, a reduction, unknown) may not be element-wise
        helper = kernel.module.callee(kernel, func.value) if isinstance(func, cst.Name) else None
        if helper is None or helper is kernel or elementwise(helper) is not True:
            for arg in call.args:
                _loads_under(kernel, arg.value, seen)
    return {id(a.call) for a in kernel.accesses if a.kind == "load" and id(a.call) in seen}


@once_per_owner
def fused_groups(kernel: "Kernel") -> list[Group]:
    excluded = not_elementwise_loads(kernel)
    described: list[Member] = []
    for access in kernel.accesses:
        if access.kind not in ("load", "store") or id(access.call) in excluded or access.pointer is None:
            continue
        shape = canon_of(kernel).shape(canon_of(kernel).key(access.pointer))
        offsets = offsets_of(kernel, access)
        if not _known_shape(shape) or offsets is None:
            continue
        described.append(Member(access, offsets, mask_of(kernel, access), tuple(shape)))
    groups: dict[tuple, Group] = {}
    for member in described:
        if member.access.kind != "store":
            continue
        loops = tuple(id(loop.node) for loop in member.access.loops)
        key = (member.shape, loops)
        if key in groups:
            continue
        group = Group(member)
        for other in described:
            other_loops = tuple(id(loop.node) for loop in other.access.loops)
            # a load may come from outside the output's loops (loop-invariant); a store in
            # other loops writes another output
            if other_loops != loops[: len(other_loops)] or (other.access.kind == "store" and other_loops != loops):
                continue
            if len(other_loops) < len(loops) and not _before(kernel, other.access.call, member.access.loops[len(other_loops)].node):
                continue  # a load after the output's loop cannot feed it
            if other.access.kind == "store" and other is not member and (
                _computed_by_dot_or_reduction(kernel, other.access) or _computed_by_dot_or_reduction(kernel, member.access)
            ):
                continue  # two results of matmuls or reductions (dq and dv): two outputs, not one fused op
            if exclusive(kernel, other.access.call, member.access.call):
                continue  # `if EVEN: store(...) else: store(..., mask=...)`: one of the two runs
            if other.shape == member.shape:
                group.members.append(other)
            elif other.access.kind == "load" and _broadcasts_to(other.shape, member.shape):
                group.broadcast.append(other)
        groups[key] = group
    return list(groups.values())


def _before(kernel: "Kernel", call: cst.Call, loop: cst.CSTNode) -> bool:
    flow = canon_of(kernel).flow
    place = flow.names.get(id(call))
    start = flow.bound.get(id(loop)) if isinstance(loop, cst.For) else None
    return place is not None and start is not None and place.order < start.order


def same_indexing(member: Offsets, output: Offsets) -> bool:
    """The same index vectors and shifts (program terms aside): the same tile elements."""
    return set(member.tile) == set(output.tile) and member.shift == output.shift


def compare(kernel: "Kernel", member: Member, output: Member, group: "Group | None" = None) -> Difference | None:
    """How `member`'s offsets differ from the output's inside the tile, when they certainly do:
    other index vectors, or another constant shift of the same tensor. None when they agree or
    the difference is not known.

    - Program terms are not compared: they choose which tile a program reads (cos/sin rows by
      `pid % seq_len`, a weight row shared by all rows, a page of a paged cache chosen by a
      block table), the broadcast of an operand over programs; also inside a sliced vector
      (`offs_bs[:, None]` beside `(page * BS + offs_bs)[:, None]`), unless the member moves
      along one axis by the program term of another (a transposed read).
    - Index vectors are compared as a set, per axis: `(i0 + offs) * stride_row + (j0 + offs) *
      stride_col` (a diagonal) indexes with the one vector `offs`. A load whose value reaches
      the store transposed (`tl.trans`, `.T`, `tl.permute`) is compared on the axes where it
      lands; when its value is moved otherwise (a reshape, a split), only a constant shift of
      the same vectors is a difference.
    - A remapped index (`offs // W`, `tl.where(...)`, `tl.minimum(...)`: pads, upsampling,
      rolls), an index loaded from memory (a gather) or a join of bindings is not known.
    - A constant shift is another offsets where the fused ops disagree: the same tensor is
      accessed with and without it (`q` at `offs` and `offs + HALF`), or the member adds it
      while another input is read at the output's offsets (`q_ptr + offs + HALF` beside
      `k_ptr + offs`). A shift alone in a copy (`out + offs` from `x + offs - pad_left`, a
      diagonal from `a + i0 + offs`, a slice into `kv_cache + kv_lora_rank + idx`) is where a
      view starts, not a second indexing of fused ops."""
    canon = canon_of(kernel)
    mine, theirs = member.offsets, output.offsets
    extra = Counter(set(mine.tile) - set(theirs.tile)) + (mine.shift - theirs.shift)
    missing = Counter(set(theirs.tile) - set(mine.tile)) + (theirs.shift - mine.shift)
    if not extra and not missing:
        return None
    if mine.shift == theirs.shift and all(_one_lane(canon, t) for t in set(mine.tile) ^ set(theirs.tile)):
        return None  # `tl.arange(0, XBLOCK)` launched with XBLOCK = 1 is one lane: a program term
    placement = _placement(kernel, member, output)
    if placement is None and set(mine.tile) != set(theirs.tile):
        return None  # its value reaches the store moved in a way not followed, by other vectors
    for term in list(extra) + list(missing):
        _, _, unknown, load = canon.facts(term)
        if unknown or load or canon.is_remap(term):
            return None
    if set(mine.tile) != set(theirs.tile):
        shifts = _shift_difference(kernel, member, output, placement)
        if shifts is None:
            return Difference(extra, missing, "tile")
        extra, missing = shifts  # the same vectors: only constants and program terms differ
        if not extra and not missing:
            return None
    if mine.base == theirs.base or group is None:
        return Difference(extra, missing, "shift")
    others = [m for m in group.members if m is not member and m is not output]
    if any(m.offsets.base == mine.base and _at_output_offsets(kernel, m, output) for m in others):
        return Difference(extra, missing, "shift")  # this tensor is also accessed unshifted
    if extra and any(m.access.kind == "load" and _at_output_offsets(kernel, m, output) for m in others):
        return Difference(extra, missing, "shift")  # another input is read at the output's offsets
    return None


def _one_lane(canon, term) -> bool:
    shape = canon.shape(term)
    return shape is not None and all(dim == 1 for dim in shape)


def _at_output_offsets(kernel: "Kernel", member: Member, output: Member) -> bool:
    if same_indexing(member.offsets, output.offsets):
        return True
    placement = _placement(kernel, member, output)
    return placement is not None and _shift_difference(kernel, member, output, placement) == (Counter(), Counter())


def _placement(kernel: "Kernel", member: Member, output: Member) -> tuple | None:
    """The output axis on which each axis of a load's value lands: the identity, unless the
    store's value moves elements (`tl.trans`, `.T`, `tl.permute`, a reshape); then where
    `landing_axes` follows it, None where it does not. Two stores write where they write:
    compared in place."""
    identity = tuple(range(len(output.shape)))
    if member.access.kind != "load" or not _moves_elements(kernel, output.access):
        return identity
    return landing_axes(kernel, member.access, output, full_rank=True)


def _moves_elements(kernel: "Kernel", store: "Access") -> bool:
    """Does a store's value come through an op that moves elements to other positions?"""
    return any(isinstance(item, tuple) and item[0] in ("call", "method") and item[1] in _REARRANGING | {"T"}
               for item in flows_into(kernel, store))


def _shift_difference(kernel: "Kernel", member: Member, output: Member, placement: tuple) -> tuple | None:
    """When each axis of `member` holds the index vector of the output's axis it lands on
    (`placement`), whatever program terms start them: the constants only the member adds and
    those only the output has (outside the vectors and inside them: `(offs_d + HALF)[None,
    :]`). None when an axis holds another vector, or moves by the program term the output has
    on another axis (a transposed read of a square tile)."""
    from fuselint.model.offsets import axis_vectors, outside_constants

    canon = canon_of(kernel)
    mine = axis_vectors(kernel, member.access, len(member.shape))
    theirs = axis_vectors(kernel, output.access, len(output.shape))
    constants, other_constants = outside_constants(kernel, member.access), outside_constants(kernel, output.access)
    if mine is None or theirs is None or constants is None or other_constants is None:
        return None

    def parts(vector: set) -> tuple[set, Counter, set]:
        tiles = {t for t in vector if canon.facts(t)[0]}
        static = Counter(t for t in vector if canon.is_static(t))
        return tiles, static, vector - tiles - set(static)

    landed = {placement[axis]: parts(vector) for axis, vector in mine.items() if axis < len(placement)}
    if len(landed) != len(mine):
        return None
    extra, missing = constants - other_constants, other_constants - constants
    for axis in set(landed) | set(theirs):
        tiles, static, programs = landed.get(axis, (set(), Counter(), set()))
        other_tiles, other_static, other_programs = parts(theirs.get(axis, set()))
        if tiles != other_tiles:
            return None
        elsewhere = set().union(*(parts(v)[2] for a, v in theirs.items() if a != axis))
        if programs & (elsewhere - other_programs):
            return None  # moves along this axis by the program term of another: transposed
        extra, missing = extra + (static - other_static), missing + (other_static - static)
    return extra, missing


# tl functions applied element by element: their tensor arguments broadcast to the result
_ELEMENTWISE = {"where", "maximum", "minimum", "exp", "exp2", "log", "log2", "sqrt", "sqrt_rn", "rsqrt", "abs",
                "sigmoid", "cast", "fma", "clamp", "erf", "cos", "sin", "div_rn", "fdiv", "floor", "ceil", "umulhi"}
_VALUE_METHODS = {"to", "cast"}


def landing_axes(kernel: "Kernel", operand: "Access", output: Member, full_rank: bool = False) -> tuple | None:
    """The output axis on which each axis of a broadcast operand's loaded value lands, on its
    way to the output's store: sliced (`s[:, None]`: axis 0), transposed (`tl.trans`,
    `tl.permute`, `.T`), or right-aligned by an element-wise op (a bare 1-D vector lands on
    the last axis). None when the value reaches the store on no such path (through a helper, a
    reshape, a dot), or on two paths that place it differently. `full_rank`: the loaded value
    has the output's rank (a fused member), and so has every value it flows into on the way
    (broadcasting never lowers a rank) when the model does not know their shapes."""
    store = output.access
    if store.value is None:
        return None
    canon = canon_of(kernel)
    found: set[tuple] = set()
    seen: set[tuple] = set()
    rank = len(output.shape)

    def rank_of(node, depth: int = 0) -> int | None:
        shape = kernel.shape_of(node)
        if shape is not None or depth > 20:
            return None if shape is None else len(shape)
        if isinstance(node, cst.Attribute) and node.attr.value == "T":
            return rank_of(node.value, depth + 1)
        if isinstance(node, cst.Subscript):
            return len(node.slice)
        parts = []
        if isinstance(node, cst.BinaryOperation):
            parts = [node.left, node.right]
        elif isinstance(node, cst.UnaryOperation):
            parts = [node.expression]
        elif isinstance(node, cst.Call):
            name = kernel.imports.tl_function(node.func)
            if name in ("trans", "permute"):
                parts = [a.value for a in node.args if a.keyword is None and not a.star][:1]
            elif name in _ELEMENTWISE or (name or "").startswith(("math.", "extra.")):
                parts = [a.value for a in node.args if a.keyword is None and not a.star]
            elif name is None and isinstance(node.func, cst.Attribute) and node.func.attr.value in _VALUE_METHODS | {"trans", "permute"}:
                parts = [node.func.value]
        ranks = [rank_of(part, depth + 1) for part in parts]
        return max(ranks) if ranks and None not in ranks else None

    def ranked(node, place: tuple) -> tuple | None:
        """`place` for an operand of an element-wise op: right-aligned by the node's rank."""
        rank = rank_of(node)
        if rank is None and full_rank:
            return place
        if rank is None or rank > len(place):
            return None
        return place[len(place) - rank:]

    def walk(node, place: tuple | None, depth: int = 0) -> None:
        if place is None or depth > 60 or (id(node), place) in seen:
            return
        seen.add((id(node), place))
        if node is operand.call:
            found.add(place)
        elif isinstance(node, cst.Name):
            reaching = canon.reaching(node.value, canon.flow.names.get(id(node)))
            for binding in reaching or ():
                if binding.kind == "assign" and binding.value is not None:
                    walk(binding.value, place, depth + 1)
                elif binding.kind == "aug" and isinstance(binding.node, cst.AugAssign):
                    walk(binding.value, ranked(binding.value, place), depth + 1)
                    before = canon.reaching(node.value, canon.flow.begun.get(id(binding.node)))
                    for earlier in before or ():
                        if earlier.kind == "assign" and earlier.value is not None:
                            walk(earlier.value, place, depth + 1)
        elif isinstance(node, cst.BinaryOperation):
            for side in (node.left, node.right):
                walk(side, ranked(side, place), depth + 1)
        elif isinstance(node, cst.UnaryOperation):
            walk(node.expression, place, depth + 1)
        elif isinstance(node, cst.IfExp):
            walk(node.body, place, depth + 1)
            walk(node.orelse, place, depth + 1)
        elif isinstance(node, cst.Subscript):
            kept = []
            for position, element in enumerate(node.slice):
                index = element.slice
                if isinstance(index, cst.Slice) and index.lower is index.upper is index.step is None:
                    kept.append(position)
                elif not (isinstance(index, cst.Index) and isinstance(index.value, cst.Name) and index.value.value == "None"):
                    return  # an integer or a range: not the whole tile
            if len(node.slice) == len(place):
                walk(node.value, tuple(place[i] for i in kept), depth + 1)
        elif isinstance(node, cst.Attribute) and node.attr.value == "T":
            walk(node.value, tuple(reversed(place)), depth + 1)
        elif isinstance(node, cst.Call):
            name = kernel.imports.tl_function(node.func)
            args = [a.value for a in node.args if a.keyword is None and not a.star]
            method = node.func.attr.value if name is None and isinstance(node.func, cst.Attribute) else None
            if name in ("trans", "permute") or method in ("trans", "permute"):
                value, dims = (args[0], node.args[1:]) if name is not None and args else (node.func.value, node.args)
                order = _dims(dims, len(place))
                if order is not None:  # result axis i is the value's axis order[i]
                    walk(value, tuple(place[order.index(axis)] for axis in range(len(place))), depth + 1)
            elif name == "broadcast_to" and args:
                walk(args[0], ranked(args[0], place), depth + 1)
            elif name is not None and (name in _ELEMENTWISE or name.startswith(("math.", "extra."))):
                for arg in args:
                    walk(arg, ranked(arg, place), depth + 1)
            elif name is None and isinstance(node.func, cst.Attribute) and node.func.attr.value in _VALUE_METHODS:
                walk(node.func.value, place, depth + 1)

    walk(store.value, ranked(store.value, tuple(range(rank))))
    return found.pop() if len(found) == 1 else None


def _dims(args, rank: int) -> list[int] | None:
    """The permutation of `tl.trans(x, 1, 0)`, `tl.permute(x, (1, 0))`, `x.permute(...)`, `dims=...`;
    reversed axes for a bare 2-D `tl.trans(x)`; None when not a permutation of literal axes."""
    values = [a.value for a in args if not a.star]
    if len(values) == 1 and isinstance(values[0], (cst.Tuple, cst.List)):
        values = [e.value for e in values[0].elements]
    if not values:
        return [1, 0] if rank == 2 else None
    if not all(isinstance(v, cst.Integer) for v in values):
        return None
    order = [int(v.evaluated_value) for v in values]
    return order if sorted(order) == list(range(rank)) else None


def foreign_vectors(kernel: "Kernel", operand: Member, output: Member) -> list | None:
    """The index vectors of a broadcast operand that are not the output's on the axis where
    the operand's value lands (`landing_axes`: `s[:, None]` on axis 0, a bare vector on the
    last; a size-1 axis has none), as (output axis, vector, the output's vector there). None
    when every vector is the output's, one is not known (remapped, loaded, a join of bindings),
    or where the value lands is not known."""
    from fuselint.model.offsets import axis_vectors

    canon = canon_of(kernel)
    mine = axis_vectors(kernel, operand.access, len(operand.shape))
    theirs = axis_vectors(kernel, output.access, len(output.shape))
    landing = landing_axes(kernel, operand.access, output)
    if mine is None or theirs is None or landing is None:
        return None
    programs = set(operand.offsets.program)  # where the operand's vectors or rows start
    foreign = []
    for axis, vector in mine.items():
        if operand.shape[axis] == 1:
            continue
        other = theirs.get(landing[axis])
        for term in vector | (other or set()):
            _, _, unknown, load = canon.facts(term)
            if unknown or load or canon.is_remap(term):
                return None
        tiles = {t for t in vector if canon.facts(t)[0]}

        def same(other: set | None) -> bool:
            # the same tile vector, starting where the output's starts (its program terms are
            # among the operand's; the operand's other program terms choose its row)
            if other is None:
                return False
            other_tiles = {t for t in other if canon.facts(t)[0]}
            return tiles == other_tiles and (other - other_tiles) <= (programs | vector)

        if not same(other):
            foreign.append((landing[axis], vector, other))
    return foreign or None


def is_broadcast_member(member: Offsets, output: Offsets) -> bool:
    """Same tile and shift terms, a strict subset of the output's program terms."""
    return (member.tile == output.tile and member.shift == output.shift and not (member.program - output.program)
            and member.program != output.program)


# --- kernel kinds --------------------------------------------------------------------------------

# Python builtins Triton accepts in a kernel: never a helper of the module
HOST_BUILTINS = {"range", "min", "max", "len", "int", "float", "abs", "print", "isinstance", "getattr"}


# ops that move elements to other positions: a kernel using one is not element-wise
_REARRANGING = {"trans", "permute", "reshape", "view", "flip", "gather", "join", "split", "interleave", "cat"}


def access_kinds(kernel: "Kernel", depth: int = 0) -> set[str]:
    """load / store / atomic_*: the memory accesses of the kernel and of the helpers it calls."""
    kinds = {a.kind for a in kernel.accesses}
    for call, _ in kernel.other_calls:
        helper = kernel.module.callee(kernel, call.func.value) if isinstance(call.func, cst.Name) else None
        if helper is not None and helper is not kernel and depth < 4:
            kinds |= access_kinds(helper, depth + 1)
    return kinds


def elementwise(kernel: "Kernel", depth: int = 0) -> bool | None:
    """True for an element-wise kernel: no tl.dot, no reduction or scan, no op that moves
    elements (`tl.trans`, `tl.reshape`, `tl.flip`, `tl.gather`, ...), no atomic (a reduction
    across programs), no loop; None when it calls a function the module does not define
    (unknown). Helpers are the ones the kernel's own scope sees."""
    if kernel.loops or any(c.name in DOTS | REDUCTIONS | _REARRANGING for c in kernel.tl_calls):
        return False
    if any(a.kind.startswith("atomic") for a in kernel.accesses):
        return False
    for call, _ in kernel.other_calls:
        func = call.func
        if isinstance(func, cst.Attribute) and kernel.imports.qualname(func) is None:
            if func.attr.value in REDUCTIONS | _REARRANGING:  # x.sum(1), x.reshape(...)
                return False
            continue
        if isinstance(func, cst.Name) and func.value in HOST_BUILTINS:
            continue
        helper = kernel.module.callee(kernel, func.value) if isinstance(func, cst.Name) else None
        if helper is None or helper is kernel or depth > 4:
            return None
        inner = elementwise(helper, depth + 1)
        if inner is not True:
            return inner
    return True


class _ValueReturns(Walker):
    def __init__(self) -> None:
        self.found = False

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_Lambda(self, node) -> bool:
        return False

    def visit_Return(self, node: cst.Return) -> None:
        self.found = self.found or node.value is not None


@once_per_owner
def device_function(kernel: "Kernel") -> bool:
    """A @triton.jit function that runs inside other kernels' programs, not on a grid of its
    own: not launched in its module, and it returns a value (a kernel cannot) or another
    kernel of the module calls it."""
    if kernel.launches:
        return False
    returns = _ValueReturns()
    returns.walk(kernel.node.body)
    return returns.found or bool(kernel.module.callers_of(kernel))


def program_axes(kernel: "Kernel") -> list[tuple[int | None, cst.Call]]:
    """Every tl.program_id call with its axis (None when not a literal)."""
    axes = []
    for tl_call in kernel.calls("program_id"):
        args = tl_call.call.args
        axis = args[0].value if args else None
        if axis is None:
            axes.append((0, tl_call.call))
        elif isinstance(axis, cst.Integer):
            axes.append((int(axis.evaluated_value), tl_call.call))
        else:
            values = {v.value for v in kernel.values_of(axis)}
            axes.append((values.pop() if len(values) == 1 else None, tl_call.call))
    return axes


# --- launches ----------------------------------------------------------------------------------

def grid_dimension_is_argument(module, launch, kernel, axis: int, param: str) -> bool:
    """Is grid dimension `axis` of this launch exactly the argument it passes for `param`?"""
    dims = grid_dimensions(module, launch)
    argument = launch.argument_for(kernel, param)
    if dims is None or argument is None or axis >= len(dims):
        return False
    dim, scope = dims[axis]
    if code_of(dim) != code_of(argument):
        return False
    if scope is not launch.scope:  # a grid function: its names must be the launcher's
        own = set(scope.assignments) | scope.params()
        if set(names_in(dim)) & own:
            return False
    return True
