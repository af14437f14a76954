"""Loading a KernelBench pair and making its inputs (child process only: imports torch).

A pair is a reference file defining ``Model``, ``get_inputs()`` and
``get_init_inputs()``, and a kernel file defining ``ModelNew`` with the same
constructor and ``forward``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import sys
import types
from pathlib import Path

import torch

_module_ids = itertools.count()


def load_module(path: str | Path, role: str) -> types.ModuleType:
    """Import a file as a fresh module (registered in sys.modules: Triton's
    JIT reads kernel source through ``inspect``, which needs the module)."""
    path = Path(path).resolve()
    name = f"_fuselint_{role}_{next(_module_ids)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # Imports next to the file (helpers of the kernel) resolve as they would for a script.
    sys.path.insert(0, str(path.parent))
    spec.loader.exec_module(module)
    return module


class Pair:
    """The reference module, the kernel module, and the size knobs of get_inputs."""

    def __init__(self, kernel_path: str, reference_path: str):
        self.reference = load_module(reference_path, "reference")
        for name in ("Model", "get_inputs", "get_init_inputs"):
            if not hasattr(self.reference, name):
                raise ValueError(f"{reference_path} defines no {name} (KernelBench reference convention)")
        self.kernel = load_module(kernel_path, "kernel")
        if not hasattr(self.kernel, "ModelNew"):
            raise ValueError(f"{kernel_path} defines no ModelNew")

    def size_knobs(self) -> dict[str, int]:
        """Module-level ints that get_inputs/get_init_inputs read: KernelBench
        references keep their sizes there (``batch_size = 16``)."""
        names: set[str] = set()
        for fn_name in ("get_inputs", "get_init_inputs"):
            names.update(getattr(self.reference, fn_name).__code__.co_names)
        return {
            n: v
            for n in sorted(names)
            if isinstance((v := getattr(self.reference, n, None)), int) and not isinstance(v, bool)
        }

    def set_sizes(self, sizes: dict[str, int]) -> None:
        for name, value in sizes.items():
            setattr(self.reference, name, value)

    def shrink_to(self, max_elements: int, floor: int = 16) -> dict[str, tuple[int, int]]:
        """Halve every even size knob above ``floor``, all together, until the inputs
        hold at most max_elements; returns {knob: (old, new)} for those changed.

        The interpreter runs each program instance in Python, so full KernelBench
        sizes would take hours. Halving all knobs at once keeps their ratios
        (a cos/sin cache longer than the sequence stays longer). If the reference
        cannot run at the smaller sizes, the original sizes are kept.
        """
        original = self.size_knobs()
        current = dict(original)
        torch.manual_seed(0)
        while input_elements(self.reference.get_inputs()) > max_elements:
            shrinkable = [n for n, v in current.items() if v > floor and v % 2 == 0]
            if not shrinkable:
                break
            for name in shrinkable:
                current[name] //= 2
            self.set_sizes(current)
        changed = {n: (original[n], current[n]) for n in current if current[n] != original[n]}
        if changed and not self._reference_runs():
            self.set_sizes(original)
            return {}
        return changed

    def _reference_runs(self) -> bool:
        try:
            with torch.no_grad():
                self.reference.Model(*self.reference.get_init_inputs())(*self.reference.get_inputs())
        except Exception:
            return False
        return True

    def make_models(self, seed: int):
        """Both models built from the same seed, as KernelBench does, so that
        parameters drawn at construction agree; where the two state dicts have the
        same keys and shapes the reference's is also loaded into ModelNew."""
        init_inputs = self.reference.get_init_inputs()
        torch.manual_seed(seed)
        reference_model = self.reference.Model(*init_inputs)
        torch.manual_seed(seed)
        new_model = self.kernel.ModelNew(*init_inputs)
        ref_state, new_state = reference_model.state_dict(), new_model.state_dict()
        if ref_state and ref_state.keys() == new_state.keys() and all(
            ref_state[k].shape == new_state[k].shape for k in ref_state
        ):
            new_model.load_state_dict(ref_state)
        return reference_model, new_model

    def make_inputs(self, seed: int, device: str) -> tuple[list, list[str]]:
        """Seeded inputs from get_inputs(), on device. A floating input that comes
        out constant (torch.zeros, torch.ones) is redrawn from randn: zeros hide
        unwritten outputs and wrong indexing. Returns (inputs, notes)."""
        torch.manual_seed(seed)
        inputs = list(self.reference.get_inputs())
        notes = []
        for i, x in enumerate(inputs):
            if isinstance(x, torch.Tensor) and x.is_floating_point() and x.numel() > 1:
                if bool((x == x.reshape(-1)[0]).all()):
                    inputs[i] = torch.randn(x.shape, dtype=x.dtype)
                    notes.append(f"input {i} was constant in get_inputs(); redrawn from randn")
        return [x.to(device) if isinstance(x, torch.Tensor) else x for x in inputs], notes


