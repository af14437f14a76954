"""The candidate's process: ``python -m fuselint.runtime.candidate.process MODE SPEC EXCHANGE FD``.

MODE ``compile`` is stage 1 (`compile_stage`); MODE ``run`` makes every forward fuselint
asks for: a warm-up, one per trial (the first of them twice, with two poisons, and with its
inputs written back to show what forward changed in them), one on the first trial's buffers
refilled with nearly the same values (a replay of a cached answer shows there), one with every
Triton launch skipped (the knock-out), the first and last trials again (a candidate that
counts its calls to tell a harness's checks from the rest shows there), and on a GPU the timed
calls. What each forward returns
is written to EXCHANGE/out as data (`common.wire`), with the launches counted and the torch
operators recorded; fuselint compares it with the reference's results, which this process
never sees.

This process runs in the sandbox (`parent/sandbox.py`) and trusts nothing it runs: it decides
nothing either. The parent sets TRITON_INTERPRET=1 when there is no GPU (Triton reads it once,
at import: one process per mode). Messages go to pipe FD, one JSON object a line; "phase"
messages say what it is doing, so that a death is placed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from ..common import timing
from ..common.channel import Messages
from ..common.errors import error_record
from ..common.loading import load_module
from ..common.trees import clone_tree, leaves, to_device, views_of_inputs
from .integrity import Snapshot


class Candidate:
    """The candidate's file, its ModelNew built as the reference's Model was, and the way to
    call its forward with the instruments on."""

    def __init__(self, spec: dict, exchange: Path, send, snapshot: Snapshot):
        import torch

        from ..common import wire

        self.spec, self.exchange, self.send, self.snapshot = spec, exchange, send, snapshot
        self.interpreted = os.environ.get("TRITON_INTERPRET") == "1"
        self.gpu = torch.cuda.is_available() and not self.interpreted
        self.device = "cuda" if self.gpu else "cpu"
        construction, _ = wire.read(str(exchange / "model.bin"))
        send("phase", phase="loading the candidate")
        self.module = load_module(spec["kernel"], "kernel")
        self.check_integrity("import")
        if not hasattr(self.module, "ModelNew"):
            raise ValueError(f"{spec['kernel']} defines no ModelNew")
        self.model = self._build(construction)
        self.out = exchange / "out"
        self.views: list = []  # of the last forward's outputs: which input each one is a view of

    def _build(self, construction):
        """Built after the same torch.manual_seed as the reference, so that parameters drawn at
        construction agree (KernelBench); where the two state dicts have the same keys and
        shapes, the reference's is loaded."""
        import torch

        torch.manual_seed(construction["seed"])
        model = self.module.ModelNew(*construction["init"])
        reference_state, own = construction["state"], model.state_dict()
        if reference_state and reference_state.keys() == own.keys() and all(
                reference_state[k].shape == own[k].shape for k in own):
            model.load_state_dict(reference_state)
        return model.to(self.device)

    def inputs(self, name: str):
        from ..common import wire

        value, _ = wire.read(str(self.exchange / "inputs" / f"{name}.bin"))
        return to_device(value, self.device)

    def check_integrity(self, when: str) -> None:
        replaced = self.snapshot.replaced()
        if replaced:
            self.send("tampered", when=when, replaced=replaced)
            self.snapshot = Snapshot()  # report each replacement once

    def write(self, name: str, value) -> None:
        """Write what forward returned as data (with which outputs were views of inputs)."""
        from ..common import wire

        try:
            wire.write(str(self.out / f"{name}.bin"), value)
        except (TypeError, ValueError) as error:
            self.send("unwritable", name=name, problem=str(error))
            return
        self.send("wrote", name=name, views_of_inputs=self.views)


def plain(value):
    """value itself, once every tensor in it is seen to be a plain torch.Tensor. Checked on the
    object's type alone, before anything operates on it: a subclass could compute on demand (in
    a copy made after the timer stopped) or carry code for whoever reads it."""
    import torch

    for leaf in leaves(value):
        if isinstance(leaf, torch.Tensor) and type(leaf) not in (torch.Tensor, torch.nn.Parameter):
            raise TypeError(f"ModelNew returned a {type(leaf).__module__}.{type(leaf).__qualname__}, a subclass of "
                            "torch.Tensor (plain tensors only: a subclass can compute when it is read)")
    return value


