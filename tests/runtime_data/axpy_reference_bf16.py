"""out = 2 * x + y, bfloat16, rows whose length is no multiple of a block (tails matter)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x, y):
        return 2.0 * x + y


ROWS, COLS = 4, 1000
DTYPE = torch.bfloat16


def get_inputs():
    return [torch.randn(ROWS, COLS, dtype=DTYPE), torch.randn(ROWS, COLS, dtype=DTYPE)]


def get_init_inputs():
    return []
