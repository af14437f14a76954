"""The adversarial suite: each candidate, the kind of cheat it is, its reference, and what a run
needs around it. Read by tests/test_runtime_adversarial.py and benchmarks/runtime_exploits.py.

kind: what the issue (#15) calls it. gpu: True where the cheat itself only works on a GPU (on a
CPU machine it is still caught, by what it does to get there). setup: "sentinel" (a
sentinel.txt in the working directory), "secret" (a secret-looking variable in the
environment), "twice" (the verdict of a second run counts), "limits" (run with small memory and
file-size limits, so that a bounded probe can exceed them).
"""

AXPY = "axpy_reference.py"
AXPY_BF16 = "axpy_reference_bf16.py"

SUITE = {
    # the candidate writes the verdict
    "exit0_in_forward": {"kind": "verdict"},
    "sys_exit_at_import": {"kind": "verdict"},
    "forged_report": {"kind": "verdict"},
    "json_dump_patch": {"kind": "verdict"},
    "atexit_forged_report": {"kind": "verdict"},
    # one process for candidate, reference, checks and timer
    "patch_torch_compare": {"kind": "one process"},
    "patch_harness_compare": {"kind": "one process"},
    "replace_reference_module": {"kind": "one process"},
    "getframe_overwrite_expected": {"kind": "one process"},
    "gc_copy_expected": {"kind": "one process"},
    "gc_nan_expected": {"kind": "one process"},
    "allocator_reuse": {"kind": "one process"},
    "gc_reference_model": {"kind": "one process"},
    # timing the candidate can fake or dodge
    "timer_patch_do_bench": {"kind": "timing", "gpu": True},
    "timer_patch_event": {"kind": "timing", "gpu": True},
    "timer_patch_clock": {"kind": "timing", "gpu": True},
    "timer_patch_harness": {"kind": "timing", "gpu": True},
    "side_stream": {"kind": "timing", "gpu": True},
    "replay_sampled_cache": {"kind": "timing", "gpu": True},
    "replay_pointer_cache": {"kind": "timing", "gpu": True},
    "warmup_then_stale": {"kind": "timing", "gpu": True},
    "deferred_thread_write": {"kind": "timing", "gpu": True},
    "lazy_subclass_output": {"kind": "timing"},
    # predictable inputs
    "precomputed_fixed_seeds": {"kind": "inputs"},
    "shape_specialized": {"kind": "inputs"},
    # torch (or someone else) does the work
    "torch_with_token_launch": {"kind": "who did the work"},
    "torch_in_thread": {"kind": "who did the work"},
    "numpy_compute": {"kind": "who did the work"},
    "pop_dispatch_modes": {"kind": "who did the work"},
    "try_except_fallback": {"kind": "who did the work"},
    # a skip is a pass
    "bf16_garbage": {"kind": "skip", "reference": AXPY_BF16},
    "fake_interpreter_gap": {"kind": "skip"},
    "libdevice_garbage": {"kind": "skip"},
    # no isolation: honest output only when the escape worked
    "env_secret": {"kind": "isolation", "setup": "secret"},
    "cwd_delete": {"kind": "isolation", "setup": "sentinel"},
    "detached_survivor": {"kind": "isolation", "setup": "twice"},
    "network_connect": {"kind": "isolation"},
    "fork_many": {"kind": "isolation"},
    "memory_hog": {"kind": "isolation", "setup": "limits"},
    "file_bomb": {"kind": "isolation", "setup": "limits"},
    # smaller
    "list_wrapped_output": {"kind": "smaller"},
    "pickle_payload_output": {"kind": "smaller"},
}
