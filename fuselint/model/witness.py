"""Witnesses: concrete sizes at which an access found by the range model leaves its tensor.

A finding says an index vector can pass its extent (or go below zero). Its witness is one set
of parameter values, and what the vector and the extent are there: the sizes of a launch the
module makes when one breaks the bound, else the first of a small search over the symbols the
bound depends on (the values a constexpr is known to take, powers of two for the others that
are blocks, sizes around those for the rest). No witness is invented: when none of those sizes
shows the overrun, the finding says so.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import libcst as cst

from fuselint.findings import Witness
from fuselint.model.constexprs import param_values
from fuselint.model.launch_sizes import evaluate_lin, launch_bindings, symbol_value
from fuselint.model.source import code_of
from fuselint.model.values import evaluate

if TYPE_CHECKING:
    from fuselint.model.ranges import Lin, RangeModel, Verdict

_BLOCKS = (16, 32, 64, 128)
_SIZES = (1, 2, 3, 5, 17, 100, 1000, 1025, 4097)
_MAX_TRIES = 20000


def witness_text(witness: Witness | None) -> str:
    return f"witness: {witness.text()}" if witness is not None else "no witness among the sizes tried"


def overrun_witness(model: "RangeModel", verdict: "Verdict", bound: "Lin", vector=None) -> Witness | None:
    """Sizes at which every upper bound of the vector's range is at or past `bound`; else,
    where the range has no upper bound the model can write (programs in grouped order:
    `pid % group`, `tl.minimum`), sizes, a program and a lane at which the vector itself,
    evaluated, reaches `bound`."""
    found = _search(model, verdict.range.hi, bound)
    if found is None and vector is not None:
        found = _evaluated_search(model, vector, bound)
    return found


def below_zero_witness(model: "RangeModel", verdict: "Verdict") -> Witness | None:
    """Sizes at which every lower bound of the offset's range is negative."""
    return _search(model, verdict.range.lo, None)


def equal_witness(model: "RangeModel", bound: "Lin") -> Witness | None:
    """Sizes for an index kept where it equals `bound` (an off-by-one mask): the smallest."""
    return _search(model, (bound,), bound)


def _search(model: "RangeModel", values: tuple, bound: "Lin | None") -> Witness | None:
    if not values:
        return None
    symbols = model.symbols
    order = [p.name for p in model.kernel.params]

    def shown(binding: dict) -> tuple[int, int | None] | None:
        limit = evaluate_lin(bound, symbols, binding) if bound is not None else 0
        reached = [evaluate_lin(v, symbols, binding) for v in values]
        if limit is None or any(r is None for r in reached):
            return None
        if bound is None:
            worst = max(reached)
            return (worst, None) if worst < 0 else None
        worst = min(reached)
        return (worst, limit) if worst >= limit else None

    def witness(binding: dict, found, launched: bool) -> Witness:
        used = _free_symbols(model, list(values) + ([bound] if bound is not None else []))
        known = ((n, symbol_value(n, model.symbols, binding)) for n in used)
        sizes = tuple(sorted(((n, v) for n, v in known if v is not None),
                             key=lambda item: (order.index(item[0]) if item[0] in order else len(order), item[0])))
        return Witness(sizes, found[0], found[1], launched)

    for binding in launch_bindings(model.kernel) or ():
        found = shown(binding)
        if found is not None:
            return witness(binding, found, True)
    free = sorted(_free_symbols(model, list(values) + ([bound] if bound is not None else [])))
    derive = _Derived(model, free)
    free = [name for name in free if name not in derive]
    choices = [_candidates(model, name) for name in free]
    for tries, combo in enumerate(itertools.product(*choices)):
        if tries >= _MAX_TRIES:
            break
        binding = derive(dict(zip(free, combo)))
        if binding is None:
            continue
        found = shown(binding)
        if found is not None:
            return witness(binding, found, False)
    return None


