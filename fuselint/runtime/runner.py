"""Running one candidate: two child processes, each under a timeout (no torch here).

The compile stage runs in one child; correctness, speed and the launch count in
a second, with TRITON_INTERPRET=1 when there is no GPU. A child that hangs is
killed with its whole process group; one that crashes (segfault, illegal
memory access, out of memory) becomes a failed stage with the reason, and the
stages it had already finished keep their results.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

SCHEMA = "fuselint.runtime/1"
STAGES = ("compile", "correctness", "speed", "launches")
STAGE_TITLES = {"compile": "1 compile", "correctness": "2 correctness", "speed": "3 speed", "launches": "4 triton ran"}
RUN_CHILD_STAGES = ("correctness", "launches", "speed")

_live: set[subprocess.Popen] = set()
_live_lock = threading.Lock()


@dataclasses.dataclass
class Options:
    target: str = "sm_89"
    trials: int = 5
    seed: int = 42
    timeout: float = 600.0
    device: str = "auto"  # auto | gpu | interpreter
    dims: dict = dataclasses.field(default_factory=dict)
    max_elements: int = 1 << 17  # interpreter input budget
    compile_max_elements: int = 1 << 28  # CPU budget for the compile stage's forward
    speed: bool = True
    warmup_ms: int = 25
    rep_ms: int = 100
    min_speedup: float | None = None
    children: tuple = ("compile", "run")  # which of the two child processes to start
    sanitize: bool = False  # guarded launches (fuselint/runtime/sanitize.py)


def kill_all_children() -> None:
    with _live_lock:
        for proc in list(_live):
            _kill_group(proc)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def run_child(stage: str, spec: dict, timeout: float, interpreted: bool) -> tuple[dict, str | None]:
    """Run one child; returns (its last partial report, why it died or None)."""
    with tempfile.TemporaryDirectory(prefix="fuselint-") as tmp:
        spec_path, out_path, log_path = (os.path.join(tmp, n) for n in ("spec.json", "out.json", "log.txt"))
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        env = dict(os.environ)
        env.pop("TRITON_INTERPRET", None)
        if interpreted:
            env["TRITON_INTERPRET"] = "1"
        # Triton 3.9 warns on every compile unless this is set; 1 keeps its default (FP fusion on).
        env.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
        env.setdefault("PYTHONUNBUFFERED", "1")
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        with open(log_path, "w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "fuselint.runtime.child", stage, spec_path, out_path],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                    start_new_session=True)
            with _live_lock:
                _live.add(proc)
            death = None
            started = time.monotonic()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                death = f"timed out after {timeout:g} s (hang?)"
            finally:
                _kill_group(proc)  # also reaps anything the candidate started
                proc.wait()
                with _live_lock:
                    _live.discard(proc)
            elapsed = time.monotonic() - started
        try:
            with open(out_path) as f:
                out = json.load(f)
        except (OSError, ValueError):
            out = {}
        log_tail = _tail(log_path)
    if death is None and proc.returncode < 0:
        name = _signal_name(proc.returncode)
        death = f"crashed with {name}" + (" (killed: out of memory?)" if name == "SIGKILL" else "")
    elif death is None and proc.returncode != 0 and "error" not in out:
        death = f"exited with code {proc.returncode}: {_last_error_line(log_tail)}"
    if death:
        out["log_tail"] = log_tail
    out["elapsed_s"] = round(elapsed, 2)
    return out, death


def _tail(path: str, limit: int = 3000) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()[-limit:]
    except OSError:
        return ""


def _last_error_line(log: str) -> str:
    lines = [line for line in log.strip().splitlines() if line.strip()]
    hits = [line for line in lines if "error" in line.lower()]
    return (hits or lines or ["no output"])[-1].strip()[:300]


def _failed(reason: str) -> dict:
    return {"status": "fail", "reason": reason}


def _absorb(stages: dict, out: dict, death: str | None, names: tuple[str, ...]) -> None:
    """Fold one child's output into the stages it owns."""
    phase = out.get("phase", "starting")
    error = out.get("error")
    for name in names:
        stage = out.get(name)
        if stage is None:
            reason = (f"{death} before this stage started" if death else
                      f"{error['message']}" + (f" at {error['where']}" if error.get("where") else "") if error else "not run")
            stages[name] = _failed(reason) if (death or error) else {"status": "skip", "reason": reason}
            continue
        stages[name] = stage
        unfinished = phase != "done" and (phase.startswith(name) or name == "launches" and phase.startswith("correctness"))
        if unfinished and (death or error):
            why = death or (error["message"] + (f" at {error['where']}" if error.get("where") else ""))
            if name == "launches":
                if not stage.get("count"):  # no forward finished: nothing to count
                    stage.update(status="skip", reason=f"no forward of ModelNew finished ({why})")
                continue
            stage.update(status="fail", reason=f"{why} during {phase}")


