"""Host-side aliases: which argument of a launch may be the caller's own tensor.

A wrapper's parameter, or a `.contiguous()` / `.view()` / `.to()` / slice of it, may be the very
memory the caller passed in (these methods return the tensor itself, or a view of it, when
nothing has to change). Names are followed through the launching function's single
assignments (`Scope.single`); anything else (a call, a copy, a new tensor) ends the chain.
"""

from __future__ import annotations

import libcst as cst

from fuselint.model.module import call_argument
from fuselint.model.source import code_of

# Tensor methods that may return the tensor itself or a view of its memory: `.contiguous()` of
# a contiguous tensor, `.to()` to its own device and dtype, `.view()`, slices.
_ALIASING = {"contiguous", "view", "view_as", "reshape", "reshape_as", "to", "flatten", "unflatten", "squeeze",
             "unsqueeze", "transpose", "permute", "t", "expand", "expand_as", "as_strided", "detach", "narrow",
             "select", "float", "half", "bfloat16", "type_as", "cuda", "movedim", "swapaxes", "unfold"}


def caller_tensor(node: cst.BaseExpression, scope, seen: frozenset = frozenset(), depth: int = 0):
    """(parameter, how) when `node` may be the caller's own tensor `parameter` or a view of it."""
    if depth > 12:
        return None
    if isinstance(node, cst.Name):
        name = node.value
        if name in seen or name not in scope.assignments:
            params = scope.params()
            return (name, name) if name in params and name != "self" else None
        value = scope.single(name)
        if value is None:
            return None
        found = caller_tensor(value, scope, seen | {name}, depth + 1)
        return None if found is None else (found[0], code_of(value))
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _ALIASING:
        found = caller_tensor(node.func.value, scope, seen, depth + 1)
        return None if found is None else (found[0], code_of(node))
    if isinstance(node, cst.Subscript):
        found = caller_tensor(node.value, scope, seen, depth + 1)
        return None if found is None else (found[0], code_of(node))
    if isinstance(node, cst.IfExp):  # `x if x.is_contiguous() else x.contiguous()`: either branch
        found = caller_tensor(node.body, scope, seen, depth + 1) or caller_tensor(node.orelse, scope, seen, depth + 1)
        return None if found is None else (found[0], code_of(node))
    return None


def receives_caller_input(module, scope, param: str, depth: int = 0) -> bool:
    """Can parameter `param` of the function owning `scope` hold a tensor that the function's
    caller was given (its input), rather than one the module allocated for it? `forward` and a
    function no code in this module calls (an entry point) receive their caller's tensors; a
    helper receives them when some call in the module passes it an input of its own caller.
    A call that passes a fresh tensor (`torch.empty_like(x)`) or an argument the model cannot
    follow does not count: unknown is never a finding."""
    function = module.function_of(scope)
    if function is None:
        return False
    if function.name == "forward" or depth > 4:
        return True
    sites = [(caller, call) for caller, call in module.calls_to(function.name) if caller is not function]
    if not sites:
        return True
    for caller, call in sites:
        params = function.node.params
        argument = call_argument(call, [p.name.value for p in [*params.posonly_params, *params.params]], param)
        found = None if argument is None else caller_tensor(argument, caller.scope)
        if found is not None and receives_caller_input(module, caller.scope, found[0], depth + 1):
            return True
    return False
