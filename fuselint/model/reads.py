"""Which expressions of a kernel read the value a local name holds at one place.

A name read at two places reads one value when a binding of the name reaches both (the
reaching bindings come from offsets.Canon); a read before the binding it shares counts too,
since the compiler sees the whole function at once (a hint set on a value's defining operation
after its last use still reaches that use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from fuselint.model.memo import once_per_owner
from fuselint.model.offsets import canon_of
from fuselint.model.walk import Walker

if TYPE_CHECKING:
    from fuselint.model.kernel import Kernel


class _Reads(Walker):
    """Every Name a kernel body reads (binding targets are not reads; `x += 1` reads x)."""

    def __init__(self) -> None:
        self.found: list[cst.Name] = []

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_Lambda(self, node) -> bool:
        return False

    def visit_ClassDef(self, node) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.found.append(node)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
        self._target(node.target)
        return False

    def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
        self._target(node.target)
        if node.value is not None:
            self.walk(node.value)
        return False

    def visit_For(self, node: cst.For) -> bool:
        self._target(node.target)
        for part in (node.iter, node.body, node.orelse):
            if part is not None:
                self.walk(part)
        return False

    def visit_AsName(self, node: cst.AsName) -> bool:
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:  # `x.to`: `to` is no name of the kernel
        self.walk(node.value)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:  # `mask=m`: the keyword is no read
        self.walk(node.value)
        return False

    def _target(self, target: cst.BaseExpression) -> None:
        """A target's names are bound, not read; a subscript or attribute target reads its parts."""
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._target(element.value)
        elif isinstance(target, cst.StarredElement):
            self._target(target.value)
        elif not isinstance(target, cst.Name):
            self.walk(target)


@once_per_owner
def _name_reads(kernel: "Kernel") -> list[cst.Name]:
    reads = _Reads()
    reads.walk(kernel.node.body)
    return reads.found


def readers_of(kernel: "Kernel", name: cst.Name) -> list[cst.Name] | None:
    """The other reads of the value `name` (a read in the kernel body) holds: reads of the same
    name that a binding reaching `name` also reaches. None when the name is not a local of the
    kernel or where it is read is not known."""
    canon = canon_of(kernel)
    place = canon.flow.names.get(id(name))
    mine = canon.reaching(name.value, place) if place is not None else None
    if not mine:
        return None
    bound = {id(b.node) for b in mine}
    readers = []
    for other in _name_reads(kernel):
        if other is name or other.value != name.value:
            continue
        theirs = canon.reaching(other.value, canon.flow.names.get(id(other)))
        if theirs is None or any(id(b.node) in bound for b in theirs):
            readers.append(other)
    return readers
