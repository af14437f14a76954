"""Source text of nodes, for messages and symbolic shapes."""

from __future__ import annotations

import libcst as cst

_EMPTY = cst.Module(body=[])


def code_of(node: cst.CSTNode) -> str:
    """The node's source, whitespace collapsed, parentheses around the whole dropped."""
    if isinstance(node, cst.Name):
        return node.value
    text = _EMPTY.code_for_node(node)
    return " ".join(text.split())