def run(spec: dict, exchange: Path, send, snapshot: Snapshot) -> None:
    import torch

    from .cuda_on_cpu import cuda_on_cpu
    from .interpreter_fixes import bool_masks
    from .launches import count_launches, rotate_autotune_configs, skip_launches
    from .poison import PoisonFreshMemory
    from .recorder import ALLOWED, OpRecorder
    from .sanitize import sanitizing

    candidate = Candidate(spec, exchange, send, snapshot)
    recorder = OpRecorder(ALLOWED | set(spec.get("allow_ops", [])))
    shim = contextlib.nullcontext if candidate.gpu else cuda_on_cpu
    synchronize = torch.cuda.synchronize if candidate.gpu else (lambda: None)
    model = candidate.model

    def forward(inputs, poison=None, record=False):
        """What the caller's stream holds when forward returns: the outputs are copied on the
        current stream before the device is synchronised, so that work left running on another
        stream shows as unwritten or wrong elements."""
        recorder.active = record
        try:
            with torch.no_grad(), recorder, (PoisonFreshMemory(poison) if poison is not None else contextlib.nullcontext()), shim():
                out = plain(model(*inputs))
            snapshot = clone_tree(out)
            synchronize()
        finally:
            recorder.active = False
        candidate.check_integrity("forward")
        candidate.views = views_of_inputs(out, inputs)
        return snapshot

    interpreted = candidate.interpreted
    with (sanitizing(interpreted) if spec.get("sanitize") else contextlib.nullcontext(None)) as sanitizer, \
            count_launches(interpreted, pause=recorder) as counter, \
            (bool_masks() if interpreted else contextlib.nullcontext({})) as fixes, \
            (rotate_autotune_configs() if interpreted else contextlib.nullcontext(None)) as rotation:
        first = candidate.inputs("trial_0")
        send("phase", phase="warm-up forward of ModelNew (compiles, autotunes)")
        forward(clone_tree(first))
        kept = None
        for trial in range(spec["trials"]):
            send("phase", phase=f"trial {trial}")
            inputs = first if trial == 0 else candidate.inputs(f"trial_{trial}")
            if rotation is not None:
                rotation.index = trial
            given = clone_tree(inputs)
            counter.active = trial == 0
            out = forward(given, poison=0, record=True)
            counter.active = False
            candidate.write(f"trial_{trial}", out)
            if trial == 0:
                send("launches", count=counter.total, kernels=dict(counter.by_kernel))
                candidate.views = []
                candidate.write("trial_0_inputs_after", given)
                send("phase", phase="trial 0, second poison (unwritten elements)")
                candidate.write("trial_0_poison_1", forward(clone_tree(inputs), poison=1, record=True))
                kept = given
            del out
        if (exchange / "inputs" / "replay.bin").exists():
            send("phase", phase="the first trial's buffers, refilled with nearly the same values")
            for buffer, value in zip(kept, candidate.inputs("replay")):
                if isinstance(buffer, torch.Tensor):
                    buffer.copy_(value)
            candidate.write("replay", forward(kept, poison=0, record=True))
        send("phase", phase="knock-out: every Triton launch skipped")
        with skip_launches(interpreted):
            candidate.write("knockout", forward(clone_tree(first), poison=0))
        for trial in sorted({0, spec["trials"] - 1}):  # a candidate that counts its calls shows here
            send("phase", phase=f"trial {trial} again, after the other calls")
            candidate.write(f"again_{trial}", forward(candidate.inputs(f"trial_{trial}"), poison=0, record=True))
    notes = []
    if rotation is not None and rotation.used:
        notes.append(f"autotuned ({', '.join(sorted(rotation.used))}): with no timings under the interpreter, "
                     "trial t ran config t mod N")
    if fixes.get("masks_cast_to_bool"):
        notes.append(f"interpreter work-around: {fixes['masks_cast_to_bool']} int32 masks cast to bool "
                     "(the interpreter types scalar comparisons joined by & as int32; the compiler types them int1)")
    send("records", computed=dict(recorder.computed), notes=notes,
         sanitize=sanitizer.summary() if sanitizer is not None else None)
    if candidate.gpu and spec.get("speed") and spec.get("timing_sets"):
        time_calls(candidate, forward, first, spec["timing_sets"])


def time_calls(candidate: Candidate, forward, warm_inputs, sets: int) -> None:
    """The timed calls, between two messages whose arrival fuselint times with its own clock."""
    import torch

    send = candidate.send
    send("phase", phase="speed: warm-up")
    inputs = [candidate.inputs(f"timing_{k}") for k in range(sets)]
    estimate = timing.timed_calls(lambda j: forward(clone_tree(warm_inputs)), 1, 3)
    rounds = timing.rounds_for(timing.median(estimate["ms"]), sets)
    send("timing-ready", rounds=rounds)
    if sys.stdin.readline().strip() != "go":
        return
    send("timing-start")
    with torch.no_grad():
        result = timing.timed_calls(lambda j: plain(candidate.model(*inputs[j])), sets, rounds, keep=True)
    send("timing-end", ms=result["ms"], wall_s=result["wall_s"], rounds=rounds)
    for (k, which), out in result["kept"].items():
        candidate.write(f"timing_{k}_{which}", out)
    candidate.check_integrity("timing")


def main(argv: list[str]) -> int:
    mode, spec_path, exchange, fd = argv
    messages = Messages(int(fd))
    snapshot = Snapshot()  # before the candidate's file is imported
    with open(spec_path) as f:
        spec = json.load(f)
    paths = [os.path.realpath(spec["kernel"])]
    try:
        import triton

        messages.send("hello", triton_dir=os.path.dirname(os.path.realpath(triton.__file__)), triton=triton.__version__)
        if mode == "compile":
            from .compile_stage import run_compile_stage

            run_compile_stage(spec, Path(exchange), messages.send)
        else:
            run(spec, Path(exchange), messages.send, snapshot)
    except BaseException as error:  # the candidate's own code failed, or left through SystemExit
        messages.send("error", **error_record(error, paths))
    else:
        messages.send("done")
    sys.stdout.flush()
    os._exit(0)  # no atexit handler of the candidate's runs after this


if __name__ == "__main__":
    main(sys.argv[1:])
