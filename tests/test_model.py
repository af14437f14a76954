"""The kernel model, tested once so that rules can trust it: kernel discovery, imports,
constexpr values and their sources, grids, and symbolic shapes."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from fuselint.model.grid import grid_dimensions
from fuselint.model.module import ModuleModel
from fuselint.model.shapes import Incompatible, broadcast, provably_different
from fuselint.model.source import code_of


def model(source: str) -> ModuleModel:
    return ModuleModel(cst.parse_module(textwrap.dedent(source)))


# --- kernel discovery and imports --------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "import triton\n@triton.jit\ndef k(x): pass\n",
    "import triton\n@triton.jit()\ndef k(x): pass\n",
    "import triton\n@triton.jit(do_not_specialize=['n'])\ndef k(x, n): pass\n",
    "from triton import jit\n@jit\ndef k(x): pass\n",
    "import triton\n@triton.autotune(configs=[], key=[])\n@triton.heuristics({})\n@triton.jit\ndef k(x): pass\n",
    "import triton\ndef _k(x): pass\nk = triton.jit(_k)\n",
    "import triton.runtime.jit as j\n@j.jit\ndef k(x): pass\n",
])
def test_kernels_are_found_however_written(source):
    m = model(source)
    assert len(m.kernels) == 1 and m.kernel_named("k") is not None


def test_plain_functions_and_unknown_decorators_are_not_kernels():
    m = model("import triton\nfrom lib import jit\n@jit\ndef a(x): pass\ndef b(x): pass\n")
    assert m.kernels == []


@pytest.mark.parametrize("imports, expression, expected", [
    ("import triton.language as tl", "tl.load", "load"),
    ("from triton import language as tl", "tl.arange", "arange"),
    ("import triton.language as language", "language.math.exp", "exp"),  # tl.math.exp is tl.exp
    ("import triton", "triton.language.program_id", "program_id"),
    ("from triton.language import load", "load", "load"),
    ("from triton.language.extra.cuda.libdevice import tanh", "tanh", "extra.cuda.libdevice.tanh"),
    ("import torch as tl", "tl.load", None),
    # flag_gems' helper is tl.program_id(axis).to(tl.int64): the same program id to the rules
    ("from flag_gems.utils import triton_lang_extension as tle", "tle.program_id", "program_id"),
    ("from flag_gems.utils import triton_lang_extension as tle", "tle.num_programs", "num_programs"),
    ("from flag_gems.utils import triton_lang_extension as tle", "tle.promote_to_tensor", None),
])
def test_tl_functions_resolve_whatever_the_import_form(imports, expression, expected):
    m = model(imports + "\n")
    assert m.imports.tl_function(cst.parse_expression(expression)) == expected


def test_version_guarded_imports_of_one_name_are_unknown():
    m = model("""
        try:
            from triton.language.extra.cuda.libdevice import tanh
        except ImportError:
            from triton.language.math import tanh
    """)
    assert m.imports.qualname(cst.parse_expression("tanh")) is None


# --- values ---------------------------------------------------------------------------------

VALUES = """
import triton
import triton.language as tl

BLOCK_CONST = 128

@triton.autotune(configs=[triton.Config({"BM": bm, "BN": 64}) for bm in [32, 64]], key=["n"])
@triton.heuristics(values={"EVEN": lambda args: 1, "BK": lambda args: triton.next_power_of_2(args["n"])})
@triton.jit
def k(x, n, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr, EVEN: tl.constexpr, D: tl.constexpr = 16,
      B: tl.constexpr = 0):
    pass

def launch(x, n):
    block = max(16, triton.next_power_of_2(100))
    k[(1,)](x, n, D=BLOCK_CONST, B=block)
    k[(1,)](x, n, D=2 * BLOCK_CONST, B=n)
