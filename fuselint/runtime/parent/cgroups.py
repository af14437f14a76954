"""Control groups for the candidate's processes, where this machine lets fuselint make them.

A cgroup limits what rlimits cannot: the number of processes also for root (the kernel exempts
root from RLIMIT_NPROC), and the memory actually used (RLIMIT_AS would count CUDA's address
reservations). It also lists every process of the candidate, so that each is killed at the end.

cgroup v1 (a hierarchy per controller under /sys/fs/cgroup/CONTROLLER) is used where fuselint
can create a folder beside its own cgroup; cgroup v2 where the controllers are already enabled
for fuselint's cgroup's children (delegated). Elsewhere: none, and the report says so.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
_names = itertools.count()


def _own_paths() -> dict[str, str]:
    """{controller: path of this process's cgroup}, "" for the v2 hierarchy."""
    paths = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                paths[controller] = path
    except (OSError, ValueError):
        pass
    return paths


def _parents(controller: str, own: dict[str, str]) -> Path | None:
    """The folder to create a cgroup in for this controller, if there is one fuselint may write."""
    if controller in own and (ROOT / controller).is_dir():  # v1
        folder = ROOT / controller / own[controller].lstrip("/")
        return folder if os.access(folder, os.W_OK) else None
    unified = ROOT if (ROOT / "cgroup.controllers").exists() else ROOT / "unified"
    if "" in own and (unified / "cgroup.controllers").exists():  # v2: only if already delegated
        folder = unified / own[""].lstrip("/")
        try:
            enabled = (folder / "cgroup.subtree_control").read_text().split()
        except OSError:
            return None
        return folder if controller in enabled and os.access(folder, os.W_OK) else None
    return None


class Cgroups:
    """One cgroup per controller for one confined process and all it starts."""

    def __init__(self, processes: int, memory_bytes: int | None):
        self.folders: list[Path] = []
        self.applied: dict[str, int] = {}
        own = _own_paths()
        name = f"fuselint-{os.getpid()}-{next(_names)}"
        wanted = {"pids": ("pids.max", processes)}
        if memory_bytes:
            wanted["memory"] = ("memory.limit_in_bytes", memory_bytes)
        for controller, (file, value) in wanted.items():
            parent = _parents(controller, own)
            if parent is None:
                continue
            if not (parent / file).exists() and controller == "memory":
                file = "memory.max"  # v2
            folder = parent / name
            try:
                folder.mkdir()
                (folder / file).write_text(str(value))
            except OSError:
                self._remove(folder)
                continue
            self.folders.append(folder)
            self.applied[controller] = value

    def join_arguments(self) -> list[str]:
        """For `limits`: the cgroup.procs files the confined process writes its pid into."""
        return [f"cgroup={folder / 'cgroup.procs'}" for folder in self.folders]

    def kill_all(self) -> None:
        """SIGKILL every process in the cgroups, until they are empty; then remove them."""
        for folder in self.folders:
            for _ in range(50):
                try:
                    pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
                except (OSError, ValueError):
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.02)
            self._remove(folder)

    @staticmethod
    def _remove(folder: Path) -> None:
        for _ in range(50):
            try:
                folder.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:  # a process still leaving
                time.sleep(0.02)
