"""vdot of two fp16 vectors of 1024 * 1280 elements: 1280 blocks of 1024, 256 of them past 1024."""
import torch
import torch.nn as nn

N = 1024 * 1280


class Model(nn.Module):
    def forward(self, a, b):
        return torch.dot(a.float(), b.float()).to(a.dtype)


def get_inputs():
    return [torch.randn(N, dtype=torch.float16), torch.randn(N, dtype=torch.float16)]


def get_init_inputs():
    return []
