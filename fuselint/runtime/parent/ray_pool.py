"""A Ray cluster (``--ray auto|ADDRESS``): one Ray task per stage of a candidate, each running
`stage.run_stage` on whichever node Ray picks, with nothing of Ray's replaced:

- resources: a compile task asks ``num_cpus=1`` and its processes see no GPU; a run task asks
  ``num_gpus=1`` (Ray gives it a GPU of its own and sets CUDA_VISIBLE_DEVICES), or ``num_cpus=1``
  under the interpreter on a cluster without GPUs;
- retries: ``max_retries=1``: Ray runs a task again once when its worker process or node died;
  ``retry_exceptions=[WorkerLost]``: the same when the stage lost a process of its own (killed
  by the OOM killer, ...); after that, the batch records a FAIL with the cause;
- the object store: the reference and the batch folder's helper files (``_*.py``) are put once,
  each task gets its candidate's source and writes the files into a folder of its own;
- runtime_env: where fuselint joins the cluster itself, the job's ``py_modules`` ships the
  driver's fuselint to every node, so that every node runs the same code (torch, triton and
  numpy must be on the nodes);
- ``ray.wait`` hands back each stage as it finishes.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from pathlib import Path

import fuselint

from .host_pool import Outcome, Task
from .runner import RunError
from .stage import WorkerLost, run_stage

LOCAL_OBJECT_STORE = 256 << 20  # a local cluster started here holds reports and sources, nothing large


def _remote_stage(name: str, source: bytes, shared: dict, options, stage: str, prior: dict | None) -> dict:
    """The body of a Ray task: the candidate's files into a folder of this worker's, the stage,
    and the report with the driver's paths in place of that folder's."""
    import ray

    gpus = ray.get_gpu_ids()
    where = f"ray node {ray.get_runtime_context().get_node_id()[:12]} " + \
        (f"gpu {','.join(map(str, gpus))}" if gpus else "cpu")
    with tempfile.TemporaryDirectory(prefix="fuselint-ray-") as folder:
        batch, refs = Path(folder, "batch"), Path(folder, "reference")
        batch.mkdir()
        refs.mkdir()
        for helper, data in shared["helpers"].items():
            (batch / helper).write_bytes(data)
        (batch / name).write_bytes(source)
        (refs / shared["reference_name"]).write_bytes(shared["reference"])
        renames = {str(batch): shared["batch_dir"], str(refs / shared["reference_name"]): shared["reference_path"]}
        try:
            return _renamed(run_stage(str(batch / name), str(refs / shared["reference_name"]), options, stage,
                                      where, prior), renames)
        except WorkerLost as lost:
            raise WorkerLost(_renamed(lost.cause, renames), _renamed(lost.report, renames)) from None
        except RunError as error:
            raise RunError(_renamed(str(error), renames)) from None


def _renamed(value, renames: dict):
    """value with every path of the task's folder spelled as on the driver."""
    if isinstance(value, str):
        for old, new in renames.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {k: _renamed(v, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, renames) for v in value]
    return value


def shipping_fuselint() -> dict:
    """The job's runtime_env that ships this fuselint to every worker (Ray uploads a local
    folder for the job only, not for a task)."""
    return {"py_modules": [str(Path(fuselint.__file__).parent)]}


def _connect(address: str) -> bool:
    """Join the cluster (True when this call joined; False when this process already had):
    ``auto`` is RAY_ADDRESS or the cluster running on this machine, else a new local one; any
    other value is an address for ray.init (``head:6379``, ``ray://head:10001``)."""
    import ray

    if ray.is_initialized():
        return False
    common = {"log_to_driver": False, "runtime_env": shipping_fuselint()}
    if address != "auto":
        ray.init(address=address, **common)
        return True
    try:
        ray.init(address="auto", **common)
    except ConnectionError:
        ray.init(include_dashboard=False, object_store_memory=LOCAL_OBJECT_STORE, **common)
    return True


