"""Line and column of reported nodes, paying only for the statements that hold them.

libcst's PositionProvider generates the code of the whole module to count lines. Here every
statement's line and indentation come from Python's `ast` (about ten times cheaper than a
libcst codegen), paired with libcst's statements in order; code is then generated only for the
innermost statement that holds a reported node (inside a block of its own indentation): its
simple statement line, or, for a node in a compound statement's header, that statement.
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


# Compound statements whose header (decorators, name, parameters, test, target, items) comes
# before all of their blocks: for a node in the header, the blocks can be cut to `pass`.
_HEADER_FIRST = (cst.FunctionDef, cst.ClassDef, cst.For, cst.While, cst.With, cst.If)
_PASS = cst.SimpleStatementSuite(body=[cst.Pass()])


def _holders(module: cst.Module, wanted: set[int], lines: _Lines) -> dict[int, tuple[cst.CSTNode, bool]]:
    """For each wanted node id: the innermost statement holding it whose line is known (a
    simple statement line, or a compound statement for a node in its header), and whether the
    node is in the header of a statement of `_HEADER_FIRST`. An `elif` is never a holder:
    alone, it would be written as an `if`."""
    found: dict[int, tuple[cst.CSTNode, bool]] = {}
    stack: list[tuple[cst.CSTNode, cst.CSTNode, bool]] = [(s, s, False) for s in reversed(module.body)]
    elifs: set[int] = set()
    while stack and len(found) < len(wanted):
        node, holder, header = stack.pop()
        key = id(node)
        if node.__class__ is cst.If and node.orelse.__class__ is cst.If:
            elifs.add(id(node.orelse))
        if key in lines and key not in elifs:
            holder, header = node, False
            if node.__class__ in _HEADER_FIRST:
                blocks = (node.body, getattr(node, "orelse", None))
                if key in wanted:
                    found[key] = (node, False)
                stack.extend((child, node, child is not blocks[0] and child is not blocks[1]) for child in children(node))
                continue
        if key in wanted:
            found[key] = (holder, header)
        stack.extend((child, holder, header) for child in children(node))
    return found


def _span(r, line_shift: int) -> Span:
    return Span(r.start.line + line_shift, r.start.column + 1, r.end.line + line_shift, r.end.column + 1)


def _alone(statement: cst.CSTNode, indentation: str, module: cst.Module) -> cst.Module:
    """A module holding just `statement`, at its own indentation (libcst writes continuation
    lines relative to the enclosing block's indent, so the block is recreated) and with the
    module's own indent for the blocks inside it."""
    if not indentation:
        return cst.Module(body=[statement], default_indent=module.default_indent)
    block = cst.IndentedBlock(body=[statement], indent=indentation)
    return cst.Module(body=[cst.If(test=cst.Name("True"), body=block)], default_indent=module.default_indent)


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
    holders = _holders(module, wanted, lines)
    groups: dict[tuple[int, bool], tuple[cst.CSTNode, bool, list[cst.CSTNode]]] = {}
    for node in nodes:
        if id(node) in holders:
            statement, header = holders[id(node)]
            groups.setdefault((id(statement), header), (statement, header, []))[2].append(node)
    text = re.split(r"\r\n|\r|\n", source.decode(module.encoding, errors="replace"))
    for statement, header, held in groups.values():
        first, indent = lines[id(statement)]
        written = _header(statement) if header else statement
        alone = _alone(written, text[first - 1][:indent] if first <= len(text) else "", module)
        mini = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
        shift = first - mini[written].start.line
        for node in held:
            result[id(node)] = _span(mini[node], shift)
    return result


def _header(statement: cst.CSTNode) -> cst.CSTNode:
    """The statement with its blocks cut to `pass` (its header nodes, shared, keep their places)."""
    if getattr(statement, "orelse", None) is not None:
        return statement.with_changes(body=_PASS, orelse=None)
    return statement.with_changes(body=_PASS)
