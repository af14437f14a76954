"""The model of one module: imports, functions and their scopes, kernels, launch sites.

Built by one visit of the module; kernels are then modelled from their own bodies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from fuselint.model.kernel import Kernel, build_kernel
from fuselint.model.names import ImportTable, dotted
from fuselint.model.walk import Walker, children

JIT = {"triton.jit", "triton.runtime.jit", "triton.runtime.jit.jit", "triton.runtime.jit.JITFunction"}
AUTOTUNE = {"triton.autotune", "triton.runtime.autotune", "triton.runtime.autotuner.autotune"}
HEURISTICS = {"triton.heuristics", "triton.runtime.heuristics", "triton.runtime.autotuner.heuristics"}


@dataclass
class Scope:
    """Names assigned in a function body (or the module), for constant evaluation."""

    node: cst.CSTNode
    parent: "Scope | None"
    assignments: dict[str, list[cst.BaseExpression | None]] = field(default_factory=dict)
    asserts: list[cst.BaseExpression] = field(default_factory=list)  # `assert` / torch._check tests in this body
    # tests of `if`s whose body leaves the function (`if n % BLOCK: raise ...`): false after them
    exits: list[cst.BaseExpression] = field(default_factory=list)
    # names bound by unpacking a value that is not a literal tuple (`M, N = x.shape`): value, index
    unpacked: dict[str, tuple[cst.BaseExpression, int]] = field(default_factory=dict)

    def single(self, name: str) -> cst.BaseExpression | None:
        """The expression `name` is bound to here, when bound exactly once; else look outward
        only when this scope does not bind it at all."""
        values = self.assignments.get(name)
        if values is None:
            return self.parent.single(name) if self.parent is not None else None
        return values[0] if len(values) == 1 else None

    def value_at(self, name: str, node: cst.CSTNode) -> cst.BaseExpression | None:
        """The expression `name` holds where `node` runs: `single`, or, for a name this body
        binds more than once, the last of its plain top-level assignments before the
        statement that holds `node` (`grid = ...; k1[grid](...); grid = ...; k2[grid](...)`);
        bindings after that statement do not matter. None when a binding before it sits in a
        branch or loop, or comes in another form."""
        values = self.assignments.get(name)
        if values is None or len(values) == 1 or not isinstance(self.node, cst.FunctionDef):
            return self.single(name)
        body = self.node.body.body
        here = next((i for i, s in enumerate(body) if _holds(s, node)), None)
        if here is None or None in values:
            return None
        before = []
        for value in values:
            at = next((i for i, s in enumerate(body) if _holds(s, value)), None)
            if at is not None and at > here:
                continue  # bound after the statement that holds node: it does not reach it
            if at is None or _plain_assignment(body[at], name) is not value:
                return None  # in a branch or a loop: it may or may not have run
            if at < here:  # `name = f(name)` reads the binding before it
                before.append(value)
        return before[-1] if before else None

    def params(self) -> set[str]:
        if isinstance(self.node, cst.FunctionDef):
            p = self.node.params
            return {x.name.value for x in [*p.posonly_params, *p.params, *p.kwonly_params]}
        return set()


def _plain_assignment(statement: cst.BaseStatement, name: str) -> cst.BaseExpression | None:
    """The value of `name = value` when `statement` is that one assignment."""
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)
                and small.targets[0].target.value == name):
            return small.value
    return None


def _holds(root: cst.CSTNode, node: cst.CSTNode) -> bool:
    stack = [root]
    while stack:
        current = stack.pop()
        if current is node:
            return True
        stack.extend(children(current))
    return False


@dataclass
class Function:
    node: cst.FunctionDef
    scope: Scope  # the function's own scope
    class_name: str | None
    calls: list[cst.Call] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.node.name.value


@dataclass
class Launch:
    """`target[grid](args...)` in this module."""

    call: cst.Call
    target: str
    grid: cst.BaseExpression
    scope: Scope
    kernel: Kernel | None = None
    guards: tuple[cst.BaseExpression, ...] = ()  # tests of the `if`s whose body holds the launch

    def argument_for(self, kernel: Kernel, name: str) -> cst.BaseExpression | None:
        return call_argument(self.call, [p.name for p in kernel.params], name)


def call_argument(call: cst.Call, params: list[str], name: str) -> cst.BaseExpression | None:
    """The expression `call` passes for parameter `name` of a function whose parameters, in
    order, are `params`: by keyword, else by position; None when not passed or behind a `*args`."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    positional = [a for a in call.args if a.keyword is None]
    if any(a.star for a in positional):
        return None
    if name in params and params.index(name) < len(positional):
        return positional[params.index(name)].value
    return None


