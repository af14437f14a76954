"""One candidate, three parties: fuselint (this process), the reference's process, the
candidate's process.

1. The reference's process (`reference/process.py`) draws every input from a seed fuselint
   chose (fresh from the OS unless ``--seed``), computes the expected outputs and keeps them.
2. The candidate's processes run in the sandbox (`sandbox.py`): stage 1 (compile) in one, every
   forward in the other; they write what ModelNew returned, as data, and nothing else counts.
3. When the candidate's process is gone, the reference's writes the expected outputs; this
   process reads both as bytes and alone compares and decides (`judge.py`, `verdict.py`).

A stage without a validated result fails: a process that died, hung, exited early or wrote
nothing readable fails the stage it was in.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..common.channel import MessageReader
from . import sandbox as sandboxing

SCHEMA = "fuselint.runtime/2"


@dataclasses.dataclass
class Options:
    target: str = "sm_89"
    trials: int = 5
    seed: int | None = None  # None: a fresh one from the OS, printed in the report
    timeout: float = 600.0
    device: str = "auto"  # auto | gpu | interpreter
    dims: dict = dataclasses.field(default_factory=dict)
    max_elements: int = 1 << 17  # interpreter input budget
    compile_max_elements: int = 1 << 28  # CPU budget for the compile stage's forward
    speed: bool = True
    min_speedup: float | None = None
    children: tuple = ("compile", "run")  # which of the candidate's two processes to start
    sanitize: bool = False  # guarded launches (candidate/sanitize.py)
    dtype: str | None = None  # run both sides with floating inputs and weights in this dtype
    allow_ops: tuple = ()  # torch operators allowed in forward beyond recorder.ALLOWED
    sandbox: str = "auto"  # auto | bwrap | unshare | none
    memory_limit_gib: float | None = None  # default: half the machine's memory
    file_size_limit_mib: float | None = None  # default: 4 GiB, or more for large inputs
    pass_env: tuple = ()  # more environment variables the candidate may see
    visible_devices: str | None = None  # CUDA_VISIBLE_DEVICES of the reference's and candidate's processes


class RunError(Exception):
    """Not a verdict on the candidate: the reference or the environment failed. ``lost``: the
    reference's process was killed by a signal (out of memory, a kill), which another attempt
    may not meet."""

    def __init__(self, message: str, lost: bool = False):
        super().__init__(message)
        self.lost = lost


def _limits(options: Options, gpu: bool, input_bytes: int) -> sandboxing.Limits:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    memory_limit = int(options.memory_limit_gib * (1 << 30)) if options.memory_limit_gib else memory // 2
    file_limit = int(options.file_size_limit_mib * (1 << 20)) if options.file_size_limit_mib else \
        max(4 << 30, 8 * input_bytes)
    tasks = 64 + 4 * (os.cpu_count() or 1)
    return sandboxing.Limits(cpu_seconds=int(options.timeout * max(1, os.cpu_count() or 1)) + 60,
                             file_bytes=file_limit, processes=tasks + _tasks_of_user(), tasks=tasks,
                             memory_bytes=memory_limit, address_space=not gpu)


def _tasks_of_user() -> int:
    """Threads and processes this user runs now (RLIMIT_NPROC counts them all)."""
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                continue
    return count


class Child:
    """A started process with its message pipe, log file and clock."""

    def __init__(self, name: str, proc: subprocess.Popen, reader: MessageReader, log_path: Path, stop):
        self.name, self.proc, self.reader, self.log_path, self._stop = name, proc, reader, log_path, stop
        self.started = time.monotonic()
        self.death: str | None = None

    def send(self, line: str) -> bool:
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def wait(self, kind: str, deadline: float) -> dict | None:
        """The first message of that kind; None once the deadline passes, or the process has
        ended without sending it (a process it left behind may still hold the pipe open)."""
        while True:
            message = self.reader.wait_for(kind, min(0.5, max(0.0, deadline - time.monotonic())))
            if message is not None or self.reader.closed or time.monotonic() >= deadline:
                return message
            if self.proc.poll() is not None:
                return self.reader.wait_for(kind, 1.0)

    def finish(self, deadline: float) -> None:
        """Wait for the process to end by itself until the deadline, then end it and all it left."""
        try:
            self.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.death = f"timed out after {deadline - self.started:.0f} s (hang?)"
        self._stop(self.proc)
        self.reader.finish()
        code = self.proc.returncode
        if code is not None and code > 128 and self.name.startswith("candidate"):
            code = 128 - code  # bwrap and unshare report a signal's death as 128 + its number
        if self.death is None and code is not None and code < 0:
            name = _signal_name(code)
            self.death = f"crashed with {name}" + (" (killed: out of memory, or a limit?)" if name == "SIGKILL" else "")
        elif self.death is None and code not in (0, None):
            self.death = f"exited with code {code}"

    def phase(self) -> str:
        last = self.reader.last("phase")
        return last.get("phase", "starting") if last else "starting"

    def log_tail(self, limit: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def summary(self) -> dict:
        ended = self.death or ("error" if self.reader.last("error") else "ok")
        out = {"elapsed_s": round(time.monotonic() - self.started, 2), "ended": ended}
        if self.death or self.reader.last("error"):
            out["log_tail"] = self.log_tail()
        return out


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _start(name: str, argv_tail: list[str], exchange: Path, launcher) -> Child:
    """Start a process with a message pipe whose write end it gets as its last argument."""
    read_fd, write_fd = os.pipe()
    log_path = exchange / f"{name}.log"
    with open(log_path, "wb") as log:
        proc, stop = launcher([*argv_tail, str(write_fd)], log, (write_fd,))
    os.close(write_fd)
    return Child(name, proc, MessageReader(read_fd), log_path, stop)


def _reference_launcher(module: str, devices: dict):
    def launch(argv, log, fds):
        proc = subprocess.Popen([sys.executable, "-m", module, *argv], stdin=subprocess.PIPE, stdout=log,
                                stderr=subprocess.STDOUT, pass_fds=fds, start_new_session=True,
                                env={**os.environ, "PYTHONPATH": _pythonpath(), **devices})
        sandboxing.register(proc.pid)

        def stop(p):
            sandboxing.kill_group(p)
            p.wait()
            sandboxing.register(p.pid, live=False)

        return proc, stop

    return launch


def _pythonpath() -> str:
    root = str(Path(__file__).resolve().parents[3])
    return root + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")


def _candidate_launcher(box: sandboxing.Sandbox, workdir: Path, writable: list[Path], interpreted: bool,
                        devices: dict):
    def launch(argv, log, fds):
        extra = {**devices, **({"TRITON_INTERPRET": "1"} if interpreted else {})}
        proc = box.start([sys.executable, "-m", "fuselint.runtime.candidate.process", *argv], workdir, writable, extra,
                         fds, log)
        return proc, box.stop

    return launch


def run_candidate(kernel: str, reference: str, options: Options) -> dict:
    """The full report of one candidate (schema in docs/runtime.md). Raises RunError when no
    verdict on the candidate is possible (the reference or the environment failed)."""
    try:
        import torch  # noqa: F401  (the judge compares with it)
    except ImportError as error:
        raise RunError(f"the runtime needs torch and triton (pip install 'fuselint[runtime]'): {error}") from None
    from .verdict import decide

    seed = options.seed if options.seed is not None else secrets.randbits(31)
    report: dict = {"schema": SCHEMA, "kernel": kernel, "reference": reference, "seed": seed, "stages": {},
                    "children": {}}
    exchange = Path(tempfile.mkdtemp(prefix="fuselint-"))
    try:
        spec = {**dataclasses.asdict(options), "seed": seed, "kernel": os.path.abspath(kernel),
                "reference": os.path.abspath(reference), "compile": "compile" in options.children,
                "run": "run" in options.children}
        (exchange / "spec.json").write_text(json.dumps(spec))
        deadline = time.monotonic() + options.timeout
        ref = _start("reference", [str(exchange / "spec.json"), str(exchange)], exchange,
                     _reference_launcher("fuselint.runtime.reference.process", _devices(options.visible_devices)))
        try:
            ready = _await_reference(ref, deadline)
            report["environment"] = ready["environment"]
            gpu = ready["mode"] == "gpu"
            tool, why = (options.sandbox, "asked for") if options.sandbox != "auto" else sandboxing.choose_tool(gpu)
            if options.sandbox not in ("auto", "none"):
                tool, why = sandboxing.choose_tool(gpu, options.sandbox)
                if tool != options.sandbox:
                    raise RunError(f"--sandbox {options.sandbox} does not work here: {why}")
            limits = _limits(options, gpu, _input_bytes(exchange))
            box = sandboxing.Sandbox(tool, limits, gpu, tuple(options.pass_env))
            report["sandbox"] = {"tool": tool, "why": why, "limits": dataclasses.asdict(limits),
                                 "network": "none" if tool != "none" else "the host's",
                                 "file_system": "read-only but for its folders" if tool == "bwrap" else "the host's"}
            children = {}
            if "compile" in options.children:
                children["compile"] = _run_candidate_process("compile", spec, exchange, box, interpreted=False,
                                                             deadline=time.monotonic() + options.timeout)
            if "run" in options.children and not ready.get("inconclusive"):
                children["run"] = _run_candidate_process("run", {**spec, "timing_sets": ready.get("timing", {}).get("sets")},
                                                         exchange, box, interpreted=not gpu,
                                                         deadline=time.monotonic() + options.timeout)
            expected_dir = Path(tempfile.mkdtemp(prefix="expected-", dir=exchange))  # after the candidate's end
            revealed = ref.send(f"reveal {expected_dir}") and ref.wait("revealed", time.monotonic() + options.timeout)
            if not revealed:
                code = ref.proc.poll()
                why = f"crashed with {_signal_name(code)}" if code is not None and code < 0 else ref.phase()
                raise RunError(f"the reference's process did not write its results ({ref.death or why})",
                               lost=_killed(ref))
        finally:
            ref.finish(time.monotonic() + 10)
        report["children"] = {name: child.summary() for name, child in children.items()}
        hello = next((c.reader.last("hello") for c in children.values() if c.reader.last("hello")), None)
        report["environment"]["triton"] = hello.get("triton") if hello else None
        report["sandbox"]["cgroups"] = box.applied or "none (this machine lets fuselint make none)"
        decide(report, options, ready, children, exchange, expected_dir)
    finally:
        shutil.rmtree(exchange, ignore_errors=True)
    return report


def _await_reference(ref: Child, deadline: float) -> dict:
    ready = ref.wait("ready", deadline)
    if ready is not None:
        return ready
    error = ref.reader.last("error")
    ref.finish(time.monotonic() + 5)
    if error is not None:
        where = f" at {error['where']}" if error.get("where") else ""
        raise RunError(f"the reference failed: {error['message']}{where}")
    raise RunError(f"the reference's process {ref.death or 'ended'} before its inputs were ready:\n{ref.log_tail(1500)}",
                   lost=_killed(ref))


def _killed(ref: Child) -> bool:
    """The reference's process ended by a signal fuselint did not send (it sends one only after
    the deadline, which the reference's death then reads as a time-out)."""
    code = ref.proc.poll()
    return code is not None and code < 0 and not (ref.death or "").startswith("timed out")


def _devices(visible: str | None) -> dict:
    """The processes' environment for ``Options.visible_devices`` (None: fuselint's own)."""
    return {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}


def _input_bytes(exchange: Path) -> int:
    return sum(p.stat().st_size for p in (exchange / "inputs").glob("*.bin"))


def _run_candidate_process(mode: str, spec: dict, exchange: Path, box, interpreted: bool, deadline: float) -> Child:
    workdir = Path(tempfile.mkdtemp(prefix=f"{mode}-", dir=exchange))
    out = exchange / "out"
    out.mkdir(exist_ok=True)
    (workdir / "spec.json").write_text(json.dumps(spec))
    child = _start(f"candidate-{mode}", [mode, str(workdir / "spec.json"), str(exchange)], exchange,
                   _candidate_launcher(box, workdir, [out], interpreted, _devices(spec["visible_devices"])))
    if mode == "run" and spec.get("timing_sets"):
        if child.wait("timing-ready", deadline) and child.send("go"):
            child.wait("timing-end", deadline)
    child.wait("done", deadline)
    child.finish(min(deadline, time.monotonic() + 30))
    return child
