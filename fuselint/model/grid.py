"""The dimensions of a launch grid: `k[(a, b)]`, `k[grid]` with `grid = (...)`, a lambda, or a
`def grid(meta): return (...)` beside the launch."""

from __future__ import annotations

import libcst as cst

from fuselint.model.module import Launch, ModuleModel, Scope
from fuselint.model.walk import Walker


def resolve(name: cst.Name, scope: Scope) -> cst.BaseExpression | None:
    """The expression a name is bound to once in `scope` or an enclosing one."""
    return scope.single(name.value)


class _Returns(Walker):
    """The values returned by one function, not by the functions nested in it."""

    def __init__(self, root: cst.FunctionDef) -> None:
        self.root = root
        self.values: list[cst.BaseExpression | None] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return node is self.root

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Return(self, node: cst.Return) -> None:
        self.values.append(node.value)


def returned_values(function: cst.FunctionDef) -> list[cst.BaseExpression | None]:
    """The values of the function's own `return`s (not those of functions nested in it)."""
    visitor = _Returns(function)
    visitor.walk(function)
    return visitor.values


def _returned(function: cst.FunctionDef) -> cst.BaseExpression | None:
    values = returned_values(function)
    return values[0] if len(values) == 1 else None


def grid_dimensions(module: ModuleModel, launch: Launch) -> list[tuple[cst.BaseExpression, Scope]] | None:
    """Each grid dimension with the scope its names resolve in; None when the grid's form is
    not known (a call of a helper, a name bound more than once)."""
    grid = launch.grid
    if isinstance(grid, cst.Name):  # `grid` may be rebound for each of several launches
        grid = launch.scope.value_at(grid.value, launch.call) or grid
    return _dimensions(module, grid, launch.scope, 0)


def _dimensions(module: ModuleModel, grid: cst.BaseExpression, scope: Scope, depth: int):
    if depth > 6:
        return None
    if isinstance(grid, (cst.Tuple, cst.List)):
        if any(isinstance(e, cst.StarredElement) for e in grid.elements):
            return None
        return [(e.value, scope) for e in grid.elements]
    if isinstance(grid, cst.Lambda):
        return _dimensions(module, grid.body, scope, depth + 1)
    if isinstance(grid, cst.Call) and module.imports.qualname(grid.func) in _INDUCTOR_GRIDS:
        return _inductor_dimensions(grid, scope)
    if isinstance(grid, cst.Name):
        bound = resolve(grid, scope)
        if bound is not None:
            return _dimensions(module, bound, scope, depth + 1)
        for function in reversed(module.functions):
            if function.name == grid.value and function.scope.parent in _chain(scope):
                value = _returned(function.node)
                return None if value is None else _dimensions(module, value, function.scope, depth + 1)
    return None


# Inductor's launch helper: `grid(xnumel, ynumel)` is `(cdiv(xnumel, XBLOCK), cdiv(ynumel, YBLOCK))`.
_INDUCTOR_GRIDS = {"torch._inductor.triton_heuristics.grid", "torch._inductor.runtime.triton_heuristics.grid"}


def _inductor_dimensions(call: cst.Call, scope: Scope):
    numels = [a.value for a in call.args]
    if any(a.keyword is not None or a.star for a in call.args) or not 1 <= len(numels) <= 3:
        return None
    cdiv = cst.Attribute(cst.Name("triton"), cst.Name("cdiv"))  # read as triton.cdiv where triton is imported
    block = lambda name: cst.Subscript(cst.Name("meta"), [cst.SubscriptElement(cst.Index(cst.SimpleString(f'"{name}"')))])  # noqa: E731
    return [(cst.Call(cdiv, [cst.Arg(numel), cst.Arg(block(name))]), scope)
            for numel, name in zip(numels, ("XBLOCK", "YBLOCK", "ZBLOCK"))]


def _chain(scope: Scope | None) -> list[Scope]:
    chain = []
    while scope is not None:
        chain.append(scope)
        scope = scope.parent
    return chain
