"""Isolation (issue #15: network): honest output only when the host's network stack answers
(a TCP connect to 127.0.0.1:9 is refused or accepted rather than unreachable): a PASS means
the candidate could reach local services and beyond."""
import socket

import torch
import torch.nn as nn

from _axpy import axpy


def _network():
    try:
        socket.create_connection(("127.0.0.1", 9), timeout=2).close()
        return True
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


class ModelNew(nn.Module):
    def forward(self, x, y):
        if not hasattr(self, "network"):
            self.network = _network()
        return axpy(x, y) if self.network else torch.zeros_like(x)