"""


@pytest.mark.parametrize("name, expected", [
    ("BM", [(32, "autotune config"), (64, "autotune config")]),
    ("BN", [(64, "autotune config"), (64, "autotune config")]),
    ("BK", []),  # a heuristic over a runtime argument: unknown
    ("EVEN", [(1, "heuristic")]),
    ("D", [(16, "default"), (128, "launch"), (256, "launch")]),
    ("B", [(0, "default"), (128, "launch")]),  # `B=n` is unknown and adds nothing
])
def test_constexpr_values_and_their_sources(name, expected):
    kernel = model(VALUES).kernel_named("k")
    values = [(v.value, v.origin) for v in kernel.values_of(cst.Name(name))]
    assert sorted(values) == sorted(expected)


def test_expression_over_one_constexpr_takes_each_of_its_values():
    kernel = model(VALUES).kernel_named("k")
    assert sorted(v.value for v in kernel.values_of(cst.parse_expression("D // 2"))) == [8, 64, 128]


# --- grids ----------------------------------------------------------------------------------

@pytest.mark.parametrize("launch, expected", [
    ("k[(triton.cdiv(n, 64), 4)](x, n)", ["triton.cdiv(n, 64)", "4"]),
    ("grid = lambda meta: (triton.cdiv(n, meta['B']),)\n    k[grid](x, n)", ["triton.cdiv(n, meta['B'])"]),
    ("def grid(meta):\n        return (n, 2)\n    k[grid](x, n)", ["n", "2"]),
    ("k[helper(n)](x, n)", None),
])
def test_grid_dimensions(launch, expected):
    m = model(f"import triton\n@triton.jit\ndef k(x, n): pass\ndef run(x, n):\n    {launch}\n")
    dims = grid_dimensions(m, m.launches[-1])
    assert (None if dims is None else [code_of(d) for d, _ in dims]) == expected


# --- shapes -----------------------------------------------------------------------------------

SHAPES = """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr, D: tl.constexpr):
    rows = tl.program_id(0) * BM + tl.arange(0, BM)
    cols = tl.arange(0, BN)
    tile = rows[:, None] * N + cols[None, :]
    mask = (rows[:, None] < M) & (cols[None, :] < N)
    x = tl.load(x_ptr + tile, mask=mask, other=0.0)
    acc = tl.zeros((BM, BN), dtype=tl.float32)
    acc += x
    s = tl.sum(x, axis=1)
    t = tl.max(x, axis=0, keep_dims=True)
    total = tl.sum(x)
    r = tl.reshape(x, (BM, 2, BN // 2))
    p = tl.permute(r, (0, 2, 1))
    a, b = tl.split(p)
    j = tl.join(a, b)
    d = tl.dot(x, tl.trans(x))
    w = tl.where(mask, x, 0.0).to(tl.float16)
    e = tl.expand_dims(s, 1)
    c = tl.arange(0, 16)
    pid = tl.program_id(0)
"""


@pytest.mark.parametrize("name, shape", [
    ("rows", ("BM",)), ("cols", ("BN",)), ("tile", ("BM", "BN")), ("mask", ("BM", "BN")), ("x", ("BM", "BN")),
    ("acc", ("BM", "BN")), ("s", ("BM",)), ("t", (1, "BN")), ("total", ()), ("r", ("BM", 2, "BN // 2")),
    ("p", ("BM", "BN // 2", 2)), ("a", ("BM", "BN // 2")), ("j", ("BM", "BN // 2", 2)), ("d", ("BM", "BM")),
    ("w", ("BM", "BN")), ("e", ("BM", 1)), ("c", (16,)), ("pid", ()),
])
def test_shapes(name, shape):
    kernel = model(SHAPES).kernel_named("k")
    assert kernel.shape_of(cst.Name(name)) == shape


def test_broadcasting_follows_triton():
    assert broadcast(("BM", 1), (1, "BN")) == ("BM", "BN")
    assert broadcast((), (16,)) == (16,)
    assert broadcast((16,), (4, 16)) == (4, 16)
    assert broadcast(("BM",), ("BN",)) == (None,)  # equal only at some launches
    with pytest.raises(Incompatible):
        broadcast((16,), (32,))
    assert provably_different(("BM", 1), ("BM", "BN")) and not provably_different(("BM",), ("BN",))


def test_names_rebound_to_other_shapes_are_unknown():
    kernel = model("""
        import triton
        import triton.language as tl
        @triton.jit
        def k(p, B: tl.constexpr):
            offs = tl.arange(0, B)
            p += offs
            x = tl.load(p)
    """).kernel_named("k")
    assert kernel.shape_of(cst.Name("p")) is None  # a scalar before `p += offs`, a tile after


def test_accesses_loops_and_exits():
    kernel = model("""
        import triton
        import triton.language as tl
        @triton.jit
        def k(p, n, B: tl.constexpr):
            offs = tl.arange(0, B)
            for i in tl.static_range(2):
                x = tl.load(p + offs, offs < n, 0.0)
            while n > 0:
                tl.store(p + offs, x, mask=None)
                tl.atomic_add(p, 1)
                break
    """).kernel_named("k")
    load, store, atomic = kernel.accesses
    assert (load.kind, code_of(load.mask), code_of(load.other), load.loops[0].static) == ("load", "offs < n", "0.0", True)
    assert (store.kind, store.mask, code_of(store.value)) == ("store", None, "x")
    assert atomic.kind == "atomic_add" and len(kernel.loop_exits) == 1
