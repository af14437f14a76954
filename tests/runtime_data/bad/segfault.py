import ctypes

import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x, y):
        ctypes.string_at(0)  # reads address 0: the process dies with SIGSEGV, as a bad extension would
        return x
