"""A fast read-only walk over a libcst tree.

`CSTNode.visit` rebuilds every node it passes (it is made for transforms), which costs about
three parses per walk; the model only reads. This walk follows the dataclass fields that can
hold code (never whitespace or punctuation), with an explicit stack so that deeply nested
expressions cannot overflow Python's recursion limit.
"""

from __future__ import annotations

import dataclasses
from operator import attrgetter
from typing import Callable

import libcst as cst

_NOT_CODE = {
    "colon", "comma", "dot", "equal", "first_colon", "second_colon", "semicolon", "lpar", "rpar",
    "lbrace", "rbrace", "lbracket", "rbracket", "leading_lines", "lines_after_decorators",
    "trailing_whitespace", "header", "footer", "newline", "indent", "default_indent", "default_newline",
    "encoding", "has_trailing_newline", "empty_lines", "first_line", "last_line", "comment", "operator",
    "relative", "posonly_ind", "asynchronous", "trailing_comma", "separator", "star",
}
# Per class: a function giving the values of its fields that can hold code, as a tuple.
_CODE_VALUES: dict[type, Callable[[cst.CSTNode], tuple]] = {}
# Per class of a field's value: is it a node? (isinstance on libcst's abstract base is slow)
_IS_NODE: dict[type, bool] = {}


def code_values(cls: type) -> Callable[[cst.CSTNode], tuple]:
    fields = [f.name for f in dataclasses.fields(cls)
              if f.name not in _NOT_CODE and not f.name.startswith("whitespace") and f.type is not str]  # Name.value
    if len(fields) == 1:
        name = fields[0]
        get = lambda node: (getattr(node, name),)  # noqa: E731 - attrgetter of one name gives no tuple
    else:
        get = attrgetter(*fields) if fields else lambda node: ()
    _CODE_VALUES[cls] = get
    return get


def children(node: cst.CSTNode, _values=_CODE_VALUES.get, _is_node=_IS_NODE.get) -> list[cst.CSTNode]:
    """The node's children that hold code, in source order. (Hot: every walk runs through it.)"""
    found: list[cst.CSTNode] = []
    kind = node.__class__
    for value in (_values(kind) or code_values(kind))(node):
        kind = value.__class__
        if kind is tuple or kind is list:  # code sequences hold only nodes
            found.extend(value)
        else:
            is_node = _is_node(kind)
            if is_node is None:  # None, str (f-string quotes), MaybeSentinel, or a node
                is_node = _IS_NODE[kind] = issubclass(kind, cst.CSTNode)
            if is_node:
                found.append(value)
    return found


class Walker:
    """Subclass with `visit_<NodeType>(node)` (return False to skip the children) and
    `leave_<NodeType>(node)` methods, then call `walk(root)`."""

    _dispatch: dict[type, tuple[Callable | None, Callable | None]]

    def __init_subclass__(cls) -> None:
        cls._dispatch = {}

    def _hooks(self, kind: type) -> tuple[Callable | None, Callable | None]:
        name = kind.__name__
        hooks = (getattr(type(self), f"visit_{name}", None), getattr(type(self), f"leave_{name}", None))
        self._dispatch[kind] = hooks
        return hooks

    def walk(self, root: cst.CSTNode) -> None:
        hooks_of = self._dispatch.get
        stack: list = [root]  # nodes to visit, and (leave hook, node) pairs to leave
        pop, push = stack.pop, stack.append
        while stack:
            node = pop()
            kind = node.__class__
            if kind is tuple:
                node[0](self, node[1])
                continue
            visit, leave = hooks_of(kind) or self._hooks(kind)
            if visit is not None and visit(self, node) is False:
                if leave is not None:
                    leave(self, node)
                continue
            if leave is not None:
                push((leave, node))
            found = children(node)
            found.reverse()
            stack.extend(found)


def names_in(node: cst.CSTNode) -> list[str]:
    """Every name written under `node` (itself included), in source order."""
    if isinstance(node, cst.Name):
        return [node.value]
    return [name for child in children(node) for name in names_in(child)]
