"""The adversarial suite (tests/runtime_data/adversarial, issue #15): every candidate that cheats
ends in anything but PASS, for the reason its cheat calls for; the honest cases still PASS.

The candidates run as in real use (the reference's process, the candidate's in the sandbox),
two at a time, each from a copy of the suite in a temporary folder. The isolation probes compute
honestly only when their escape worked (a secret in reach, a file deleted in the caller's
folder, a process left from an earlier run, the host's loopback, 300 processes, 3 GiB, a
100 MiB file), so a PASS there would mean the sandbox leaked; their side effects are checked
too. Timing cheats are caught here by what they do to get there; on a GPU by the timing checks
(benchmarks/runtime_gpu_check.py).
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import signal
import socket
from pathlib import Path

import pytest

from fuselint.runtime.parent.runner import Options, run_candidate

pytest.importorskip("torch")
DATA = Path(__file__).parent / "runtime_data"
SUITE_DIR = DATA / "adversarial"
NAMESPACE: dict = {}
exec((SUITE_DIR / "_suite.py").read_text(), NAMESPACE)
SUITE = NAMESPACE["SUITE"]
OPTIONS = Options(trials=3, children=("run",), speed=False, timeout=300)
LIMITED = Options(trials=3, children=("run",), speed=False, timeout=300, memory_limit_gib=2, file_size_limit_mib=64)

# What catches each candidate: "stage: words in that stage's reason" (the stage fails, or for a
# skip that would have passed, is inconclusive).
CAUGHT = {
    "exit0_in_forward": "correctness: exited with code 0",
    "sys_exit_at_import": "correctness: SystemExit: 0",
    "forged_report": "correctness: exited with code 0",
    "json_dump_patch": "correctness: values",
    "atexit_forged_report": "correctness: values",
    "patch_torch_compare": "integrity: replaced torch.allclose",
    "patch_harness_compare": "correctness: ",
    "replace_reference_module": "correctness: values",
    "getframe_overwrite_expected": "correctness: values",
    "gc_copy_expected": "correctness: ",
    "gc_nan_expected": "correctness: finite",
    "allocator_reuse": "correctness: unwritten",
    "gc_reference_model": "correctness: values",
    "timer_patch_do_bench": "integrity: replaced triton.testing.do_bench",
    "timer_patch_event": "integrity: replaced torch.cuda.Event.elapsed_time",
    "timer_patch_clock": "integrity: replaced time.perf_counter",
    "timer_patch_harness": "integrity: fuselint.runtime.common.timing.timed_calls",
    "side_stream": "correctness: RuntimeError",
    "replay_sampled_cache": "correctness: replay",
    "replay_pointer_cache": "correctness: ",
    "warmup_then_stale": "correctness: repeat",
    "deferred_thread_write": "correctness: unwritten",
    "lazy_subclass_output": "correctness: a subclass of torch.Tensor",
    "precomputed_fixed_seeds": "correctness: values",
    "shape_specialized": "correctness: ",
    "torch_with_token_launch": "work: torch computed the output: ",
    "torch_in_thread": "work: with every Triton launch skipped",
    "numpy_compute": "work: with every Triton launch skipped",
    "pop_dispatch_modes": "work: with every Triton launch skipped",
    "try_except_fallback": "work: ",
    "bf16_garbage": "correctness: bfloat16 under the Triton interpreter",
    "fake_interpreter_gap": "correctness: RuntimeError: libdevice",
    "libdevice_garbage": "correctness: the Triton interpreter cannot run this kernel",
    "env_secret": "correctness: values",
    "cwd_delete": "correctness: values",
    "detached_survivor": "correctness: values",
    "network_connect": "correctness: values",
    "fork_many": "correctness: values",
    "memory_hog": "correctness: values",
    "file_bomb": "correctness: values",
    "list_wrapped_output": "correctness: structure: ModelNew returned a list of 1 tensor where the reference returns a tensor",
    "pickle_payload_output": "correctness: a subclass of torch.Tensor",
}
EXPECTED_VERDICT = {"bf16_garbage": "inconclusive", "libdevice_garbage": "inconclusive"}


def _run(name: str, work: Path, secret_env: dict) -> dict:
    entry = SUITE[name]
    reference = str(DATA / entry.get("reference", NAMESPACE["AXPY"]))
    kernel = str(work / "adversarial" / f"{name}.py")
    options = LIMITED if entry.get("setup") == "limits" else OPTIONS
    if entry.get("setup") == "twice":
        run_candidate(kernel, reference, options)
    return run_candidate(kernel, reference, options)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    work = tmp_path_factory.mktemp("adversarial")
    shutil.copytree(SUITE_DIR, work / "adversarial")
    caller = work / "caller"
    caller.mkdir()
    (caller / "sentinel.txt").write_text("keep me\n")
    server = socket.create_server(("127.0.0.1", 0))
    server.listen(8)
    (work / "adversarial" / "network_connect.port").write_text(str(server.getsockname()[1]))
    secret = {"FUSELINT_PROBE_API_TOKEN": "not-a-real-secret"}
    saved_cwd, saved_env = os.getcwd(), dict(os.environ)
    os.chdir(caller)
    os.environ.update(secret)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            futures = {name: pool.submit(_run, name, work, secret) for name in SUITE}
            results = {name: future.result() for name, future in futures.items()}
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        server.close()
        for pid in sleepers_of(work / "adversarial" / "detached_survivor.pid"):
            os.kill(pid, signal.SIGKILL)
    return {"reports": results, "work": work, "caller": caller}


def sleepers_of(pid_file: Path) -> list[int]:
    """Live processes planted by detached_survivor.py for this pid file (it is on their command line)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and str(pid_file).encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
        except OSError:
            continue
    return found


