"""The reference's process: ``python -m fuselint.runtime.reference.process SPEC EXCHANGE FD``.

It loads the user's REF.py (``Model``, ``get_inputs()``, ``get_init_inputs()``), draws the
inputs of every trial, runs the reference on them and keeps the results in its own memory. It
writes for the candidate's process only what that process is to be given: the model's
construction (``model.bin``: init inputs, state dict, seed) and the inputs (``inputs/*.bin``).
On a GPU it also measures what fuselint trusts about timing: the device copy bandwidth, the
reference in eager mode and under torch.compile, and the cost of the timing loop itself.

Then it waits. When fuselint writes ``reveal DIR`` on its stdin (after the candidate's process
has ended), it writes the expected outputs into DIR and exits. Messages go to pipe FD as JSON
lines (``common.channel``). The process is made non-dumpable first, so that another process of
the same user cannot read its memory through /proc or ptrace.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from pathlib import Path

from ..common.channel import Messages
from ..common.errors import error_record
from ..common.loading import load_module
from ..common.trees import clone_tree, describe_inputs, minimal_bytes, views_of_inputs

PR_SET_DUMPABLE = 4
REPLAY_SEED, TIMING_SEED = 7919, 10007


def not_dumpable() -> bool:
    """PR_SET_DUMPABLE 0: /proc/PID/mem and ptrace are closed to other unprivileged processes."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


class Reference:
    """The user's REF.py and the module-level sizes its get_inputs reads."""

    def __init__(self, path: str):
        self.module = load_module(path, "reference")
        for name in ("Model", "get_inputs", "get_init_inputs"):
            if not hasattr(self.module, name):
                raise ValueError(f"{path} defines no {name} (KernelBench reference convention)")

    def _knobs_read_by(self, *functions: str) -> set[str]:
        names: set[str] = set()
        for fn_name in functions:
            names.update(getattr(self.module, fn_name).__code__.co_names)
        return names

    def size_knobs(self) -> dict[str, int]:
        """Module-level ints that get_inputs/get_init_inputs read: KernelBench references keep
        their sizes there (``batch_size = 16``)."""
        return {n: v for n in sorted(self._knobs_read_by("get_inputs", "get_init_inputs"))
                if isinstance((v := getattr(self.module, n, None)), int) and not isinstance(v, bool)}

    def input_only_knobs(self) -> dict[str, int]:
        """The sizes of the inputs alone: varying one that get_init_inputs reads would change
        the model itself."""
        model_knobs = self._knobs_read_by("get_init_inputs")
        return {n: v for n, v in self.size_knobs().items() if n not in model_knobs}

    def set_sizes(self, sizes: dict[str, int]) -> None:
        for name, value in sizes.items():
            setattr(self.module, name, value)

    def runs(self, model, device, dtype) -> bool:
        import torch

        try:
            with torch.no_grad():
                model(*self.draw(0, device, dtype)[0])
        except Exception:
            return False
        return True

    def shrink_to(self, max_elements: int, floor: int = 16) -> dict[str, tuple[int, int]]:
        """Halve every even size above ``floor``, all together, until the inputs hold at most
        max_elements; returns {name: (old, new)} for those changed.

        The interpreter runs each program instance in Python, so full KernelBench sizes would
        take hours. Halving all sizes at once keeps their ratios (a cos/sin cache longer than
        the sequence stays longer). If the reference cannot run at the smaller sizes, the
        original sizes are kept."""
        import torch

        original = self.size_knobs()
        current = dict(original)
        torch.manual_seed(0)
        while input_elements(self.module.get_inputs()) > max_elements:
            shrinkable = [n for n, v in current.items() if v > floor and v % 2 == 0]
            if not shrinkable:
                break
            for name in shrinkable:
                current[name] //= 2
            self.set_sizes(current)
        changed = {n: (original[n], current[n]) for n in current if current[n] != original[n]}
        if changed:
            try:
                with torch.no_grad():
                    self.module.Model(*self.module.get_init_inputs())(*self.module.get_inputs())
            except Exception:
                self.set_sizes(original)
                return {}
        return changed

    def draw(self, seed: int, device: str, dtype) -> tuple[list, list[str]]:
        """get_inputs() under seed, on device, floating tensors cast to dtype when one is given.
        A floating input that comes out constant (torch.zeros, torch.ones) is redrawn from randn:
        zeros hide unwritten outputs and wrong indexing. Returns (inputs, notes)."""
        import torch

        torch.manual_seed(seed)
        inputs = list(self.module.get_inputs())
        notes = []
        for i, x in enumerate(inputs):
            if isinstance(x, torch.Tensor) and x.is_floating_point() and x.numel() > 1:
                if bool((x == x.reshape(-1)[0]).all()):
                    inputs[i] = torch.randn(x.shape, dtype=x.dtype)
                    notes.append(f"input {i} was constant in get_inputs(); redrawn from randn")
        return [_cast(x, dtype).to(device) if isinstance(x, torch.Tensor) else x for x in inputs], notes


def _cast(x, dtype):
    return x.to(dtype) if dtype is not None and x.is_floating_point() else x


