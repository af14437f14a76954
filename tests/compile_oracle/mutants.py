"""Seeds (kernels that compile, with a signature derived from their source) and mutants."""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import re
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from compile_oracle.operators import Operator
from fuselint.model.constexprs import param_values
from fuselint.model.module import ModuleModel

ROOT = Path(__file__).resolve().parents[2]
# Names whose unknown constexpr value is a tile size or a flag; any other unknown constexpr
# makes the kernel's signature underivable.
_TILE = re.compile(r"BLOCK|TILE|SIZE|_M$|_N$|_K$", re.I)
_FLAG = re.compile(r"^(HAS|IS|USE|ENABLE|WITH|DO)_", re.I)


@dataclass
class Seed:
    path: str  # where the kernel comes from, relative to its package or the repo
    source: str
    kernel: str
    signature: dict[str, str]
    constexprs: list[tuple[int, object]]
    pointer: str | None  # a pointer parameter, for operators that load
    origin: str  # "examples", "liger-kernel", "flag-gems"
    extra: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return hashlib.sha1(f"{self.path}:{self.kernel}".encode()).hexdigest()[:10]


def _pointer_names(kernel) -> set[str]:
    """Parameters that are the base of a load/store pointer: the leftmost term of its sum,
    followed through local bindings (`ptrs = x_ptr + offs` makes `x_ptr` a pointer)."""
    found: set[str] = set()
    stack = [a.pointer for a in kernel.accesses if a.pointer is not None]
    seen = 0
    while stack and seen < 500:
        seen += 1
        node = stack.pop()
        while isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract)):
            node = node.left
        if isinstance(node, cst.Name):
            if kernel.param(node.value) is not None:
                found.add(node.value)
            else:
                stack += [b.value for b in kernel.bindings.get(node.value, []) if b.value is not None and b.kind == "assign"]
    return found


def derive_seeds(path: Path, origin: str, label: str) -> list[Seed]:
    """Every module-level kernel of a file whose signature can be derived: pointers from the
    loads and stores, scalars as i32, constexprs from defaults, launches, autotune configs and
    heuristics (first value), else 64 for a tile-size name and False for a flag name."""
    source = path.read_text()
    try:
        model = ModuleModel(cst.parse_module(source))
    except Exception:
        return []
    seeds = []
    for kernel in model.kernels:
        if not any(f.node is kernel.node and f.class_name is None and f.scope.parent is model.scope for f in model.functions):
            continue
        if not kernel.params or any(p.node.star for p in kernel.params):
            continue
        pointers = _pointer_names(kernel)
        signature, constexprs, ok = {}, [], True
        for index, param in enumerate(kernel.params):
            if param.constexpr:
                values = [v.value for v in param_values(kernel, param.name) if isinstance(v.value, (int, float, bool))]
                if values:
                    value = values[0]
                elif _TILE.search(param.name):
                    value = 64
                elif _FLAG.search(param.name):
                    value = False
                else:
                    ok = False
                    break
                signature[param.name] = "constexpr"
                constexprs.append((index, value))
            else:
                is_pointer = param.name in pointers or "ptr" in param.name.lower()
                signature[param.name] = "*fp32" if is_pointer else "i32"
        if ok:
            pointer = next((n for n, t in signature.items() if t == "*fp32"), None)
            seeds.append(Seed(label, source, kernel.name, signature, constexprs, pointer, origin))
    return seeds


def _package_files(distribution: str, package: str, folders: tuple[str, ...]) -> list[Path]:
    try:
        root = Path(importlib.metadata.distribution(distribution).locate_file(package))
    except importlib.metadata.PackageNotFoundError:
        return []
    files = []
    for folder in folders:
        files += sorted((root / folder).rglob("*.py"))
    return files


def candidate_files() -> list[tuple[Path, str, str]]:
    """(file, origin, label): the examples, liger-kernel's ops, and the flag-gems files that
    import no other flag_gems module (flag_gems itself cannot be imported without a GPU)."""
    found = [(p, "examples", p.relative_to(ROOT).as_posix()) for p in sorted((ROOT / "examples").rglob("*.py"))]
    for path in _package_files("liger-kernel", "liger_kernel", ("ops",)):
        if "backends" not in path.parts:
            found.append((path, "liger-kernel", path.as_posix().split("site-packages/")[-1]))
    for path in _package_files("flag-gems", "flag_gems", ("ops", "fused")):
        text = path.read_text()
        if "triton.jit" in text and not re.search(r"^\s*(from \.|from flag_gems|import flag_gems)", text, re.M):
            found.append((path, "flag-gems", path.as_posix().split("site-packages/")[-1]))
    return found


