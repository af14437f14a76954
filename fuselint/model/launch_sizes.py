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
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

import libcst as cst

from fuselint.model.grid import returned_values
from fuselint.model.module import Function, Scope, call_argument
from fuselint.model.names import dotted
from fuselint.model.values import evaluate, next_power_of_2
from fuselint.model.walk import names_in

if TYPE_CHECKING:
    from fuselint.model.kernel import Kernel
    from fuselint.model.ranges import Lin, Symbols

_MAX_ENVS = 512  # sizes of one launch beyond this are not enumerated: nothing is refuted
_CALLER_DEPTH = 2
_PARAMETRIZE = ("pytest.mark.parametrize",)
_PERF_REPORT = ("triton.testing.perf_report",)
_BENCHMARK = ("triton.testing.Benchmark",)
_CONSTRUCTORS = {"empty", "zeros", "ones", "randn", "rand", "full", "empty_strided", "randint"}
_LIKE = {"empty_like", "zeros_like", "ones_like", "randn_like", "rand_like", "full_like", "randint_like"}
_SHAPE_DEPTH = 12
_SAME_SHAPE = {"to", "cuda", "cpu", "contiguous", "normal_", "uniform_", "requires_grad_", "clone", "detach",
               "float", "half", "bfloat16", "fill_", "zero_"}


class Opaque:
    """A value the module gives that is no number (a dtype, a string, a fixture)."""


OPAQUE = Opaque()


@dataclass(frozen=True)
class Tensor:
    """A host tensor the module makes, by its shape."""

    shape: tuple[int, ...]


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
        function = module.function_of(launch.scope)
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
    function = module.function_of(launch.scope)
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
    if depth >= _CALLER_DEPTH or not is_test_module(module.path):
        return unknown  # a function outside a test module may be called from anywhere
    calls = _callers(module, function)
    if not calls:
        return unknown
    envs = []
    for caller, call, unpassed in calls:
        caller_envs = _envs(module, caller, depth + 1)
        if caller_envs is None:
            return None
        for caller_env in caller_envs:
            envs.append(_call_env(module, function, call, caller.scope, caller_env, 0, unpassed))
            if len(envs) > _MAX_ENVS:
                return None
    return envs


def _callers(module, function: Function) -> list[tuple[Function, cst.Call, int]]:
    """Every call of `function` in the module: its caller, the call, and how many leading
    parameters the call does not pass. A plain function is called by its name; the `forward`
    of a `torch.autograd.Function` through `Cls.apply(...)` (or a name bound to `Cls.apply`),
    which passes all but `ctx`. Other methods: none known."""
    if function.class_name is None:
        return [(caller, call, 0) for caller, call in module.calls_to(function.name)]
    if function.name != "forward" or not _is_autograd_function(module, function.class_name):
        return []
    apply = f"{function.class_name}.apply"
    aliases = {name for name, values in module.scope.assignments.items()
               if len(values) == 1 and values[0] is not None and dotted(values[0]) == apply}
    return [(caller, call, 1) for caller in module.functions for call in caller.calls
            if dotted(call.func) == apply or isinstance(call.func, cst.Name) and call.func.value in aliases]


def _is_autograd_function(module, name: str) -> bool:
    return any(c.name.value == name and any(module.imports.qualname(b.value) == "torch.autograd.Function" for b in c.bases)
               for c in module.classes)


def _call_env(module, function: Function, call: cst.Call, scope: Scope, env: dict, depth: int,
              unpassed: int = 0) -> dict:
    """{parameter: value} of `function` at `call`, made in `scope` at `env`: numbers, tensors
    by their shape, OPAQUE for the rest; defaults where the call passes nothing. The first
    `unpassed` parameters (an autograd `ctx`) are OPAQUE."""
    params = [p for p in _params(function.node) if p.name.value not in ("self", "cls")]
    out = {p.name.value: OPAQUE for p in params[:unpassed]}
    params = params[unpassed:]
    names = [p.name.value for p in params]
    for param in params:
        arg = call_argument(call, names, param.name.value)
        if arg is None:
            out[param.name.value] = OPAQUE if param.default is None else _value(module, param.default, module.scope, {})
            continue
        value = _value(module, arg, scope, env, depth)
        if value is OPAQUE:
            shape = _shape_of(module, arg, scope, env, depth)
            value = OPAQUE if shape is None else Tensor(tuple(shape))
        out[param.name.value] = value
    return out


