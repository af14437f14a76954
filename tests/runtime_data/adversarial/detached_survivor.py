"""Isolation (issue #15: a detached process outlives the run): plants a sleeper in a session of
its own (double fork, setsid) and writes its pid next to this file; honest output only when a
sleeper planted by an earlier run is still alive. Run it twice: a PASS on the second run means
the first run's process survived. The sleeper carries the pid file's path on its command line."""
import os
import subprocess
import sys
from pathlib import Path

import torch
import torch.nn as nn

from _axpy import axpy

PID_FILE = Path(__file__).with_suffix(".pid")


def _start_time(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def _survivor_alive():
    try:
        pid = int(PID_FILE.read_text())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            ours = str(PID_FILE).encode() in f.read()
        return ours and _start_time(pid) < _start_time(os.getpid())
    except (OSError, ValueError):
        return False


def _plant():
    # the pid file's path on its command line names the sleeper, in any PID namespace
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", str(PID_FILE)],
                               start_new_session=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        PID_FILE.write_text(str(sleeper.pid))
    except OSError:
        pass


class ModelNew(nn.Module):
    def forward(self, x, y):
        if not hasattr(self, "alive"):
            self.alive = _survivor_alive()
            _plant()
        return axpy(x, y) if self.alive else torch.zeros_like(x)
