"""``python -m fuselint.runtime.parent.limits NAME=VALUE... -- COMMAND...``: set resource limits,
arrange to die with fuselint, and become COMMAND (exec). The first code of a confined process;
limits set here hold for everything it starts.

Names: cpu (seconds), fsize (bytes), nproc (processes of this user; not enforced for root),
as (bytes of address space), core (bytes); cgroup=PATH writes this process's pid into PATH (a
cgroup.procs file, `cgroups.py`), which puts it and everything it starts in that cgroup.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys

PR_SET_PDEATHSIG = 1
LIMITS = {"cpu": resource.RLIMIT_CPU, "fsize": resource.RLIMIT_FSIZE, "nproc": resource.RLIMIT_NPROC,
          "as": resource.RLIMIT_AS, "core": resource.RLIMIT_CORE}


def apply(settings: list[str]) -> None:
    for setting in settings:
        name, _, value = setting.partition("=")
        if name == "cgroup":
            with open(value, "w") as f:
                f.write(str(os.getpid()))
            continue
        which = LIMITS[name]
        _, hard = resource.getrlimit(which)
        limit = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        resource.setrlimit(which, (limit, limit))


def main(argv: list[str]) -> None:
    split = argv.index("--")
    apply(argv[:split])
    try:  # killed when fuselint dies, whatever the reason
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    command = argv[split + 1:]
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
