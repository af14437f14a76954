"""`fuselint run --batch DIR`: many candidates, each with the trust boundary of one run.

Each candidate goes through its stages (`stage.py`: compile on a CPU worker, then the run
stage on a GPU worker, or under the interpreter where no GPU is used; a candidate that does not
compile stops there) on the workers of a pool: `host_pool` (this host's GPUs and CPUs, the
default) or `ray_pool` (``--ray``). Every finished candidate is one record (its full report and
a ``batch`` section) appended to the results file and printed as one JSON line on stdout;
progress goes to stderr. Candidates whose record is already in the results file (same content,
same settings) are not run again. No torch here: the Ray driver needs none.
"""

from __future__ import annotations

import collections
import json
import os
import secrets
import sys

from . import results as store
from .host_pool import Outcome, Task
from .progress import Progress
from .runner import SCHEMA
from .stage import after_failed_compile, lost_report

DEFAULT_RESULTS = "fuselint-results.jsonl"
EXIT_INTERRUPTED = 130


def candidates_in(directory: str) -> list[str]:
    return sorted(os.path.join(directory, n) for n in os.listdir(directory)
                  if n.endswith(".py") and not n.startswith("_"))


def helpers_in(directory: str) -> dict[str, bytes]:
    """The folder's ``_*.py`` files: helpers candidates may import (not candidates themselves)."""
    return {n: open(os.path.join(directory, n), "rb").read() for n in sorted(os.listdir(directory))
            if n.startswith("_") and n.endswith(".py")}


class Batch:
    """One run of a batch: the candidates, the pool, the results file, the progress."""

    def __init__(self, directory: str, reference: str, options, pool, results_path: str, resume: bool, out):
        self.reference, self.options, self.pool, self.out = reference, options, pool, out
        self.plan = [stage for stage in ("compile", "run") if stage in options.children]
        paths = [p for p in candidates_in(directory) if os.path.abspath(p) != os.path.abspath(reference)]
        with open(reference, "rb") as f:
            settings = store.settings_of(options, f.read(), helpers_in(directory), pool.device)
        self.settings = store.settings_hash(settings)
        self.hashes = {p: store.sha256_of(open(p, "rb").read()) for p in paths}
        self.paths = paths
        self.store = store.ResultStore(results_path)
        recorded = self.store.records() if resume else {}
        # a record with no verdict (the reference failed) is not done: it runs again
        self.done = {p: recorded[self.key(p)] for p in paths
                     if recorded.get(self.key(p), {}).get("verdict") not in (None, "error")}
        self.progress = Progress(len(paths), pool.describe())
        self.verdicts: list[str] = []

    def key(self, path: str) -> str:
        return f"{self.hashes[path]}-{self.settings}"

    def run(self) -> int:
        for path in self.paths:
            if path in self.done:
                record = {**self.done[path], "kernel": path}  # a file alike another is the same candidate
                self._print(record)
                self.progress.skipped(record)
                self.verdicts.append(record["verdict"])
        todo = collections.deque(p for p in self.paths if p not in self.done)
        in_flight = 0
        try:
            while todo or in_flight:
                while todo and in_flight < self.pool.window:
                    seed = self.options.seed if self.options.seed is not None else secrets.randbits(31)
                    self.pool.submit(Task(todo.popleft(), seed, self.plan[0]))
                    in_flight += 1
                outcome = self.pool.next(timeout=0.5)
                self.progress.update(self.pool.status(), len(todo))
                if outcome is None:
                    continue
                record = self._record_of(outcome)
                if record is None:  # the compile stage passed: on to the run stage
                    continue
                in_flight -= 1
                self.store.append(record)
                self.progress.clear()
                self._print(record)
                self.progress.finished(record)
                self.verdicts.append(record["verdict"])
        except KeyboardInterrupt:
            self.pool.close()
            self.progress.close(f"interrupted: {len(self.verdicts)} of {len(self.paths)} recorded in {self.store.path}, "
                                f"{in_flight} in flight lost; the same command again resumes")
            return EXIT_INTERRUPTED
        finally:
            self.store.close()
        self.pool.close()
        self.progress.close(f"results: {self.store.path}")
        seen = set(self.verdicts)
        return next((code for verdict, code in (("fail", 1), ("error", 2), ("inconclusive", 3)) if verdict in seen), 0)

    def _record_of(self, outcome: Outcome) -> dict | None:
        task = outcome.task
        if outcome.error is not None:
            report = {"schema": SCHEMA, "kernel": task.path, "reference": self.reference,
                      "seed": task.seed, "verdict": "error", "error": outcome.error}
        elif outcome.lost is None and task.stage == "compile" and "run" in self.plan \
                and outcome.report["verdict"] != "fail":
            self.pool.submit(Task(task.path, task.seed, "run", prior=outcome.report, lost=task.lost))
            return None
        else:
            report = outcome.report or lost_report(task.path, self.reference, task.seed, task.stage, task.lost,
                                                   task.prior)
            if task.stage == "compile" and "run" in self.plan and outcome.report is not None:
                after_failed_compile(report)
        report["kernel"], report["reference"] = task.path, self.reference
        section = report.setdefault("batch", {})
        section.update(key=self.key(task.path), sha256=self.hashes[task.path], settings=self.settings,
                       runner=self.pool.describe())
        if task.lost:
            section["lost"] = list(task.lost)
        speed = report.get("stages", {}).get("speed", {})
        note = self.pool.timing_note()
        section["timing"] = note or "no speed measured here"
        if note and speed.get("ms"):
            speed.setdefault("notes", []).append(note)
        return report

    def _print(self, record: dict) -> None:
        print(json.dumps(record, default=str), file=self.out, flush=True)


def run_batch(directory: str, reference: str, options, jobs: int | None = None, gpus: str = "all",
              ray: str | None = None, results: str | None = None, resume: bool = True, out=None) -> int:
    """Exit status: 1 when a candidate fails, else 2 when one could not be judged, else 3 when
    one is inconclusive, else 0; 130 when interrupted (what finished is in the results file).
    Raises ValueError on a usage error (--gpus naming GPUs this host lacks, ray not installed)."""
    out = out or sys.stdout
    if ray:
        try:
            from .ray_pool import RayPool
        except ImportError as error:
            raise ValueError(f"--ray needs ray (pip install 'fuselint[ray]'): {error}") from None
        pool = RayPool(ray, directory, reference, helpers_in(directory), options)
    else:
        from .host_pool import HostPool, chosen_gpus

        chosen = chosen_gpus(gpus, options.device)
        pool = HostPool(reference, options, chosen, jobs or max(1, len(chosen)))
    try:
        batch = Batch(directory, reference, options, pool, results or DEFAULT_RESULTS, resume, out)
    except BaseException:
        pool.close()
        raise
    return batch.run()
