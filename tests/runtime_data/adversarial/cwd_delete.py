"""Isolation (issue #15: a candidate deleted a file in the working directory): deletes
sentinel.txt in its working directory and leaves deleted.txt there; honest output only in the
caller's directory (sentinel.txt there to delete, or deleted.txt left by an earlier process)."""
import os

import torch
import torch.nn as nn

from _axpy import axpy


class ModelNew(nn.Module):
    def forward(self, x, y):
        if not hasattr(self, "deleted"):
            try:
                os.remove("sentinel.txt")
                with open("deleted.txt", "w") as f:
                    f.write("sentinel.txt deleted\n")
            except OSError:
                pass
            self.deleted = os.path.exists("deleted.txt")
        return axpy(x, y) if self.deleted else torch.zeros_like(x)
