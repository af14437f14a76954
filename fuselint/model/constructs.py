"""What Triton's code generator will meet in a kernel body: the Python constructs it has no
visitor for, and the names the body reads (for global and call resolution).

Triton's front end (`CodeGenerator` in triton/compiler/code_generator.py, 3.6 and 3.9) walks
the body's Python AST; a node type without a `visit_*` method reaches `generic_visit`, which
raises `unsupported AST node type`. It does not visit everything, though, and the model
follows it:
- an `if` whose condition is a compile-time constant visits only the branch it takes
  (`visit_If`), so a construct under such an `if` is rejected only for some constexpr values:
  it is recorded as `guarded`. Conditions that may be constant are many (constexprs, dtype
  tests, `x is None`, an int parameter Triton specialized to 1), so every `if` guards unless
  its condition is certainly a tensor (a `tl.load`, `tl.program_id`, ... or a local bound
  to one). A construct is `constexpr_guarded` when one of its `if`s is certainly constant
  (built from constexpr parameters, literals, dtype and shape attributes, `is` tests): the
  dispatch `if MODE == 0: ... else: raise ...` compiles for every MODE it handles;
- statements after a `return` in the same block are dead code and never visited
  (`visit_compound_statement`): they are skipped.
Computed once per kernel by one walk, on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from fuselint.model.kernel import _names_in as _target_names
from fuselint.model.memo import once_per_owner
from fuselint.model.walk import Walker, children as _children

if TYPE_CHECKING:
    from fuselint.model.kernel import Kernel

BOTH = ("3.6", "3.9")


@dataclass(frozen=True)
class Construct:
    node: cst.CSTNode
    what: str  # "a lambda", "a `try` statement"
    rejected_by: tuple[str, ...]  # Triton versions whose front end rejects it (of 3.6, 3.9)
    raiser: str  # the front-end function that raises, for messages
    guarded: bool  # under an `if` that may be a compile-time constant: rejected only when that branch is taken
    constexpr_guarded: bool  # under an `if` that certainly is one (a constexpr dispatch)


@dataclass(frozen=True)
class NameRead:
    node: cst.Name
    guarded: bool


@dataclass
class BodyFacts:
    constructs: list[Construct] = field(default_factory=list)
    names_read: list[NameRead] = field(default_factory=list)
    comprehension_targets: set[str] = field(default_factory=set)


_GENERIC = "CodeGenerator.generic_visit (`unsupported AST node type`)"
# Node types CodeGenerator has no visitor for, in 3.6 and 3.9 alike (checked against both
# code_generator.py files): each reaches generic_visit.
_NO_VISITOR = {
    cst.Lambda: "a lambda",
    cst.Try: "a `try` statement",
    cst.TryStar: "a `try` statement",
    cst.Raise: "a `raise` statement",
    cst.Del: "a `del` statement",
    cst.Global: "a `global` statement",
    cst.Nonlocal: "a `nonlocal` statement",
    cst.Import: "an `import` statement",
    cst.ImportFrom: "an `import` statement",
    cst.ClassDef: "a class definition",
    cst.Dict: "a dict literal",
    cst.Set: "a set literal",
    cst.SetComp: "a set comprehension",
    cst.DictComp: "a dict comprehension",
    cst.GeneratorExp: "a generator expression",
    cst.Yield: "`yield`",
    cst.Await: "`await`",
    cst.Match: "a `match` statement",
}
_RANGES = {"range", "static_range"}
_CONSTANT_CALLS = {"constexpr", "static_range", "cdiv", "dtype"}
# Attributes of a tensor or dtype that are Python values at compile time (`x.dtype`,
# `x_ptr.dtype.element_ty`, `x.shape[0]`, `x.dtype.primitive_bitwidth`).
_STATIC_ATTRIBUTES = {"dtype", "element_ty", "shape", "type", "numel", "primitive_bitwidth", "itemsize", "value"}
# Builtins Triton evaluates at compile time (`CodeGenerator.builtin_namespace`).
_STATIC_BUILTINS = {"isinstance", "hasattr", "getattr", "len", "int", "float", "min", "max"}


class _BodyScanner(Walker):
    def __init__(self, kernel: "Kernel", facts: BodyFacts) -> None:
        self.kernel = kernel
        self.facts = facts
        self.guards = 0
        self.constexpr_guards = 0

    def _add(self, node: cst.CSTNode, what: str, raiser: str = _GENERIC, versions=BOTH) -> None:
        self.facts.constructs.append(Construct(node, what, versions, raiser, self.guards > 0, self.constexpr_guards > 0))

    # dead code after `return` is never visited (visit_compound_statement) ---------------------
    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> bool:
        for statement in node.body:
            self.walk(statement)
            if isinstance(statement, cst.SimpleStatementLine) and any(isinstance(s, cst.Return) for s in statement.body):
                break
        return False

    # an `if` on a compile-time constant visits one branch only ---------------------------------
    def _dynamic(self, test: cst.BaseExpression, depth: int = 0) -> bool:
        """True when the condition is certainly a tensor (it holds a tl.* call that is not a
        constexpr, or a local bound only to such values). Anything else may be a compile-time
        constant: a constexpr, a dtype test, or an int parameter Triton specialized to 1."""
        stack = [test]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Call):
                name = self.kernel.imports.tl_function(node.func)
                if name is not None and name not in _CONSTANT_CALLS:
                    return True
            if isinstance(node, cst.Name) and depth < 4:
                bound = self.kernel.bindings.get(node.value, [])
                if bound and all(b.kind in ("assign", "aug") and b.value is not None and self._dynamic(b.value, depth + 1)
                                 for b in bound):
                    return True
            if not isinstance(node, (cst.Lambda, cst.Attribute)):
                stack.extend(_children(node))
            elif isinstance(node, cst.Attribute):
                stack.append(node.value)
        return False

    def _compile_time(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        """True when the condition is certainly a Python value at compile time (`visit_If`
        then visits only the branch it selects): literals, constexpr parameters, module
        globals (Triton only lets a kernel read constexpr globals), `tl.*` names and
        `tl.constexpr(...)`, dtype and shape attributes, `is` / `is not` tests, and `not`,
        `and`, `or`, comparisons and arithmetic of those."""
        if depth > 8:
            return False
        again = lambda child: self._compile_time(child, depth + 1)  # noqa: E731
        if isinstance(node, (cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString)):
            return True
        if isinstance(node, cst.Name):
            if node.value in ("True", "False", "None"):
                return True
            param = self.kernel.param(node.value)
            if param is not None:
                return param.constexpr or self._passed_constant(param, depth + 1)
            bound = self.kernel.bindings.get(node.value)
            if not bound:
                return True  # a module global: a constexpr, or Triton rejects the read itself
            return all(b.kind == "assign" and b.value is not None and again(b.value) for b in bound)
        if isinstance(node, cst.Attribute):
            return node.attr.value in _STATIC_ATTRIBUTES or self.kernel.imports.qualname(node) is not None
        if isinstance(node, cst.Subscript):
            return again(node.value)
        if isinstance(node, cst.Comparison):
            if all(isinstance(t.operator, (cst.Is, cst.IsNot)) for t in node.comparisons):
                return True  # `x is None`: visit_Compare answers a constexpr
            return again(node.left) and all(again(t.comparator) for t in node.comparisons)
        if isinstance(node, cst.UnaryOperation):
            return again(node.expression)
        if isinstance(node, (cst.BooleanOperation, cst.BinaryOperation)):
            return again(node.left) and again(node.right)
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value.startswith("is_"):
                return again(func.value)  # `x.dtype.is_fp8()`
            name = self.kernel.imports.tl_function(func)
            builtin = isinstance(func, cst.Name) and func.value in _STATIC_BUILTINS and func.value not in self.kernel.bindings
            if name == "constexpr" or (builtin and func.value in ("isinstance", "hasattr")):
                return True
            return (name in _CONSTANT_CALLS or builtin) and all(again(a.value) for a in node.args)
        return False

    def _passed_constant(self, param, depth: int) -> bool:
        """A parameter of a @triton.jit helper that every call in the module passes a
        compile-time value (the helper is then specialized on it, as on a constexpr)."""
        kernel = self.kernel
        calls = kernel.module.calls_of(kernel)
        if not calls or kernel.launches or depth > 8:
            return False
        position = next(i for i, p in enumerate(kernel.params) if p is param)
        for caller, call in calls:
            keyword = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == param.name), None)
            positional = [a.value for a in call.args if a.keyword is None and not a.star]
            value = keyword if keyword is not None else positional[position] if position < len(positional) else None
            if value is None or not _BodyScanner(caller, BodyFacts())._compile_time(value, depth):
                return False
        return True

    def visit_If(self, node: cst.If) -> bool:
        self.walk(node.test)
        static = not self._dynamic(node.test)
        certain = static and self._compile_time(node.test)
        self.guards += static
        self.constexpr_guards += certain
        self.walk(node.body)
        if node.orelse is not None:
            self.walk(node.orelse)
        self.guards -= static
        self.constexpr_guards -= certain
        return False

    # names read ------------------------------------------------------------------------------
    def visit_Attribute(self, node: cst.Attribute) -> bool:
        self.walk(node.value)  # `.attr` is not a name the kernel reads
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        self.walk(node.value)  # the keyword is not a name the kernel reads
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.facts.names_read.append(NameRead(node, self.guards > 0))

    # constructs --------------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._add(node, "a nested function definition", "CodeGenerator.visit_FunctionDef")
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self._add(node, "a class definition")
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self._add(node, "a lambda")
        return False

    def visit_ListComp(self, node: cst.ListComp) -> None:
        comp = node.for_in
        for target in _target_names(comp.target):
            self.facts.comprehension_targets.add(target)
        if comp.inner_for_in is not None:
            self._add(node, "a nested comprehension", "CodeGenerator.visit_ListComp (`nested comprehensions are not supported`)")
            return
        iterable = comp.iter
        if isinstance(iterable, cst.Call):
            name = self.kernel.imports.tl_function(iterable.func)
            builtin = iterable.func.value if isinstance(iterable.func, cst.Name) and iterable.func.value not in self.kernel.bindings else None
            if name in _RANGES or name == "arange" or builtin == "range":
                self._add(
                    node, f"a list comprehension over `{name or builtin}(...)`",
                    "CodeGenerator.visit_ListComp (`only tuple comprehensions are supported`)",
                )

    def visit_CompFor(self, node: cst.CompFor) -> None:
        for target in _target_names(node.target):
            self.facts.comprehension_targets.add(target)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        for target in node.comparisons:
            if isinstance(target.operator, (cst.In, cst.NotIn)):
                self._add(node, "an `in` comparison", "CodeGenerator._get_operator (3.9) / visit_Compare (3.6)")
                return
        if len(node.comparisons) > 1:
            self._add(node, "a chained comparison", "CodeGenerator.visit_Compare (`simultaneous multiple comparison`)", ("3.6",))

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._add(node, "an assignment expression (`:=`)", _GENERIC, ("3.6",))

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.MatrixMultiply):
            self._add(node, "the `@` operator", "CodeGenerator._get_operator (use tl.dot)")

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._target(target.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target)

    def _target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Attribute):
            self._add(target, "an attribute assignment", "CodeGenerator.visit_Assign (`Attribute assignment is not supported`)")
        elif isinstance(target, cst.Subscript):
            self._add(target, "a subscript assignment", "CodeGenerator.visit_Subscript_Store (`__setitem__ is not supported`)")
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                if isinstance(element, cst.StarredElement):
                    self._add(element, "a starred assignment target", "CodeGenerator.assignTarget")
                else:
                    self._target(element.value)


def _with_no_visitor(kind: type, what: str):
    def visit(self: _BodyScanner, node: cst.CSTNode) -> bool:
        self._add(node, what)
        return False
    return visit


for _kind, _what in _NO_VISITOR.items():
    if not hasattr(_BodyScanner, f"visit_{_kind.__name__}"):
        setattr(_BodyScanner, f"visit_{_kind.__name__}", _with_no_visitor(_kind, _what))


def is_module_level(kernel: "Kernel") -> bool:
    """A kernel defined at module level (not a method, not inside a function): its free names
    are the module's globals. A nested kernel may read its closure, which is not modelled."""
    function = next((f for f in kernel.module.functions if f.node is kernel.node), None)
    return function is not None and function.scope.parent is kernel.module.scope and function.class_name is None


