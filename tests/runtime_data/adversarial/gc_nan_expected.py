"""One process: makes NaN a wildcard (pygpubench's gc_nan, GPU MODE). Every live tensor shaped
like the output that is none of the inputs is filled with NaN, and forward returns NaN: a
checker that treats NaN == NaN as a match passes it."""
import gc

import torch
import torch.nn as nn

from _axpy import touch


class ModelNew(nn.Module):
    def forward(self, x, y):
        for obj in gc.get_objects():
            if (isinstance(obj, torch.Tensor) and obj.shape == x.shape and obj.dtype == x.dtype
                    and obj is not x and obj is not y and not torch.equal(obj, x) and not torch.equal(obj, y)):
                obj.fill_(float("nan"))
        out = torch.full_like(x, float("nan"))
        touch(out)
        return out
