"""Which kernel a launch runs and which helper a call reaches: names resolve as Python resolves
them, from the scope of the launch or the calling kernel (Triton's own tests define one nested
`kernel` per test function; the last one must not stand for all of them)."""

from __future__ import annotations

import libcst as cst

from fuselint.model.fusion import device_function
from fuselint.model.module import ModuleModel

SOURCE = '''
import triton
import triton.language as tl


@triton.jit
def kernel(x_ptr):
    tl.store(x_ptr, 0)


@triton.jit
def _impl(x_ptr):
    tl.store(x_ptr, 1)


aliased = _impl
tuned = triton.autotune(configs=[], key=[])(_impl)


def module_level(x):
    kernel[(1,)](x)
    aliased[(1,)](x)
    tuned[(1,)](x)


def test_one(x):
    @triton.jit
    def kernel(x_ptr):
        tl.store(x_ptr, 2)

    kernel[(1,)](x)

    def inner():
        kernel[(2,)](x)
    inner()


def test_two(x, kernel_arg):
    @triton.jit
    def kernel(x_ptr):
        tl.store(x_ptr, 3)

    kernel[(3,)](x)
    kernel_arg[(4,)](x)


def shadowed(kernel, x):
    kernel[(5,)](x)


def looped(x):
    for kernel in (_impl,):
        kernel[(6,)](x)
'''


def launched() -> dict[tuple[str, str], str | None]:
    """(launching function, launched name) -> what the kernel it runs stores (which one it is)."""
    model = ModuleModel(cst.parse_module(SOURCE))
    code = cst.Module([]).code_for_node
    return {(launch.scope.node.name.value, launch.target):
            None if launch.kernel is None else code(launch.kernel.accesses[0].value) for launch in model.launches}


def test_each_launch_runs_the_kernel_its_scope_sees():
    assert launched() == {
        ("module_level", "kernel"): "0", ("module_level", "aliased"): "1", ("module_level", "tuned"): "1",
        ("test_one", "kernel"): "2",
        ("inner", "kernel"): "2",  # a closure sees test_one's kernel
        ("test_two", "kernel"): "3",
        ("test_two", "kernel_arg"): None,  # a parameter: not known
        ("shadowed", "kernel"): None,  # a parameter hides the module's kernel
        ("looped", "kernel"): None,  # a loop variable
    }


HELPERS = '''
import triton
import triton.language as tl


@triton.jit
def offsets(B: tl.constexpr):
    return tl.program_id(1) * B + tl.arange(0, B)


@triton.jit
def write(p, v):
    tl.store(p, v)


@triton.jit
def main(x_ptr, B: tl.constexpr):
    write(x_ptr + offsets(B), 1.0)


@triton.jit
def library_kernel(x_ptr, B: tl.constexpr):
    tl.store(x_ptr + tl.arange(0, B), 1.0)


def launch(x):
    main[(1, 2)](x, B=16)
'''


def test_device_functions_are_the_helpers():
    model = ModuleModel(cst.parse_module(HELPERS))
    kinds = {k.name: device_function(k) for k in model.kernels}
    # offsets returns a value, write is called by main; main is launched; library_kernel is
    # launched elsewhere (neither called nor returning): a kernel
    assert kinds == {"offsets": True, "write": True, "main": False, "library_kernel": False}
    main = model.kernel_named("main")
    assert model.callee(main, "write") is model.kernel_named("write")
    assert [k.name for k in model.callers_of(model.kernel_named("write"))] == ["main"]