def _parametrize_rows(module, function: Function) -> list[dict] | None:
    """The product of the function's `pytest.mark.parametrize` rows, or the rows of its
    `triton.testing.perf_report` benchmarks; None when it has none or one cannot be read."""
    tables = []
    for decorator in function.node.decorators:
        call = decorator.decorator
        if isinstance(call, cst.Call) and module.imports.qualname(call.func) in _PERF_REPORT and call.args:
            table = _benchmark_rows(_literal(module, call.args[0].value, module.scope, {}))
            if table is None:
                return None
            tables.append(table)
            continue
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


def _benchmark_rows(benchmarks) -> list[dict] | None:
    """The arguments a `perf_report` function runs with: for each `Benchmark`, each of its
    `x_vals` for `x_names`, each of its `line_vals` (OPAQUE when they cannot be read: a line
    names a provider, not a size) for `line_arg`, and its fixed `args`."""
    if isinstance(benchmarks, dict):
        benchmarks = [benchmarks]
    if not isinstance(benchmarks, list) or not all(isinstance(b, dict) for b in benchmarks):
        return None
    rows = []
    for bench in benchmarks:
        names, xs, fixed = bench.get("x_names"), bench.get("x_vals"), bench.get("args", {})
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names) and isinstance(xs, list)
                and isinstance(fixed, dict)):
            return None
        lines = bench.get("line_vals")
        lines = lines if isinstance(lines, list) else [OPAQUE]
        for x in xs:
            values = list(x) if isinstance(x, (list, tuple)) and len(names) > 1 else [x] * len(names)
            if len(values) != len(names):
                return None
            for line in lines:
                row = {**fixed, **dict(zip(names, values))}
                if isinstance(bench.get("line_arg"), str):
                    row[bench["line_arg"]] = line
                rows.append(row)
    return rows if len(rows) <= _MAX_ENVS else None


# --- values of host expressions -------------------------------------------------------------------

def _lookup(module, scope: Scope, env: dict):
    params = scope.params()

    def lookup(name: str):
        if name in params:
            if name in scope.assignments or name not in env:
                return None  # a parameter rebound in the body, or one whose value is unknown
            value = env[name]
            return None if value is OPAQUE or not isinstance(value, (int, float)) else value
        return scope.single(name)

    return lookup


def _value(module, node: cst.BaseExpression | None, scope: Scope, env: dict, depth: int = 0):
    """The number (or OPAQUE) `node` has in `scope` with the function's parameters at `env`."""
    if node is None:
        return OPAQUE
    value = evaluate(node, _lookup(module, scope, env), module.imports.qualname,
                     known=lambda n: _size_of(module, n, scope, env, depth))
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
    if isinstance(node, cst.Call) and module.imports.qualname(node.func) in _BENCHMARK:
        return {a.keyword.value: again(a.value) for a in node.args if a.keyword is not None}
    if isinstance(node, cst.Dict):
        out = {}
        for element in node.elements:
            key = again(element.key) if isinstance(element, cst.DictElement) else OPAQUE
            if not isinstance(key, str):
                return OPAQUE
            out[key] = again(element.value)
        return out
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "range" and node.args:
        bounds = [again(a.value) for a in node.args]
        if (len(bounds) <= 3 and all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
                and bounds[2:] != [0] and len(range(*bounds)) <= _MAX_ENVS):
            return list(range(*bounds))
        return OPAQUE
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
    if depth > _SHAPE_DEPTH:
        return None
    again = lambda n: _shape_of(module, n, scope, env, depth + 1)  # noqa: E731
    if isinstance(node, cst.Name):
        held = env.get(node.value)
        if isinstance(held, Tensor):
            return list(held.shape)
        if node.value in scope.params():
            return None
        return _name_shape(module, node, scope, env, depth)
    if isinstance(node, cst.Attribute) and node.attr.value in ("T", "mT"):
        shape = again(node.value)
        return None if shape is None or len(shape) != 2 else shape[::-1]
    if isinstance(node, cst.BinaryOperation) and isinstance(node.left, (cst.Integer, cst.Float)):
        return again(node.right)  # `.1 * torch.randn(...)`
    if not isinstance(node, cst.Call):
        return None
    if isinstance(node.func, cst.Name):
        callee = _helper(module, node.func.value)
        if callee is not None:
            return _returned_shape(module, callee, node, scope, env, depth + 1)
    if isinstance(node.func, cst.Attribute) and node.func.attr.value in _SAME_SHAPE:
        name = module.imports.qualname(node.func) or ""
        if not name.startswith("torch."):
            return again(node.func.value)
    if isinstance(node.func, cst.Attribute) and node.func.attr.value == "t" and not node.args:
        shape = again(node.func.value)
        return None if shape is None or len(shape) != 2 else shape[::-1]
    name = module.imports.qualname(node.func) or ""
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    if name.startswith("torch.") and name.split(".")[-1] in _LIKE and positional:
        return again(positional[0])
    if name == "torch.where" and len(positional) == 3:
        return _same_shape(positional, again)
    if not (name.startswith("torch.") and name.split(".")[-1] in _CONSTRUCTORS):
        return None
    if len(positional) == 1 and _shape_query(positional[0]) is not None:
        return again(_shape_query(positional[0]))  # torch.empty(x.shape)
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


