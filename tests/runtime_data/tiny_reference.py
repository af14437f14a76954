"""out = x / 1000 in float16: every value sits inside the fp16 tolerance of 1e-2,
so an all-zero output passes allclose and only the magnitude check catches it."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        return x / 1000.0


N = 4096


def get_inputs():
    return [torch.randn(N, dtype=torch.float16)]


def get_init_inputs():
    return []
