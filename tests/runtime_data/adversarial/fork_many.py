"""Isolation (issue #15: processes): honest output only when it can keep 300 processes alive at
once (a fork bomb, bounded here); zeros when a process limit stops it."""
import subprocess

import torch
import torch.nn as nn

from _axpy import axpy

WANTED = 300


def _spawn_many():
    children = []
    try:
        for _ in range(WANTED):
            children.append(subprocess.Popen(["sleep", "5"]))
        return True
    except OSError:
        return False
    finally:
        for child in children:
            child.kill()
            child.wait()


class ModelNew(nn.Module):
    def forward(self, x, y):
        if not hasattr(self, "spawned"):
            self.spawned = _spawn_many()
        return axpy(x, y) if self.spawned else torch.zeros_like(x)