@once_per_owner
def body_facts(kernel: "Kernel") -> BodyFacts:
    facts = BodyFacts()
    _BodyScanner(kernel, facts).walk(kernel.node.body)
    return facts


def module_binds_unseen_names(module) -> bool:
    """True when the module can bind names the model does not see: a star import, or a use
    of `globals()`/`exec`/`setattr` at any level (then an unknown name may still exist)."""
    index = _nodes_by_type(module)
    return bool(index.get(cst.ImportStar)) or any(
        isinstance(call.func, cst.Name) and call.func.value in ("globals", "exec", "setattr", "vars", "locals")
        for call in index.get(cst.Call, ()))


def rewrites_kernel_source(module) -> bool:
    """True when the file visibly rewrites a kernel's source before Triton compiles it: it
    assigns `kernel.src = ...`, calls `kernel._unsafe_update_src(...)`, takes a function's
    text (`inspect.getsource`) or runs code it built (`exec`). The kernel compiled is then not
    the one written: a name it reads may be a placeholder filled in at run time
    (`z = GENERATE_TEST_HERE`, `tl.store(y, OP(x))`)."""
    index = _nodes_by_type(module)
    for kind in (cst.AssignTarget, cst.AugAssign):
        for node in index.get(kind, ()):
            if isinstance(node.target, cst.Attribute) and node.target.attr.value == "src":
                return True
    for call in index.get(cst.Call, ()):
        func = call.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
        if name in ("_unsafe_update_src", "getsource", "exec"):
            return True
    return False


