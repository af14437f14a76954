"""Starting the candidate's processes: code nobody has read, with as little reach as the machine
allows.

Always: a fresh working directory (its HOME, TMPDIR and Triton/torch caches too), an environment
of allowed variables only (`ALLOWED_ENV`, ``--pass-env`` for more), a session of its own that
is killed whole at the end, and resource limits set before its first instruction (`limits`:
CPU time, file size, processes, core dumps; address space on a machine without a GPU, where
CUDA's large mappings do not count against it). Where fuselint may create cgroups
(`cgroups.py`), also a cap on processes that holds for root and on memory used, GPU or not.

Then the best tool present, found once per run by trying it:
- ``bwrap`` (bubblewrap): new user, PID, network, IPC and UTS namespaces; the whole file system
  read-only except the working and output folders; no network at all; every process killed with
  the sandbox; /dev limited to the basic nodes (all of /dev when a GPU is used).
- ``unshare`` (util-linux): the same namespaces (no network, its own PID 1 whose end kills
  every process left), the file system as it is.
- neither: the limits and the session only; fuselint marks itself a child subreaper, so that a
  process that leaves the session is still its descendant, and kills those left behind.

On a GPU machine a tool is used only if CUDA initialises inside it (tried once); the report
says which was used and why (``sandbox`` in the JSON).
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from .cgroups import Cgroups

ALLOWED_ENV = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "CUDA_HOME",
               "CUDA_PATH", "LD_LIBRARY_PATH", "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES",
               "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "TORCH_CUDA_ARCH_LIST", "OMP_NUM_THREADS",
               "MKL_NUM_THREADS", "VIRTUAL_ENV", "PYTHONPATH", "TRITON_PTXAS_PATH", "TRITON_CUOBJDUMP_PATH",
               "TRITON_NVDISASM_PATH", "TRITON_LIBDEVICE_PATH", "TRITON_LIBCUDA_PATH", "TRITON_DEFAULT_FP_FUSION")
ALLOWED_PREFIXES = ("LC_",)
PR_SET_CHILD_SUBREAPER = 36

BWRAP_FLAGS = ["--die-with-parent", "--new-session", "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc"]
UNSHARE_FLAGS = ["--user", "--map-root-user", "--net", "--pid", "--fork", "--mount-proc", "--kill-child", "--ipc",
                 "--uts"]
# The first process of unshare's PID namespace: a shell that runs the candidate's and exits with
# its status (128 + N for a death by signal N). As PID 1 the candidate's process would be immune
# to its own signals, and util-linux 2.38's unshare reports a child's death by a signal as exit 1
# ("sigprocmask unblock failed").
SHELL_AS_PID_1 = ["/bin/sh", "-c", '"$@"; exit $?', "sh"]


@dataclasses.dataclass
class Limits:
    cpu_seconds: int
    file_bytes: int
    processes: int  # RLIMIT_NPROC: this user's processes and threads, all of them
    tasks: int  # the cgroup's cap: the candidate's own processes and threads
    memory_bytes: int  # cgroup memory; also the address space on a machine without a GPU
    address_space: bool

    def arguments(self) -> list[str]:
        values = [f"cpu={self.cpu_seconds}", f"fsize={self.file_bytes}", f"nproc={self.processes}", "core=0"]
        return values + ([f"as={self.memory_bytes}"] if self.address_space else [])


def _tool_prefix(tool: str, writable: list[Path], gpu: bool) -> list[str]:
    if tool == "bwrap":
        binds = [a for path in writable for a in ("--bind", str(path), str(path))]
        devices = ["--dev-bind", "/dev", "/dev"] if gpu else ["--dev", "/dev"]
        return ["bwrap", *BWRAP_FLAGS, *devices, *binds, "--"]
    if tool == "unshare":
        return ["unshare", *UNSHARE_FLAGS, "--", *SHELL_AS_PID_1]
    return []


_PROBE_CPU = "pass"
_PROBE_GPU = "import ctypes, sys; sys.exit(ctypes.CDLL('libcuda.so.1').cuInit(0))"


@functools.lru_cache(maxsize=None)
def choose_tool(gpu: bool, wanted: str = "auto") -> tuple[str, str]:
    """(tool, why): the first of bwrap, unshare that runs Python here (and, on a GPU machine,
    lets CUDA initialise), else "none"."""
    candidates = ("bwrap", "unshare") if wanted == "auto" else (wanted,) if wanted != "none" else ()
    tried = []
    for tool in candidates:
        if shutil.which(tool) is None:
            tried.append(f"{tool}: not installed")
            continue
        probe = [*_tool_prefix(tool, [], gpu), sys.executable, "-c", _PROBE_GPU if gpu else _PROBE_CPU]
        try:
            done = subprocess.run(probe, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as error:
            tried.append(f"{tool}: {type(error).__name__}")
            continue
        if done.returncode == 0:
            return tool, "; ".join(tried + [f"{tool}: works"])
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        tried.append(f"{tool}: {'CUDA does not start inside it' if gpu and not done.stderr.strip() else last[:120]}")
    return "none", "; ".join(tried) or "--sandbox none"


def environment(workdir: Path, extra: dict, passed: tuple[str, ...]) -> dict:
    """The candidate's environment: allowed variables of ours, and its own folders."""
    env = {k: v for k, v in os.environ.items()
           if k in ALLOWED_ENV or k in passed or k.startswith(ALLOWED_PREFIXES)}
    package_root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for name, folder in (("HOME", "home"), ("TMPDIR", "tmp"), ("TRITON_CACHE_DIR", "triton-cache"),
                         ("TRITON_HOME", "home"), ("TORCHINDUCTOR_CACHE_DIR", "inductor-cache"),
                         ("XDG_CACHE_HOME", "cache")):
        (workdir / folder).mkdir(exist_ok=True)
        env[name] = str(workdir / folder)
    env.setdefault("TRITON_DEFAULT_FP_FUSION", "1")  # Triton 3.9 warns on every compile unless set; 1 is its default
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", **extra)
    return env


