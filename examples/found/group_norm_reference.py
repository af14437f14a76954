"""Group norm of a (5, 20, 8, 8) input in 10 groups: 50 (batch, group) tasks, 40 programs."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, num_groups, num_channels):
        super().__init__()
        self.gn = nn.GroupNorm(num_groups, num_channels)

    def forward(self, x):
        return self.gn(x)


def get_inputs():
    return [torch.randn(5, 20, 8, 8)]


def get_init_inputs():
    return [10, 20]
