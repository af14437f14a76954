"""One stage of one candidate, on whichever worker runs it: a thread of fuselint's process
(`host_pool`) or a Ray task on any node (`ray_pool`). The same code, so the same trust boundary
and the same report wherever a candidate runs.

A batch cuts a candidate in two: ``compile`` (stage 1, for the target GPU, on a CPU worker whose
processes see no GPU) and ``run`` (stages 2-5; on a GPU worker pinned to its GPU, or under the
interpreter on a CPU worker where no GPU is used). Each is `run_candidate` with one of the
candidate's two processes, both drawn from the same seed; ``run`` merges the compile stage's
report into its own, so the record is the report a one-at-a-time ``fuselint run`` writes.
"""

from __future__ import annotations

import dataclasses
import time

from .runner import SCHEMA, Options, RunError, run_candidate

STAGE_NAMES = ("compile", "run")


class WorkerLost(Exception):
    """The attempt ended without a verdict for a reason outside the candidate's code: the
    reference's process was killed, or the candidate's process got a SIGKILL that fuselint did
    not send (the OOM killer, a memory cap, an operator). The batch retries it once, on another
    worker; ``report`` is the attempt's report where there is one."""

    def __init__(self, cause: str, report: dict | None = None):
        super().__init__(cause, report)  # both in args: the exception crosses Ray's pickling whole
        self.cause, self.report = cause, report

    def __str__(self) -> str:
        return self.cause


def run_stage(kernel: str, reference: str, options: Options, stage: str, where: str,
              prior: dict | None = None) -> dict:
    """The report of one stage (``prior``: the compile stage's report, merged in). Raises
    WorkerLost as above, RunError when no verdict is possible (the reference failed)."""
    started = time.monotonic()
    try:
        report = run_candidate(kernel, reference, dataclasses.replace(options, children=(stage,)))
    except RunError as error:
        if error.lost:
            raise WorkerLost(f"{stage}: {error}") from None
        raise
    sandbox = report.get("sandbox", {}).get("tool")
    report["batch"] = {"stages": {stage: {"where": where, "elapsed_s": round(time.monotonic() - started, 2),
                                          "sandbox": sandbox}}}
    ended = report["children"].get(stage, {}).get("ended", "")
    report = merged(prior, report) if prior else report
    if ended.startswith("crashed with SIGKILL"):
        raise WorkerLost(f"{stage}: the candidate's process {ended}", report)
    return report


def merged(compiled: dict, ran: dict) -> dict:
    """The run stage's report with the compile stage's: stage 1 and its process from the
    compile report, integrity from both processes, the verdict decided again."""
    from .verdict import verdict_of

    report = {**ran, "stages": dict(ran["stages"]), "children": {**compiled["children"], **ran["children"]}}
    report["stages"]["compile"] = compiled["stages"]["compile"]
    first, second = compiled["stages"]["integrity"], ran["stages"]["integrity"]
    if first["status"] == "fail":
        replaced = first["replaced"] + [name for name in second.get("replaced", []) if name not in first["replaced"]]
        reasons = [r for r in (first["reason"], second.get("reason")) if r]
        report["stages"]["integrity"] = {"status": "fail", "reason": "; ".join(reasons), "replaced": replaced}
    report["batch"] = {"stages": {**compiled["batch"]["stages"], **ran["batch"]["stages"]}}
    report["verdict"] = verdict_of(report)
    return report


def after_failed_compile(report: dict) -> dict:
    """A candidate that does not compile takes no run worker (no GPU): the stages it skips say so."""
    for stage in report["stages"].values():
        if stage["status"] == "skip":
            stage["reason"] = "not run: the compile stage failed"
    return report


def lost_report(kernel: str, reference: str, seed: int, stage: str, causes: list[str], prior: dict | None) -> dict:
    """FAIL for a candidate whose every attempt lost its worker with no report at all: the
    stage it was in fails with the causes, the others say they did not run (stage 1 keeps the
    compile stage's report, ``prior``, and where it ran)."""
    stages = {name: {"status": "skip", "reason": f"not run: the worker was lost during {stage}"}
              for name in ("compile", "correctness", "work", "speed", "integrity")}
    if prior:
        stages["compile"] = prior["stages"]["compile"]
    failed = "compile" if stage == "compile" else "correctness"
    stages[failed] = {"status": "fail", "reason": f"the worker died on every attempt: {'; '.join(causes)}"}
    return {"schema": SCHEMA, "kernel": kernel, "reference": reference, "seed": seed,
            "verdict": "fail", "stages": stages, "children": {},
            "batch": {"stages": dict(prior["batch"]["stages"]) if prior else {}}}
