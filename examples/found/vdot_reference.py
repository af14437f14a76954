"""vdot of two complex vectors of 100 elements: 4 programs of 32 (flag_gems' NVIDIA block size)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, a, b):
        return torch.vdot(a, b)


def get_inputs():
    return [torch.randn(100, dtype=torch.complex64), torch.randn(100, dtype=torch.complex64)]


def get_init_inputs():
    return []
