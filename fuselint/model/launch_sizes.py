"""The concrete sizes a module launches a kernel with, where the module itself says them.

A test launches its kernel with the rows of its `pytest.mark.parametrize`, a helper with what
its callers in the module pass, a script with its constants; tensors made in the same function
(`torch.randn((M, K))`) give their `.shape[i]`, `.size(i)` and `.numel()`. Read statically,
never run.

They are used only where they are every size the kernel can see: a kernel defined inside a
function, or in a test module (`test_*.py`, `*_test.py`, `conftest.py`: nothing imports it and
launches it with other sizes), whose every launch has its sizes enumerated. A bound that holds
at every one of them refutes a finding that needed another size.
"""

from __future__ import annotations

import itertools
from pathlib import PurePath
from typing import TYPE_CHECKING

import libcst as cst

from fuselint.model.module import Function, Scope, call_argument
from fuselint.model.values import evaluate, next_power_of_2

if TYPE_CHECKING:
    from fuselint.model.kernel import Kernel
    from fuselint.model.ranges import Lin, Symbols

_MAX_ENVS = 512  # sizes of one launch beyond this are not enumerated: nothing is refuted
_CALLER_DEPTH = 2
_PARAMETRIZE = ("pytest.mark.parametrize",)
_CONSTRUCTORS = {"empty", "zeros", "ones", "randn", "rand", "full", "empty_strided", "randint"}
_SAME_SHAPE = {"to", "cuda", "cpu", "contiguous", "normal_", "uniform_", "requires_grad_", "clone", "detach",
               "float", "half", "bfloat16", "fill_", "zero_"}


class Opaque:
    """A value the module gives that is no number (a dtype, a string, a fixture)."""


OPAQUE = Opaque()
HOST = " (host)"  # the suffix of a symbol that stands for a host size (`M (host)`, `x.numel() (host)`)


class LaunchBinding(dict):
    """{parameter: value} at one launch and one set of sizes; a host size (`M (host)`) is
    evaluated in the launching function at the same sizes when asked for."""

    def __init__(self, module, scope: Scope, env: dict):
        super().__init__()
        self._where = (module, scope, env)

    def host_value(self, symbol: str) -> int | None:
        module, scope, env = self._where
        try:
            node = cst.parse_expression(symbol[: -len(HOST)])
        except cst.ParserSyntaxError:
            return None
        value = _value(module, node, scope, env)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def is_test_module(path: str | None) -> bool:
    name = PurePath(path).name if path else ""
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def launch_bindings(kernel: "Kernel") -> list[dict[str, int]] | None:
    """One {parameter: value} per launch and per set of sizes its function runs with (only the
    parameters whose argument is a known integer); None when the module does not say every size
    the kernel can see."""
    cache = kernel.__dict__
    if "_launch_bindings" not in cache:
        cache["_launch_bindings"] = _launch_bindings(kernel)
    return cache["_launch_bindings"]


def _launch_bindings(kernel: "Kernel") -> list[dict[str, int]] | None:
    module = kernel.module
    nested = module.defining_scope(kernel) is not module.scope
    if not kernel.launches or not (nested or is_test_module(module.path)):
        return None
    out = []
    for launch in kernel.launches:
        function = _function_of(module, launch.scope)
        envs = _envs(module, function, 0) if function is not None else [{}]
        if envs is None:
            return None
        for env in envs:
            binding = LaunchBinding(module, launch.scope, env)
            for param in kernel.params:
                arg = launch.argument_for(kernel, param.name)
                value = _value(module, arg, launch.scope, env) if arg is not None else None
                if isinstance(value, int) and not isinstance(value, bool):
                    binding[param.name] = value
            out.append(binding)
            if len(out) > _MAX_ENVS:
                return None
    return out


def values_at(module, launch, node: cst.BaseExpression, scope: Scope) -> list | None:
    """The values a host expression of this launch takes (one per set of sizes its function
    runs with: numbers or OPAQUE); None when they are not all known."""
    function = _function_of(module, launch.scope)
    envs = _envs(module, function, 0) if function is not None else [{}]
    if envs is None:
        return None
    return [_value(module, node, scope, env) for env in envs]