class RayPool:
    def __init__(self, address: str, directory: str, reference: str, helpers: dict[str, bytes], options):
        import ray

        self.ray, self.options = ray, options
        self.started = _connect(address)
        # Ray's driver prints the raylet's messages (a task retried, a worker died) on sys.stdout:
        # they go to stderr with the progress, stdout stays one JSON line per candidate
        self.stdout, sys.stdout = sys.stdout, sys.stderr
        total = ray.cluster_resources()
        self.gpus = int(total.get("GPU", 0)) if options.device != "interpreter" else 0
        self.cpus = int(total.get("CPU", 1))
        self.device = "gpu" if self.gpus else "interpreter"
        self.window = 2 * (self.cpus + self.gpus)  # every slot busy, and as many stages waiting in Ray's queue
        self.shared = ray.put({"reference_name": os.path.basename(reference), "reference": Path(reference).read_bytes(),
                               "helpers": helpers, "batch_dir": os.path.abspath(directory),
                               "reference_path": os.path.abspath(reference)})
        common = {"max_retries": 1, "retry_exceptions": [WorkerLost]}
        remote = ray.remote(_remote_stage)
        self.tasks = {"compile": remote.options(num_cpus=1, **common),
                      "run": remote.options(num_gpus=1, **common) if self.gpus else remote.options(num_cpus=1, **common)}
        self.pending: dict = {}

    def describe(self) -> str:
        return (f"ray cluster: {self.cpus} CPU(s), {self.gpus} GPU(s); " +
                ("run stages one per GPU (num_gpus=1)" if self.gpus else "run stages under Triton's interpreter"))

    def timing_note(self) -> str | None:
        if self.device != "gpu":
            return None
        return "timed alone on its GPU: a Ray task with num_gpus=1; the node's CPUs are shared with other tasks"

    def submit(self, task: Task) -> None:
        # a run task on a GPU sees the one Ray gave it; every other sees none
        options = dataclasses.replace(self.options, seed=task.seed,
                                      visible_devices=None if task.stage == "run" and self.gpus else "")
        source = Path(task.path).read_bytes()
        ref = self.tasks[task.stage].remote(os.path.basename(task.path), source, self.shared, options, task.stage,
                                            task.prior)
        self.pending[ref] = task

    def next(self, timeout: float) -> Outcome | None:
        if not self.pending:
            return None
        ready, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=timeout)
        if not ready:
            return None
        task = self.pending.pop(ready[0])
        return self._outcome(task, ready[0])

    def _outcome(self, task: Task, ref) -> Outcome:
        from ray import exceptions

        try:
            return Outcome(task, report=self.ray.get(ref))
        except exceptions.RayTaskError as error:
            cause = getattr(error, "cause", None) or error
            if isinstance(cause, WorkerLost):
                task.lost.append(f"{cause.cause} (Ray retried the task once)")
                return Outcome(task, report=cause.report, lost=cause)
            if isinstance(cause, RunError):
                return Outcome(task, error=str(cause))
            return Outcome(task, error=f"{type(cause).__name__}: {cause}")
        except (exceptions.WorkerCrashedError, exceptions.NodeDiedError, exceptions.OutOfMemoryError,
                exceptions.LocalRayletDiedError, exceptions.ObjectLostError) as error:
            cause = f"{task.stage}: {type(error).__name__}: {_first_line(error)} (Ray retried the task once)"
            task.lost.append(cause)
            return Outcome(task, lost=WorkerLost(cause))
        except exceptions.RayError as error:  # no verdict possible: the runtime env, an unschedulable task, ...
            return Outcome(task, error=f"ray: {type(error).__name__}: {_first_line(error)}")

    def status(self) -> dict:
        free = self.ray.available_resources()
        line = f"ray: CPUs in use {self.cpus - int(free.get('CPU', 0))}/{self.cpus}"
        if self.gpus:
            line += f", GPUs in use {self.gpus - int(free.get('GPU', 0))}/{self.gpus}"
        return {"running": len(self.pending), "queued": 0, "workers": [line]}

    def close(self) -> None:
        for ref in self.pending:
            self.ray.cancel(ref, force=True)
        self.pending.clear()
        if self.started:
            self.ray.shutdown()
        sys.stdout = self.stdout


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [""])[0][:300]