@once_per_owner
def _nodes_by_type(module) -> dict[type, list[cst.CSTNode]]:
    """Every node of the module by its class: one walk for the module-wide questions below,
    which do not depend on where a node is."""
    index: dict[type, list[cst.CSTNode]] = {}
    stack: list[cst.CSTNode] = [module.module]
    while stack:
        node = stack.pop()
        found = index.get(node.__class__)
        if found is None:
            index[node.__class__] = [node]
        else:
            found.append(node)
        stack.extend(_children(node))
    return index


def bound_anywhere(module, name: str) -> bool:
    """Whether any statement of the module binds `name` in any scope (assignment, def, class,
    import, loop, with/except target, global)."""
    return name in _bound_names(module)


@once_per_owner
def _bound_names(module) -> set[str]:
    index = _nodes_by_type(module)
    names: set[str] = set()
    for kind in (cst.FunctionDef, cst.ClassDef, cst.Param):
        names.update(node.name.value for node in index.get(kind, ()))
    for kind in (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor, cst.NamedExpr):
        for node in index.get(kind, ()):
            names.update(_target_names(node.target))
    for node in index.get(cst.AsName, ()):
        names.update(_target_names(node.name))
    for node in index.get(cst.ImportAlias, ()):
        if node.asname is None:
            head = node.name
            while isinstance(head, cst.Attribute):
                head = head.value
            names.update(_target_names(head))
    for node in index.get(cst.Global, ()):
        names.update(n.name.value for n in node.names)
    return names


def global_reads(kernel: "Kernel") -> list[NameRead]:
    """One read per module global the kernel's body reads (a name no local, parameter or
    comprehension binds): the first read Triton certainly compiles, else the first read.
    Empty for a kernel that is not at module level."""
    if not is_module_level(kernel):
        return []
    facts = body_facts(kernel)
    first: dict[str, NameRead] = {}
    for read in facts.names_read:
        name = read.node.value
        if name in kernel.bindings or name in facts.comprehension_targets:
            continue
        if name not in first or (first[name].guarded and not read.guarded):
            first[name] = read
    return list(first.values())