def _shape_query(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """`x` of `x.shape` or `x.size()`."""
    if isinstance(node, cst.Attribute) and node.attr.value == "shape":
        return node.value
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "size" and not node.args:
        return node.func.value
    return None


def _name_shape(module, node: cst.Name, scope: Scope, env: dict, depth: int) -> list[int] | None:
    """The shape a local name holds where `node` reads it: its reaching assignment, else the one
    shape every assignment gives (those that remake the name from itself, like
    `x = torch.where(x == 0x80, 0, x)`, must keep the shape the others give)."""
    name = node.value
    bound = scope.value_at(name, node)
    if bound is not None:
        return _shape_of(module, bound, scope, env, depth + 1)
    values = scope.assignments.get(name)
    if not values or None in values:
        return None
    fresh = [v for v in values if name not in names_in(v)]
    shapes = {_as_tuple(_shape_of(module, v, scope, env, depth + 1)) for v in fresh}
    if len(shapes) != 1 or None in shapes:
        return None
    shape = shapes.pop()
    kept = {**env, name: Tensor(shape)}
    if any(_as_tuple(_shape_of(module, v, scope, kept, depth + 1)) != shape for v in values if v not in fresh):
        return None
    return list(shape)


def _same_shape(operands: list[cst.BaseExpression], shape_of) -> list[int] | None:
    """The shape of an element-wise result whose tensor operands all have one shape (numbers
    are scalars; a comparison has its left operand's shape); None when they differ."""
    shapes = set()
    for operand in operands:
        if isinstance(operand, (cst.Integer, cst.Float)):
            continue
        shapes.add(_as_tuple(shape_of(operand.left if isinstance(operand, cst.Comparison) else operand)))
    return list(shapes.pop()) if len(shapes) == 1 and None not in shapes else None


def _as_tuple(shape: list[int] | None) -> tuple[int, ...] | None:
    return None if shape is None else tuple(shape)


def _helper(module, name: str) -> Function | None:
    """The one plain function of the module called `name` (not a method, not a kernel)."""
    found = [f for f in module.functions if f.name == name and f.class_name is None]
    if len(found) != 1 or any(k.name == name for k in module.kernels):
        return None
    return found[0]


def _returned_shape(module, callee: Function, call: cst.Call, scope: Scope, env: dict, depth: int) -> list[int] | None:
    """The shape of what a helper of the module returns at `call`, when every return gives the same."""
    returns = returned_values(callee.node)
    if depth > _SHAPE_DEPTH or not returns or any(r is None for r in returns):
        return None
    inner = _call_env(module, callee, call, scope, env, depth)
    shapes = {_as_tuple(_shape_of(module, r, callee.scope, inner, depth + 1)) for r in returns}
    return list(shapes.pop()) if len(shapes) == 1 and None not in shapes else None
