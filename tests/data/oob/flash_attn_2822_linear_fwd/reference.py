"""x @ weight.T with M and N no multiples of the 32x32 tiles (the tail tiles matter)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x, weight):
        return x @ weight.T


M, N, K = 100, 70, 64


def get_inputs():
    return [torch.randn(M, K), torch.randn(N, K)]


def get_init_inputs():
    return []
