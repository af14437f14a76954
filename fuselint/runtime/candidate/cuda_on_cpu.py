"""Running CUDA-minded wrappers on CPU (the candidate's process, on a machine without a GPU).

Wrappers assert ``x.is_cuda``, allocate with ``device=x.device`` or ``device="cuda"``, call
``.cuda()`` and ``torch.cuda.synchronize()``. Inside `cuda_on_cpu` CPU tensors say they live on
cuda:0 and every request for a CUDA device gets the CPU, so the wrapper reaches its Triton
launch; the launch is then compiled for the target or interpreted, never run on a GPU.
"""

from __future__ import annotations

import contextlib
import types

import torch

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