def _indent(text: str, prefix: str) -> str:
    return "".join(prefix + line if line.strip() else line for line in text.splitlines(True))


def _replace(lines: list[str], node: ast.AST, text: str) -> bool:
    """Replace a one-line node's source with `text`; False when it spans lines."""
    if node.lineno != node.end_lineno:
        return False
    line = lines[node.lineno - 1]
    start, end = _char(line, node.col_offset), _char(line, node.end_col_offset)
    lines[node.lineno - 1] = line[:start] + text + line[end:]
    return True


def _char(line: str, byte_offset: int) -> int:
    return len(line.encode()[:byte_offset].decode(errors="ignore"))


def _calls(node: ast.AST, attr: str):
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == attr:
            yield sub


def _rewrite(kind: str, node: ast.FunctionDef, lines: list[str]) -> bool:
    """Change the kernel's own code in place: the first `tl.arange(0, X)` becomes
    `tl.arange(0, 48)`; the first `for` loop starts with `break`; the first load with a mask
    and `other` gets `mask=None`. False when the kernel has no such code."""
    if kind == "arange-extent":
        for call in _calls(node, "arange"):
            if len(call.args) == 2 and isinstance(call.args[0], ast.Constant) and call.args[0].value == 0:
                return _replace(lines, call.args[1], "48")
        return False
    if kind == "loop-break":
        loop = next((n for n in ast.walk(node) if isinstance(n, ast.For) and n.body[0].lineno > n.lineno), None)
        if loop is None:
            return False
        first = lines[loop.body[0].lineno - 1]
        lines.insert(loop.body[0].lineno - 1, re.match(r"\s*", first).group(0) + "break\n")
        return True
    if kind == "load-mask-none":
        for call in _calls(node, "load"):
            keywords = {k.arg: k for k in call.keywords}
            if "mask" in keywords and "other" in keywords:
                return _replace(lines, keywords["mask"].value, "None")
        return False
    raise ValueError(kind)


def mutate(seed: Seed, operator: Operator) -> tuple[str, tuple[int, int]] | None:
    """The seed's module with the operator applied to the kernel, and the kernel's line span
    (decorators included) in the mutant; None when the operator does not apply."""
    if operator.needs_pointer and seed.pointer is None:
        return None
    tree = ast.parse(seed.source)
    node = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == seed.kernel), None)
    if node is None:
        return None
    lines = seed.source.splitlines(True)
    if operator.rewrite:
        if not _rewrite(operator.rewrite, node, lines):
            return None
        mutant = "".join(lines)
        mutated = next(n for n in ast.parse(mutant).body if isinstance(n, ast.FunctionDef) and n.name == seed.kernel)
        return mutant, (min([d.lineno for d in mutated.decorator_list] + [mutated.lineno]), mutated.end_lineno)
    first = node.body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) and isinstance(first.value.value, str)
    anchor = node.body[1] if has_doc and len(node.body) > 1 else first
    at = (first.end_lineno if has_doc else anchor.lineno - 1)  # insert after the docstring, else before the first statement
    indent = re.match(r"\s*", lines[anchor.lineno - 1] if not has_doc else lines[first.lineno - 1]).group(0)
    body = _indent(operator.body.replace("{ptr}", seed.pointer or "") + "\n", indent)
    lines[at:at] = [body]
    start = min([d.lineno for d in node.decorator_list] + [node.lineno])
    if operator.module:
        lines[start - 1:start - 1] = [operator.module + "\n\n\n"]
    mutant = "".join(lines)
    mutated = next(n for n in ast.parse(mutant).body if isinstance(n, ast.FunctionDef) and n.name == seed.kernel)
    span = (min([d.lineno for d in mutated.decorator_list] + [mutated.lineno]), mutated.end_lineno)
    return mutant, span