class _Derived(dict):
    """The constexpr parameters the kernel's one launch computes from sizes another parameter
    receives (`BLOCK = min(triton.next_power_of_2(e), 32)` with `e` passed too), by name: a
    search sets the others and computes these, instead of trying blocks the host never picks."""

    def __init__(self, model: "RangeModel", names: list[str]):
        super().__init__()
        kernel = model.kernel
        self._launch = kernel.launches[0] if len(kernel.launches) == 1 else None
        if self._launch is None:
            return
        launch = self._launch
        self._receivers = {code_of(arg): p.name for p in kernel.params
                           if (arg := launch.argument_for(kernel, p.name)) is not None}
        self._qualname = kernel.module.imports.qualname
        trial = {name: 64 for name in names}
        for name in names:
            param = kernel.param(name)
            arg = launch.argument_for(kernel, name) if param is not None and param.constexpr else None
            if arg is not None and not isinstance(arg, cst.Integer) and self._value(name, arg, trial) is not None:
                self[name] = arg

    def _value(self, name: str, arg: cst.BaseExpression, binding: dict) -> int | None:
        launch = self._launch

        def lookup(text: str):
            receiver = self._receivers.get(text)
            if receiver is not None and receiver != name and receiver not in self:
                return binding.get(receiver)
            return launch.scope.value_at(text, launch.call)

        value = evaluate(arg, lookup, self._qualname)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def __call__(self, binding: dict) -> dict | None:
        for name, arg in self.items():
            value = self._value(name, arg, binding)
            if value is None:
                return None
            binding[name] = value
        return binding


def _free_symbols(model: "RangeModel", values: list) -> set[str]:
    """The symbols the values depend on, through the derived ones (⌈n/b⌉, next powers of two)."""
    symbols = model.symbols
    out: set[str] = set()
    todo = [s for v in values for s in v.symbols()]
    while todo:
        name = todo.pop()
        if name in symbols.cdiv or name in symbols.floor:
            n, b = symbols.cdiv[name] if name in symbols.cdiv else symbols.floor[name]
            todo += list(n.symbols() | b.symbols())
        elif name in symbols.npo2:
            todo += list(symbols.npo2[name].symbols())
        elif name not in out:
            out.add(name)
    return out


def _candidates(model: "RangeModel", name: str) -> list[int]:
    kernel = model.kernel
    param = kernel.param(name)
    least = model.symbols.minimum.get(name, 1)
    if param is not None and param.constexpr:
        known = sorted({v.value for v in param_values(kernel, name) if isinstance(v.value, int) and not isinstance(v.value, bool)})
        if known:
            return [v for v in known if v >= least]
    if name in model.arange_ends:  # a tile size: a power of two
        return [b for b in _BLOCKS if b >= least]
    return [s for s in _SIZES if s >= least]


# --- evaluating the vector itself at concrete sizes, programs and lanes ----------------------------

_PROGRAMS = 4096  # programs tried per set of sizes
_SIZE_SETS = 24  # sets of sizes tried


def _evaluated_search(model: "RangeModel", vector, bound: "Lin") -> Witness | None:
    """The first sizes (smallest first), program and lane at which `vector` evaluates to
    `bound` or more; its lanes are tried at both ends of its `tl.arange`."""
    from fuselint.model.offsets import without_slices

    vector = without_slices(vector)
    aranges = {k for k in _atoms(vector) if k[0] == "arange"}
    if len(aranges) != 1 or any(k[0] in ("phi", "opaque", "load", "global") for k in _atoms(vector)):
        return None
    (arange,) = aranges
    loops = [(k, model.loop_bounds(k)) for k in dict.fromkeys(k for k in _atoms(vector) if k[0] == "loop")]
    if any(b is None for _, b in loops):
        return None
    used = _atoms(vector) + [a for _, bounds in loops for k in bounds for a in _atoms(k)]
    axes = sorted({k[1][1] for k in used if k[0] == "pid" and k[1][0] == "const"})
    grids = {axis: model.grid(axis) for axis in axes}
    if any(g is None for g in grids.values()):
        return None
    params = {k[1] for k in used if k[0] == "param"}
    free = sorted(params | _free_symbols(model, [bound, *grids.values()]))
    derive = _Derived(model, free)
    free = [name for name in free if name not in derive]
    choices = [_candidates(model, name) for name in free]
    order = [p.name for p in model.kernel.params]
    for combo in itertools.islice(itertools.product(*choices), _SIZE_SETS):
        binding = derive(dict(zip(free, combo)))
        if binding is None:
            continue
        limit = evaluate_lin(bound, model.symbols, binding)
        counts = [evaluate_lin(grids[a], model.symbols, binding) for a in axes]
        start, end = (_value(k, binding, {}, None) for k in arange[1:])
        if limit is None or start is None or end is None or any(c is None or c < 1 for c in counts):
            continue
        programs = itertools.islice(itertools.product(*(range(c) for c in counts)), _PROGRAMS)
        for program in programs:
            pids = dict(zip(axes, program))
            for lane, iteration in itertools.product((end - 1, start), _iterations(loops, binding, pids)):
                reached = _value(vector, binding, pids, lane, iteration)
                if reached is not None and reached >= limit:
                    sizes = tuple(sorted(((n, v) for n, v in binding.items() if n in params or n in bound.symbols()),
                                         key=lambda item: (order.index(item[0]) if item[0] in order else len(order), item[0])))
                    return Witness(sizes, reached, limit, False, program=tuple(program), lane=lane - start)
    return None


