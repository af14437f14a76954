"""Isolation (issue #15: file size): honest output only when it could write a 100 MiB file in
its working directory (a disk filler, bounded here); zeros when a file-size limit stops it."""
import os
import signal

import torch
import torch.nn as nn

from _axpy import axpy

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a limit then shows as an error, not a death


def _fill():
    try:
        with open("filler.bin", "wb") as f:
            for _ in range(100):
                f.write(b"\0" * (1 << 20))
        return True
    except OSError:
        return False
    finally:
        try:
            os.remove("filler.bin")
        except OSError:
            pass


class ModelNew(nn.Module):
    def forward(self, x, y):
        if not hasattr(self, "filled"):
            self.filled = _fill()
        return axpy(x, y) if self.filled else torch.zeros_like(x)
