"""Where a kernel's sizes get their values: literals, module constants, parameter defaults,
launch sites, `triton.autotune` configs (listed, or built by module functions: `configs=cfggen()`,
with what a prune hook writes) and `triton.heuristics`. Unknown stays unknown."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from fuselint.model.module import AUTOTUNE, HEURISTICS, Scope
from fuselint.model.values import Number, evaluate
from fuselint.model.walk import children, names_in

if TYPE_CHECKING:
    from fuselint.model.kernel import Kernel


@dataclass(frozen=True)
class Value:
    value: Number
    node: cst.CSTNode  # where the value is written: report here, that is the line to change
    origin: str  # "literal", "default", "launch", "autotune config", "heuristic"


def _evaluator(kernel: "Kernel", scope: Scope):
    qualify = kernel.imports.qualname

    def lookup(name: str) -> cst.BaseExpression | None:
        return scope.single(name)

    return lambda node, extra=None: evaluate(
        node, (lambda n: extra[n] if extra and n in extra else lookup(n)), qualify
    )


def values_of(kernel: "Kernel", node: cst.BaseExpression) -> list[Value]:
    if isinstance(node, cst.Name) and kernel.param(node.value) is not None:
        param = kernel.param(node.value)
        return param_values(kernel, param.name) if param.constexpr else []

    def lookup(name: str) -> cst.BaseExpression | None:
        if name in kernel.bindings:
            return kernel.single_binding(name)
        return kernel.module.scope.single(name)

    # An expression over parameters (`2 * BLOCK`, `BLOCK // 2`): one value per known value of
    # its single constexpr parameter, each reported where that value is written.
    params = [n for n in _names(node) if kernel.param(n) is not None]
    if not params:
        value = evaluate(node, lookup, kernel.imports.qualname)
        return [] if value is None else [Value(value, node, "literal")]
    if len(set(params)) != 1:
        return []
    results = []
    for source in param_values(kernel, params[0]):
        bound = {params[0]: cst.Integer(str(source.value)) if isinstance(source.value, int) else None}
        value = evaluate(node, lambda n: bound[n] if n in bound else lookup(n), kernel.imports.qualname)
        if value is not None:
            results.append(Value(value, source.node, source.origin))
    return results


def _names(node: cst.BaseExpression) -> list[str]:
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, cst.BinaryOperation):
        return _names(node.left) + _names(node.right)
    if isinstance(node, cst.UnaryOperation):
        return _names(node.expression)
    if isinstance(node, cst.Call):
        return [n for a in node.args for n in _names(a.value)]
    return []


def param_values(kernel: "Kernel", name: str) -> list[Value]:
    cache = kernel.__dict__.setdefault("_param_values", {})
    if name not in cache:
        cache[name] = list(_param_values(kernel, name))
    return cache[name]


def _param_values(kernel: "Kernel", name: str):
    param = kernel.param(name)
    module_eval = _evaluator(kernel, kernel.module.scope)
    if param is not None and param.default is not None:
        value = module_eval(param.default)
        if value is not None:
            yield Value(value, param.default, "default")
    for launch in kernel.launches:
        arg = launch.argument_for(kernel, name)
        if arg is not None:
            value = _evaluator(kernel, launch.scope)(arg)
            if value is not None:
                yield Value(value, arg, "launch")
    for decorator in kernel.decorators:
        qualname = kernel.module.decorator_name(decorator)
        call = decorator.decorator
        if not isinstance(call, cst.Call):
            continue
        if qualname in AUTOTUNE:
            yield from _autotune_values(kernel, call, name, module_eval)
        elif qualname in HEURISTICS:
            yield from _heuristic_values(call, name, module_eval)


def _keyword(call: cst.Call, name: str, position: int) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    positional = [a for a in call.args if a.keyword is None]
    return positional[position].value if position < len(positional) else None


def _dict_entry(node: cst.BaseExpression | None, key: str) -> cst.BaseExpression | None:
    if not isinstance(node, cst.Dict):
        return None
    for element in node.elements:
        if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
            if element.key.evaluated_value == key:
                return element.value
    return None


def _configs(kernel: "Kernel", node: cst.BaseExpression | None):
    """(config call, names bound by an enclosing comprehension) for each triton.Config."""
    if isinstance(node, cst.Name):
        node = kernel.module.scope.single(node.value)
    if isinstance(node, (cst.List, cst.Tuple)):
        for element in node.elements:
            if isinstance(element.value, cst.Call):
                yield element.value, {}
    elif isinstance(node, (cst.ListComp, cst.GeneratorExp)) and isinstance(node.elt, cst.Call):
        for env in _comprehension_envs(node.for_in):
            yield node.elt, env


def _comprehension_envs(comp: cst.CompFor):
    """Every binding of a comprehension over literal lists (`for b in [32, 64]`), nested fors
    included; nothing when an iterable or a condition is not literal."""
    fors = []
    while comp is not None:
        if comp.ifs or not isinstance(comp.target, cst.Name) or not isinstance(comp.iter, (cst.List, cst.Tuple)):
            return
        fors.append((comp.target.value, [e.value for e in comp.iter.elements]))
        comp = comp.inner_for_in
    for combo in itertools.product(*(values for _, values in fors)):
        yield {name: value for (name, _), value in zip(fors, combo)}


def _autotune_values(kernel: "Kernel", call: cst.Call, name: str, module_eval):
    configs = _keyword(call, "configs", 0)
    builders = _builders(kernel, configs)
    if builders:  # `configs=get_configs()`: every value the functions can give, or none
        values = _built_values(kernel, builders, name, required=True)
        prune = _dict_entry(_keyword(call, "prune_configs_by", 4), "early_config_prune")
        if values and prune is not None:
            pruners = _builders(kernel, cst.Call(func=prune)) if isinstance(prune, cst.Name) else []
            rewritten = _built_values(kernel, pruners, name, required=False) if pruners else None
            values = None if rewritten is None else values + rewritten
        yield from values or []
        return
    for config, env in _configs(kernel, configs):
        if kernel.imports.qualname(config.func) not in ("triton.Config", "triton.runtime.Config", "triton.runtime.autotuner.Config"):
            continue
        entry = _dict_entry(_keyword(config, "kwargs", 0), name)
        if entry is not None:
            value = module_eval(entry, env)
            if value is not None:
                yield Value(value, entry, "autotune config")


def _heuristic_values(call: cst.Call, name: str, module_eval):
    entry = _dict_entry(_keyword(call, "values", 0), name)
    if isinstance(entry, cst.Lambda):
        value = module_eval(entry.body)
        if value is not None:
            yield Value(value, entry.body, "heuristic")


def _builders(kernel: "Kernel", node: cst.BaseExpression | None) -> list:
    """The module functions a call `f()` can run, following `f = g` aliases (every binding:
    `if AUTOTUNE == "max": get = get_max ... else: get = get_default`)."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and not node.args):
        return []
    found, names, seen = [], [node.func.value], set()
    while names:
        name = names.pop()
        if name in seen:
            continue
        seen.add(name)
        functions = [f for f in kernel.module.functions if f.name == name and f.class_name is None]
        if functions:
            found.extend(functions)
            continue
        bound = kernel.module.scope.assignments.get(name) or []
        if not bound or not all(isinstance(value, cst.Name) for value in bound):
            return []
        names.extend(value.value for value in bound)
    return found