def input_elements(inputs) -> int:
    return sum(x.numel() for x in inputs if isinstance(x, torch.Tensor))


def tensors_in(value) -> list:
    """Leaves of a (nested) output, in order."""
    from torch.utils._pytree import tree_flatten

    leaves, _ = tree_flatten(value)
    return leaves


def clone_tree(value):
    from torch.utils._pytree import tree_map

    return tree_map(lambda x: x.clone() if isinstance(x, torch.Tensor) else x, value)


# --- Running CUDA-minded wrappers on CPU -------------------------------------------------


def _is_cuda_device(device) -> bool:
    if isinstance(device, torch.device):
        return device.type == "cuda"
    if isinstance(device, str):
        return device.split(":")[0] == "cuda"
    return False


def _to_cpu_device(value):
    return torch.device("cpu") if _is_cuda_device(value) else value


class CudaOnCpu(torch.overrides.TorchFunctionMode):
    """Sends every request for a CUDA device to the CPU (``device="cuda"``,
    ``device=x.device``, ``.to("cuda")``, ``.cuda()``)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func is torch.Tensor.cuda:
            return args[0]
        if "device" in kwargs:
            kwargs["device"] = _to_cpu_device(kwargs["device"])
        if func is torch.Tensor.to:
            args = tuple(_to_cpu_device(a) for a in args)
        return func(*args, **kwargs)


_FAKE_CUDA = torch.device("cuda", 0)


def _device_seen_by_wrapper(tensor):
    device = torch._C.TensorBase.device.__get__(tensor)
    return _FAKE_CUDA if device.type == "cpu" else device


# What a wrapper may ask of the GPU it is about to launch on, for the targets
# fuselint knows: multiprocessors and shared memory per block of the usual card
# (A100, RTX 4090, H100 SXM). Launch rules that size grids from these then pick
# the constexprs they would pick on that card.
TARGET_CARDS = {
    80: {"name": "NVIDIA A100 (posed)", "multi_processor_count": 108, "shared_memory_per_block_optin": 166912},
    86: {"name": "NVIDIA RTX 3090 (posed)", "multi_processor_count": 82, "shared_memory_per_block_optin": 101376},
    89: {"name": "NVIDIA GeForce RTX 4090 (posed)", "multi_processor_count": 128, "shared_memory_per_block_optin": 101376},
    90: {"name": "NVIDIA H100 (posed)", "multi_processor_count": 132, "shared_memory_per_block_optin": 232448},
}


def posed_properties(arch: int):
    card = TARGET_CARDS.get(arch, TARGET_CARDS[89])
    return types.SimpleNamespace(
        major=arch // 10, minor=arch % 10, total_memory=24 << 30, warp_size=32,
        max_threads_per_multi_processor=1536 if arch in (86, 89) else 2048,
        shared_memory_per_block=49152, L2_cache_size=72 << 20, **card)


@contextlib.contextmanager
def cuda_on_cpu(arch: int = 89):
    """Lets a wrapper written for CUDA tensors run on CPU tensors.

    Wrappers assert ``x.is_cuda``, allocate with ``device=x.device`` or
    ``device="cuda"``, call ``.cuda()`` and ``torch.cuda.synchronize()``. Inside
    this context CPU tensors say they live on cuda:0 and every request for a
    CUDA device gets the CPU, so the wrapper reaches its Triton launch on a
    machine with no GPU; the launch is then compiled for the target or
    interpreted, never run on a GPU. Tensor properties are not routed through
    torch function modes, hence the class-level patch of is_cuda and device.
    """
    saved_cuda = {
        name: getattr(torch.cuda, name)
        for name in ("is_available", "current_device", "device", "synchronize", "device_count",
                     "get_device_properties", "get_device_capability", "get_device_name")
    }
    saved_tensor = {name: torch.Tensor.__dict__.get(name) for name in ("is_cuda", "device")}
    torch.cuda.is_available = lambda: True
    torch.cuda.current_device = lambda: 0
    torch.cuda.device_count = lambda: 1
    torch.cuda.device = lambda *a, **k: contextlib.nullcontext()
    torch.cuda.synchronize = lambda *a, **k: None
    torch.cuda.get_device_properties = lambda *a, **k: posed_properties(arch)
    torch.cuda.get_device_capability = lambda *a, **k: (arch // 10, arch % 10)
    torch.cuda.get_device_name = lambda *a, **k: posed_properties(arch).name
    torch.Tensor.is_cuda = property(lambda self: True)
    torch.Tensor.device = property(_device_seen_by_wrapper)
    try:
        with CudaOnCpu():
            yield
    finally:
        for name, value in saved_cuda.items():
            setattr(torch.cuda, name, value)
        for name, value in saved_tensor.items():
            if value is None:
                delattr(torch.Tensor, name)
            else:
                setattr(torch.Tensor, name, value)
