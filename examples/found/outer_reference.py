"""Outer product of a 100-vector (no multiple of 8) and a 300-vector."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, a, b):
        return torch.outer(a, b)


def get_inputs():
    return [torch.randn(100), torch.randn(300)]


def get_init_inputs():
    return []