def evaluate_lin(value: "Lin", symbols: "Symbols", binding: dict[str, int]) -> int | None:
    """`value` at these sizes, the symbols derived at launch (⌈n/b⌉, ⌊n/b⌋, next powers of two)
    computed from theirs; None when a symbol has no value."""
    total = 0
    for monomial, coefficient in value.terms.items():
        product = coefficient
        for symbol in monomial:
            found = symbol_value(symbol, symbols, binding)
            if found is None:
                return None
            product *= found
        total += product
    return total


def symbol_value(symbol: str, symbols: "Symbols", binding: dict[str, int]) -> int | None:
    if symbol in binding:
        return binding[symbol]
    if symbol.endswith(HOST) and isinstance(binding, LaunchBinding):
        return binding.host_value(symbol)
    if symbol in symbols.cdiv or symbol in symbols.floor:
        n, b = symbols.cdiv[symbol] if symbol in symbols.cdiv else symbols.floor[symbol]
        n, b = evaluate_lin(n, symbols, binding), evaluate_lin(b, symbols, binding)
        if n is None or not b:
            return None
        return -(-n // b) if symbol in symbols.cdiv else n // b
    if symbol in symbols.npo2:
        n = evaluate_lin(symbols.npo2[symbol], symbols, binding)
        return None if n is None else next_power_of_2(n)
    return None


# --- the sizes a function runs with ----------------------------------------------------------------

def _function_of(module, scope: Scope) -> Function | None:
    for function in module.functions:
        if function.scope is scope:
            return function
    return None


def _params(node: cst.FunctionDef) -> list[cst.Param]:
    p = node.params
    return [*p.posonly_params, *p.params, *p.kwonly_params]


def _envs(module, function: Function, depth: int) -> list[dict] | None:
    """Every {parameter: value} the function is called with: its parametrize rows, else what
    its callers in a test module pass, else OPAQUE for each (a fixture, a caller elsewhere);
    None when there are too many to enumerate."""
    params = [p for p in _params(function.node) if p.name.value not in ("self", "cls")]
    unknown = [{p.name.value: OPAQUE for p in params}]
    if not params:
        return [{}]
    rows = _parametrize_rows(module, function)
    if rows is not None:
        return rows
    if depth >= _CALLER_DEPTH or function.class_name is not None or not is_test_module(module.path):
        return unknown  # a function outside a test module may be called from anywhere
    calls = [(caller, call) for caller in module.functions for call in caller.calls
             if isinstance(call.func, cst.Name) and call.func.value == function.name]
    if not calls:
        return unknown
    names = [p.name.value for p in params]
    envs = []
    for caller, call in calls:
        caller_envs = _envs(module, caller, depth + 1)
        if caller_envs is None:
            return None
        for caller_env in caller_envs:
            env = {}
            for param in params:
                arg = call_argument(call, names, param.name.value)
                node = arg if arg is not None else param.default
                env[param.name.value] = OPAQUE if node is None else _value(
                    module, node, caller.scope if arg is not None else module.scope, caller_env if arg is not None else {}
                )
            envs.append(env)
            if len(envs) > _MAX_ENVS:
                return None
    return envs


def _parametrize_rows(module, function: Function) -> list[dict] | None:
    """The product of the function's `pytest.mark.parametrize` rows; None when it has none or
    one cannot be read."""
    tables = []
    for decorator in function.node.decorators:
        call = decorator.decorator
        if not (isinstance(call, cst.Call) and module.imports.qualname(call.func) in _PARAMETRIZE):
            continue
        positional = [a.value for a in call.args if a.keyword is None]
        if len(positional) < 2 or any(a.keyword is not None and a.keyword.value == "indirect" for a in call.args):
            return None
        names = _literal(module, positional[0], module.scope, {})
        rows = _literal(module, positional[1], module.scope, {})
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        if not (isinstance(names, (list, tuple)) and all(isinstance(n, str) for n in names) and isinstance(rows, list)):
            return None
        table = []
        for row in rows:
            values = [row] if len(names) == 1 else row
            if not isinstance(values, (list, tuple)) or len(values) != len(names):
                return None
            table.append(dict(zip(names, values)))
        tables.append(table)
    if not tables:
        return None
    envs = []
    for combo in itertools.product(*tables):
        env = {}
        for part in combo:
            env.update(part)
        envs.append(env)
        if len(envs) > _MAX_ENVS:
            return None
    covered = set().union(*(set(e) for e in envs)) if envs else set()
    for param in _params(function.node):  # the rest: defaults (fixtures stay unknown)
        name = param.name.value
        if name not in covered:
            value = _value(module, param.default, module.scope, {}) if param.default is not None else OPAQUE
            for env in envs:
                env[name] = value
    return envs


# --- values of host expressions -------------------------------------------------------------------

def _lookup(module, scope: Scope, env: dict):
    params = scope.params()

    def lookup(name: str):
        if name in params:
            if name in scope.assignments or name not in env:
                return None  # a parameter rebound in the body, or one whose value is unknown
            value = env[name]
            return None if value is OPAQUE or not isinstance(value, (int, float)) else value
        bound = scope.single(name)
        size = _size_of(module, bound, scope, env, 0) if bound is not None else None
        return bound if size is None else size

    return lookup


def _value(module, node: cst.BaseExpression | None, scope: Scope, env: dict):
    """The number (or OPAQUE) `node` has in `scope` with the function's parameters at `env`."""
    if node is None:
        return OPAQUE
    shape = _size_of(module, node, scope, env, 0)
    if shape is not None:
        return shape
    value = evaluate(node, _lookup(module, scope, env), module.imports.qualname)
    return OPAQUE if value is None else value


def _literal(module, node: cst.BaseExpression, scope: Scope, env: dict, depth: int = 0):
    """A literal structure (lists, tuples, comprehensions over them, strings, numbers) as a
    Python value; OPAQUE for what is not one."""
    if depth > 8:
        return OPAQUE
    again = lambda n: _literal(module, n, scope, env, depth + 1)  # noqa: E731
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value
    if isinstance(node, cst.Name) and node.value in env:
        return env[node.value]
    if isinstance(node, cst.Name) and node.value not in ("True", "False", "None"):
        bound = scope.single(node.value)
        return OPAQUE if bound is None else again(bound)
    if isinstance(node, (cst.List, cst.Tuple)):
        out = []
        for element in node.elements:
            value = again(element.value)
            if isinstance(element, cst.StarredElement):
                if not isinstance(value, (list, tuple)):
                    return OPAQUE
                out.extend(value)
            else:
                out.append(value)
        return out if isinstance(node, cst.List) else tuple(out)
    if isinstance(node, cst.ListComp):
        return _comprehension(module, node, scope, env, depth)
    if isinstance(node, cst.Call) and module.imports.qualname(node.func) == "pytest.param":
        return tuple(again(a.value) for a in node.args if a.keyword is None)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left, right = again(node.left), again(node.right)
        if isinstance(left, list) and isinstance(right, list):
            return left + right
    value = evaluate(node, _literal_lookup(env, scope), module.imports.qualname)
    return OPAQUE if value is None else value


def _literal_lookup(env: dict, scope: Scope):
    def lookup(name: str):
        if name in env:
            value = env[name]
            return value if isinstance(value, (int, float)) else None
        return scope.single(name)

    return lookup


def _comprehension(module, node: cst.ListComp, scope: Scope, env: dict, depth: int):
    """`[elt for a in xs for b in ys]` over literal iterables, unpacking targets included."""
    envs = [dict(env)]
    comp = node.for_in
    while comp is not None:
        if comp.ifs:
            return OPAQUE
        grown = []
        for current in envs:
            items = _literal(module, comp.iter, scope, current, depth + 1)
            if not isinstance(items, (list, tuple)):
                return OPAQUE
            for item in items:
                bound = _bind(comp.target, item)
                if bound is None:
                    return OPAQUE
                grown.append({**current, **bound})
                if len(grown) > _MAX_ENVS:
                    return OPAQUE
        envs = grown
        comp = comp.inner_for_in
    return [_literal(module, node.elt, scope, e, depth + 1) for e in envs]


def _bind(target: cst.BaseExpression, item) -> dict | None:
    if isinstance(target, cst.Name):
        return {target.value: item}
    if isinstance(target, (cst.Tuple, cst.List)) and isinstance(item, (list, tuple)) and len(item) == len(target.elements):
        out = {}
        for element, value in zip(target.elements, item):
            bound = _bind(element.value, value)
            if bound is None:
                return None
            out.update(bound)
        return out
    return None


# --- sizes of tensors made in the same function ---------------------------------------------------

def _size_of(module, node: cst.BaseExpression, scope: Scope, env: dict, depth: int) -> int | None:
    """`x.shape[i]`, `x.size(i)`, `x.numel()` of a tensor whose shape the module gives."""
    if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Attribute) and node.value.attr.value == "shape":
        index = _index(module, node, scope, env)
        shape = _shape_of(module, node.value.value, scope, env, depth)
        return _pick(shape, index)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        method = node.func.attr.value
        if method == "numel" and not node.args:
            shape = _shape_of(module, node.func.value, scope, env, depth)
            if shape is not None:
                total = 1
                for dim in shape:
                    total *= dim
                return total
        if method == "size" and len(node.args) == 1:
            index = evaluate(node.args[0].value, _lookup(module, scope, env), module.imports.qualname)
            return _pick(_shape_of(module, node.func.value, scope, env, depth), index)
    return None


