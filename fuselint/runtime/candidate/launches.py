"""Seeing every Triton launch of a forward pass (the candidate's process).

Two ways in, both at the Python entry that ``kernel[grid](...)`` reaches:

- ``intercept_launches(on_launch)``: replaces ``JITFunction.run`` so that a
  launch is handed to ``on_launch`` and never executed (no GPU needed), and
  makes ``Autotuner.run`` hand over every config, not just the tuned one.
  The compile stage uses it.
- ``count_launches()``: wraps ``JITFunction.run`` (GPU) or
  ``InterpretedFunction.run`` (``TRITON_INTERPRET=1``) and counts the launches
  that really ran; stage 4 reads the count.
- ``skip_launches()``: the same entry, made to do nothing: the knock-out run, whose outputs
  show what ModelNew returns when no Triton kernel runs.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
from typing import Any, Callable


@dataclasses.dataclass
class Launch:
    fn: Any  # the JITFunction
    args: tuple
    kwargs: dict
    grid: Any
    extra_config: bool = False  # an autotune config after the first: compiled, but no launch of its own


def _kernel_name(fn) -> str:
    while hasattr(fn, "fn"):  # Autotuner -> Heuristics -> JITFunction -> the Python function
        fn = fn.fn
    return getattr(fn, "__name__", repr(fn))


@contextlib.contextmanager
def intercept_launches(on_launch: Callable[[Launch], None]):
    from triton.runtime.autotuner import Autotuner
    from triton.runtime.jit import JITFunction

    saved_jit_run, saved_tuner_run = JITFunction.run, Autotuner.run

    state = {"extra_config": False}

    def jit_run(self, *args, grid, warmup, **kwargs):
        on_launch(Launch(self, args, kwargs, grid, extra_config=state["extra_config"]))
        return None

    def tuner_run(self, *args, **kwargs):
        # Each config is a kernel of its own on the GPU: hand them all over.
        self.nargs = dict(zip(self.arg_names, args))
        try:
            for index, config in enumerate(self.configs):
                state["extra_config"] = index > 0
                self.fn.run(*args, **{**kwargs, **config.all_kwargs()})
        finally:
            state["extra_config"] = False
        return None

    JITFunction.run, Autotuner.run = jit_run, tuner_run
    try:
        yield
    finally:
        JITFunction.run, Autotuner.run = saved_jit_run, saved_tuner_run


class LaunchCounter:
    def __init__(self):
        self.by_kernel: collections.Counter[str] = collections.Counter()
        self.active = False

    @property
    def total(self) -> int:
        return sum(self.by_kernel.values())

    def reset(self):
        self.by_kernel.clear()


@contextlib.contextmanager
def count_launches(interpreted: bool, pause=None):
    """Count launches that run while ``counter.active`` is set. While a launch (or an
    autotuner's benchmarking) runs, ``pause.active`` is off: the torch operators Triton and the
    sanitizer run there are not ModelNew's."""
    from triton.runtime.autotuner import Autotuner

    cls = launcher_class(interpreted)
    counter = LaunchCounter()
    saved_run, saved_tune = cls.run, Autotuner.run

    @contextlib.contextmanager
    def paused():
        was = getattr(pause, "active", False)
        if pause is not None:
            pause.active = False
        try:
            yield
        finally:
            if pause is not None:
                pause.active = was

    def counted_run(self, *args, grid, warmup, **kwargs):
        if counter.active and not warmup:
            counter.by_kernel[_kernel_name(self)] += 1
        with paused():
            return saved_run(self, *args, grid=grid, warmup=warmup, **kwargs)

    def tuned_run(self, *args, **kwargs):
        with paused():
            return saved_tune(self, *args, **kwargs)

    cls.run, Autotuner.run = counted_run, tuned_run
    try:
        yield counter
    finally:
        cls.run, Autotuner.run = saved_run, saved_tune


def launcher_class(interpreted: bool):
    if interpreted:
        from triton.runtime.interpreter import InterpretedFunction

        return InterpretedFunction
    from triton.runtime.jit import JITFunction

    return JITFunction


@contextlib.contextmanager
def skip_launches(interpreted: bool):
    """Every launch in the block returns without running (a warm-up still compiles)."""
    cls = launcher_class(interpreted)
    saved_run = cls.run

    def skipped_run(self, *args, grid, warmup, **kwargs):
        return saved_run(self, *args, grid=grid, warmup=warmup, **kwargs) if warmup else None

    cls.run = skipped_run
    try:
        yield
    finally:
        cls.run = saved_run


@contextlib.contextmanager
def rotate_autotune_configs():
    """Under the interpreter there are no timings to tune by: a forward runs
    config ``rotation.index % len(configs)`` of each autotuned kernel, so that
    trials spread over the configs (the GPU runs the one the autotuner picks)."""
    from triton.runtime.autotuner import Autotuner

    rotation = RotationState()
    saved_run = Autotuner.run

    def run(self, *args, **kwargs):
        config = self.configs[rotation.index % len(self.configs)]
        rotation.used.add(f"{_kernel_name(self.fn)}: {len(self.configs)} configs")
        self.best_config = config
        full = {**kwargs, **config.all_kwargs()}
        if config.pre_hook is not None:
            config.pre_hook({**dict(zip(self.arg_names, args)), **full})
        return self.fn.run(*args, **full)

    Autotuner.run = run
    try:
        yield rotation
    finally:
        Autotuner.run = saved_run


@dataclasses.dataclass
class RotationState:
    index: int = 0
    used: set = dataclasses.field(default_factory=set)
