"""The range of every index expression of a kernel, and whether an access stays inside the
extent that bounds each of its index vectors.

A bound is a polynomial over symbols (`Lin`): kernel parameters (`n`, `BLOCK`), and symbols
derived at the launch site: `⌈n/BLOCK⌉` for a grid dimension `triton.cdiv(n, BLOCK)` or a loop
`range(0, n, BLOCK)`, whose product with `BLOCK` lies in `[n, n + BLOCK - 1]`, and a block
`triton.next_power_of_2(n)`, which lies in `[n, 2n - 1]`. A range holds any number of lower and
upper bounds, each valid (`tl.minimum(a, b)` is below both `a`'s and `b`'s bounds); none is
unknown.

Ranges come from the canonical keys of `offsets.py` (names inlined, casts and hints removed):
`tl.arange(0, B)` is `[0, B - 1]`; `tl.program_id(a)` is `[0, G - 1]` with `G` the launch's grid
dimension `a` (every launch must agree); a loop variable of `range(s, e, step)` is
`[s, s + (⌈(e - s)/step⌉ - 1) * step]`; `+`, `-`, products with a non-negative factor, `%`,
`tl.minimum`, `tl.maximum`, `tl.where`, `tl.clamp` combine them. Each access adds the facts of
its mask and of the `if` tests that enclose it (and `if ...: return` before it): a conjunct
`v + c < n` bounds the varying terms `v` by `n - c - 1`, per axis (`[:, None]` and `[None, :]`
are dropped: the axis is the vector's own).

The **extents** of a kernel are the bounds its own code states for an index vector: a boundary
conjunct `v < n` anywhere (a mask, a named mask, a `tl.where` condition), the grid
`triton.cdiv(n, B)` for `pid * B + tl.arange(0, B)`, a loop `range(0, n, B)` for
`k + tl.arange(0, B)`. `judge(access, extent)` says whether the access's vector stays below the
extent (`proven`), can pass it for some sizes (`passes`), or neither can be shown (`unknown`,
never a finding).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from fuselint.model.block_pointers import axis_vectors, block_pointer_of, checked_axes
from fuselint.model.launch_sizes import HOST, evaluate_lin, launch_bindings
from fuselint.model.memo import once_per_owner
from fuselint.model.offsets import (
    Key, _bag, _negate, _terms, bag_items, base_params, base_term, canon_of, conjuncts, exclusive, offsets_of,
    range_arguments, render, without_slices,
)
from fuselint.model.source import code_of
from fuselint.model.walk import Walker, names_in
from fuselint.model.witness import below_zero_witness, overrun_witness, witness_text

if TYPE_CHECKING:
    from fuselint.findings import Witness
    from fuselint.model.kernel import Access, Kernel

_MAX_BOUNDS = 6
# Names of constexpr flags that say the sizes divide the blocks (the EVEN pattern).
_DIVISIBILITY_WORDS = ("EVEN", "DIVIS", "MULTIPLE", "ALIGN", "NO_TAIL", "MASK", "PAD", "BOUND", "UNEVEN", "CHECK")


# --- polynomials -----------------------------------------------------------------------------------

class Lin:
    """A polynomial with integer coefficients: monomial (sorted tuple of symbols) -> coefficient."""

    __slots__ = ("terms",)

    def __init__(self, terms=None) -> None:
        self.terms: dict[tuple, int] = {m: c for m, c in (terms or {}).items() if c}

    @staticmethod
    def const(value: int) -> "Lin":
        return Lin({(): value})

    @staticmethod
    def sym(name: str) -> "Lin":
        return Lin({(name,): 1})

    def __add__(self, other: "Lin") -> "Lin":
        terms = dict(self.terms)
        for m, c in other.terms.items():
            terms[m] = terms.get(m, 0) + c
        return Lin(terms)

    def __neg__(self) -> "Lin":
        return Lin({m: -c for m, c in self.terms.items()})

    def __sub__(self, other: "Lin") -> "Lin":
        return self + (-other)

    def __mul__(self, other: "Lin") -> "Lin":
        terms: dict[tuple, int] = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in other.terms.items():
                m = tuple(sorted(m1 + m2))
                terms[m] = terms.get(m, 0) + c1 * c2
        return Lin(terms)

    def __eq__(self, other) -> bool:
        return isinstance(other, Lin) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(frozenset(self.terms.items()))

    @property
    def constant(self) -> int | None:
        """The value, when the polynomial has no symbol."""
        if all(m == () for m in self.terms):
            return self.terms.get((), 0)
        return None

    def symbols(self) -> set[str]:
        return {s for m in self.terms for s in m}

    def text(self) -> str:
        if not self.terms:
            return "0"
        parts = []
        for m, c in sorted(self.terms.items(), key=lambda item: (-len(item[0]), item[0])):
            body = " * ".join(m)
            if not body:
                parts.append((c < 0, str(abs(c))))
            else:
                parts.append((c < 0, body if abs(c) == 1 else f"{abs(c)} * {body}"))
        text = ("-" if parts[0][0] else "") + parts[0][1]
        for negative, part in parts[1:]:
            text += (" - " if negative else " + ") + part
        return text


@dataclass(frozen=True)
class Range:
    lo: tuple = ()
    hi: tuple = ()

    def __add__(self, other: "Range") -> "Range":
        return Range(_cross(self.lo, other.lo), _cross(self.hi, other.hi))

    def __neg__(self) -> "Range":
        return Range(tuple(-h for h in self.hi), tuple(-lo for lo in self.lo))

    def meet(self, other: "Range") -> "Range":
        return Range(_unique(self.lo + other.lo), _unique(self.hi + other.hi))

    def text(self) -> str:
        lo = " / ".join(b.text() for b in self.lo) or "?"
        hi = " / ".join(b.text() for b in self.hi) or "?"
        return f"[{lo}, {hi}]"


def _unique(bounds) -> tuple:
    out = []
    for b in bounds:
        if b not in out:
            out.append(b)
    return tuple(out[:_MAX_BOUNDS])


def _cross(a: tuple, b: tuple) -> tuple:
    return _unique(x + y for x in a for y in b)


UNKNOWN = Range()


def point(value: Lin) -> Range:
    return Range((value,), (value,))


# --- symbols and their facts ------------------------------------------------------------------------

def _host_says_multiple(n: cst.BaseExpression, b: cst.BaseExpression, launch) -> bool:
    """Does the launching code make `n % b == 0` (`if n % B: raise`, an assert, an enclosing
    `if`; for `x.numel()`, of one of x's dimensions), or is it so by construction
    (`x.numel() // x.shape[-1]`)?"""
    from fuselint.model.divisibility import (checked_multiple, checked_multiples, exact_by_construction, form,
                                            numel_multiple, product_key)

    scope = launch.scope
    b = _meta_argument(b, launch)
    if exact_by_construction(n, b, scope):
        return True
    key, checked = product_key([b], scope), checked_multiples(launch)
    if checked_multiple(form(n, scope), key, checked) or numel_multiple(n, key, checked, scope):
        return True
    dim = _shape_item(n)
    return dim is not None and _padded_to_multiple(launch.kernel.module, dim[0], dim[1], b, scope, 0)


def _shape_item(node: cst.BaseExpression) -> tuple[cst.BaseExpression, int] | None:
    """(t, d) of `t.shape[d]` with a literal d."""
    if (isinstance(node, cst.Subscript) and isinstance(node.value, cst.Attribute) and node.value.attr.value == "shape"
            and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index)):
        index = node.slice[0].slice.value
        if isinstance(index, cst.Integer):
            return node.value.value, index.evaluated_value
        if isinstance(index, cst.UnaryOperation) and isinstance(index.operator, cst.Minus) and isinstance(index.expression, cst.Integer):
            return node.value.value, -index.expression.evaluated_value
    return None


def _padded_to_multiple(module, t: cst.BaseExpression, d: int, b: cst.BaseExpression, scope, depth: int) -> bool:
    """Is tensor `t` padded along dimension `d` to a multiple of `b` before it gets here:
    `F.pad(t0, [..., 0, pad, ...])` whose pair for `d` adds a round-up of `t0.shape[d]` to `b`
    (`b - (n & (b - 1))`, `(b - n % b) % b`, `-n % b`), also where `t` is a parameter of a
    private function (`_name`) that every call in the module passes such a tensor (and `b`
    follows the call). A pad list is read as covering every dimension of the tensor."""
    from fuselint.model.module import call_argument

    if depth > 4:
        return False
    if isinstance(t, cst.Name):
        values = scope.assignments.get(t.value)
        if values is not None:
            return len(values) == 1 and values[0] is not None and _padded_to_multiple(module, values[0], d, b, scope, depth + 1)
        found = private_calls(module, scope) if t.value in scope.params() else None
        if found is None:
            return False
        names, calls = found
        return bool(calls) and all(
            (arg := call_argument(call, names, t.value)) is not None
            and (block := call_argument(call, names, b.value) if isinstance(b, cst.Name) and b.value in names else b) is not None
            and _padded_to_multiple(module, arg, d, block, caller.scope, depth + 1)
            for caller, call in calls)
    if not (isinstance(t, cst.Call) and isinstance(t.func, (cst.Attribute, cst.Name))
            and (t.func.attr.value if isinstance(t.func, cst.Attribute) else t.func.value) == "pad"):
        return False
    args = [a.value for a in t.args if a.keyword is None]
    if len(args) < 2 or not isinstance(args[1], (cst.List, cst.Tuple)):
        return False
    pads = [e.value for e in args[1].elements]
    pair = (len(pads) // 2 - 1 - d) if d >= 0 else (-d - 1)
    if not 0 <= pair < len(pads) // 2:
        return False
    added = pads[2 * pair + 1]
    if isinstance(added, cst.Name):
        added = scope.single(added.value)
    if added is None or code_of(pads[2 * pair]) != "0":
        return False
    n, block = f"{code_of(args[0])}.shape[{d}]", code_of(b).replace(" ", "")
    text = code_of(added).replace(" ", "").replace(n.replace(" ", ""), "n")
    return text in (f"{block}-(n&({block}-1))", f"({block}-n%{block})%{block}", f"-n%{block}")


def _meta_key(node: cst.BaseExpression) -> str | None:
    """"BLOCK" of `meta["BLOCK"]`, a grid function's reading of a launch argument."""
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        key = node.slice[0].slice.value
        if isinstance(key, cst.SimpleString):
            return key.evaluated_value
    return None


def _meta_argument(node: cst.BaseExpression, launch) -> cst.BaseExpression:
    """What the launch passes for `meta["BLOCK"]` in a grid function (the expression itself
    when it is not such a subscript, or BLOCK is not passed at the launch)."""
    key = _meta_key(node)
    passed = launch.argument_for(launch.kernel, key) if key is not None else None
    return node if passed is None else passed


def _host_size(name: str, scope) -> bool:
    """Is `name` a size of the host that the model cannot evaluate: a parameter of the launching
    function, or unpacked from a shape (`M, N = x.shape`)?"""
    if name in scope.unpacked:
        value, _ = scope.unpacked[name]
        return isinstance(value, cst.Attribute) and value.attr.value == "shape"
    return name in scope.params() and name not in scope.assignments


def _size_query(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value in ("numel", "size") and len(node.args) <= 1
    return (isinstance(node, cst.Subscript) and isinstance(node.value, cst.Attribute)
            and node.value.attr.value == "shape")


def _exact_quotient(n: Lin, b: Lin) -> "Lin | None":
    """`n / b` where `b` divides every term of `n` (a constant dividing every coefficient, or
    one symbol with coefficient 1 found in every monomial); None otherwise."""
    if b.constant is not None:
        if b.constant > 0 and all(c % b.constant == 0 for c in n.terms.values()):
            return Lin({m: c // b.constant for m, c in n.terms.items()})
        return None
    if len(b.terms) != 1:
        return None
    (monomial, coefficient), = b.terms.items()
    if coefficient != 1 or len(monomial) != 1 or not n.terms:
        return None
    out = {}
    for m, c in n.terms.items():
        if monomial[0] not in m:
            return None
        rest = list(m)
        rest.remove(monomial[0])
        out[tuple(rest)] = c
    return Lin(out)


@dataclass
class Symbols:
    """What is known of the symbols of one kernel's bounds."""

    cdiv: dict = field(default_factory=dict)  # symbol -> (n: Lin, b: Lin): ⌈n/b⌉
    floor: dict = field(default_factory=dict)  # symbol -> (n: Lin, b: Lin): ⌊n/b⌋, a grid of whole tiles
    npo2: dict = field(default_factory=dict)  # symbol -> n: Lin: next_power_of_2(n)
    minimum: dict = field(default_factory=dict)  # symbol -> least value it takes (default 1)

    def cdiv_symbol(self, n: Lin, b: Lin) -> Lin:
        if b.constant == 1:
            return n
        exact = _exact_quotient(n, b)
        if exact is not None:
            return exact  # cdiv(4096, 128) is 32, cdiv(pid * B, B) is pid: no tail to bound
        name = f"cdiv({n.text()}, {b.text()})"
        self.cdiv[name] = (n, b)
        return Lin.sym(name)

    def floor_symbol(self, n: Lin, b: Lin) -> Lin:
        exact = _exact_quotient(n, b)
        if exact is not None:
            return exact
        name = f"floor({n.text()}, {b.text()})"
        self.floor[name] = (n, b)
        return Lin.sym(name)

    def _expand(self, value: Lin, tail: bool) -> Lin:
        """`value` as small as the derived symbols let it be, each replaced by a bound:
        `⌈n/b⌉ * b` lies in `[n, n + b - 1]` (the top reached when n % b == 1), `⌊n/b⌋ * b` in
        `[n - b + 1, n]`, a next power of
        two of n in `[n, 2n - 1]`. With `tail`, a next power of two takes `n + 1`, a value it
        reaches (n = 3), instead of the bound `2n - 1` that it may never reach together with
        the other symbols' values."""
        out = Lin()
        for monomial, coefficient in value.terms.items():
            term = Lin({monomial: coefficient})
            up = coefficient < 0  # a negative term is smallest where its symbol is largest
            replaced = False
            for symbol in monomial:
                if symbol in self.cdiv or symbol in self.floor:
                    n, b = self.cdiv[symbol] if symbol in self.cdiv else self.floor[symbol]
                    rest = list(monomial)
                    rest.remove(symbol)
                    if b.constant is not None and b.constant > 0 and coefficient % b.constant == 0:
                        others = Lin({tuple(rest): coefficient // b.constant})
                    elif len(b.terms) == 1 and b.constant is None and all(rest.count(x) >= next(iter(b.terms)).count(x) for x in next(iter(b.terms))):
                        (bm, bc), = b.terms.items()
                        for x in bm:
                            rest.remove(x)
                        if coefficient % bc:
                            continue
                        others = Lin({tuple(rest): coefficient // bc})
                    else:
                        continue
                    if symbol in self.cdiv:
                        product = (n + b - Lin.const(1)) if up else n
                    else:
                        product = n if up else n - b + Lin.const(1)
                    term = others * product
                    replaced = True
                    break
                if symbol in self.npo2:
                    rest = list(monomial)
                    rest.remove(symbol)
                    n = self.npo2[symbol]
                    bound = (n + Lin.const(1) if tail else n + n - Lin.const(1)) if up else n
                    term = Lin({tuple(rest): coefficient}) * bound
                    replaced = True
                    break
            out = out + (self._expand(term, tail) if replaced else term)
        return out

    def proven_nonnegative(self, value: Lin) -> bool:
        """Is `value >= 0` for every size (symbols are sizes, strides, blocks: >= 0)?"""
        low = self._expand(value, False)
        return all(c >= 0 for c in low.terms.values())

    def can_be_negative(self, value: Lin) -> bool:
        """Is `value < 0` for the tail case of every size: after the derived symbols take their
        tail values, no symbol can raise it, and at the symbols' least values it is negative."""
        high = self._expand(value, True)
        if any(c > 0 for m, c in high.terms.items() if m):
            return False
        total = 0
        for monomial, coefficient in high.terms.items():
            product = coefficient
            for symbol in monomial:
                product *= self.minimum.get(symbol, 1)
            total += product
        return total < 0


# --- the range model of one kernel -----------------------------------------------------------------

@dataclass(frozen=True)
class Extent:
    """A bound the kernel states for an index vector: `vector < bound`."""

    vector: Key  # a canonical key, subscripts dropped
    bound: Lin
    how: str  # "the mask of tl.store(`out + offs`)", "the grid `triton.cdiv(n, BLOCK)`"
    node: cst.CSTNode | None  # where it is written (for messages and --explain)
    named: str | None = None  # the name of a mask binding that states it
    site: cst.CSTNode | None = None  # a call or name at the statement, for `exclusive`


@dataclass
class Verdict:
    kind: str  # "proven", "passes", "unknown"
    range: Range
    reach: Lin | None = None  # the highest (or lowest) offset, for messages
    below: bool = False  # the vector passes below zero (FL405), not above the extent
    stated: bool = False  # it passes because a mask elsewhere says it can, not by its range


class RangeModel:
    """Ranges of one kernel's index expressions (built once per kernel: `ranges_of(kernel)`)."""

    def __init__(self, kernel: "Kernel") -> None:
        self.kernel = kernel
        self.canon = canon_of(kernel)
        self.symbols = Symbols()
        self._memo: dict = {}
        self._no_facts: dict = {}
        self._fact_tables: dict = {}
        self._grid: dict = {}
        self._params: dict[str, Range] = {}
        self._loops = {id(loop.node): loop for loop in kernel.loops}
        self.guards = _guards(kernel)
        self.arange_ends = {
            c.call.args[1].value.value for c in kernel.calls("arange")
            if len(c.call.args) > 1 and isinstance(c.call.args[1].value, cst.Name)
        } | {
            c.call.args[0].value.value for c in kernel.calls("arange")
            if len(c.call.args) == 1 and isinstance(c.call.args[0].value, cst.Name)
        }
        self._extents: list[Extent] | None = None
        self._loop_extents: list[Extent] = []
        self.extents_by_vector: dict[frozenset, list[Extent]] = {}  # see _extents_of
        self._facts_tables: dict[tuple, dict] = {}  # see facts_of
        self._assumed = _assumed_values(kernel)

    # --- symbols of parameters and launches ------------------------------------------------------
    def param(self, name: str) -> Range:
        found = self._params.get(name)
        if found is None:
            found = self._param(name)
            self._params[name] = found
        return found

    def _param(self, name: str) -> Range:
        kernel = self.kernel
        if name in self._assumed:
            return point(Lin.const(self._assumed[name]))
        param = kernel.param(name)
        if param is not None and param.constexpr:
            values = {v.value for v in kernel.values_of(cst.Name(name))}
            ints = {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
            if len(values) == 1 and len(ints) == 1:
                return point(Lin.const(ints.pop()))
            if ints and len(ints) == len(values):
                self.symbols.minimum[name] = min(ints)
            elif name in self.arange_ends:
                self.symbols.minimum[name] = 2  # a tile of one element has no tail
            npo2 = self._npo2_argument(name)
            if npo2 is not None:
                self.symbols.npo2[name] = npo2
        return point(Lin.sym(name))

    def _npo2_argument(self, name: str) -> Lin | None:
        """`n` when every launch passes `triton.next_power_of_2(n)` to this parameter."""
        found = None
        launches = self.kernel.launches
        for launch in launches:
            arg = launch.argument_for(self.kernel, name)
            arg = _resolved(arg, launch.scope)
            if not (isinstance(arg, cst.Call) and (self.kernel.imports.qualname(arg.func) or "").endswith("next_power_of_2")
                    and arg.args):
                return None
            n = self.host(arg.args[0].value, launch)
            if n is None or (found is not None and n != found):
                return None
            found = n
        return found

    def host(self, node: cst.BaseExpression | None, launch, depth: int = 0) -> Lin | None:
        """A host expression at a launch as a polynomial over the kernel's parameters: an
        argument passed to a parameter is that parameter, `meta["BLOCK"]` is `BLOCK`."""
        if node is None or depth > 8:
            return None
        kernel = self.kernel
        text = code_of(node).replace(" ", "")
        for param in kernel.params:
            arg = launch.argument_for(kernel, param.name)
            if arg is not None and code_of(arg).replace(" ", "") == text:
                rng = self.param(param.name)
                return rng.hi[0] if rng.hi else None
        if isinstance(node, cst.Integer):
            return Lin.const(node.evaluated_value)
        key = _meta_key(node)
        if key is not None and kernel.param(key) is not None:
            rng = self.param(key)
            return rng.hi[0] if rng.hi else None
        if isinstance(node, cst.Name):
            bound = launch.scope.value_at(node.value, launch.call)
            if bound is None:  # a wrapper's parameter, `M, N = x.shape`: a size the kernel never sees
                return Lin.sym(node.value + HOST) if _host_size(node.value, launch.scope) else None
            return self.host(bound, launch, depth + 1)
        if _size_query(node):  # `x.numel()`, `x.shape[0]`, `x.size(0)`
            return Lin.sym(code_of(node) + HOST)
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.FloorDivide):
                left = node.left
                b = self.host(node.right, launch, depth + 1)
                whole = self.host(left, launch, depth + 1) if b is not None else None
                rounded_up = isinstance(left, cst.BinaryOperation) and isinstance(left.operator, cst.Add)
                if whole is None and b is not None and not rounded_up:
                    # a host size the kernel never sees (`q_len // B`): only its whole tiles matter
                    return self.symbols.floor_symbol(Lin.sym(f"{code_of(left)} (host)"), b)
                if whole is None:
                    return None
                if rounded_up:  # (n + b - 1) // b
                    n = whole - b + Lin.const(1)
                    return self.symbols.cdiv_symbol(n, b)
                return self.symbols.floor_symbol(whole, b)  # `n // B` programs: whole tiles only
            a, b = self.host(node.left, launch, depth + 1), self.host(node.right, launch, depth + 1)
            if a is None or b is None:
                return None
            if isinstance(node.operator, cst.Add):
                return a + b
            if isinstance(node.operator, cst.Subtract):
                return a - b
            if isinstance(node.operator, cst.Multiply):
                return a * b
            return None
        if isinstance(node, cst.Call):
            name = kernel.imports.qualname(node.func) or ""
            args = [a.value for a in node.args if a.keyword is None]
            if name.endswith("cdiv") and len(args) == 2:
                n, b = self.host(args[0], launch, depth + 1), self.host(args[1], launch, depth + 1)
                if n is None or b is None:
                    return None
                if _host_says_multiple(args[0], args[1], launch):  # no tail: whole tiles
                    return self.symbols.floor_symbol(n, b)
                return self.symbols.cdiv_symbol(n, b)
            if isinstance(node.func, cst.Name) and node.func.value == "int" and len(args) == 1:
                return self.host(args[0], launch, depth + 1)
            if name == "math.ceil" and len(args) == 1 and isinstance(args[0], cst.BinaryOperation) \
                    and isinstance(args[0].operator, cst.Divide):  # `math.ceil(n / b)` is cdiv(n, b)
                n, b = self.host(args[0].left, launch, depth + 1), self.host(args[0].right, launch, depth + 1)
                return None if n is None or b is None else self.symbols.cdiv_symbol(n, b)
        return None

    def passed(self, name: str) -> Lin | None:
        """What every launch passes to parameter `name`, as a host polynomial
        (`seqlen_q_rounded = math.ceil(seqlen_q / 128) * 128` is `128 * cdiv(seqlen_q, 128)`);
        None when it is not known or the launches differ."""
        found = None
        for launch in self.kernel.launches:
            node = launch.argument_for(self.kernel, name)
            if isinstance(node, cst.Name):
                node = launch.scope.value_at(node.value, launch.call)
            value = self.host(node, launch)
            if value is None or (found is not None and value != found):
                return None
            found = value
        return found

    def grid(self, axis: int) -> Lin | None:
        """Grid dimension `axis`, the same at every launch; None when not known."""
        if axis in self._grid:
            return self._grid[axis]
        from fuselint.model.grid import grid_dimensions

        found = None
        launches = self.kernel.launches
        for launch in launches:
            dims = grid_dimensions(self.kernel.module, launch)
            if dims is None:
                found = None
                break
            if axis >= len(dims):
                value = Lin.const(1)
            else:
                node, scope = dims[axis]
                value = self.host(node, launch)
            if value is None or (found is not None and value != found):
                found = None
                break
            found = value
        self._grid[axis] = found
        return found

    # --- ranges of keys -------------------------------------------------------------------------
    def range_of(self, key: Key, facts: dict | None = None) -> Range:
        facts = facts if facts is not None else self._no_facts
        # memo per facts table; the table is kept with its memo so that its id stays its own
        _, memo = self._memo.setdefault(id(facts), (facts, {}))
        found = memo.get(key)
        if found is None:
            memo[key] = UNKNOWN
            found = self._range(without_slices(key), facts)
            memo[key] = found
        return found

    def _range(self, key: Key, facts: dict) -> Range:
        terms = _terms(key)
        result = self._plain(key, facts) if len(terms) == 1 else _sum(self.range_of(t, facts) for t in terms)
        bag = Counter(terms)
        for fact_key, fact in facts.items():
            fact_terms = Counter(fact_key)
            if fact_terms and not (fact_terms - bag):
                rest = list((bag - fact_terms).elements())
                result = result.meet(fact + _sum(self.range_of(t, facts) for t in rest))
        return result

    def _plain(self, key: Key, facts: dict) -> Range:
        kind = key[0]
        if kind == "const":
            value = key[1]
            if isinstance(value, bool) or not isinstance(value, int):
                return UNKNOWN
            return point(Lin.const(value))
        if kind == "param":
            param = self.kernel.param(key[1])
            if param is None:
                return UNKNOWN
            return self.param(key[1])
        if kind == "global":
            value = self.kernel.module.scope.single(key[1])
            if isinstance(value, cst.Integer):
                return point(Lin.const(value.evaluated_value))
            return UNKNOWN
        if kind == "arange":
            start, end = self.range_of(key[1], facts), self.range_of(key[2], facts)
            return Range(start.lo, tuple(h - Lin.const(1) for h in end.hi))
        if kind == "pid":
            axis = key[1][1] if key[1][0] == "const" else None
            grid = self.grid(axis) if isinstance(axis, int) else None
            return Range((Lin.const(0),), () if grid is None else (grid - Lin.const(1),))
        if kind == "nprog":
            axis = key[1][1] if key[1][0] == "const" else None
            grid = self.grid(axis) if isinstance(axis, int) else None
            return UNKNOWN if grid is None else point(grid)
        if kind == "loop":
            return self._loop(key)
        if kind == "neg":
            return -self.range_of(key[1], facts)
        if kind == "prod":
            return self._product(bag_items(key), facts)
        if kind == "bin":
            return self._binary(key, facts)
        if kind == "call" and key[1] in ("minimum", "maximum") and len(key[2]) == 2:
            a, b = (self.range_of(k, facts) for k in key[2])
            if key[1] == "minimum":
                return Range(_common(self.symbols, a.lo, b.lo, low=True), _unique(a.hi + b.hi))
            return Range(_unique(a.lo + b.lo), _common(self.symbols, a.hi, b.hi, low=False))
        if kind == "call" and key[1] == "where" and len(key[2]) == 3:
            return self._select(key[2][0], key[2][1], key[2][2], facts)
        if kind == "if":
            return self._select(key[1], key[2], key[3], facts)
        if kind == "call" and key[1] == "clamp" and len(key[2]) == 3:
            x, lo, hi = (self.range_of(k, facts) for k in key[2])
            return Range(_unique(lo.lo + x.lo), _unique(hi.hi + x.hi))
        return UNKNOWN

    def _select(self, condition: Key, a: Key, b: Key, facts: dict) -> Range:
        """`tl.where(c, a, b)`: `a` where `c` holds, `b` where it fails; an arm whose lanes the
        facts already exclude (`tl.where(offs < n, offs, -1)` under the mask `offs < n`) adds
        nothing."""
        arms = []
        for arm, holds in ((a, True), (b, False)):
            if _never_holds(condition, holds):
                continue
            extra = self.facts_of(_holding(condition, holds))
            merged = dict(facts)
            for bag, rng in extra.items():
                merged[bag] = merged[bag].meet(rng) if bag in merged else rng
            if self._infeasible(merged) or (not holds and self._pinned(condition, facts)):
                continue
            key = tuple(sorted(merged.items(), key=repr))
            table = self._fact_tables.setdefault(repr(key), merged)
            arms.append(self.range_of(arm, table))
        if not arms:
            return UNKNOWN
        if len(arms) == 1:
            return arms[0]
        x, y = arms
        return Range(_common(self.symbols, x.lo, y.lo, low=True), _common(self.symbols, x.hi, y.hi, low=False))

    def _pinned(self, condition: Key, facts: dict) -> bool:
        """Do the facts already make `v == c` true on every kept lane (the mask is `v == c`)?"""
        key = without_slices(condition)
        if key[0] != "cmp" or key[1] != "==":
            return False
        a, b = self.range_of(key[2], facts), self.range_of(key[3], facts)
        if not (b.lo and b.lo == b.hi and len(b.lo) == 1):
            return False
        return b.lo[0] in a.lo and b.lo[0] in a.hi

    def _infeasible(self, facts: dict) -> bool:
        for rng in facts.values():
            for lo in rng.lo:
                for hi in rng.hi:
                    if self.symbols.proven_nonnegative(lo - hi - Lin.const(1)):
                        return True
        return False

    def loop_bounds(self, key: Key) -> tuple[Key, Key, Key] | None:
        """(start, end, step) keys of the `range(...)` a loop variable's key runs over."""
        loop = self._loops.get(key[2])
        bounds = range_arguments(self.kernel, loop.iter) if loop is not None else None
        if bounds is None:
            return None
        start, end, step = bounds
        return (self.canon.key(start) if start is not None else ("const", 0), self.canon.key(end),
                self.canon.key(step) if step is not None else ("const", 1))

    def _loop(self, key: Key) -> Range:
        bounds = self.loop_bounds(key)
        if bounds is None:
            return UNKNOWN
        start, end, step = (self.range_of(k) for k in bounds)
        if not (start.lo and start.hi and end.hi and step.hi) or start.lo != start.hi or step.lo != step.hi:
            return Range(start.lo, ())
        s, e, d = start.lo[0], end.hi[0], step.hi[0]
        if any(c < 0 for c in d.terms.values()) or (d.constant is not None and d.constant <= 0):
            return UNKNOWN  # a loop counting down: not modelled
        count = self.symbols.cdiv_symbol(e - s, d)
        return Range(start.lo, (s + (count - Lin.const(1)) * d,))

    def _product(self, factors: list[Key], facts: dict) -> Range:
        result = point(Lin.const(1))
        for factor in factors:
            r = self.range_of(factor, facts)
            if r.lo == r.hi and len(r.lo) == 1:
                # a fixed factor: a size, a stride, a block (non-negative) or a literal
                value = r.lo[0]
                if value.constant is not None and value.constant < 0:
                    result = Range(tuple(h * value for h in result.hi), tuple(lo * value for lo in result.lo))
                else:
                    result = Range(tuple(lo * value for lo in result.lo), tuple(h * value for h in result.hi))
            elif result.lo == result.hi and len(result.lo) == 1 and (result.lo[0].constant or 0) >= 0 and (
                    result.lo[0].constant is not None or not any(c < 0 for c in result.lo[0].terms.values())):
                value = result.lo[0]
                result = Range(tuple(lo * value for lo in r.lo), tuple(h * value for h in r.hi))
            elif _nonnegative(self.symbols, result.lo) and _nonnegative(self.symbols, r.lo):
                result = Range(_cross_mul(result.lo, r.lo), _cross_mul(result.hi, r.hi))
            else:
                return UNKNOWN
        return result

    def _binary(self, key: Key, facts: dict) -> Range:
        symbol, left, right = key[1], self.range_of(key[2], facts), self.range_of(key[3], facts)
        if symbol == "%" and right.lo == right.hi and len(right.hi) == 1:
            m = right.hi[0]
            top = m - Lin.const(1)
            if _nonnegative(self.symbols, left.lo):
                return Range((Lin.const(0),), _unique((top,) + left.hi))
            return Range((-top,), (top,))
        if symbol == "//" and right.lo == right.hi and len(right.hi) == 1 and right.hi[0].constant:
            d = right.hi[0].constant
            if d > 0 and _nonnegative(self.symbols, left.lo):
                hi = tuple(Lin({m: c // d for m, c in h.terms.items()}) for h in left.hi
                           if all(c % d == 0 for m, c in h.terms.items() if m))
                return Range((Lin.const(0),), hi)
        if symbol == "//" and right.lo == right.hi and len(right.hi) == 1 and _nonnegative(self.symbols, left.lo):
            # j // N with j <= M * N - 1 is at most M - 1
            hi = tuple(q - Lin.const(1) for h in left.hi if (q := _divide(h + Lin.const(1), right.hi[0])) is not None)
            return Range((Lin.const(0),), hi)
        if symbol in ("//", ">>") and _nonnegative(self.symbols, left.lo):
            return Range((Lin.const(0),), ())
        return UNKNOWN

    # --- facts from masks and guards ------------------------------------------------------------
    def facts_of(self, conjunct_keys) -> dict:
        """Bounds on sums of varying terms stated by comparisons that hold on the kept lanes;
        one table (never changed after) per list of conditions, so that accesses under the same
        mask and guards share `range_of`'s memo."""
        wanted = tuple(conjunct_keys)
        facts = self._facts_tables.get(wanted)
        if facts is None:
            facts = self._facts_tables[wanted] = self._facts_from(wanted)
        return facts

    def _facts_from(self, conjunct_keys) -> dict:
        facts: dict[tuple, Range] = {}
        for key in conjunct_keys:
            for term_bag, rng in self._fact(key):
                previous = facts.get(term_bag)
                facts[term_bag] = rng if previous is None else previous.meet(rng)
        return facts

    def _fact(self, key: Key, with_equality: bool = True) -> list:
        key = without_slices(key)
        if key[0] == "and":
            return [f for c in bag_items(key) for f in self._fact(c)]
        if key[0] == "not" and without_slices(key[1])[0] == "cmp":  # `~(v < 1)` is `v >= 1`
            return [f for c in _holding(without_slices(key[1]), False) for f in self._fact(c, with_equality)]
        if key[0] == "cmp" and key[1] == "!=" and with_equality:
            return self._unequal(key)
        if key[0] != "cmp" or key[1] not in ("<", "<=", "=="):
            return []
        if key[1] == "==" and not with_equality:
            return []
        op, a, b = key[1], key[2], key[3]
        varying, static = [], []
        for term in _terms(a):
            (static if self.canon.is_static(term) else varying).append(term)
        for term in _terms(b):
            negated = _negate(term)
            (static if self.canon.is_static(term) else varying).append(negated)
        if not varying:
            return []
        # varying + static  op  0
        rest = -_sum(self.range_of(t) for t in static) if static else point(Lin.const(0))
        if not (rest.lo == rest.hi and len(rest.hi) == 1):
            return []
        limit = rest.hi[0]
        found = []
        positive = all(t[0] != "neg" for t in varying)
        negative = all(t[0] == "neg" for t in varying)
        if positive:
            bag = tuple(sorted(varying, key=repr))
            if op == "<":
                found.append((bag, Range((), (limit - Lin.const(1),))))
            elif op == "<=":
                found.append((bag, Range((), (limit,))))
            else:
                found.append((bag, point(limit)))
        elif negative:
            bag = tuple(sorted((t[1] for t in varying), key=repr))
            if op == "<":
                found.append((bag, Range((-limit + Lin.const(1),), ())))
            elif op == "<=":
                found.append((bag, Range((-limit,), ())))
            else:
                found.append((bag, point(-limit)))
        return found + [fact for bag, rng in found for fact in _dividend_facts(bag, rng)]

    def _unequal(self, key: Key) -> list:
        """`v != c` where `c` is an end of `v`'s range moves that end by one (`offs != 0` with
        `offs` from 0 is `offs >= 1`)."""
        a, b = key[2], key[3]
        if self.canon.is_static(a):
            a, b = b, a
        if self.canon.is_static(a) or not self.canon.is_static(b):
            return []
        value, vector = self.range_of(b), self.range_of(a)
        if not (value.lo == value.hi and len(value.hi) == 1):
            return []
        c = value.hi[0]
        bag = tuple(sorted(_terms(without_slices(a)), key=repr))
        if c in vector.lo:
            return [(bag, Range((c + Lin.const(1),), ()))]
        if c in vector.hi:
            return [(bag, Range((), (c - Lin.const(1),)))]
        return []

    def kept_facts(self, access: "Access", with_mask: bool = True) -> tuple[dict, list[Key]]:
        """The facts that hold on the lanes an access keeps: its mask's conjuncts and its guards."""
        keys = list(self.guards.get(id(access.call), []))
        if with_mask and access.mask is not None:
            keys += [c.key for c in conjuncts(self.kernel, access.mask)]
        return self.facts_of(keys), keys

    # --- extents ---------------------------------------------------------------------------------
    def extents(self) -> list[Extent]:
        if self._extents is None:
            self._extents = self._find_extents()
        return self._extents

    def _find_extents(self) -> list[Extent]:
        from fuselint.model.offsets import access_text

        kernel, canon = self.kernel, self.canon
        found: list[Extent] = []

        def add(key: Key, how: str, node, named=None, site=None) -> None:
            for bag, rng in self._fact(key, with_equality=False):
                if rng.hi and canon.facts(_bag("sum", bag))[0]:
                    extent = Extent(_bag("sum", bag) if len(bag) > 1 else bag[0], rng.hi[0] + Lin.const(1),
                                    how, node, named, site)
                    # vectors that move with a loop variable are judged by their loop's tiling
                    # (structural extents); their masks only serve quotients (`j // N`)
                    (self._loop_extents if any(t[0] == "loop" for t in bag) else found).append(extent)

        for access in kernel.accesses:
            if access.mask is not None:
                for c in conjuncts(kernel, access.mask):
                    add(c.key, f"the mask of {access_text(kernel, access)}", c.node, site=access.call)
        for name, bindings in kernel.bindings.items():
            if len(bindings) != 1 or bindings[0].kind != "assign" or bindings[0].value is None:
                continue
            value = bindings[0].value
            if not _is_comparison(value):
                continue
            site = next(iter(_name_nodes(value)), None)
            for c in conjuncts(kernel, value):
                add(c.key, f"the mask `{name}`", c.node, named=name, site=site)
        for call in kernel.calls("where"):
            condition = call.call.args[0].value if call.call.args else None
            if condition is not None and _is_comparison(condition):
                for c in conjuncts(kernel, condition):
                    add(c.key, "a `tl.where` condition", c.node, site=call.call)
        return found

    def structural_extents(self, vector_terms: Counter) -> list[Extent]:
        """The grid's `cdiv(n, B)` for `pid * B + tl.arange(0, B)`, a loop's `range(0, n, B)`
        for `k + tl.arange(0, B)`: extents the launch or the loop states without a mask."""
        found = []
        for term in vector_terms:
            if term[0] == "arange":
                block = self.range_of(term[2])
                if not block.hi or self.range_of(term[1]).hi != (Lin.const(0),):
                    continue
                b = block.hi[0]
                others = vector_terms - Counter([term])
                if not others:
                    continue
                whole = self.range_of(_bag("sum", list(others.elements())) if sum(others.values()) > 1 else next(iter(others)))
                for hi in whole.hi:
                    for symbol, (n, d) in self.symbols.cdiv.items():
                        if d == b and hi == (Lin.sym(symbol) - Lin.const(1)) * b:
                            found.append(Extent(_bag("sum", list(vector_terms.elements())), n,
                                                f"the tiling `cdiv({n.text()}, {b.text()}) * {b.text()}`", None))
                    for symbol, (n, d) in self.symbols.floor.items():
                        if d == b and hi == (Lin.sym(symbol) - Lin.const(1)) * b:
                            found.append(Extent(_bag("sum", list(vector_terms.elements())), n,
                                                f"the grid of whole tiles `{n.text()} // {b.text()}`", None))
        return found

    def equalities(self, kept: list[Key]) -> list[Lin]:
        """Differences that are zero where the access runs: `if d == BLOCK_K:` gives `d - BLOCK_K`."""
        found = []
        for key in kept:
            if key[0] == "cmp" and key[1] == "==" and self.canon.is_static(key[2]) and self.canon.is_static(key[3]):
                a, b = self.range_of(key[2]), self.range_of(key[3])
                if a.lo == a.hi and b.lo == b.hi and len(a.hi) == 1 and len(b.hi) == 1:
                    found.append(a.hi[0] - b.hi[0])
        return found

    def judge(self, vector: Key, bound: Lin, facts: dict, equalities: list | None = None) -> Verdict:
        rng = self.range_of(vector, facts)
        for hi in rng.hi:
            gap = bound - Lin.const(1) - hi
            if any(self.symbols.proven_nonnegative(gap + zero * Lin.const(sign))
                   for zero in [Lin()] + list(equalities or []) for sign in (1, -1)):
                return Verdict("proven", rng)
        for hi in rng.hi:
            if self.symbols.can_be_negative(bound - Lin.const(1) - hi):
                return Verdict("passes", rng, bound - Lin.const(1) - self.symbols._expand(bound - Lin.const(1) - hi, True))
        return Verdict("unknown", rng)

    def judge_below(self, vector: Key, facts: dict) -> Verdict:
        rng = self.range_of(vector, facts)
        for lo in rng.lo:
            if self.symbols.proven_nonnegative(lo):
                return Verdict("proven", rng, below=True)
        for lo in rng.lo:
            if self.symbols.can_be_negative(lo):
                return Verdict("passes", rng, lo, below=True)
        return Verdict("unknown", rng, below=True)

    def divisibility_guarded(self, access: "Access") -> bool:
        """Is the access inside a branch on a flag that says the sizes divide the blocks (the
        EVEN pattern), or on a `%` test? Then a tail is decided by that flag: unknown."""
        return id(access.call) in self.guards.divisible


def _sum(ranges) -> Range:
    total = point(Lin.const(0))
    for r in ranges:
        total = total + r
    return total


def _cross_mul(a: tuple, b: tuple) -> tuple:
    return _unique(x * y for x in a for y in b)


def _nonnegative(symbols: Symbols, bounds: tuple) -> bool:
    return any(symbols.proven_nonnegative(b) for b in bounds)


def _common(symbols: Symbols, a: tuple, b: tuple, low: bool) -> tuple:
    """Bounds that hold for both of two values (the lower of two lower bounds...)."""
    out = []
    for x in a:
        for y in b:
            if symbols.proven_nonnegative(y - x):
                out.append(x if low else y)
            elif symbols.proven_nonnegative(x - y):
                out.append(y if low else x)
    return _unique(out)


def _is_comparison(node: cst.BaseExpression) -> bool:
    while isinstance(node, cst.Subscript):
        node = node.value
    if isinstance(node, cst.Comparison):
        return True
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitAnd):
        return _is_comparison(node.left) or _is_comparison(node.right)
    if isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.And):
        return _is_comparison(node.left) or _is_comparison(node.right)
    return False


def _resolved(node, scope):
    for _ in range(4):
        if isinstance(node, cst.Name):
            bound = scope.single(node.value)
            if bound is None:
                return node
            node = bound
    return node


# --- guards: the `if` tests that hold where an access runs -------------------------------------------

class _GuardTable(dict):
    divisible: set


class _Guards(Walker):
    def __init__(self, kernel: "Kernel") -> None:
        self.kernel = kernel
        self.canon = canon_of(kernel)
        self.stack: list[tuple[Key, bool]] = []  # (test key, holds) of enclosing branches
        self.exits: list[Key] = []  # negations of `if c: return` before this point (top level)
        self.depth = 0
        self.table = _GuardTable()
        self.table.divisible = set()
        self.divisible_depth = 0

    def visit_FunctionDef(self, node):
        return node is self.kernel.node

    def visit_Lambda(self, node):
        return False

    def visit_Call(self, node):
        keys = []
        for test, holds in self.stack:
            keys.extend(_holding(test, holds))
        for test in self.exits:
            keys.extend(_holding(test, False))
        if keys:
            self.table[id(node)] = keys
        if self.divisible_depth:
            self.table.divisible.add(id(node))

    def visit_If(self, node: cst.If) -> bool:
        self.walk(node.test)
        test = self.canon.key(node.test)
        divisible = self._divisibility(node.test)
        self.divisible_depth += divisible
        self.stack.append((test, True))
        self.walk(node.body)
        self.stack.pop()
        if node.orelse is not None:
            self.stack.append((test, False))
            self.walk(node.orelse)
            self.stack.pop()
        self.divisible_depth -= divisible
        if not self.stack and _exits(node.body) and node.orelse is None:
            self.exits.append(test)
        return False

    def visit_IfExp(self, node: cst.IfExp) -> bool:
        """`tl.load(...) if c else 0.` loads only where `c` holds (Triton compiles it to scf.if)."""
        self.walk(node.test)
        test = self.canon.key(node.test)
        for branch, holds in ((node.body, True), (node.orelse, False)):
            self.stack.append((test, holds))
            self.walk(branch)
            self.stack.pop()
        return False

    def _divisibility(self, test: cst.BaseExpression) -> bool:
        for name in names_in(test):
            param = self.kernel.param(name)
            if param is not None and param.constexpr and (
                    any(w in name.upper() for w in _DIVISIBILITY_WORDS) or _heuristic_has_modulo(self.kernel, name)):
                return True
        return "%" in code_of(test)


def _heuristic_has_modulo(kernel: "Kernel", name: str) -> bool:
    from fuselint.model.module import HEURISTICS

    for decorator in kernel.decorators:
        call = decorator.decorator
        if isinstance(call, cst.Call) and kernel.module.decorator_name(decorator) in HEURISTICS:
            if "%" in code_of(call) and name in code_of(call):
                return True
    for launch in kernel.launches:
        arg = launch.argument_for(kernel, name)
        if arg is not None and "%" in code_of(_resolved(arg, launch.scope)):
            return True
    return name in _size_flags(kernel.module)


class _SizeFlags(Walker):
    """Names given, in a dict anywhere in the module (a config prune, a heuristic), a value
    that compares or divides sizes: `{"NEED_LOOP_N": block_n < N}`, `{"EVEN": n % b == 0}`."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_DictElement(self, node: cst.DictElement) -> None:
        if isinstance(node.key, cst.SimpleString) and isinstance(node.value, (cst.Comparison, cst.BinaryOperation)):
            text = code_of(node.value)
            if isinstance(node.value, cst.Comparison) or "%" in text:
                try:
                    self.names.add(node.key.evaluated_value)
                except Exception:  # noqa: BLE001 - a byte string or an odd literal is no flag name
                    pass


@once_per_owner
def _size_flags(module) -> set[str]:
    walker = _SizeFlags()
    walker.walk(module.module)
    return walker.names


def _exits(body: cst.BaseSuite) -> bool:
    statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
    last = statements[-1] if statements else None
    if isinstance(last, cst.SimpleStatementLine):
        return any(isinstance(s, cst.Return) for s in last.body)
    if isinstance(last, cst.SimpleStatementSuite):
        return any(isinstance(s, cst.Return) for s in last.body)
    return False


_FLIP = {"<": "<=", "<=": "<"}


def _dividend_facts(bag: tuple, rng: Range) -> list:
    """`a % m >= c` with `c >= 1` gives `a >= c`: Triton's integer `%` takes the dividend's sign
    (C's remainder), so a positive remainder needs a dividend at least that large."""
    if len(bag) != 1 or bag[0][0] != "bin" or bag[0][1] != "%":
        return []
    lows = [lo for lo in rng.lo if lo.constant is not None and lo.constant >= 1]
    return [(tuple(sorted(_terms(bag[0][2]), key=repr)), Range((max(lows, key=lambda lo: lo.constant),), ()))] if lows else []


def _never_holds(test: Key, holds: bool) -> bool:
    """`x != x` (Inductor's NaN test, `tl.where(x != x, x, ...)`) never holds for the integers
    an offset is made of, nor does `x == x` fail."""
    key = without_slices(test)
    return key[0] == "cmp" and key[2] == key[3] and (key[1], holds) in (("!=", True), ("==", False))


def _holding(test: Key, holds: bool) -> list[Key]:
    """The comparisons that hold in a branch of `if test`."""
    if holds:
        return bag_items(test) if test[0] == "and" else [test]
    if test[0] == "not":
        inner = test[1]
        return bag_items(inner) if inner[0] == "and" else [inner]
    if test[0] == "cmp" and test[1] in _FLIP:
        # not (a < b) is b <= a
        return [("cmp", _FLIP[test[1]], test[3], test[2])]
    if test[0] == "cmp" and test[1] == "==":
        return [("cmp", "!=", test[2], test[3])]
    if test[0] == "or":
        out = []
        for item in bag_items(test):
            out.extend(_holding(item, False))
        return out
    return []


def _assumed_values(kernel: "Kernel") -> dict[str, int]:
    """Parameters pinned by a `tl.assume(stride_hm == 32)` statement of the kernel's own body:
    the compiler takes it as true for every launch (one that breaks it is undefined)."""
    found = {}
    for statement in kernel.node.body.body:
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
                and isinstance(statement.body[0], cst.Expr) and isinstance(statement.body[0].value, cst.Call)):
            continue
        call = statement.body[0].value
        if kernel.imports.tl_function(call.func) != "assume" or len(call.args) != 1:
            continue
        test = call.args[0].value
        if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1
                and isinstance(test.comparisons[0].operator, cst.Equal)):
            continue
        sides = [test.left, test.comparisons[0].comparator]
        names = [n.value for n in sides if isinstance(n, cst.Name) and kernel.param(n.value) is not None]
        values = [n.evaluated_value for n in sides if isinstance(n, cst.Integer)]
        if len(names) == 1 and len(values) == 1:
            found[names[0]] = values[0]
    return found


def _guards(kernel: "Kernel") -> _GuardTable:
    walker = _Guards(kernel)
    walker.walk(kernel.node)
    return walker.table


@once_per_owner
def ranges_of(kernel: "Kernel") -> RangeModel:
    return RangeModel(kernel)


# --- what an access indexes, and how each index vector stands against its extents --------------------

@dataclass
class AxisCheck:
    """One index vector of an access against one extent the kernel states for it."""

    vector: Key
    extent: Extent
    verdict: Verdict
    bounded_here: bool  # the access's own mask or guards bound this vector (by something)


def index_groups(kernel: "Kernel", access: "Access") -> tuple[Key, list[Counter]] | None:
    """The base of an access (a pointer parameter's term, or a `tl.where` choice of them) and its
    index vectors: the terms added to the base with stride 1 (program and tile terms together,
    `pid * B + tl.arange(0, B)`), and each tile vector multiplied by a stride
    (`rows[:, None] * stride`), joined by the program terms of the same stride (`k * stride_ak`
    of a pointer advanced in a loop joins `offs_k[None, :] * stride_ak`). Static shifts are kept
    in the first group. None when the pointer has no base the model can name."""
    canon = canon_of(kernel)
    key = pointer_key(kernel, access)
    terms = [t for term in _terms(key) for t in _terms(without_slices(term))]
    if key is canon.key(access.pointer):
        offsets = offsets_of(kernel, access)  # the offsets model's choice of base, when it has one
        base = None if offsets is None else offsets.base_term
    else:
        base = _base_of(kernel, terms)
    if base is None or base not in terms:
        return None
    terms.remove(base)
    direct: Counter = Counter()
    groups: list[tuple[Counter, Counter]] = []  # (vector terms, stride factors)
    for term in terms:
        negative = term[0] == "neg"
        inner = term[1] if negative else term
        if inner[0] == "prod":
            factors = bag_items(inner)
            varying = [f for f in factors if not canon.is_static(f)]
            if len(varying) == 1 and canon.facts(varying[0])[0]:
                part = Counter(_negate(t) if negative else t for t in _terms(varying[0]))
                groups.append((part, Counter(f for f in factors if canon.is_static(f))))
                continue
        direct[term] += 1
    for term in list(direct.elements()):
        negative = term[0] == "neg"
        inner = term[1] if negative else term
        if inner[0] != "prod":
            continue
        factors = bag_items(inner)
        varying = [f for f in factors if not canon.is_static(f)]
        stride = Counter(f for f in factors if canon.is_static(f))
        for part, group_stride in groups:
            if len(varying) == 1 and group_stride and not (group_stride - stride):
                # k * TILE_K * N beside offs_k * N: the vector gains k * TILE_K
                rest = list((stride - group_stride).elements())
                moved = varying[0] if not rest else canon._combine("Multiply", varying[0], _bag("prod", rest) if len(rest) > 1 else rest[0])
                part[_negate(moved) if negative else moved] += 1
                direct[term] -= 1
                break
    direct = +direct
    out = [part for part, _ in groups]
    if direct:
        out.insert(0, direct)
    return base, out


def _base_of(kernel: "Kernel", terms: list) -> Key | None:
    """The base among a pointer's terms (as `offsets_of` chooses it); None when there is none,
    or when a tile term is data (a gather)."""
    canon = canon_of(kernel)
    for term in terms:
        tile, _, unknown, load = canon.facts(term)
        if tile and (unknown or load):
            return None
    return base_term(kernel, terms)


def pointer_key(kernel: "Kernel", access: "Access") -> Key:
    """The canonical key of an access's pointer (a pointer stepped in its loop, `a_ptrs +=
    BLOCK_K * stride_ak`, is its value in that iteration: see offsets.Canon._induction)."""
    return canon_of(kernel).key(access.pointer)


def _name_nodes(node: cst.CSTNode) -> list[cst.Name]:
    if isinstance(node, cst.Name):
        return [node]
    from fuselint.model.walk import children

    return [n for child in children(node) for n in _name_nodes(child)]


# host calls that keep a tensor's size (a padded tensor stays padded through them)
_SIZE_KEEPING_METHODS = {"view", "reshape", "contiguous", "flatten", "to", "clone", "cumsum", "float", "int", "long"}
_ALLOCATIONS = {"zeros", "empty", "full", "ones", "new_zeros", "new_empty", "new_full", "new_ones"}


def padded_on_host(kernel: "Kernel", param: str, depth: int = 0) -> bool:
    """Does every launch pass this pointer a tensor the host padded before the launch:
    `F.pad(...)`, or an allocation sized by a block the kernel tiles with (`torch.zeros(H_padded)`
    with `H=H_padded` at the launch) or by a padded size (`next_multiple`), followed through
    size-keeping calls (`.view`, `.reshape`, `torch.cumsum`)? Then a tail past the kernel's
    own bound can still be inside the allocation: unknown, not a finding. A @triton.jit helper
    that is never launched asks the same of every kernel that calls it, for the parameter
    passed on at each call."""
    launches = kernel.launches
    if not launches:
        return depth < 4 and _padded_by_callers(kernel, param, depth)
    blocks = {e.node.value for e in tile_extents_of(kernel) if isinstance(e.node, cst.Name)}
    for launch in launches:
        arg = launch.argument_for(kernel, param)
        block_args = {code_of(a) for b in blocks if (a := launch.argument_for(kernel, b)) is not None}
        if arg is None or not _padded(kernel, arg, launch.scope, block_args, 0):
            return False
    return True


def _padded_by_callers(helper: "Kernel", param: str, depth: int) -> bool:
    """Every call of `helper` from another kernel of the module passes its own pointer parameter
    for `param`, and that kernel's launches pad it (see padded_on_host); False without calls."""
    from fuselint.model.module import call_argument

    params = [p.name for p in helper.params]
    sites = [(caller, call) for caller in helper.module.kernels if caller is not helper
             for call, _ in caller.other_calls if isinstance(call.func, cst.Name) and call.func.value == helper.name]
    if not sites:
        return False
    for caller, call in sites:
        arg = call_argument(call, params, param)
        if not (isinstance(arg, cst.Name) and caller.param(arg.value) is not None
                and padded_on_host(caller, arg.value, depth + 1)):
            return False
    return True


def tile_extents_of(kernel: "Kernel"):
    from fuselint.model.kernel import tile_extents

    return tile_extents(kernel)


def _padded(kernel, node, scope, block_args: set, depth: int) -> bool:
    if depth > 8 or node is None:
        return False
    if isinstance(node, cst.Name):
        values = [v for v in scope.assignments.get(node.value) or [] if v is not None]
        if not values and node.value in scope.params():
            return _padded_by_every_caller(kernel, node.value, scope, block_args, depth)
        return any(_padded(kernel, v, scope, block_args, depth + 1) for v in values)
    if not isinstance(node, cst.Call):
        return False
    func = node.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
    args = [a.value for a in node.args if a.keyword is None]
    if name == "pad":
        return True
    if name in _ALLOCATIONS and args:
        size = code_of(args[0])
        return any(b in size for b in block_args if b) or "pad" in size.lower() or "multiple" in size.lower()
    if name in _SIZE_KEEPING_METHODS and isinstance(func, cst.Attribute):
        # x.view(...), x.cumsum(0) keep x's size; so does torch.cumsum(x, 0)
        module_function = kernel.imports.qualname(func) is not None or code_of(func.value) in ("torch",)
        receiver = (args[0] if args else None) if module_function else func.value
        return _padded(kernel, receiver, scope, block_args, depth + 1)
    return False


def private_calls(module, scope) -> tuple[list[str], list] | None:
    """(parameter names, [(caller, call)]) of the function whose body is `scope` when it is
    private (`_name`, not a method: by convention only its own module calls it) and so every
    call of it is in the module; None otherwise."""
    function = module.function_of(scope)
    if function is None or function.class_name is not None or not function.name.startswith("_"):
        return None
    p = function.node.params
    names = [x.name.value for x in [*p.posonly_params, *p.params, *p.kwonly_params]]
    return names, module.calls_to(function.name)


def _padded_by_every_caller(kernel, param: str, scope, block_args: set, depth: int) -> bool:
    """A parameter of a private launching function that every call in the module passes a
    padded tensor."""
    from fuselint.model.module import call_argument

    found = private_calls(kernel.module, scope)
    return found is not None and bool(found[1]) and all(
        _padded(kernel, call_argument(call, found[0], param), caller.scope, block_args, depth + 1) for caller, call in found[1])


def _subterms(key: Key) -> set:
    """Every sub-key of a condition (to ask whether it mentions an index vector's terms)."""
    from fuselint.model.offsets import _children

    seen = set()
    stack = [without_slices(key)]
    while stack:
        item = stack.pop()
        seen.add(item)
        stack.extend(_children(item))
    return seen


def _divide(value: Lin, divisor: Lin) -> Lin | None:
    """`value / divisor` when the divisor is one symbol product (or a positive literal) that
    divides every monomial; None otherwise."""
    if divisor.constant is not None:
        d = divisor.constant
        if d <= 0 or any(c % d for c in value.terms.values()):
            return None
        return Lin({m: c // d for m, c in value.terms.items()})
    if len(divisor.terms) != 1:
        return None
    (dm, dc), = divisor.terms.items()
    if dc != 1:
        return None
    out = {}
    for monomial, coefficient in value.terms.items():
        rest = list(monomial)
        for symbol in dm:
            if symbol not in rest:
                return None
            rest.remove(symbol)
        out[tuple(rest)] = out.get(tuple(rest), 0) + coefficient
    return Lin(out)


def _quotient_extents(model: RangeModel, varying: Counter) -> list[Extent]:
    """`j < M * N` bounds `j // N` by `M`: an extent for each quotient of a bounded vector that
    an access indexes (instance norm's `Mean + j // N`)."""
    found = []
    for term in varying:
        if term[0] != "bin" or term[1] != "//" or not model.canon.is_static(term[3]):
            continue
        divisor = model.range_of(term[3])
        if not (divisor.hi and divisor.lo == divisor.hi):
            continue
        inner = Counter(_terms(without_slices(term[2])))
        for extent in model.extents() + model._loop_extents:
            if Counter(_terms(extent.vector)) == inner:
                bound = _divide(extent.bound, divisor.hi[0])
                if bound is not None:
                    found.append(Extent(term, bound, f"{extent.how} (divided by `{render(term[3])}`)", extent.node,
                                        None, extent.site))
    return found


def _row_term(model: RangeModel, term: Key) -> bool:
    """Is a term a row offset beside an index vector (`row * stride`, `pid * N`): a product
    with a run-time size or stride? A bare loop variable or `pid * BLOCK` is a step of the
    vector itself (`start + tl.arange(0, BLOCK)` is another vector than `tl.arange(0, BLOCK)`)."""
    inner = term[1] if term[0] == "neg" else term
    if inner[0] != "prod":
        return inner[0] == "load"
    for factor in bag_items(inner):
        if model.canon.is_static(factor) and factor[0] != "const":
            if factor[0] == "param" and model.kernel.param(factor[1]) is not None and model.kernel.param(factor[1]).constexpr:
                continue
            return True
        if factor[0] == "load":
            return True
    return False


def _vector_key(terms: Counter) -> Key:
    items = list(terms.elements())
    return items[0] if len(items) == 1 else _bag("sum", items)


def _extents_of(model: RangeModel, varying: Counter) -> list[Extent]:
    """The extents stated for an index vector's varying terms (the same for every access that
    indexes with them): masks and conditions on those terms, row offsets aside, the grid's and
    the loops' tilings, quotients."""
    key = frozenset(varying.items())
    found = model.extents_by_vector.get(key)
    if found is None:
        found = [e for e in model.extents()
                 if not (Counter(_terms(e.vector)) - varying)
                 and all(_row_term(model, t) for t in (varying - Counter(_terms(e.vector))))]
        found += model.structural_extents(varying)
        found += _quotient_extents(model, varying)
        model.extents_by_vector[key] = found
    return found


def axis_checks(kernel: "Kernel", access: "Access") -> list[AxisCheck] | None:
    """Every (index vector, extent) pair of an access, judged with the access's own mask and
    guards. None when the pointer is not modelled."""
    cache = kernel.__dict__.setdefault("_axis_checks", {})
    if id(access.call) in cache:
        return cache[id(access.call)]
    model = ranges_of(kernel)
    found = index_groups(kernel, access)
    if found is None:
        cache[id(access.call)] = None
        return None
    _, groups = found
    facts, kept = model.kept_facts(access)
    equalities = model.equalities(kept)
    # a mask or guard the model cannot read (a join of branches, a loaded flag) may bound
    # anything: every vector of this access is then unknown, never unbounded
    opaque_mask = any(canon_of(kernel).facts(k)[2] for k in kept)
    mentioned_terms = [_subterms(k) for k in kept]
    checks = []
    canon = model.canon
    by_vector: dict = {}  # vector -> (range under the facts, range without them, a condition mentions it)
    for group in groups:
        varying = Counter({t: c for t, c in group.items() if not canon.is_static(t)})
        for extent in _extents_of(model, varying):
            vector = extent.vector
            if vector not in by_vector:
                wanted = set(_terms(vector))
                by_vector[vector] = (model.range_of(vector, facts), model.range_of(vector, {}),
                                     any(wanted <= terms for terms in mentioned_terms))
            own, plain, mentioned = by_vector[vector]
            verdict = model.judge(vector, extent.bound, facts, equalities)
            if (verdict.kind == "unknown" and extent.node is not None and not any(h.constant is not None for h in own.hi)
                    and not (extent.site is not None and exclusive(kernel, extent.site, access.call))
                    and not all(padded_on_host(kernel, name) for name in base_params(kernel, found[0]))
                    and not opaque_mask
                    and not (extent.site is not None and id(extent.site) in model.guards.divisible
                             and not model.divisibility_guarded(access))):
                # (a bound stated only under a flag for uneven sizes belongs to that branch)
                # A mask elsewhere says this vector can pass the bound (else it would not be
                # there), and nothing shows this access stays below it.
                verdict = Verdict("passes", verdict.range, None)
                verdict.stated = True
            checks.append(AxisCheck(vector, extent, verdict, own.hi != plain.hi or mentioned or opaque_mask))
    cache[id(access.call)] = checks
    return checks


@dataclass
class Overrun:
    """An access whose index vector can pass the extent the kernel states for it."""

    access: "Access"
    check: AxisCheck
    kind: str  # "unmasked" (FL401), "axis" (FL402), "unused" (FL403)
    unused_mask: str | None = None
    witness: "Witness | None" = None  # sizes at which it leaves the tensor


def overruns(kernel: "Kernel") -> list[Overrun]:
    """The accesses that can pass an extent stated in the kernel; at most one per access."""
    cache = kernel.__dict__.get("_overruns")
    if cache is not None:
        return cache
    model = ranges_of(kernel)
    out = []
    in_arms = {id(w.access.call) for w in where_arm_loads(kernel)}
    for access in kernel.accesses:
        if model.divisibility_guarded(access) or id(access.call) in in_arms:
            continue
        checks = axis_checks(kernel, access)
        if checks is None:
            out += _block_overrun(model, access)
        if not checks:
            continue
        by_vector: dict = {}
        for check in checks:
            by_vector.setdefault(check.vector, []).append(check)
        mask_names = names_in(access.mask) if access.mask is not None else []
        for vector, group in sorted(by_vector.items(), key=lambda item: render(item[0])):  # the same every run
            if any(c.verdict.kind == "proven" for c in group) or any(c.bounded_here for c in group):
                continue
            if _inside_its_row(model, access, vector):
                continue
            passing = [c for c in group if c.verdict.kind == "passes" and not _holds_at_every_launch(model, c)]
            if not passing:
                continue
            check = passing[0]
            if all(padded_on_host(kernel, name) for name in base_params(kernel, index_groups(kernel, access)[0])):
                continue  # the host pads what this pointer gets: the tail may be inside it
            witness = overrun_witness(model, check.verdict, check.extent.bound, check.vector)
            named = [c.extent.named for c in group if c.extent.named and c.extent.named not in mask_names]
            named = [n for n in named if _bounds_only(model, n, access) and _bound_before(model, n, access)]
            if named:
                out.append(Overrun(access, check, "unused", named[0], witness))
            elif access.mask is not None and any(c.bounded_here for c in checks):
                out.append(Overrun(access, check, "axis", witness=witness))
            elif not _fixed_window(model, vector) or _a_size(model, check.extent.bound):
                out.append(Overrun(access, check, "unmasked", witness=witness))
            break
    kernel.__dict__["_overruns"] = out
    return out


def _block_overrun(model: RangeModel, access: "Access") -> list[Overrun]:
    """An axis of a block-pointer access that `boundary_check` leaves out and whose block runs
    past the declared shape in a tail: the last block of a tiling of that size
    (`cdiv(T, BLOCK) * BLOCK`), or a block padded to the next power of two of it. FL402 when
    `boundary_check` names other axes, FL401 when it names none. At most one per access."""
    pointer = block_pointer_of(model.kernel, access)
    checked = checked_axes(access) if pointer is not None else None
    if checked is None:
        return []
    facts, kept = model.kept_facts(access)
    equalities = model.equalities(kept)
    for axis, vector, size in axis_vectors(model.kernel, pointer):
        declared = model.range_of(size)
        if axis in checked or declared.lo != declared.hi or len(declared.hi) != 1:
            continue
        bound = declared.hi[0]
        verdict = model.judge(vector, bound, facts, equalities)
        if verdict.kind != "passes" or not _a_tail_of(model, verdict, bound):
            continue
        extent = Extent(vector, bound, f"the block pointer's shape (axis {axis}, not in `boundary_check`)", None)
        check = AxisCheck(vector, extent, verdict, False)
        if _holds_at_every_launch(model, check):
            continue
        witness = overrun_witness(model, verdict, bound, vector)
        return [Overrun(access, check, "axis" if checked else "unmasked", witness=witness)]
    return []


def _a_tail_of(model: RangeModel, verdict: Verdict, bound: Lin) -> bool:
    """Does the vector reach past `bound` by what relates it to `bound`: a tiling of `bound`
    itself, a power of two padding it, a guard that lets a block start anywhere below it (not
    merely because two sizes are unrelated, `BLOCK_D - 1` against `D`)?"""
    symbols = model.symbols
    used = {s for h in verdict.range.hi for s in h.symbols()}
    return bool(used & bound.symbols()) or any(
        s in symbols.cdiv and symbols.cdiv[s][0] == bound or s in symbols.npo2 and symbols.npo2[s] == bound for s in used)


def _inside_its_row(model: RangeModel, access: "Access", vector: Key) -> bool:
    """Does the vector, times its stride, stay below the pitch of another axis of the same
    pointer (`rows[:, None] * stride_hm + cols[None, :]`, `tl.assume(stride_hm == 32)`, cols <
    32; `off_hb * seqlen_q_rounded + offs_m` with `seqlen_q_rounded = math.ceil(seqlen_q / 128)
    * 128` passed and offs_m < cdiv(seqlen_q, 128) * 128)? Its lanes then stay inside the row
    the other axis selects, checked on its own."""
    canon = model.canon
    span = model.range_of(vector)
    if len(span.hi) != 1 or not span.lo or not model.symbols.proven_nonnegative(span.lo[0]):
        return False
    own, pitches = None, []
    terms = Counter(_terms(without_slices(pointer_key(model.kernel, access))))
    if Counter(_terms(vector)) <= terms:  # `p + off * pitch + offs_m`: the vector's own terms, stride 1
        own, terms = 1, terms - Counter(_terms(vector))
    for term in terms.elements():
        factors = bag_items(term) if term[0] == "prod" else [term]
        varying = [f for f in factors if not canon.is_static(f)]
        if len(varying) != 1:
            continue
        stride = point(Lin.const(1))
        for factor in factors:
            if canon.is_static(factor):
                stride = _product_of(stride, model.range_of(factor))
        if len(stride.hi) != 1 or stride.lo != stride.hi:
            continue
        if varying[0] == vector or Counter(_terms(varying[0])) == Counter(_terms(vector)):
            own = stride.hi[0].constant
        else:  # a parameter's pitch is what the launches pass it
            pitches.append(_substituted(stride.hi[0], {p: model.passed(p) for p in stride.hi[0].symbols()}))
    if own is None or own <= 0:
        return False
    top = span.hi[0] * Lin.const(own)
    return any(model.symbols.proven_nonnegative(pitch - top - Lin.const(1)) for pitch in pitches)


def _substituted(value: Lin, values: dict[str, "Lin | None"]) -> Lin:
    """`value` with each symbol that has a known value replaced by it."""
    total = Lin.const(0)
    for monomial, coefficient in value.terms.items():
        product = Lin.const(coefficient)
        for symbol in monomial:
            product = product * (values.get(symbol) or Lin.sym(symbol))
        total = total + product
    return total


def _product_of(a: Range, b: Range) -> Range:
    return Range(_cross_mul(a.lo, b.lo), _cross_mul(a.hi, b.hi))


def _holds_at_every_launch(model: RangeModel, check: AxisCheck) -> bool:
    """Do the sizes the module launches the kernel with (`launch_sizes`: a test's parametrize
    rows, its constants) keep the vector below its extent at every one of them?"""
    bindings = launch_bindings(model.kernel)
    if not bindings:
        return False
    for binding in bindings:
        bound = evaluate_lin(check.extent.bound, model.symbols, binding)
        highs = [evaluate_lin(h, model.symbols, binding) for h in check.verdict.range.hi]
        if bound is None or not any(h is not None and h < bound for h in highs):
            return False
    return True


def _fixed_window(model: RangeModel, vector: Key) -> bool:
    """Is the vector one window the same for every program (`tl.arange(0, C)`, no tiling)?"""
    varying = [t for t in _terms(vector) if not model.canon.is_static(t)]
    return len(varying) == 1 and varying[0][0] == "arange"


def _a_size(model: RangeModel, bound: Lin) -> bool:
    """Does the kernel treat `bound` as the size of an axis: walked in blocks (`cdiv(bound, B)`
    in the grid or a loop) or padded to a power of two (`BLOCK = next_power_of_2(bound)`)? A
    fixed window has no tail; what a mask elsewhere bounds it by may select lanes (the ranks
    before this one, row 0) rather than end the tensor, and only a size says it ends there."""
    for axis in range(3):
        model.grid(axis)
    for loop in model._loops:
        model._loop(("loop", None, loop))
    walked = [n for n, _ in model.symbols.cdiv.values()]
    for call in model.kernel.calls("cdiv"):  # `for k in range(tl.cdiv(K, BLOCK_K))`
        if call.call.args:
            n = model.range_of(model.canon.key(call.call.args[0].value))
            walked += list(n.hi) if n.lo == n.hi else []
    return bound in walked or bound in model.symbols.npo2.values()


def _bound_before(model: RangeModel, name: str, access: "Access") -> bool:
    """Is the named mask computed before the access (a mask computed later, for a store after
    a loop, was not written for this access)?"""
    flow = model.canon.flow
    bindings = model.kernel.bindings.get(name) or []
    where = flow.bound.get(id(bindings[0].node)) if bindings else None
    here = flow.names.get(id(access.call))
    return where is not None and here is not None and where.order < here.order


def _bounds_only(model: RangeModel, name: str, access: "Access") -> bool:
    """Does the named mask bound only vectors this access indexes (it was meant for it)?"""
    found = index_groups(model.kernel, access)
    if found is None:
        return False
    varying = Counter()
    for group in found[1]:
        varying += Counter({t: c for t, c in group.items() if not model.canon.is_static(t)})
    stated = [e for e in model.extents() if e.named == name]
    return bool(stated) and all(not (Counter(_terms(e.vector)) - varying) for e in stated)


def describe_vector(vector: Key) -> str:
    return render(vector)


def overrun_text(kernel: "Kernel", overrun: Overrun) -> str:
    """What passes which bound, and how: for messages."""
    from fuselint.model.offsets import access_text

    check = overrun.check
    vector, extent, verdict = render(check.vector), check.extent, check.verdict
    if verdict.reach is not None:
        reach = f"reaches `{verdict.reach.text()}` >= `{extent.bound.text()}`"
        cdivs = ranges_of(kernel).symbols.cdiv
        used = [s for h in verdict.range.hi for s in h.symbols() if s in cdivs]
        blocks = [cdivs[s][1].text() for s in used if cdivs[s][0] == extent.bound] or [cdivs[s][1].text() for s in used]
        npo2 = [s for s in ranges_of(kernel).symbols.npo2 if s in vector]
        if blocks:
            reach += f" when `{extent.bound.text()} % {blocks[0]} != 0`"
        elif npo2:
            reach += f" when `{extent.bound.text()}` is not a power of two (`{npo2[0]} = next_power_of_2`)"
    else:
        hi = " / ".join(h.text() for h in verdict.range.hi) or "an unknown bound"
        reach = f"runs to `{hi}`, not shown below `{extent.bound.text()}`"
    return (f"`{vector}` {reach}; {extent.how} bounds it by `{extent.bound.text()}`, "
            f"{access_text(kernel, overrun.access)} does not; {witness_text(overrun.witness)}")



# --- below zero, where arms, off by one ------------------------------------------------------------

def offset_key(kernel: "Kernel", access: "Access") -> Key | None:
    """The whole offset of an access (its pointer minus the base parameter), strides kept."""
    found = index_groups(kernel, access)
    if found is None:
        return None
    base = found[0]
    terms = list(_terms(pointer_key(kernel, access)))
    if base not in terms:
        return None
    terms.remove(base)
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else _bag("sum", terms)


def _subtracts(key: Key) -> bool:
    """Does an offset subtract something (a `neg` term or a negative constant, at any depth)?"""
    stack = [key]
    while stack:
        item = stack.pop()
        if item[0] == "neg" or (item[0] == "const" and isinstance(item[1], int) and item[1] < 0):
            return True
        from fuselint.model.offsets import _children

        stack.extend(_children(item))
    return False


def below_zero(kernel: "Kernel", access: "Access", extra: list | None = None) -> Verdict | None:
    """Can the access's offset be negative on a lane it keeps? None when it subtracts nothing."""
    model = ranges_of(kernel)
    key = offset_key(kernel, access)
    if key is None:
        return None
    _, kept = model.kept_facts(access)
    key = _on_kept_lanes(key, kept)
    if not _subtracts(key):
        return None
    facts = model.facts_of(kept + list(extra or []))
    return model.judge_below(key, facts)


def _on_kept_lanes(key: Key, kept: list) -> Key:
    """The offset on the lanes an access keeps: `tl.where(c, a, b)` is `a` there when every
    conjunct of `c` is one of the access's mask conjuncts or guards (`tl.where(mask, offs, -1)`
    stored under `mask` never uses the -1)."""
    if key[0] == "call" and key[1] == "where" and len(key[2]) == 3:
        condition = key[2][0]
        if all(part in kept for part in (bag_items(condition) if condition[0] == "and" else [condition])):
            return _on_kept_lanes(key[2][1], kept)
    if key[0] == "sum":
        return _bag("sum", [_on_kept_lanes(term, kept) for term in bag_items(key)])
    return key


@dataclass
class WhereArm:
    access: "Access"
    where: cst.Call
    arm: int  # 1: taken where the condition holds, 2: where it does not
    verdict: Verdict  # without the condition
    condition: cst.BaseExpression
    witness: "Witness | None" = None


def where_arm_loads(kernel: "Kernel") -> list[WhereArm]:
    """Loads in an arm of `tl.where` (directly, or through a name bound once to the load) whose
    offset can leave the tensor on a lane the load keeps, yet stays inside where the arm is
    chosen: both arms run, so the load reads out of bounds on the lanes the other arm takes."""
    cache = kernel.__dict__.get("_where_arms")
    if cache is not None:
        return cache
    model = ranges_of(kernel)
    loads = {id(a.call): a for a in kernel.accesses if a.kind == "load"}
    out: list[WhereArm] = []
    seen: set[int] = set()
    for call in kernel.calls("where"):
        args = [a.value for a in call.call.args if a.keyword is None]
        if len(args) != 3:
            continue
        condition = model.canon.key(args[0])
        for arm in (1, 2):
            for load in _loads_in(kernel, args[arm], loads):
                if id(load.call) in seen:
                    continue
                holding = _holding(condition, arm == 1)
                plain = below_zero(kernel, load)
                if plain is not None and plain.kind == "passes":
                    inside = below_zero(kernel, load, holding)
                    if inside is not None and inside.kind == "proven":
                        out.append(WhereArm(load, call.call, arm, plain, args[0], below_zero_witness(model, plain)))
                        seen.add(id(load.call))
                        continue
                for check in axis_checks(kernel, load) or []:
                    if check.verdict.kind != "passes" or check.verdict.stated or check.bounded_here:
                        continue
                    facts, kept = model.kept_facts(load)
                    inside = model.judge(check.vector, check.extent.bound, model.facts_of(kept + holding))
                    if inside.kind == "proven":
                        witness = overrun_witness(model, check.verdict, check.extent.bound, check.vector)
                        out.append(WhereArm(load, call.call, arm, check.verdict, args[0], witness))
                        seen.add(id(load.call))
                        break
    kernel.__dict__["_where_arms"] = out
    return out


def _loads_in(kernel: "Kernel", node: cst.BaseExpression, loads: dict) -> list:
    """The loads an arm computes: calls in it, and loads that a name in it is bound to once."""
    from fuselint.model.walk import children

    found = []
    stack = [(node, True)]
    while stack:
        item, follow = stack.pop()
        if id(item) in loads:
            found.append(loads[id(item)])
        if isinstance(item, cst.Name) and follow:
            bound = kernel.single_binding(item.value)
            if bound is not None:
                stack.append((bound, False))
            continue
        stack.extend((child, follow) for child in children(item))
    return found


def off_by_one(kernel: "Kernel") -> list[tuple["Access", cst.CSTNode, Extent, Lin]]:
    """Mask conjuncts written `v <= n` (or `v < n + 1`) where the kernel writes `v < n` for the
    same vector elsewhere: (access, conjunct node, the tighter extent, n)."""
    model = ranges_of(kernel)
    canon = model.canon
    tight = [e for e in model.extents() if e.node is not None and _written_bound(model, e.node) is not None]
    out = []
    seen: set[int] = set()
    for access in kernel.accesses:
        if access.mask is None:
            continue
        for c in conjuncts(kernel, access.mask):
            if id(c.node) in seen:
                continue
            key = without_slices(c.key)
            if key[0] != "cmp" or canon.is_static(key[2]) or not canon.is_static(key[3]):
                continue
            right = model.range_of(key[3])
            if not (right.hi and right.lo == right.hi):
                continue
            n = right.hi[0]
            if key[1] == "<=":
                bound = n
            elif key[1] == "<" and _adds_one(key[3]):
                bound = n - Lin.const(1)
            else:
                continue
            vector = key[2]
            for extent in tight:
                written = _written_bound(model, extent.node)
                if written is not None and written[0] == vector and written[1] == bound:
                    out.append((access, c.node, extent, bound))
                    seen.add(id(c.node))
                    break
    return out


def _adds_one(key: Key) -> bool:
    return key[0] == "sum" and ("const", 1) in [t for t in bag_items(key)]


def _written_bound(model: RangeModel, node: cst.CSTNode) -> tuple | None:
    """(vector, n) for a conjunct written `vector < n` with nothing added to either side."""
    if not isinstance(node, cst.BaseExpression):
        return None
    key = without_slices(model.canon.key(node))
    if key[0] != "cmp" or key[1] != "<" or model.canon.is_static(key[2]) or not model.canon.is_static(key[3]):
        return None
    if _adds_one(key[3]):
        return None
    right = model.range_of(key[3])
    if not (right.hi and right.lo == right.hi):
        return None
    return key[2], right.hi[0]


# --- `fuselint check --explain FILE:LINE` -------------------------------------------------------------

def _explain_block_pointer(model: RangeModel, access: "Access", pointer) -> tuple[list[str], bool]:
    """One line per axis of a block-pointer access, its elements against the declared shape;
    and whether every axis stays inside that shape."""
    checked = checked_axes(access)
    facts, _ = model.kept_facts(access)
    out = [f"  block pointer; boundary_check: {sorted(checked) if checked is not None else 'not read'}"]
    kinds = []
    for axis, vector, size in axis_vectors(model.kernel, pointer):
        declared = model.range_of(size)
        bound = declared.hi[0] if declared.lo == declared.hi and len(declared.hi) == 1 else None
        kind = "proven (checked by Triton)" if checked is not None and axis in checked else (
            model.judge(vector, bound, facts).kind if bound is not None else "unknown (the shape is not known)")
        kinds.append(kind)
        out.append(f"  axis {axis} `{render(vector)}`: range {model.range_of(vector, facts).text()}; "
                   f"shape `{render(size)}`: {kind}")
    return out, all(k.startswith("proven") for k in kinds)


def explain(source: str, line: int) -> str:
    """What the model knows about the accesses on one line: offsets, range per index vector
    against each extent, mask, verdict."""
    from fuselint.model.module import ModuleModel
    from fuselint.model.offsets import access_text, mask_of
    from fuselint.positions import positions

    module = cst.parse_module(source)
    model = ModuleModel(module)
    out = []
    for kernel in model.kernels:
        spans = positions(module, source.encode(), [a.call for a in kernel.accesses])
        for access in kernel.accesses:
            span = spans.get(id(access.call))
            if span is None or not (span.line <= line <= span.end_line):
                continue
            ranges = ranges_of(kernel)
            out.append(f"{kernel.name}: {access_text(kernel, access)} (line {span.line})")
            key = offset_key(kernel, access)
            offset = render(key) if key is not None else (
                "a block pointer (per axis below)" if block_pointer_of(kernel, access) is not None
                else "not modelled (no single base pointer)")
            out.append(f"  offset: {offset}")
            mask = mask_of(kernel, access)
            out.append(f"  mask: {mask.text() if mask is not None else 'none'}")
            guards = ranges.guards.get(id(access.call), [])
            if guards:
                out.append(f"  guards: {' & '.join(render(g) for g in guards)}")
            if ranges.divisibility_guarded(access):
                out.append("  under a flag that says the sizes divide the blocks (EVEN pattern): tails unknown")
            checks = axis_checks(kernel, access)
            pointer = block_pointer_of(kernel, access) if checks is None else None
            within_shape = False
            if pointer is not None:
                lines, within_shape = _explain_block_pointer(ranges, access, pointer)
                out += lines
            elif checks is None:
                out.append("  verdict: unknown (the pointer is not modelled)")
            elif not checks:
                out.append("  no extent is stated for its index vectors: unknown")
            grouped: dict = {}
            for check in checks or []:
                grouped.setdefault((check.vector, check.extent.bound, check.verdict.kind), []).append(check)
            for (vector, bound, kind), group in grouped.items():
                first = group[0]
                sources = "; ".join(dict.fromkeys(c.extent.how for c in group))
                out.append(f"  vector `{render(vector)}`: range {first.verdict.range.text()}; extent `{bound.text()}` "
                           f"({sources}): {kind}{' (its own mask bounds it)' if first.bounded_here else ''}")
            below = below_zero(kernel, access)
            if below is not None:
                out.append(f"  below zero: {below.kind} (lower bounds {' / '.join(b.text() for b in below.range.lo) or '?'})")
            verdict = "proven in bounds" if checks and all(c.verdict.kind == "proven" for c in checks) else "unknown"
            if within_shape:
                verdict = "proven within the block pointer's declared shape"
            flagged = [o for o in overruns(kernel) if o.access is access]
            arms = [w for w in where_arm_loads(kernel) if w.access is access]
            if flagged:
                verdict = f"flagged ({ {'unmasked': 'FL401', 'axis': 'FL402', 'unused': 'FL403'}[flagged[0].kind] })"
            elif arms:
                verdict = "flagged (FL404)"
            elif below is not None and below.kind == "passes":
                verdict = "flagged (FL405)"
            out.append(f"  verdict: {verdict}")
    return "\n".join(out) if out else f"no load, store or atomic of a kernel on line {line}"
