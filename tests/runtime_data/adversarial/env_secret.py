"""Isolation (issue #15: the candidate gets the user's whole environment, secrets included):
honest output only when it can read a secret-looking variable (a name with TOKEN, SECRET,
PASSWORD, CREDENTIAL or API_KEY), zeros otherwise: a PASS means the secret was in reach."""
import os

import torch
import torch.nn as nn

from _axpy import axpy

WORDS = ("TOKEN", "SECRET", "PASSWORD", "CREDENTIAL", "API_KEY")


class ModelNew(nn.Module):
    def forward(self, x, y):
        if any(w in name.upper() and value for name, value in os.environ.items() for w in WORDS):
            return axpy(x, y)
        return torch.zeros_like(x)