def run_candidate(kernel: str, reference: str, options: Options) -> dict:
    spec = {"kernel": os.path.abspath(kernel), "reference": os.path.abspath(reference), **dataclasses.asdict(options)}
    report: dict = {"schema": SCHEMA, "kernel": kernel, "reference": reference, "stages": {}, "children": {}}
    stages = report["stages"]

    report["environment"] = {}
    if "compile" in options.children:
        out, death = run_child("compile", spec, options.timeout, interpreted=False)
        _absorb(stages, out, death, ("compile",))
        report["environment"] = out.get("environment", {})
        report["children"]["compile"] = _child_summary(out, death)
    else:
        stages["compile"] = {"status": "skip", "reason": "not asked for", "target": options.target}
    if "run" not in options.children:
        for name in RUN_CHILD_STAGES:
            stages[name] = {"status": "skip", "reason": "not asked for"}
        return _finish(report)

    has_gpu = report["environment"].get("cuda_available")
    if has_gpu is None:  # the compile child did not get far enough to say
        has_gpu = _probe_cuda()
    if options.device == "gpu" and not has_gpu:
        for name in RUN_CHILD_STAGES:
            stages[name] = _failed("--device gpu, but torch sees no CUDA device here")
        return _finish(report)
    interpreted = options.device == "interpreter" or (options.device == "auto" and not has_gpu)
    out, death = run_child("run", spec, options.timeout, interpreted=interpreted)
    _absorb(stages, out, death, RUN_CHILD_STAGES)
    report["environment"] = {**report["environment"], **out.get("environment", {})}
    report["children"]["run"] = _child_summary(out, death)
    if options.sanitize:
        report["sanitize"] = out.get("sanitize") or {"status": "skip", "violations": [], "launches": 0,
                                                     "reason": "the run child did not get to a guarded launch"}
    return _finish(report)


def _finish(report: dict) -> dict:
    stages = report["stages"]
    report["stages"] = {name: stages[name] for name in STAGES}
    report["verdict"] = "fail" if any(s["status"] == "fail" for s in stages.values()) else "pass"
    if report.get("sanitize", {}).get("violations"):
        report["verdict"] = "fail"
    return report


def _child_summary(out: dict, death: str | None) -> dict:
    summary = {"elapsed_s": out.get("elapsed_s"), "ended": death or ("error" if "error" in out else "ok")}
    if "error" in out:
        summary["error"] = out["error"]
    if death and out.get("log_tail"):
        summary["log_tail"] = out["log_tail"]
    return summary


_cuda_probe: bool | None = None


def _probe_cuda() -> bool:
    """Used only when the compile child died before saying whether there is a GPU."""
    global _cuda_probe
    if _cuda_probe is None:
        try:
            done = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                                  capture_output=True, text=True, timeout=120)
            _cuda_probe = done.stdout.strip() == "True"
        except (OSError, subprocess.TimeoutExpired):
            _cuda_probe = False
    return _cuda_probe
