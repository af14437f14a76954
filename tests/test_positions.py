"""Finding positions equal libcst's PositionProvider for every node, on real files and on
tricky layouts, while generating code only for the statements that hold them."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from fuselint.model.walk import children
from fuselint.positions import Span, positions

TRICKY = '''\ufeff# a BOM, then comments
import triton

@triton.jit
@other(
    arg=1,
)
def k(x,
      y):  # header over two lines
    if x:
        pass
    elif (y and
          x):
        pass
    elif y:
        z = [1,
             2]; w = 3
    else:
        try:
            v = f(
                x)
        except E as e:
            pass
        finally:
            q = 1
    match x:
        case 1:
            r = 2
    with a as b: c = (
        d)
    return f"{x!r:>{y}}"


def tabs(a):
\tif a:
\t\treturn (a +
\t\t\t1)
'''


def all_nodes(module: cst.Module) -> list[cst.CSTNode]:
    found, stack = [], list(children(module))
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(children(node))
    return found


def assert_same_as_libcst(source: bytes) -> int:
    module = cst.parse_module(source)
    nodes = all_nodes(module)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    got = positions(module, source, nodes)
    checked = 0
    for node in nodes:
        if node in expected:
            r = expected[node]
            assert got[id(node)] == Span(r.start.line, r.start.column + 1, r.end.line, r.end.column + 1), node
            checked += 1
    return checked


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("indent", ["    ", "  "])  # blocks inside a statement keep the module's indent
def test_tricky_layouts(newline, indent):
    source = TRICKY.replace("    ", indent).replace("\n", newline).encode("utf-8")
    assert assert_same_as_libcst(source) > 100


def test_real_files():
    try:
        root = Path(importlib.metadata.distribution("liger-kernel").locate_file("liger_kernel")) / "ops"
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("liger-kernel is not installed")
    files = sorted(root.glob("*.py"))[:12]
    assert sum(assert_same_as_libcst(f.read_bytes()) for f in files) > 10_000
