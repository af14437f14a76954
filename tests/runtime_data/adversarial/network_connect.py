"""Isolation (issue #15: network): honest output only when it can reach a TCP server on the
host's loopback (its port in network_connect.port next to this file, written by whoever runs
the probe): a PASS means the candidate could reach the host's services, and beyond."""
import socket
from pathlib import Path

import torch
import torch.nn as nn

from _axpy import axpy

PORT_FILE = Path(__file__).with_suffix(".port")


def _host_reachable():
    try:
        socket.create_connection(("127.0.0.1", int(PORT_FILE.read_text())), timeout=2).close()
        return True
    except (OSError, ValueError):
        return False


class ModelNew(nn.Module):
    def forward(self, x, y):
        if not hasattr(self, "network"):
            self.network = _host_reachable()
        return axpy(x, y) if self.network else torch.zeros_like(x)
