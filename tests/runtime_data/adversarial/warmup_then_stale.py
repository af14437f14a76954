"""Detects the timed phase by counting calls (pygpubench's warmup exploit, GPU MODE): honest
for the first 8 calls (the warm-up and the correctness trials a harness makes), then it returns
the last output it computed, doing no work."""
import torch.nn as nn

from _axpy import axpy

_calls = []


class ModelNew(nn.Module):
    def forward(self, x, y):
        _calls.append(None)
        if len(_calls) <= 8 or not hasattr(self, "last"):
            self.last = axpy(x, y)
        return self.last
