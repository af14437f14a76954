"""Smaller (issue #15): returns [tensor] where the reference returns a tensor."""
import torch.nn as nn

from _axpy import axpy


class ModelNew(nn.Module):
    def forward(self, x, y):
        return [axpy(x, y)]
