from __future__ import annotations

import libcst as cst

from fuselint.model.aliases import caller_tensor, receives_caller_input
from fuselint.model.offsets import possible_bases
from fuselint.model.source import code_of
from fuselint.rule import Rule


class StoresIntoInput(Rule):
    """## What it does
    Flags a launch that passes the wrapper's own input tensor (a parameter of the function
    that launches), or a `.contiguous()` / `.view()` / `.to()` / slice of it, to a kernel
    parameter that the kernel stores into (directly, or as one of the pointers a
    `tl.where(cond, a_ptr, b_ptr)` picks between). Such methods return the tensor itself or a
    view of its memory when nothing needs to change (a contiguous tensor, the same device and
    dtype); so does `x if x.is_contiguous() else x.contiguous()`.
    The tensor must reach the wrapper from outside the module: the wrapper is `forward`, is
    called by no code of the module (an entry point), or is called with an input of its own
    caller; a helper every caller hands a fresh `torch.empty_like(...)` is fine. On by default
    only for KernelBench files (defining `ModelNew`), whose `forward` must not change its
    inputs; wrappers named like in-place ops (`add_`) are left alone.

    ## Why is this bad?
    The caller's inputs are silently changed: the reference output computed afterwards from
    the same tensors is wrong, and a second call rotates, scales or adds twice. It works or not
    depending on whether the input happened to be contiguous.

    ## Example
    ```python
    def rope(q, cos, sin):
        q_flat = q.contiguous().view(-1, D)
        rope_kernel[grid](q_flat, cos, sin, ...)      # stores into q_flat: q itself
        return q_flat.view_as(q)
    ```

    ## Use instead
    ```python
    def rope(q, cos, sin):
        q = q.contiguous()
        out = torch.empty_like(q)
        rope_kernel[grid](q, out, cos, sin, ...)      # reads q, stores into out
        return out
    ```
    """

    code, name = "FL302", "stores-into-input"
    kernelbench = True

    def check_module(self, module):
        for launch in module.launches:
            kernel = launch.kernel
            if kernel is None or not isinstance(launch.scope.node, cst.FunctionDef):
                continue
            if launch.scope.node.name.value.endswith("_"):
                continue  # an in-place op by name: changing its input is its job
            stored = []
            for access in kernel.accesses:
                if access.kind == "load":
                    continue
                stored += [base for base in possible_bases(kernel, access) if base not in stored]
            for param in stored:
                argument = launch.argument_for(kernel, param)
                if argument is None:
                    continue
                found = caller_tensor(argument, launch.scope)
                if found is None or found[0].lower().startswith(("out", "result", "dst")):
                    continue
                if not receives_caller_input(module, launch.scope, found[0]):
                    continue  # every call in the module hands it a tensor allocated for it
                source, how = found
                via = "" if how == source else f" (`{code_of(argument)}` is `{how}`, the same memory when `{source}` is already contiguous)"
                yield self.report(argument, f"`{kernel.name}` stores into `{param}`, which is the caller's own `{source}`{via}: "
                                            f"the caller's input is silently changed; store into a new tensor "
                                            f"(`torch.empty_like({source})`) and return it")

    VALID = [
        """
import torch
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)

def run(x):
    x = x.contiguous()
    out = torch.empty_like(x)
    k[(triton.cdiv(x.numel(), 256),)](x, out, x.numel(), BLOCK=256)
    return out
""",
        # a copy is not the caller's tensor; an in-place op by name may change its input
        """
import torch
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) * 2, mask=offs < n)

def scale(x):
    y = x.clone()
    k[(triton.cdiv(y.numel(), 256),)](y, y.numel(), BLOCK=256)
    return y

def scale_(x):
    k[(triton.cdiv(x.numel(), 256),)](x, x.numel(), BLOCK=256)
    return x
""",
        # a helper whose every caller hands it a fresh tensor
        """
import torch
import torch.nn as nn
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) * 2, mask=offs < n)

def launch(x, y):
    k[(triton.cdiv(x.numel(), 256),)](x, y, x.numel(), BLOCK=256)

class ModelNew(nn.Module):
    def forward(self, x):
        y = torch.empty_like(x)
        launch(x, y)
        return y
""",
        # the caller's tensor is only read; the output buffer the caller passes is written
        """
import torch
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)

def copy(x, out):
    k[(triton.cdiv(x.numel(), 256),)](x.view(-1), out, x.numel(), BLOCK=256)
    return out
""",
    ]
    INVALID = [
        """
import torch
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) * 2, mask=offs < n)

def scale(x):
    k[(triton.cdiv(x.numel(), 256),)](x, x.numel(), BLOCK=256)  # error
    return x
""",
        """
import torch
import triton
import triton.language as tl

@triton.jit
def k(q_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    ptrs = q_ptr + offs
    tl.store(ptrs, tl.load(ptrs, mask=offs < n) * 2, mask=offs < n)

def rope(q):
    q_flat = q.contiguous().view(-1)
    k[(triton.cdiv(q_flat.numel(), 256),)](
        q_flat,  # error
        q_flat.numel(), BLOCK=256)
    return q_flat.view_as(q)
""",
        """
import torch
import torch.nn as nn
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.atomic_add(y_ptr + offs, tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)

class ModelNew(nn.Module):
    def forward(self, x, y):
        k[(triton.cdiv(x.numel(), 256),)](x, y[0], x.numel(), BLOCK=256)  # error
        return y
""",
        # a program picks the tensor it writes at run time: both may be written; a conditional
        # `.contiguous()` is the caller's tensor whenever it already was contiguous
        """
import torch
import triton
import triton.language as tl

@triton.jit
def k(a_ptr, b_ptr, n, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    tiles = tl.cdiv(n, BLOCK)
    x_ptr = tl.where(pid >= tiles, b_ptr, a_ptr)
    offs = (pid % tiles) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) * 2, mask=offs < n)

def scale_both(a, b):
    a = a if a.is_contiguous() else a.contiguous()
    b_out = torch.empty_like(b)
    k[(2 * triton.cdiv(a.numel(), 256),)](
        a,  # error
        b_out, a.numel(), BLOCK=256)
    return a, b_out
""",
    ]