def input_elements(inputs) -> int:
    import torch

    return sum(x.numel() for x in inputs if isinstance(x, torch.Tensor))


def perturbed(inputs, other, seed: int) -> tuple[list, int]:
    """A copy of inputs where about one element in a thousand of each tensor (at least one, at
    random places) takes the value another draw has there: the same buffers with nearly the same
    contents, so that a cache keyed on addresses or on a few sampled values replays a stale
    answer. Returns (inputs, elements changed)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    result, changed = [], 0
    for x, y in zip(inputs, other):
        if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor) and x.shape == y.shape and x.numel():
            x = x.clone()
            count = max(1, x.numel() // 1000)
            places = torch.randperm(x.numel(), generator=generator)[:count].to(x.device)
            flat, source = x.reshape(-1), y.reshape(-1)
            before = flat[places].clone()
            flat[places] = source[places]
            changed += int((flat[places] != before).sum())
        result.append(x)
    return result, changed


def prepare(spec: dict, exchange: Path, send) -> dict:
    """Everything up to the "ready" message; returns what `reveal` writes later."""
    import torch

    gpu = torch.cuda.is_available() and spec["device"] != "interpreter"
    if spec["device"] == "gpu" and not gpu:
        raise RuntimeError("--device gpu, but torch sees no CUDA device here")
    device = "cuda" if gpu else "cpu"
    dtype = getattr(torch, spec["dtype"]) if spec.get("dtype") else None
    reference = Reference(spec["reference"])
    notes: list[str] = []
    if spec.get("dims"):
        unknown = set(spec["dims"]) - set(reference.size_knobs())
        if unknown:
            raise ValueError(f"--dims names {sorted(unknown)}, not size variables of get_inputs() "
                             f"({sorted(reference.size_knobs())})")
        reference.set_sizes(spec["dims"])
    full = reference.size_knobs()
    (exchange / "inputs").mkdir()
    ready: dict = {"mode": "gpu" if gpu else "interpreter", "notes": notes, "seed": spec["seed"]}
    ready["environment"] = environment(torch, gpu)

    if spec.get("compile"):  # the compile stage runs the wrapper for real on CPU without a GPU
        shrunk = {} if gpu or spec.get("dims") else reference.shrink_to(spec["compile_max_elements"])
        compile_inputs, _ = reference.draw(spec["seed"], device, dtype)
        write_value(exchange / "inputs" / "compile.bin", compile_inputs)
        ready["compile_notes"] = [f"inputs shrunk to fit the CPU: {shrunk}; constexprs that follow sizes may "
                                  "differ from the full run"] if shrunk else []
        reference.set_sizes(full)

    if not gpu and not spec.get("dims"):
        shrunk = reference.shrink_to(spec["max_elements"])
        if shrunk:
            notes.append(f"inputs shrunk for the interpreter: { {k: list(v) for k, v in shrunk.items()} } (--dims to choose)")
    base = reference.size_knobs()
    init_inputs = reference.module.get_init_inputs()
    torch.manual_seed(spec["seed"])
    model = reference.module.Model(*init_inputs)
    if dtype is not None:
        model = model.to(dtype)
    model = model.to(device).eval()
    write_value(exchange / "model.bin", {"init": list(init_inputs), "seed": spec["seed"],
                                         "state": {k: v.detach().cpu() for k, v in model.state_dict().items()}})

    if not spec.get("run"):
        send("ready", **ready)
        return {}
    variant = {n: v // 2 for n, v in reference.input_only_knobs().items() if v > 1 and v % 2 == 0}
    if variant:
        reference.set_sizes(variant)
        if not reference.runs(model, device, dtype):
            notes.append(f"the reference does not run at {variant}: every trial at {base}")
            variant = {}
        reference.set_sizes(base)
    else:
        notes.append("no size variable of get_inputs to vary: every trial at one size")
    ready["sizes"] = {"base": base, "variant": {**base, **variant} if variant else None}

    expected: dict = {}
    trials = []
    for trial in range(spec["trials"]):
        sizes = {**base, **variant} if variant and trial % 2 else base
        reference.set_sizes(sizes)
        inputs, draw_notes = reference.draw(spec["seed"] + trial, device, dtype)
        notes += [n for n in draw_notes if n not in notes]
        write_value(exchange / "inputs" / f"trial_{trial}.bin", inputs)
        given = clone_tree(inputs)
        with torch.no_grad():
            out = model(*given)
        if trial == 0:
            ready["outputs"] = {"views_of_inputs": views_of_inputs(out, given)}
            expected["trial_0_after"] = given
        expected[f"trial_{trial}"] = clone_tree(out)
        trials.append({"sizes": sizes, "inputs": describe_inputs(inputs)})
    reference.set_sizes(base)
    ready["trials"] = trials
    ready["inputs"] = trials[0]["inputs"]

    first, _ = reference.draw(spec["seed"], device, dtype)
    other, _ = reference.draw(spec["seed"] + REPLAY_SEED, device, dtype)
    replay, changed = perturbed(first, other, spec["seed"] + REPLAY_SEED)
    try:
        with torch.no_grad():
            expected["replay"] = clone_tree(model(*clone_tree(replay)))
        write_value(exchange / "inputs" / "replay.bin", replay)
        ready["replay"] = {"changed": changed}
    except Exception as error:  # the reference refuses these values (an index out of range, ...)
        notes.append(f"no same-buffer trial: the reference fails on nearly the trial-0 inputs ({type(error).__name__})")

    bf16 = [t for t in trials[0]["inputs"] if t.get("dtype") == "bfloat16"] + \
        [p for p in model.parameters() if p.dtype == torch.bfloat16]
    if not gpu and bf16:
        ready["inconclusive"] = ("bfloat16 under the Triton interpreter (3.9 computes it wrong, 3.6 rejects it): "
                                 "verify on a GPU, or run both sides in float32 with --dtype float32")
    if dtype is not None:
        notes.append(f"--dtype {spec['dtype']}: the reference and ModelNew both ran on {spec['dtype']} inputs and weights")
    if gpu and spec.get("speed") and spec.get("run"):
        ready["timing"] = trusted_timing(reference, model, spec, exchange, device, dtype, expected)
    send("ready", **ready)
    return expected


def trusted_timing(reference, model, spec, exchange: Path, device, dtype, expected: dict) -> dict:
    """The timing sets for ModelNew, and the figures its timing is checked against."""
    import torch

    from ..common import timing

    sets, outs = [], []
    probe, _ = reference.draw(spec["seed"] + TIMING_SEED, device, dtype)
    set_bytes = sum(x.numel() * x.element_size() for x in probe if isinstance(x, torch.Tensor))
    count = timing.sets_for(set_bytes)
    for k in range(count):
        inputs, _ = reference.draw(spec["seed"] + TIMING_SEED + k, device, dtype)
        write_value(exchange / "inputs" / f"timing_{k}.bin", inputs)
        with torch.no_grad():
            outs.append(model(*clone_tree(inputs)))
        expected[f"timing_{k}"] = outs[-1]
        sets.append(inputs)
    result = {"sets": count, "min_bytes": minimal_bytes(sets[0], outs[0]), "notes": []}

    # The loop's own cost: an empty call (per-call delay of the end event, b), and the host time
    # per iteration (o) and for cloning kept outputs (fixed), from two loop lengths.
    empty = timing.timed_calls(lambda j: None, count, 3)
    short = timing.timed_calls(lambda j: outs[j], count, 3, keep=True)
    long = timing.timed_calls(lambda j: outs[j], count, 13, keep=True)
    b = timing.median(empty["ms"])
    per_iteration = (long["wall_s"] - short["wall_s"]) / (10 * count)
    result.update(event_delay_ms=b, iteration_s=per_iteration,
                  kept_s=max(0.0, short["wall_s"] - 3 * count * per_iteration))

    src = torch.empty(timing.COPY_BYTES // 4, dtype=torch.float32, device="cuda").normal_()
    dst = torch.empty_like(src)
    copy_ms = max(timing.median(timing.timed_calls(lambda j: dst.copy_(src), 1, 20)["ms"]) - b, 1e-6)
    result["copy_gbps"] = 2 * timing.COPY_BYTES / copy_ms / 1e6
    del src, dst

    with torch.no_grad():
        given = sets  # the reference's own inputs: what it changes in them is its own business
        eager = timing.timed_calls(lambda j: model(*given[j]), count, 5)
        result["reference_ms"] = {"reference_eager": max(timing.median(eager["ms"]) - b, 1e-6)}
        try:
            compiled = torch.compile(model)
            compiled(*given[0])
            runs = timing.timed_calls(lambda j: compiled(*given[j]), count, 5)
            result["reference_ms"]["reference_compiled"] = max(timing.median(runs["ms"]) - b, 1e-6)
        except Exception as error:  # a reference torch.compile cannot take is no fault of the candidate
            first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
            result["notes"].append(f"torch.compile(reference) failed: {type(error).__name__}: {first}")
    return result


def environment(torch, gpu: bool) -> dict:
    return {"device": torch.cuda.get_device_name() if gpu else "cpu (Triton interpreter)", "torch": torch.__version__,
            "interpreter": not gpu, "cuda_available": torch.cuda.is_available()}


def write_value(path: Path, value) -> None:
    from ..common import wire

    wire.write(str(path), value)


def reveal(expected: dict, directory: Path) -> None:
    for name, value in expected.items():
        write_value(directory / f"{name}.bin", value)


def main(argv: list[str]) -> int:
    spec_path, exchange, fd = argv
    messages = Messages(int(fd))
    messages.send("started", pid=os.getpid(), not_dumpable=not_dumpable())
    with open(spec_path) as f:
        spec = json.load(f)
    try:
        expected = prepare(spec, Path(exchange), messages.send)
    except BaseException as error:  # the reference itself failed: no verdict on the candidate is possible
        messages.send("error", **error_record(error, [os.path.realpath(spec["reference"])]))
        return 1
    command = sys.stdin.readline().split(maxsplit=1)
    if command and command[0] == "reveal":
        reveal(expected, Path(command[1].strip()))
        messages.send("revealed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
