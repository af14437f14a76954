"""Line and column of reported nodes, paying only for the statements that hold them.

libcst's PositionProvider generates the code of the whole module to count lines. Here each
top-level statement's first line comes from Python's `ast` (about ten times cheaper than a
libcst codegen), and code is generated only for the top-level statements holding a finding.
"""

from __future__ import annotations

import ast
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


def _first_lines(source: bytes, module: cst.Module) -> list[int] | None:
    """The line each top-level statement starts on, as PositionProvider counts it (for a
    decorated def, the `def` line, as `ast` does)."""
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines, index = [], 0
    for statement in module.body:
        if index >= len(body):
            return None
        lines.append(body[index].lineno)
        index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
    return lines if index == len(body) else None


def _holders(module: cst.Module, wanted: set[int]) -> dict[int, int]:
    """For each wanted node id, the index of the top-level statement that holds it."""
    found: dict[int, int] = {}
    for index, statement in enumerate(module.body):
        stack = [statement]
        while stack and len(found) < len(wanted):
            node = stack.pop()
            if id(node) in wanted:
                found[id(node)] = index
            stack.extend(children(node))
        if len(found) == len(wanted):
            break
    return found


def positions(module: cst.Module, source: bytes, nodes: list[cst.CSTNode]) -> dict[int, Span]:
    """Span of each node, keyed by id(node); the module itself is at 1:1."""
    wanted = {id(n) for n in nodes if n is not module}
    result: dict[int, Span] = {id(module): _START}
    first_lines = _first_lines(source, module) if wanted else None
    if first_lines is None:
        if wanted:
            whole = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
            for node in nodes:
                if node in whole:
                    r = whole[node]
                    result[id(node)] = Span(r.start.line, r.start.column + 1, r.end.line, r.end.column + 1)
        return result
    holders = _holders(module, wanted)
    by_statement: dict[int, list[cst.CSTNode]] = {}
    for node in nodes:
        if id(node) in holders:
            by_statement.setdefault(holders[id(node)], []).append(node)
    for index, held in by_statement.items():
        statement = module.body[index]
        mini = MetadataWrapper(cst.Module(body=[statement]), unsafe_skip_copy=True).resolve(PositionProvider)
        shift = first_lines[index] - mini[statement].start.line
        for node in held:
            r = mini[node]
            result[id(node)] = Span(r.start.line + shift, r.start.column + 1, r.end.line + shift, r.end.column + 1)
    return result
