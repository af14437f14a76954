"""Line and column of reported nodes, paying only for the statements that hold them.

libcst's PositionProvider generates the code of the whole module to count lines. Here every
statement's line and indentation come from Python's `ast` (about ten times cheaper than a
libcst codegen), paired with libcst's statements in order; code is then generated only for the
simple statement line that holds a reported node (inside a block of its own indentation), or, for a node
in a compound statement's header, for its top-level statement.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from fuselint.model.walk import children


@dataclass(frozen=True)
class Span:
    line: int
    column: int  # 1-based
    end_line: int
    end_column: int


_START = Span(1, 1, 1, 1)
_Lines = dict[int, tuple[int, int]]  # id(libcst statement) -> (first line, indentation)


def _blocks(statement: cst.CSTNode, node: ast.stmt) -> list[tuple[list, list]] | None:
    """Pairs of (libcst statements, ast statements) of a compound statement's blocks."""
    def body(block) -> list:
        return list(block.body) if isinstance(block, cst.IndentedBlock) else []

    if isinstance(statement, (cst.FunctionDef, cst.ClassDef, cst.With, cst.While, cst.For)):
        pairs = [(body(statement.body), node.body if isinstance(statement.body, cst.IndentedBlock) else [])]
        orelse = getattr(statement, "orelse", None)
        if orelse is not None:
            pairs.append((body(orelse.body), node.orelse))
        return pairs
    if isinstance(statement, cst.If):
        pairs = [(body(statement.body), node.body if isinstance(statement.body, cst.IndentedBlock) else [])]
        if isinstance(statement.orelse, cst.If):
            pairs.append(([statement.orelse], node.orelse))
        elif isinstance(statement.orelse, cst.Else):
            pairs.append((body(statement.orelse.body), node.orelse))
        return pairs
    if isinstance(statement, (cst.Try, cst.TryStar)) and len(statement.handlers) == len(node.handlers):
        pairs = [(body(statement.body), node.body)]
        pairs += [(body(h.body), a.body) for h, a in zip(statement.handlers, node.handlers)]
        if statement.orelse is not None:
            pairs.append((body(statement.orelse.body), node.orelse))
        if statement.finalbody is not None:
            pairs.append((body(statement.finalbody.body), node.finalbody))
        return pairs
    return None  # match statements and the like: their inner statements stay unpaired


def _pair(statements: list, nodes: list, lines: _Lines) -> bool:
    """Record each libcst statement's line; False when the two trees disagree."""
    index = 0
    for statement in statements:
        if index >= len(nodes):
            return False
        node = nodes[index]
        lines[id(statement)] = (node.lineno, node.col_offset)
        if isinstance(statement, cst.SimpleStatementLine):
            index += len(statement.body)
            continue
        index += 1
        for inner, inner_nodes in _blocks(statement, node) or ():
            if inner and not _pair(inner, inner_nodes, lines):
                return False
    return index == len(nodes)


def _statement_lines(source: bytes, module: cst.Module) -> _Lines | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines: _Lines = {}
    return lines if _pair(list(module.body), tree.body, lines) else None


def _holders(module: cst.Module, wanted: set[int]) -> dict[int, tuple[cst.CSTNode | None, int]]:
    """For each wanted node id: the simple statement line holding it (None for a node in a
    compound statement's header) and the index of its top-level statement."""
    found: dict[int, tuple[cst.CSTNode | None, int]] = {}
    for index, statement in enumerate(module.body):
        stack: list[tuple[cst.CSTNode, cst.CSTNode | None]] = [(statement, None)]
        while stack and len(found) < len(wanted):
            node, line = stack.pop()
            if isinstance(node, cst.SimpleStatementLine):
                line = node
            elif isinstance(node, cst.BaseCompoundStatement):
                line = None
            if id(node) in wanted:
                found[id(node)] = (line, index)
            stack.extend((child, line) for child in children(node))
        if len(found) == len(wanted):
            break
    return found


def _span(r, line_shift: int) -> Span:
    return Span(r.start.line + line_shift, r.start.column + 1, r.end.line + line_shift, r.end.column + 1)


def _alone(statement: cst.CSTNode, indentation: str) -> cst.Module:
    """A module holding just `statement`, at its own indentation (libcst writes continuation
    lines relative to the enclosing block's indent, so the block is recreated)."""
    if not indentation:
        return cst.Module(body=[statement])
    block = cst.IndentedBlock(body=[statement], indent=indentation)
    return cst.Module(body=[cst.If(test=cst.Name("True"), body=block)])


def positions(module: cst.Module, source: bytes, nodes: list[cst.CSTNode]) -> dict[int, Span]:
    """Span of each node, keyed by id(node); the module itself is at 1:1."""
    wanted = {id(n) for n in nodes if n is not module}
    result: dict[int, Span] = {id(module): _START}
    lines = _statement_lines(source, module) if wanted else None
    if lines is None:
        if wanted:
            whole = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
            for node in nodes:
                if node in whole:
                    result[id(node)] = _span(whole[node], 0)
        return result
    holders = _holders(module, wanted)
    groups: dict[int, tuple[cst.CSTNode, list[cst.CSTNode]]] = {}
    for node in nodes:
        if id(node) not in holders:
            continue
        line, index = holders[id(node)]
        statement = line if line is not None and id(line) in lines else module.body[index]
        groups.setdefault(id(statement), (statement, []))[1].append(node)
    text = re.split(r"\r\n|\r|\n", source.decode(module.encoding, errors="replace"))
    for statement, held in groups.values():
        first, indent = lines[id(statement)]
        alone = _alone(statement, text[first - 1][:indent] if first <= len(text) else "")
        mini = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
        shift = first - mini[statement].start.line
        for node in held:
            result[id(node)] = _span(mini[node], shift)
    return result
