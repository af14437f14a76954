"""Qualified names of `triton` / `triton.language` references, from one pass over the imports.

libcst's QualifiedNameProvider is correct but costs a full scope analysis; kernels only
need to know which local names stand for triton modules and functions, so a table built
from the module's import statements is enough.
"""

from __future__ import annotations

import libcst as cst

TL = "triton.language"

# Modules whose members are the `tl.*` functions (tl.math.exp is tl.exp).
_TL_MODULES = ("triton.language.core.", "triton.language.math.", "triton.language.standard.",
               "triton.language.semantic.", "triton.language.random.")


def dotted(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


class ImportTable:
    """Local name → fully qualified name, for every import in a module."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self._ambiguous: set[str] = set()

    def _bind(self, local: str, full: str) -> None:
        # A name imported twice as different things (`try: from a import f` / `except: from b
        # import f`, or imports guarded by a version check) is not known: resolve it to nothing.
        if self.aliases.get(local, full) != full:
            self._ambiguous.add(local)
        self.aliases[local] = full

    def add(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted(alias.name)
                if full is None:
                    continue
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self._bind(alias.asname.name.value, full)
                else:  # `import triton.language` binds `triton`
                    head = full.split(".")[0]
                    self._bind(head, head)
            return
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return
        module = dotted(node.module)
        if module is None:
            return
        for alias in node.names:
            name = dotted(alias.name)
            if name is None:
                continue
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self._bind(local, f"{module}.{name}")

    def qualname(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of a reference, or None when it is not an imported name."""
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        full = self.aliases.get(head)
        if full is None or head in self._ambiguous:
            return None
        return f"{full}.{rest}" if rest else full

    def tl_function(self, node: cst.BaseExpression) -> str | None:
        """`load` for tl.load / triton.language.core.load / tl.math.load; None otherwise."""
        full = self.qualname(node)
        if full is None:
            return None
        return tl_member(full)

    def local_name(self, full: str) -> str | None:
        """The local name bound to `full` (`tl` for "triton.language"), if one is."""
        for local, target in self.aliases.items():
            if target == full and local not in self._ambiguous:
                return local
        return None


# Functions of known helper modules that are exactly a tl function: flag_gems'
# `tle.program_id(axis)` is `tl.program_id(axis).to(tl.int64)`, the same value to every rule.
_TL_EQUIVALENTS = {
    "flag_gems.utils.triton_lang_extension.program_id": "program_id",
    "flag_gems.utils.triton_lang_extension.num_programs": "num_programs",
}


def tl_member(full: str) -> str | None:
    if full in _TL_EQUIVALENTS:
        return _TL_EQUIVALENTS[full]
    for prefix in _TL_MODULES:
        if full.startswith(prefix):
            return full[len(prefix):]
    if full.startswith(TL + "."):
        return full[len(TL) + 1:]
    return None
