from __future__ import annotations

import libcst as cst

from fuselint.model.names import dotted
from fuselint.rule import Rule

_MODULE_BASES = {"torch.nn.Module", "torch.nn.modules.module.Module"}


def _launches_triton(module, model_new: cst.ClassDef) -> bool | None:
    """Whether `forward` reaches a Triton launch through this file's functions: True, False,
    or None when it calls something this file does not define (it may launch there)."""
    forward = module.function_named("forward", "ModelNew")
    if forward is None:
        return False
    launched = {id(l.scope.node) for l in module.launches if l.kernel is not None}
    by_node = {id(f.node): f for f in module.functions}
    seen, todo, unknown = set(), [forward], False
    while todo:
        function = todo.pop()
        if id(function.node) in seen:
            continue
        seen.add(id(function.node))
        if id(function.node) in launched:
            return True
        nested = [f for f in module.functions if f.scope.parent is function.scope]
        todo.extend(nested)
        for call in function.calls:
            name = dotted(call.func)
            if name is None:
                continue
            head, _, attr = name.partition(".")
            if head == "self" and attr and "." not in attr:
                callee = module.function_named(attr, "ModelNew")
                unknown |= callee is None  # an nn.Module attribute: may be this file's or not
            elif attr == "apply" and module.function_named("forward", head) is not None:
                callee = module.function_named("forward", head)  # a torch.autograd.Function
            elif not attr:
                callee = module.function_named(head)
                qualified = module.imports.qualname(call.func)
                unknown |= callee is None and qualified is not None and not qualified.startswith("torch")
            else:
                callee = None
            if callee is not None and id(callee.node) in by_node:
                todo.append(callee)
    return None if unknown else False


class ModelNewRule(Rule):
    """## What it does
    In a KernelBench file, flags a missing `class ModelNew(nn.Module)`, a `ModelNew` that is
    not an `nn.Module`, and a `ModelNew.forward` that reaches no Triton launch through the
    functions of the file (it only calls torch ops).

    ## Why is this bad?
    House output format, item 4: "class ModelNew(nn.Module) that calls your kernels". The
    harness imports `ModelNew` and compares it with the reference; a ModelNew that runs only
    torch ops passes the comparison without being a kernel at all.

    ## Example
    ```python
    class ModelNew(nn.Module):
        def forward(self, x):
            return torch.relu(x)
    ```

    ## Use instead
    ```python
    class ModelNew(nn.Module):
        def forward(self, x):
            return relu_triton(x)   # a wrapper that launches relu_kernel[grid](...)
    ```
    """

    code, name, kernelbench = "FL202", "model-new", True

    def check_module(self, module):
        classes = [c for c in module.classes if c.name.value == "ModelNew"]
        if not classes:
            yield self.report(module.module, "no `class ModelNew(nn.Module)` (house output format)")
            return
        model_new = classes[-1]
        bases = {module.imports.qualname(b.value) for b in model_new.bases}
        if not bases & _MODULE_BASES:
            yield self.report(model_new.name, "`ModelNew` does not subclass nn.Module (house output format)")
        if module.function_named("forward", "ModelNew") is None:
            yield self.report(model_new.name, "`ModelNew` has no `forward` (house output format)")
        elif _launches_triton(module, model_new) is False:
            yield self.report(model_new.name, "`ModelNew.forward` reaches no Triton launch: it only runs torch ops (house output format)")

    VALID = [
        """import torch
import torch.nn as nn
import triton
import triton.language as tl

@triton.jit
def relu_kernel(x_ptr, n, BLOCK: tl.constexpr):
    pass

def relu(x):
    relu_kernel[(triton.cdiv(x.numel(), 128),)](x, x.numel(), BLOCK=128)
    return x

class ModelNew(nn.Module):
    def forward(self, x):
        return relu(x)
""",
        """import torch
import torch.nn as nn
import triton
import triton.language as tl

@triton.jit
def relu_kernel(x_ptr, n, BLOCK: tl.constexpr):
    pass

class ModelNew(nn.Module):
    def _launch(self, x):
        def grid(meta):
            return (1,)
        relu_kernel[grid](x, x.numel(), BLOCK=128)

    def forward(self, x):
        self._launch(x)
        return x
""",
        """import torch
import torch.nn as nn
import triton
from mykernels import fused_op

class ModelNew(nn.Module):
    def forward(self, x):
        return fused_op(x)
""",
    ]
    INVALID = [
        """import torch
import torch.nn as nn
import triton
import triton.language as tl

class ModelNew(nn.Module):  # error
    def forward(self, x):
        return torch.relu(x)
""",
        """import torch
import torch.nn as nn
import triton
import triton.language as tl

class ModelNew:  # error
    def forward(self, x):
        return x
""",
        """import torch  # error
import torch.nn as nn
import triton
import triton.language as tl

class Model(nn.Module):
    def forward(self, x):
        return x
""",
    ]