def _deciding_reason(report: dict) -> str:
    for status in ("fail", "inconclusive"):
        for name, stage in report["stages"].items():
            if stage["status"] == status:
                return f"{name}: {stage['reason']}"
    return "every stage passed"


def test_the_suite_is_large_and_every_candidate_has_its_expectation():
    assert len(SUITE) >= 35 and set(CAUGHT) == set(SUITE)


@pytest.mark.parametrize("name", list(SUITE))
def test_no_cheat_passes(reports, name):
    report = reports["reports"][name]
    assert report["verdict"] == EXPECTED_VERDICT.get(name, "fail"), _deciding_reason(report)
    stage, _, words = CAUGHT[name].partition(": ")
    caught = report["stages"][stage]
    assert caught["status"] in ("fail", "inconclusive") and words in caught["reason"], (stage, caught.get("reason"))


def test_isolation_side_effects_did_not_happen(reports):
    work = reports["work"]
    assert (reports["caller"] / "sentinel.txt").exists()  # cwd_delete ran elsewhere
    assert not (work / "adversarial" / "pickle_payload_output.marker").exists()  # nothing was unpickled
    assert not sleepers_of(work / "adversarial" / "detached_survivor.pid")
    box = reports["reports"]["env_secret"]["sandbox"]
    assert box["tool"] in ("bwrap", "unshare", "none")


@pytest.mark.parametrize("kernel, reference", [
    ("good/axpy.py", "axpy_reference.py"),
    ("good/autotuned.py", "axpy_reference.py"),
    ("../../examples/rope.py", "rope_reference_fp32.py"),
])
def test_honest_candidates_still_pass(kernel, reference):
    report = run_candidate(str(DATA / kernel), str(DATA / reference), OPTIONS)
    assert report["verdict"] == "pass", _deciding_reason(report)


def _tools() -> list[str]:
    from fuselint.runtime.parent.sandbox import choose_tool

    return [tool for tool in ("bwrap", "unshare") if choose_tool(False, tool)[0] == tool] + ["none"]


@pytest.mark.parametrize("tool", _tools())
def test_every_sandbox_kills_what_the_candidate_leaves(tmp_path, tool):
    """A sleeper planted in a session of its own (double fork) does not outlive the run, with
    namespaces (their first process's end kills the rest) or without (cgroups, the subreaper's
    sweep)."""
    shutil.copytree(SUITE_DIR, tmp_path / "adversarial")
    kernel = str(tmp_path / "adversarial" / "detached_survivor.py")
    options = Options(trials=1, children=("run",), speed=False, timeout=300, sandbox=tool)
    first = run_candidate(kernel, str(DATA / "axpy_reference.py"), options)
    assert first["sandbox"]["tool"] == tool
    assert not sleepers_of(tmp_path / "adversarial" / "detached_survivor.pid"), "the sleeper outlived the run"
    second = run_candidate(kernel, str(DATA / "axpy_reference.py"), options)
    assert second["verdict"] == "fail", _deciding_reason(second)
