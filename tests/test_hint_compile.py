"""FL301 against Triton's compiler: a hint statement is lost exactly when FL301 says so.

`tl.multiple_of` / `tl.max_contiguous` set an attribute on the operation that defines their
argument and return the argument itself, so a statement hint on a name reaches every access
that reads the name. Each kernel below is compiled for sm_89 on CPU (pointer arguments 16-byte
aligned, `start` of unknown divisibility: without a hint the copy cannot be vectorised) and its
global loads are read from the PTX: vectorised (`ld.global.v4`) exactly where FL301 is silent.
"""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest

from fuselint.config import Settings
from fuselint.engine import lint_source

triton = pytest.importorskip("triton")

HEADER = """import triton
import triton.language as tl


@triton.jit
def kernel(x_ptr, y_ptr, start, BLOCK: tl.constexpr):
    offs = start + tl.arange(0, BLOCK)
"""
# name -> (kernel body after `offs`, does the hint reach the loads?)
CASES = {
    "no hint": ("tl.store(y_ptr + offs, tl.load(x_ptr + offs))", False),
    "statement on the name": ("tl.multiple_of(offs, 16)\ntl.max_contiguous(offs, 16)\n"
                              "tl.store(y_ptr + offs, tl.load(x_ptr + offs))", True),
    "assigned": ("offs = tl.max_contiguous(tl.multiple_of(offs, 16), 16)\n"
                 "tl.store(y_ptr + offs, tl.load(x_ptr + offs))", True),
    "statement after the accesses": ("tl.store(y_ptr + offs, tl.load(x_ptr + offs))\n"
                                     "tl.max_contiguous(tl.multiple_of(offs, 16), 16)", True),
    "statement on a temporary": ("tl.multiple_of(x_ptr + offs, 16)\ntl.max_contiguous(x_ptr + offs, 16)\n"
                                 "tl.store(y_ptr + offs, tl.load(x_ptr + offs))", False),
    "statement on a name nothing reads": ("ptrs = x_ptr + offs\ntl.multiple_of(ptrs, 16)\ntl.max_contiguous(ptrs, 16)\n"
                                          "tl.store(y_ptr + offs, tl.load(x_ptr + offs))", False),
    "statement on the pointer the load reads": ("ptrs = x_ptr + offs\ntl.multiple_of(ptrs, 16)\n"
                                                "tl.max_contiguous(ptrs, 16)\ntl.store(y_ptr + offs, tl.load(ptrs))", True),
}


def source_of(body: str) -> str:
    return HEADER + "".join(f"    {line}\n" for line in body.splitlines())


def vector_loads(source: str, folder) -> bool:
    """Does the kernel compile to vectorised global loads?"""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    path = folder / "hinted.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("_fl_hinted", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["_fl_hinted"] = module
    try:
        spec.loader.exec_module(module)
        aligned = {(0,): [["tt.divisibility", 16]], (1,): [["tt.divisibility", 16]]}
        signature = {"x_ptr": "*fp32", "y_ptr": "*fp32", "start": "i32", "BLOCK": "constexpr"}
        compiled = triton.compile(ASTSource(module.kernel, signature, {"BLOCK": 1024}, aligned),
                                  target=GPUTarget("cuda", 89, 32))
    finally:
        sys.modules.pop("_fl_hinted", None)
    loads = re.findall(r"ld\.global[.\w]*", compiled.asm["ptx"])
    assert loads
    return all(".v" in load for load in loads)


@pytest.mark.parametrize("case", list(CASES))
def test_fl301_speaks_exactly_where_the_compiler_drops_the_hint(case, tmp_path):
    body, reaches = CASES[case]
    source = source_of(body)
    assert vector_loads(source, tmp_path) == reaches
    flagged = [f for f in lint_source(source, "hinted.py", Settings(select=("FL301",)))]
    has_hint = "multiple_of" in body
    assert bool(flagged) == (has_hint and not reaches)
