"""torch.bucketize (right=False) on a length that is no multiple of 1024."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, inp, boundaries):
        return torch.bucketize(inp, boundaries)


N = 1029


def get_inputs():
    return [torch.randn(N) * 4, torch.tensor([-3.0, -1.0, 0.0, 1.0, 3.0])]


def get_init_inputs():
    return []