def _index(module, node: cst.Subscript, scope: Scope, env: dict) -> int | None:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    value = evaluate(node.slice[0].slice.value, _lookup(module, scope, env), module.imports.qualname)
    return value if isinstance(value, int) else None


def _pick(shape: list[int] | None, index: int | None) -> int | None:
    if shape is None or index is None or not -len(shape) <= index < len(shape):
        return None
    return shape[index]


def _shape_of(module, node: cst.BaseExpression, scope: Scope, env: dict, depth: int) -> list[int] | None:
    """The shape of a tensor expression: a torch constructor with literal sizes, through names
    bound once and shape-keeping methods (`.to`, `.cuda`, `.contiguous`, `.T`, `.t()`)."""
    if depth > 6:
        return None
    again = lambda n: _shape_of(module, n, scope, env, depth + 1)  # noqa: E731
    if isinstance(node, cst.Name):
        if node.value in scope.params():
            return None
        bound = scope.single(node.value)
        return None if bound is None else again(bound)
    if isinstance(node, cst.Attribute) and node.attr.value in ("T", "mT"):
        shape = again(node.value)
        return None if shape is None or len(shape) != 2 else shape[::-1]
    if isinstance(node, cst.BinaryOperation) and isinstance(node.left, (cst.Integer, cst.Float)):
        return again(node.right)  # `.1 * torch.randn(...)`
    if not isinstance(node, cst.Call):
        return None
    if isinstance(node.func, cst.Attribute) and node.func.attr.value in _SAME_SHAPE:
        name = module.imports.qualname(node.func) or ""
        if not name.startswith("torch."):
            return again(node.func.value)
    if isinstance(node.func, cst.Attribute) and node.func.attr.value == "t" and not node.args:
        shape = again(node.func.value)
        return None if shape is None or len(shape) != 2 else shape[::-1]
    name = module.imports.qualname(node.func) or ""
    if not (name.startswith("torch.") and name.split(".")[-1] in _CONSTRUCTORS):
        return None
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    keyword = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    if name.endswith("randint"):
        positional = positional[2:] if len(positional) >= 3 else positional[1:]
    elif name.endswith("full") or name.endswith("empty_strided"):
        positional = positional[:1]
    if "size" in keyword and not positional:
        positional = [keyword["size"]]
    if len(positional) == 1 and isinstance(positional[0], (cst.Tuple, cst.List)):
        positional = [e.value for e in positional[0].elements]
    dims = [evaluate(p, _lookup(module, scope, env), module.imports.qualname) for p in positional]
    if not dims or any(not isinstance(d, int) or isinstance(d, bool) or d < 0 for d in dims):
        return None
    return dims
