"""The sizes a module launches a kernel with (fuselint/model/launch_sizes.py), and where they are
trusted: a test module, or a kernel defined inside the launching function."""

import textwrap

import pytest

from fuselint.engine import lint_source

KERNEL = """
import pytest
import torch
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, K, BLOCK_K: tl.constexpr):
    acc = tl.zeros((BLOCK_K,), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        acc += tl.load(x_ptr + k0 + tl.arange(0, BLOCK_K))
    tl.store(y_ptr + tl.arange(0, BLOCK_K), acc)
"""


def codes(source: str, path: str) -> list[tuple[int, str]]:
    return [(f.line, f.code) for f in lint_source(textwrap.dedent(source), path) if f.code.startswith(("FL4", "FL002"))]


PARAMETRIZED = KERNEL + """
@pytest.mark.parametrize("K,BLOCK_K,dtype", [(*shape, dtype) for shape in [[64, 16], [256, 64]]
                                             for dtype in [torch.float16, torch.float32]])
def test_sum(K, BLOCK_K, dtype):
    x = torch.randn((K,), device="cuda", dtype=dtype)
    k[(1,)](x, x, x.shape[0], BLOCK_K=BLOCK_K)
"""


def test_parametrize_rows_built_by_a_comprehension_are_the_sizes_of_a_test_module():
    assert codes(PARAMETRIZED, "tests/test_sum.py") == []


def test_a_module_that_is_no_test_may_be_imported_and_launched_with_other_sizes():
    assert codes(PARAMETRIZED, "kernels/sum.py") == [(11, "FL401")]


def test_one_row_that_does_not_divide_keeps_the_finding():
    source = PARAMETRIZED.replace("[256, 64]", "[100, 16]")
    assert codes(source, "tests/test_sum.py") == [(11, "FL401")]


def test_indirect_parametrize_goes_to_a_fixture_not_the_parameter():
    source = PARAMETRIZED.replace("for dtype in [torch.float16, torch.float32]])",
                                  "for dtype in [torch.float16, torch.float32]], indirect=True)")
    assert codes(source, "tests/test_sum.py") == [(11, "FL401")]


def test_sizes_passed_by_the_callers_of_a_helper_in_a_test_module():
    source = KERNEL + """
def run(K, BLOCK_K=64):
    x = torch.empty(K, device="cuda")
    k[(1,)](x, x, K, BLOCK_K=BLOCK_K)

def test_small():
    run(128)

def test_large():
    run(4096, BLOCK_K=128)
"""
    assert codes(source, "test_helper.py") == []
    assert codes(source.replace("run(128)", "run(100)"), "test_helper.py") == [(11, "FL401")]


def test_a_parameter_rebound_in_the_body_is_not_its_parametrize_value():
    source = KERNEL + """
@pytest.mark.parametrize("K", [64, 128])
def test_sum(K):
    K = K + 1
    x = torch.empty(K, device="cuda")
    k[(1,)](x, x, K, BLOCK_K=64)
"""
    assert codes(source, "test_rebound.py") == [(11, "FL401")]


@pytest.mark.parametrize("shape, expect", [("(128, 64)", []), ("(100, 64)", [(11, "FL401")])])
def test_shapes_of_tensors_the_test_makes(shape, expect):
    source = KERNEL + f"""
def test_sum():
    a = .1 * torch.randn({shape}, device="cuda").T.contiguous()
    k[(1,)](a, a, a.shape[1], BLOCK_K=32)
"""
    assert codes(source, "test_shapes.py") == expect


def test_a_kernel_defined_in_the_launching_function_is_judged_at_its_sizes_anywhere():
    source = """
import triton
import triton.language as tl

def main():
    @triton.jit
    def k(x_ptr, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        tl.store(x_ptr + offs, tl.load(x_ptr + offs) + 1)

    n = 4096
    x = torch.empty(n, device="cuda")
    k[(triton.cdiv(n, 256),)](x, BLOCK=256)
"""
    assert codes(source, "scripts/demo.py") == []
    assert codes(source.replace("n = 4096", "n = 4000"), "scripts/demo.py") == [(9, "FL401"), (9, "FL401")]


def test_grid_of_a_numel_the_test_knows():
    source = """
import torch
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs) * 2)

def test_double(device):
    inp = torch.ones(8, 2048, 8, 8, device=device)
    numel = inp.numel()
    k[(numel // 1024,)](inp, 1024)
"""
    assert codes(source, "test_grid.py") == []
    assert codes(source.replace("8, 2048, 8, 8", "2, 256"), "test_grid.py") == [(14, "FL002")]


TILED = """
import pytest
import torch
import triton
import triton.language as tl

@triton.jit
def scale(x_ptr, y_ptr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs) * 2)

def run(x):
    M, N = x.shape
    y = torch.empty_like(x)
    scale[(triton.cdiv(M * N, 32),)](x, y, BLOCK=32)
    return y
"""


def test_a_host_size_the_kernel_never_receives_is_still_the_bound_of_its_tiling():
    # M * N reaches the kernel only through the grid: an unmasked tail is flagged all the same
    assert codes(TILED, "kernels/scale.py") == [(10, "FL401"), (10, "FL401")]