class ModuleModel:
    def __init__(self, module: cst.Module, path: str | None = None) -> None:
        self.module = module
        self.path = path  # the file's path, where the caller knows it
        self.imports = ImportTable()
        self.scope = Scope(module, None)
        self.functions: list[Function] = []
        self.classes: list[cst.ClassDef] = []
        self.launches: list[Launch] = []
        self.kernels: list[Kernel] = []
        # kernels by the scope that defines them and their name there: a module may define
        # several `kernel`s (one per test function), each seen only from its own scope
        self._defined: dict[tuple[int, str], Kernel] = {}
        self._scope_of: dict[int, Scope] = {}  # id(kernel) -> the scope that defines it
        self._jit_assigned: dict[str, str] = {}  # alias -> function name, for `k = triton.jit(f)`
        self._calls: dict[int, list] | None = None  # id(kernel) -> (caller, call) of each helper call, once asked
        _ModuleScanner(self).walk(module)
        self._find_kernels()
        for launch in self.launches:
            launch.kernel = self._launched(launch)

    # queries ------------------------------------------------------------------------------
    def kernel_named(self, name: str, scope: Scope | None = None) -> Kernel | None:
        """The kernel `name` stands for in `scope` (default: the module's), as Python resolves
        it: the innermost enclosing scope that binds the name decides; a parameter or another
        value there hides any kernel further out (a name bound once to another name is followed)."""
        return self._lookup(name, scope or self.scope, 0)

    def function_of(self, scope: Scope) -> "Function | None":
        """The function whose body is `scope` (None for the module's own)."""
        return next((f for f in self.functions if f.scope is scope), None)

    def calls_to(self, name: str) -> list[tuple["Function", cst.Call]]:
        """Every `name(...)` call in the module's functions, with the function that makes it."""
        return [(caller, call) for caller in self.functions for call in caller.calls
                if isinstance(call.func, cst.Name) and call.func.value == name]

    def callee(self, kernel: Kernel, name: str) -> Kernel | None:
        """The kernel a call `name(...)` inside `kernel` reaches (a @triton.jit helper)."""
        return self._lookup(name, self._scope_of.get(id(kernel), self.scope), 0)

    def defining_scope(self, kernel: Kernel) -> Scope:
        """The scope whose body defines `kernel` (the module's, or a function's)."""
        return self._scope_of.get(id(kernel), self.scope)

    def callers_of(self, kernel: Kernel) -> list[Kernel]:
        """The kernels of this module that call `kernel` as a helper."""
        callers: list[Kernel] = []
        for caller, _ in self.calls_of(kernel):
            if not any(k is caller for k in callers):
                callers.append(caller)
        return callers

    def calls_of(self, kernel: Kernel) -> list[tuple[Kernel, cst.Call]]:
        """(caller, call) for each call of `kernel` as a helper by another kernel of this module."""
        if self._calls is None:
            self._calls = {}
            for caller in self.kernels:
                for call, _ in caller.other_calls:
                    called = self.callee(caller, call.func.value) if isinstance(call.func, cst.Name) else None
                    if called is not None and called is not caller:
                        self._calls.setdefault(id(called), []).append((caller, call))
        return self._calls.get(id(kernel), [])

    def _lookup(self, name: str, scope: Scope | None, depth: int) -> Kernel | None:
        while scope is not None:
            kernel = self._defined.get((id(scope.node), name))
            if kernel is not None:
                return kernel
            if name in scope.assignments or name in scope.params():
                value = scope.single(name) if name in scope.assignments else None
                target = _decorated(value, self.imports) if value is not None else None
                return self._lookup(target, scope, depth + 1) if target not in (None, name) and depth < 8 else None
            scope = scope.parent
        return None

    def _launched(self, launch: Launch) -> Kernel | None:
        """The kernel a launch runs: the name it subscripts, resolved from the launch's scope;
        `obj.kernel[grid]` by its last name among the module's own kernels."""
        func = launch.call.func
        if isinstance(func, cst.Subscript) and isinstance(func.value, cst.Name):
            return self._lookup(func.value.value, launch.scope, 0)
        return self._defined.get((id(self.scope.node), launch.target))

    def function_named(self, name: str, class_name: str | None = None) -> Function | None:
        found = [f for f in self.functions if f.name == name and f.class_name == class_name]
        return found[-1] if found else None

    def launches_of(self, kernel: Kernel) -> list[Launch]:
        return [launch for launch in self.launches if launch.kernel is kernel]

    def decorator_name(self, decorator: cst.Decorator) -> str | None:
        expr = decorator.decorator
        if isinstance(expr, cst.Call):
            expr = expr.func
        return self.imports.qualname(expr)

    def is_jit(self, function: Function) -> bool:
        return any(self.decorator_name(d) in JIT for d in function.node.decorators) or (
            function.class_name is None and function.name in self._jit_assigned.values()
        )

    # building -------------------------------------------------------------------------------
    def _find_kernels(self) -> None:
        for function in self.functions:
            if self.is_jit(function):
                kernel = build_kernel(function.node, self, list(function.node.decorators))
                self.kernels.append(kernel)
                self._scope_of[id(kernel)] = function.scope.parent
                if function.class_name is None:
                    self._defined[(id(function.scope.parent.node), function.name)] = kernel
        for alias, name in self._jit_assigned.items():
            kernel = self._defined.get((id(self.scope.node), name))
            if kernel is not None:
                self._defined[(id(self.scope.node), alias)] = kernel

    def note_jit_assignment(self, target: str, value: cst.BaseExpression) -> None:
        """`k = triton.jit(f)` or `k = triton.autotune(...)(triton.jit(f))` makes f a kernel."""
        while isinstance(value, cst.Call):
            func = value.func
            name = self.imports.qualname(func.func if isinstance(func, cst.Call) else func)
            if name in JIT and value.args and isinstance(value.args[0].value, cst.Name):
                self._jit_assigned[target] = value.args[0].value.value
                return
            if not value.args:
                return
            value = value.args[0].value


