"""A fast read-only walk over a libcst tree.

`CSTNode.visit` rebuilds every node it passes (it is made for transforms), which costs about
three parses per walk; the model only reads. This walk follows the dataclass fields that can
hold code (never whitespace or punctuation), with an explicit stack so that deeply nested
expressions cannot overflow Python's recursion limit.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import libcst as cst

_NOT_CODE = {
    "colon", "comma", "dot", "equal", "first_colon", "second_colon", "semicolon", "lpar", "rpar",
    "lbrace", "rbrace", "lbracket", "rbracket", "leading_lines", "lines_after_decorators",
    "trailing_whitespace", "header", "footer", "newline", "indent", "default_indent", "default_newline",
    "encoding", "has_trailing_newline", "empty_lines", "first_line", "last_line", "comment", "operator",
    "relative", "posonly_ind", "asynchronous", "trailing_comma", "separator", "star",
}
_FIELDS: dict[type, tuple[str, ...]] = {}


def code_fields(cls: type) -> tuple[str, ...]:
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = tuple(
            f.name for f in dataclasses.fields(cls) if f.name not in _NOT_CODE and not f.name.startswith("whitespace")
        )
        _FIELDS[cls] = fields
    return fields


def children(node: cst.CSTNode, _fields=_FIELDS.get) -> list[cst.CSTNode]:
    """The node's children that hold code, in source order. (Hot: every walk runs through it.)"""
    found: list[cst.CSTNode] = []
    kind = node.__class__
    for name in _fields(kind) or code_fields(kind):
        value = getattr(node, name)
        if value is None or value.__class__ is str:  # Name.value, Integer.value, f-string quotes
            continue
        if value.__class__ is tuple or value.__class__ is list:  # code sequences hold only nodes
            found.extend(value)
        elif isinstance(value, cst.CSTNode):
            found.append(value)
    return found


class Walker:
    """Subclass with `visit_<NodeType>(node)` (return False to skip the children) and
    `leave_<NodeType>(node)` methods, then call `walk(root)`."""

    _dispatch: dict[type, tuple[Callable | None, Callable | None]]

    def __init_subclass__(cls) -> None:
        cls._dispatch = {}

    def _hooks(self, kind: type) -> tuple[Callable | None, Callable | None]:
        hooks = self._dispatch.get(kind)
        if hooks is None:
            name = kind.__name__
            hooks = (getattr(type(self), f"visit_{name}", None), getattr(type(self), f"leave_{name}", None))
            self._dispatch[kind] = hooks
        return hooks

    def walk(self, root: cst.CSTNode) -> None:
        stack: list[tuple[cst.CSTNode, bool]] = [(root, False)]
        while stack:
            node, leaving = stack.pop()
            visit, leave = self._hooks(type(node))
            if leaving:
                leave(self, node)
                continue
            if visit is not None and visit(self, node) is False:
                if leave is not None:
                    leave(self, node)
                continue
            if leave is not None:
                stack.append((node, True))
            stack.extend((child, False) for child in reversed(children(node)))
