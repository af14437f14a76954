"""Every GPU of one host: worker threads of fuselint's process, each starting a candidate's
processes as `stage.run_stage` does.

- one worker per GPU takes run stages, one candidate at a time, its processes pinned to that GPU
  (CUDA_VISIBLE_DEVICES) and fuselint's comparisons on it too, so that a candidate's timing has
  the GPU to itself;
- ``jobs`` CPU workers take compile stages (their processes see no GPU), so that a candidate that
  does not compile never takes a GPU; where no GPU is used they take the interpreter's run
  stages too, run stages first (a candidate in flight finishes before another starts).

A stage whose worker was lost (`stage.WorkerLost`) goes back to the queue once, for another
worker; lost again, it is reported as lost, and the batch records a FAIL with both causes.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import queue
import threading
import time

from .runner import RunError
from .stage import WorkerLost, run_stage


@dataclasses.dataclass
class Task:
    """One stage of one candidate, as a pool runs it."""

    path: str
    seed: int
    stage: str  # "compile" | "run"
    prior: dict | None = None  # the compile stage's report, for the run stage
    lost: list = dataclasses.field(default_factory=list)  # causes of the attempts whose worker was lost
    avoid: str | None = None  # the worker this stage's first attempt lost (its retry goes elsewhere)


@dataclasses.dataclass
class Outcome:
    task: Task
    report: dict | None = None  # a verdict (or a lost attempt's last report, with lost)
    lost: WorkerLost | None = None  # every attempt's worker was lost
    error: str | None = None  # no verdict possible (the reference failed), or fuselint broke


class GpuChoiceError(ValueError):
    pass


def chosen_gpus(spec: str, device: str) -> list[tuple[int, str]]:
    """(index as fuselint's process numbers it, its CUDA_VISIBLE_DEVICES entry) of each GPU that
    ``--gpus all|N|0,2,5`` names: an integer is a count, a list (``5,`` for one) indices."""
    import torch

    count = torch.cuda.device_count() if device != "interpreter" and torch.cuda.is_available() else 0
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    names = [v.strip() for v in visible.split(",") if v.strip()] if visible else [str(i) for i in range(count)]
    spec = spec.strip()
    try:
        indices = list(range(count)) if spec == "all" else \
            [int(part) for part in spec.split(",") if part.strip()] if "," in spec else list(range(int(spec)))
    except ValueError:
        raise GpuChoiceError(f"--gpus {spec!r}: give all, a count, or indices such as 0,2,5") from None
    wrong = [i for i in indices if not 0 <= i < count]
    if wrong or len(set(indices)) != len(indices):
        raise GpuChoiceError(f"--gpus {spec}: this machine has {count} GPU(s) fuselint may use"
                             + (f" (CUDA_VISIBLE_DEVICES={visible})" if visible else ""))
    return [(i, names[i]) for i in indices]


@dataclasses.dataclass
class Worker:
    name: str
    lanes: tuple  # the stages it takes, in order of preference
    gpu: tuple | None = None  # (index, CUDA_VISIBLE_DEVICES entry)
    current: Task | None = None
    since: float = 0.0
    busy_s: float = 0.0


class _Lanes:
    """The queued stages, one queue per stage; a worker takes the first its lanes hold, passing
    over a retry that must go to another worker (unless it is the only one of that lane)."""

    def __init__(self, workers: list[Worker]):
        self.queues = {"compile": collections.deque(), "run": collections.deque()}
        self.serving = {lane: sum(lane in w.lanes for w in workers) for lane in self.queues}
        self.ready = threading.Condition()
        self.closed = False

    def put(self, task: Task, front: bool = False) -> None:
        with self.ready:
            (self.queues[task.stage].appendleft if front else self.queues[task.stage].append)(task)
            self.ready.notify_all()

    def take(self, worker: Worker) -> Task | None:
        """The next stage for this worker; None once the pool is closed."""
        with self.ready:
            while not self.closed:
                for lane in worker.lanes:
                    for task in self.queues[lane]:
                        if task.avoid != worker.name or self.serving[lane] == 1:
                            self.queues[lane].remove(task)
                            return task
                self.ready.wait()
            return None

    def close(self) -> None:
        with self.ready:
            self.closed = True
            self.ready.notify_all()

    def waiting(self) -> int:
        with self.ready:
            return sum(len(q) for q in self.queues.values())


class HostPool:
    def __init__(self, reference: str, options, gpus: list[tuple[int, str]], jobs: int):
        self.reference, self.options = reference, options
        self.device = "gpu" if gpus else "interpreter"
        cpu_lanes = ("compile",) if gpus else ("run", "compile")
        self.workers = [Worker(f"cpu {i}", cpu_lanes) for i in range(jobs)] + \
                       [Worker(f"gpu {index}", ("run",), (index, name)) for index, name in gpus]
        # in flight: what the workers hold, and one candidate queued for each run worker
        self.window = jobs + (2 * len(gpus) if gpus else jobs)
        self.lanes = _Lanes(self.workers)
        self.outcomes: queue.Queue = queue.Queue()
        self.started = time.monotonic()
        for worker in self.workers:
            threading.Thread(target=self._work, args=(worker,), name=f"fuselint {worker.name}", daemon=True).start()

    def describe(self) -> str:
        gpus = [w.name for w in self.workers if w.gpu]
        cpus = sum(not w.gpu for w in self.workers)
        if gpus:
            return f"this host: {len(gpus)} GPU worker(s) ({', '.join(gpus)}) for the run stages, {cpus} CPU worker(s) to compile"
        return f"this host: {cpus} CPU worker(s), the run stages under Triton's interpreter (no GPU used)"

    def timing_note(self) -> str | None:
        if self.device != "gpu":
            return None
        return ("timed alone on its GPU: one candidate per GPU at a time (fuselint's --gpus); the host's CPUs "
                "are shared with the compile workers")

    def submit(self, task: Task) -> None:
        self.lanes.put(task)

    def next(self, timeout: float) -> Outcome | None:
        try:
            return self.outcomes.get(timeout=timeout)
        except queue.Empty:
            return None

    def _work(self, worker: Worker) -> None:
        if worker.gpu:
            import torch

            torch.cuda.set_device(worker.gpu[0])  # fuselint's comparisons for this worker's candidates go there
        while (task := self.lanes.take(worker)) is not None:
            worker.current, worker.since = task, time.monotonic()
            try:
                outcome = self._attempt(worker, task)
                if outcome is not None:  # None: queued again for another worker
                    self.outcomes.put(outcome)
            finally:
                worker.busy_s += time.monotonic() - worker.since
                worker.current = None

    def _attempt(self, worker: Worker, task: Task) -> Outcome | None:
        devices = worker.gpu[1] if worker.gpu and task.stage == "run" else ""
        options = dataclasses.replace(self.options, seed=task.seed, visible_devices=devices)
        try:
            return Outcome(task, report=run_stage(task.path, self.reference, options, task.stage, worker.name,
                                                  prior=task.prior))
        except WorkerLost as lost:
            task.lost.append(f"{lost.cause} (on {worker.name})")
            if task.avoid is None:
                task.avoid = worker.name
                self.lanes.put(task, front=True)
                return None
            return Outcome(task, report=lost.report, lost=lost)
        except RunError as error:
            return Outcome(task, error=str(error))
        except Exception as error:  # fuselint itself broke on this candidate: still one record, never dropped
            return Outcome(task, error=f"{type(error).__name__}: {error}")

    def status(self) -> dict:
        """What the progress display shows: running, queued, and each worker's line."""
        now = time.monotonic()
        elapsed = max(now - self.started, 1e-9)
        lines = []
        for w in self.workers:
            busy = w.busy_s + (now - w.since if w.current else 0.0)
            doing = f"{w.current.stage} {os.path.basename(w.current.path)} ({now - w.since:.0f} s)" if w.current else "idle"
            lines.append(f"{w.name}: {doing}; busy {100 * busy / elapsed:.0f} %")
        return {"running": sum(w.current is not None for w in self.workers), "queued": self.lanes.waiting(),
                "workers": lines}

    def close(self) -> None:
        """Idle workers end now; one still running a stage (after a Ctrl-C) ends with fuselint's
        process, a daemon thread, and so do the processes it started (a death signal; the
        reference's process ends at its stdin's end)."""
        self.lanes.close()
