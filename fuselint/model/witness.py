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

from fuselint.findings import Witness
from fuselint.model.constexprs import param_values
from fuselint.model.launch_sizes import evaluate_lin, launch_bindings, symbol_value

if TYPE_CHECKING:
    from fuselint.model.ranges import Lin, RangeModel, Verdict

_BLOCKS = (16, 32, 64, 128)
_SIZES = (1, 2, 3, 5, 17, 100, 1000, 1025, 4097)
_MAX_TRIES = 20000


def witness_text(witness: Witness | None) -> str:
    return f"witness: {witness.text()}" if witness is not None else "no witness among the sizes tried"


def overrun_witness(model: "RangeModel", verdict: "Verdict", bound: "Lin") -> Witness | None:
    """Sizes at which every upper bound of the vector's range is at or past `bound`."""
    return _search(model, verdict.range.hi, bound)


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
    choices = [_candidates(model, name) for name in free]
    for tries, combo in enumerate(itertools.product(*choices)):
        if tries >= _MAX_TRIES:
            break
        binding = dict(zip(free, combo))
        found = shown(binding)
        if found is not None:
            return witness(binding, found, False)
    return None


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
