"""Verdict: the process leaves with status 0 in the middle of forward (issue #15), before any
output exists."""
import os

import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x, y):
        os._exit(0)