_ITERATIONS = 64  # iterations of each loop tried, from both ends


def _iterations(loops: list, binding: dict, pids: dict):
    """Each combination of the loops' variables at these sizes and programs (the first and the
    last iterations of each, when there are many)."""
    ranges = []
    for key, (start, end, step) in loops:
        bounds = [_value(k, binding, pids, None) for k in (start, end, step)]
        if any(b is None for b in bounds) or bounds[2] <= 0:
            return
        values = range(*bounds)
        half = _ITERATIONS // 2
        ranges.append([(key, v) for v in (values if len(values) <= _ITERATIONS else [*values[:half], *values[-half:]])])
    for combo in itertools.product(*ranges):
        yield dict(combo)


def _atoms(key) -> list:
    out, stack = [], [key]
    while stack:
        item = stack.pop()
        kind = item[0]
        if kind in ("sum", "prod"):
            stack.extend(k for k, _ in item[1])
        elif kind in ("neg", "sub"):
            stack.append(item[1])
        elif kind == "bin":
            stack.extend(item[2:4])
        elif kind == "call":
            stack.extend(item[2])
        else:
            out.append(item)
            if kind == "arange":
                stack.extend(item[1:3])
    return out


def _value(key, binding: dict, pids: dict, lane: int | None, iteration: dict | None = None) -> int | None:
    """The integer `key` stands for at these sizes, programs, lane and loop iteration; None
    when it holds anything else."""
    kind = key[0]
    again = lambda k: _value(k, binding, pids, lane, iteration)  # noqa: E731
    if kind == "loop":
        return (iteration or {}).get(key)
    if kind == "const":
        return key[1] if isinstance(key[1], int) and not isinstance(key[1], bool) else None
    if kind == "param":
        return binding.get(key[1])
    if kind == "pid":
        return pids.get(key[1][1]) if key[1][0] == "const" else None
    if kind == "arange":
        start = again(key[1])
        return None if lane is None or start is None else lane
    if kind == "neg":
        inner = again(key[1])
        return None if inner is None else -inner
    if kind == "sub":
        return again(key[1])
    if kind in ("sum", "prod"):
        values = [again(k) for k, count in key[1] for _ in range(count)]
        if any(v is None for v in values):
            return None
        total = 0 if kind == "sum" else 1
        for v in values:
            total = total + v if kind == "sum" else total * v
        return total
    if kind == "bin" and key[1] in ("//", "%"):
        a, b = again(key[2]), again(key[3])
        if a is None or not b:
            return None
        return a // b if key[1] == "//" else a % b
    if kind == "call" and key[1] in ("minimum", "maximum", "min", "max", "cdiv") and len(key[2]) == 2:
        a, b = (again(k) for k in key[2])
        if a is None or b is None:
            return None
        if key[1] == "cdiv":
            return -(-a // b) if b else None
        return min(a, b) if key[1] in ("minimum", "min") else max(a, b)
    return None