def _decorated(value: cst.BaseExpression, imports: ImportTable) -> str | None:
    """The name a value stands for when it is that name, or that name wrapped by Triton's
    decorators called by hand (`triton.autotune(configs, key)(f)`, `triton.heuristics(...)(f)`)."""
    while (isinstance(value, cst.Call) and isinstance(value.func, cst.Call) and len(value.args) == 1
           and imports.qualname(value.func.func) in AUTOTUNE | HEURISTICS):
        value = value.args[0].value
    return value.value if isinstance(value, cst.Name) else None


def _leaves(body: cst.BaseSuite) -> bool:
    """Does a block end by leaving the function (`raise` or `return` as its last statement)?"""
    statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
    last = statements[-1] if statements else None
    return isinstance(last, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) and isinstance(
        last.body[-1], (cst.Raise, cst.Return))


class _ModuleScanner(Walker):
    def __init__(self, model: ModuleModel) -> None:
        self.model = model
        self.scopes: list[Scope] = [model.scope]
        self.functions: list[Function | None] = [None]
        self.class_stack: list[cst.ClassDef | None] = [None]
        self.guards: list[cst.BaseExpression] = []

    def visit_If(self, node: cst.If) -> bool:
        """The body runs where the test holds: keep the test while walking it."""
        if node.orelse is None and _leaves(node.body):
            self.scopes[-1].exits.append(node.test)
        self.walk(node.test)
        self.guards.append(node.test)
        self.walk(node.body)
        self.guards.pop()
        if node.orelse is not None:
            self.walk(node.orelse)
        return False

    def visit_Assert(self, node: cst.Assert) -> None:
        self.scopes[-1].asserts.append(node.test)

    def visit_Import(self, node: cst.Import) -> None:
        self.model.imports.add(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.model.imports.add(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.model.classes.append(node)
        self.class_stack.append(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.class_stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        owner = self.class_stack[-1]
        scope = Scope(node, self.scopes[-1])
        function = Function(node, scope, owner.name.value if owner is not None else None)
        self.model.functions.append(function)
        self.scopes.append(scope)
        self.functions.append(function)
        self.class_stack.append(None)  # a def inside a method is not a method

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.pop()
        self.functions.pop()
        self.class_stack.pop()

    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        scope = self.scopes[-1]
        if isinstance(target, cst.Name):
            scope.assignments.setdefault(target.value, []).append(value)
            if value is not None and scope is self.model.scope:
                self.model.note_jit_assignment(target.value, value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            values = None
            if isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) == len(target.elements):
                values = [e.value for e in value.elements]
            starred = any(isinstance(e, cst.StarredElement) for e in target.elements)
            for i, element in enumerate(target.elements):
                self._assign(element.value, values[i] if values else None)
                if values is None and value is not None and not starred and isinstance(element.value, cst.Name):
                    scope.unpacked[element.value.value] = (value, i)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._assign(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._assign(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._assign(node.target, None)  # a second binding: no longer a constant

    def visit_For(self, node: cst.For) -> None:
        self._assign(node.target, None)

    def visit_Call(self, node: cst.Call) -> None:
        function = self.functions[-1]
        if function is not None:
            function.calls.append(node)
        if node.args and self.model.imports.qualname(node.func) == "torch._check":  # an assert by another name
            self.scopes[-1].asserts.append(node.args[0].value)
        func = node.func
        if isinstance(func, cst.Subscript) and len(func.slice) == 1 and isinstance(func.slice[0].slice, cst.Index):
            target, grid = dotted(func.value), func.slice[0].slice.value
        elif isinstance(func, cst.Attribute) and func.attr.value == "warmup":  # `k.warmup(*args, grid=...)` compiles
            target = dotted(func.value)
            grid = next((a.value for a in node.args if a.keyword is not None and a.keyword.value == "grid"), None)
        else:
            return
        if target is not None and grid is not None:
            self.model.launches.append(Launch(node, target.split(".")[-1], grid, self.scopes[-1], guards=tuple(self.guards)))