class Sandbox:
    """One confined process at a time: `start`, then `stop` (which also kills what it left)."""

    def __init__(self, tool: str, limits: Limits, gpu: bool, passed_env: tuple[str, ...] = ()):
        self.tool, self.limits, self.gpu, self.passed_env = tool, limits, gpu, passed_env
        self.cgroups: dict[int, Cgroups] = {}
        self.applied: dict[str, int] = {}  # the cgroup limits the last start could set

    def start(self, argv: list[str], workdir: Path, writable: list[Path], extra_env: dict, pass_fds: tuple,
              log) -> subprocess.Popen:
        if self.tool == "none":
            become_subreaper()
        groups = Cgroups(self.limits.tasks, self.limits.memory_bytes)
        self.applied = groups.applied
        command = [sys.executable, "-m", "fuselint.runtime.parent.limits", *self.limits.arguments(),
                   *groups.join_arguments(), "--",
                   *_tool_prefix(self.tool, [workdir, *writable], self.gpu), *argv]
        proc = subprocess.Popen(command, cwd=workdir, env=environment(workdir, extra_env, self.passed_env),
                                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, pass_fds=pass_fds,
                                start_new_session=True)
        register(proc.pid)
        self.cgroups[proc.pid] = groups
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        kill_group(proc)
        proc.wait()
        self.cgroups.pop(proc.pid).kill_all()
        register(proc.pid, live=False)
        if self.tool == "none":
            sweep_orphans()


def register(pid: int, live: bool = True) -> None:
    """Say that a process of fuselint's own (the reference's) is no orphan to sweep."""
    with _children_lock:
        (_children.add if live else _children.discard)(pid)


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


_children: set[int] = set()
_children_lock = threading.Lock()
_subreaper = False


def become_subreaper() -> None:
    """Orphans of our children are re-parented to this process instead of init: a candidate's
    process that double-forks out of its session is still ours to find and kill."""
    global _subreaper
    if not _subreaper:
        try:
            _subreaper = ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        except (OSError, AttributeError):
            _subreaper = False


def sweep_orphans() -> int:
    """Kill the children of this process that it did not start (orphans re-parented to it), until
    none is left; returns how many."""
    if not _subreaper:
        return 0
    me, killed = os.getpid(), 0
    for _ in range(20):
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            with _children_lock:
                ours = int(entry) in _children
            if ppid == me and not ours:
                found.append(int(entry))
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                killed += 1
            except (ProcessLookupError, ChildProcessError):
                pass
    return killed