def _built_values(kernel: "Kernel", functions: list, name: str, required: bool) -> "list[Value] | None":
    """Every value the functions' dict literals give the key `name` (`{'BLOCK_M': 1, ...}`,
    `{'BLOCK_M': m}` under `for m in [1, 2]`, a name bound once to a literal), or None when
    one is not known. With `required`, functions that never name the key are not known
    either; otherwise they leave the values as they were (a prune hook that keeps a size)."""
    values = []
    for function in functions:
        lookup = function.scope.single
        qualify = kernel.imports.qualname
        for entry, fors in _dict_entries(function.node.body, name, ()):
            used = set(names_in(entry))
            envs = _loop_envs(tuple(f for f in fors if not isinstance(f.target, cst.Name) or f.target.value in used))
            if envs is None:
                return None
            for env in envs:
                value = evaluate(entry, (lambda n, env=env: env[n] if n in env else lookup(n)), qualify)
                if value is None:
                    return None
                values.append(Value(value, entry, "autotune config"))
    if required and not values:
        return None
    return list({(v.value, id(v.node)): v for v in values}.values())  # one per value and place


def _dict_entries(node: cst.CSTNode, key: str, fors: tuple):
    """(value, enclosing for loops) of every dict literal entry `key: value` under `node`."""
    if isinstance(node, cst.Dict):
        entry = _dict_entry(node, key)
        if entry is not None:
            yield entry, fors
    if isinstance(node, cst.For):
        yield from _dict_entries(node.iter, key, fors)
        for part in (node.body, node.orelse):
            if part is not None:
                yield from _dict_entries(part, key, fors + (node,))
        return
    for child in children(node):
        yield from _dict_entries(child, key, fors)


def _loop_envs(fors: tuple) -> "list[dict] | None":
    """Every binding of nested `for x in [literal, ...]` loops; None when one is not literal."""
    choices = []
    for loop in fors:
        if not isinstance(loop.target, cst.Name) or not isinstance(loop.iter, (cst.List, cst.Tuple)):
            return None
        choices.append((loop.target.value, [e.value for e in loop.iter.elements]))
    return [{n: v for (n, _), v in zip(choices, combo)} for combo in itertools.product(*(vs for _, vs in choices))]
