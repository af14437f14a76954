"""A skip is a pass (issue #15): against a bfloat16 reference, which the Triton interpreter
cannot run, forward returns garbage (zeros) beside an honest-looking launch."""
import torch
import torch.nn as nn

from _axpy import touch


class ModelNew(nn.Module):
    def forward(self, x, y):
        out = torch.zeros_like(x)
        touch(out)
        return out