def test_host_sizes_are_evaluated_at_each_launch_of_a_test_module():
    # the parameter M and the tensor's x.numel() are host sizes; the rows give both
    source = TILED.split("def run")[0] + """
@pytest.mark.parametrize("M, N", [(4, 64), (2, 16)])
def test_scale(M, N):
    x = torch.randn((M, N))
    scale[(triton.cdiv(M * N, 32),)](x, x, BLOCK=32)
"""
    for grid in ("M * N", "x.numel()"):
        chosen = source.replace("M * N", grid)
        assert codes(chosen, "tests/test_scale.py") == []
        assert codes(chosen.replace("(2, 16)", "(3, 5)"), "tests/test_scale.py") == [(10, "FL401"), (10, "FL401")]
    finding = lint_source(source.replace("(2, 16)", "(3, 5)"), "tests/test_scale.py")[0]
    assert "witness: at the module's launch with M (host) = 3, N (host) = 5 it reaches 31, the extent is 15" in finding.message


def test_a_dimension_checked_to_divide_makes_numel_divide_in_a_grid_function():
    source = TILED.replace("""    M, N = x.shape
    y = torch.empty_like(x)
    scale[(triton.cdiv(M * N, 32),)](x, y, BLOCK=32)""", """    assert x.size(-1) % block == 0
    y = torch.empty_like(x)
    grid = lambda meta: (triton.cdiv(x.numel(), meta["BLOCK"]),)
    scale[grid](x, y, BLOCK=block)""").replace("def run(x):", "def run(x, block=128):")
    assert codes(source, "kernels/scale.py") == []
    assert codes(source.replace("assert x.size(-1) % block == 0", "pass"), "kernels/scale.py") == [(10, "FL401"), (10, "FL401")]


WARMUP = """
import pytest
import torch
import triton
import triton.language as tl

@triton.jit
def copy(X, Y, SIZE: tl.constexpr, BLOCK: tl.constexpr):
    for i in range(0, SIZE, BLOCK):
        tl.store(Y + i + tl.arange(0, BLOCK), tl.load(X + i + tl.arange(0, BLOCK)))

@pytest.mark.parametrize("mode", ["a", "b"])
def test_compiles(mode):
    shape = (256,)
    copy.warmup(torch.float32, torch.float32, SIZE=shape[0], BLOCK=128, grid=(1,))
"""


def test_a_warmup_is_a_launch_at_its_sizes():
    # compiled only, at SIZE = shape[0] of a literal tuple: the loop walks whole blocks
    assert codes(WARMUP, "tests/test_copy.py") == []
    assert codes(WARMUP.replace("(256,)", "(200,)"), "tests/test_copy.py") == [(10, "FL401"), (10, "FL401")]


def test_shapes_through_the_tensors_helpers_take_and_return():
    # a launch helper gets its tensor from another helper's return value (remade in a branch
    # with the same shape), and a test reuses the name for the next step's result
    source = """
import pytest
import torch
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs) * 2)

def populate(n, odd):
    x = torch.empty((n,), device="cuda")
    if odd:
        x = torch.where(x == 0, 1, x)
    return x

def double(x, BLOCK=1024):
    y = torch.empty(x.shape, device="cuda")
    k[(x.shape[0] // BLOCK,)](x, y, BLOCK)
    return y

@pytest.mark.parametrize("odd", [False, True])
def test_double(odd):
    x = populate(4096, odd)
    x = double(x)
    x = double(x)
    if odd:
        x = x.cpu()
"""
    assert codes(source, "tests/test_double.py") == []
    assert codes(source.replace("populate(4096", "populate(1000"), "tests/test_double.py") == [(20, "FL002")]
    # a reassignment in a branch before the launch may or may not have run: not followed
    branched = source.replace("    x = double(x)\n    x = double(x)", "    if odd:\n        x = populate(100, odd)\n    x = double(x)")
    assert codes(branched, "tests/test_double.py") == [(20, "FL002")]


AUTOGRAD = """
import pytest
import torch
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs) * 2)

class _double(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = torch.empty_like(x)
        k[(triton.cdiv(x.shape[0], 128),)](x, y, x.shape[0], BLOCK=128)
        return y

double = _double.apply

@pytest.mark.parametrize("n", [1024, 4096])
def test_double(n):
    x = torch.randn((n,), device="cuda")
    assert torch.equal(double(x), 2 * x)

@triton.testing.perf_report([triton.testing.Benchmark(x_names=["n"], x_vals=[2**i for i in range(10, 13)],
                                                      line_arg="provider", line_vals=["triton"] + extra,
                                                      args={"dtype": torch.float16})])
def bench(n, provider, dtype):
    x = torch.randn((n,), device="cuda", dtype=dtype)
    return triton.testing.do_bench(lambda: _double.apply(x))
"""


def test_an_autograd_forward_is_called_through_apply_and_a_benchmark_at_its_report_sizes():
    assert codes(AUTOGRAD, "tests/test_double.py") == []
    # one size of the benchmark that is no multiple of the block is found
    assert codes(AUTOGRAD.replace("range(10, 13)", "range(6, 13)"), "tests/test_double.py") == [(10, "FL401"), (10, "FL401")]
    assert codes(AUTOGRAD.replace("[1024, 4096]", "[1000]"), "tests/test_double.py") == [(10, "FL401"), (10, "FL401")]
    # a method that is no autograd forward has callers the module does not show
    plain = AUTOGRAD.replace("(torch.autograd.Function)", "").replace("double = _double.apply", "double = _double().forward")
    assert codes(plain, "tests/test_double.py") == [(10, "FL401"), (10, "FL401")]
