"""One process: the harness's own checks are replaced (issue #15). Every loaded module whose
name mentions fuselint has its functions that compare, check or verify swapped for ones that
find no problem. Forward returns zeros."""
import sys
import types

import torch
import torch.nn as nn

from _axpy import touch

WORDS = ("compare", "check", "mutation", "unwritten", "magnitude", "verify", "judge", "validate")


def _no_problem(*args, **kwargs):
    return []


def _patch():
    for name, module in list(sys.modules.items()):
        if "fuselint" not in name or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, types.FunctionType) and any(w in attr.lower() for w in WORDS):
                setattr(module, attr, _no_problem)


_patch()


class ModelNew(nn.Module):
    def forward(self, x, y):
        _patch()
        out = torch.zeros_like(x)
        touch(out)
        return out
