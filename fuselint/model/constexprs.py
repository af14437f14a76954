"""Where a kernel's sizes get their values: literals, module constants, parameter defaults,
launch sites, `triton.autotune` configs and `triton.heuristics`. Unknown stays unknown."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from fuselint.model.module import AUTOTUNE, HEURISTICS, Scope
from fuselint.model.values import Number, evaluate

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
    for config, env in _configs(kernel, _keyword(call, "configs", 0)):
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
