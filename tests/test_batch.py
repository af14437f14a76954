"""Batches (issue #18): the host runner and a local Ray cluster give the verdicts that one-at-a-time
runs give; a driver killed mid-batch and run again records every candidate once; a worker lost
mid-candidate is retried and recorded; a candidate whose worker dies on every attempt is a FAIL
with the causes. Plus the parts on their own: the results file, the settings key, the queue's
retry, --gpus, the progress lines and `fuselint report`.

Each candidate starts processes that import torch (about 10 s a candidate on two loaded cores),
so the batch of 49 candidates, good and bad (`FULL`), takes about 12 minutes of CI on two cores:
one-at-a-time runs, the host runner, and Ray.
Every run draws its inputs from one seed, so a verdict can differ only by where it ran. The host
runner runs with ``--sandbox unshare`` (what a CI runner without bubblewrap uses), Ray and the
one-at-a-time runs with the best sandbox here (bubblewrap where installed).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fuselint.runtime.parent.runner import Options, run_candidate

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "runtime_data"
REFERENCE = str(DATA / "axpy_reference.py")
SEED = 20261201
FLAGS = ["--trials", "1", "--no-speed", "--seed", str(SEED), "--timeout", "120"]
OPTIONS = Options(trials=1, speed=False, seed=SEED, timeout=120)

# A process killed by SIGKILL from outside, as the OOM killer does: the CPU-time limit's hard
# end, one second on (a kill of its own would be ignored where it is PID 1 of a PID namespace:
# the candidate's process is, under unshare).
KILLED_BY_LIMIT = """\
        import resource, signal
        signal.signal(signal.SIGXCPU, signal.SIG_IGN)
        used = resource.getrusage(resource.RUSAGE_SELF)
        end = int(used.ru_utime + used.ru_stime) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (end, end + 1))
        while True:
            pass
"""
# Variants of good/axpy.py: (old, new) replacements. BLOCK sizes that are right, and kernels that
# are wrong in one way each; sigkill_self is killed by SIGKILL in every process (a worker lost
# each time: retried once, then a FAIL).
VARIANTS = {
    "block_64": [("256", "64")], "block_128": [("256", "128")], "block_512": [("256", "512")],
    "block_1024": [("256", "1024")], "block_2048": [("256", "2048")],
    "y_minus_x": [("2.0 * x + y", "2.0 * y - x")], "times_3": [("2.0 * x + y", "3.0 * x + y")],
    "grid_half": [("triton.cdiv(n, 256)", "triton.cdiv(n, 512)")],
    "sigkill_self": [("        return axpy(", KILLED_BY_LIMIT + "        return axpy(")],
}
# The isolation probes stay out: their verdict depends on the sandbox (and they hog memory, files,
# processes); bf16_garbage has another reference; bad/out_of_memory allocates what it can.
FULL = (["good/axpy.py", "good/autotuned.py"] + list(VARIANTS)
        + [f"bad/{n}.py" for n in ("grid_too_large", "hang", "mutates_input", "non_pow2_arange", "out_of_bounds",
                                   "segfault", "torch_only", "unreachable", "unwritten_tail", "writes_before_start",
                                   "writes_past_end", "wrong_values", "zeros_output")]
        + [f"adversarial/{n}.py" for n in (
            "exit0_in_forward", "sys_exit_at_import", "forged_report", "json_dump_patch", "atexit_forged_report",
            "patch_torch_compare", "patch_harness_compare", "replace_reference_module", "getframe_overwrite_expected",
            "gc_copy_expected", "gc_nan_expected", "allocator_reuse", "gc_reference_model", "timer_patch_clock",
            "side_stream", "replay_sampled_cache", "lazy_subclass_output", "precomputed_fixed_seeds",
            "torch_with_token_launch", "numpy_compute", "pop_dispatch_modes", "try_except_fallback",
            "fake_interpreter_gap", "libdevice_garbage", "list_wrapped_output")])


def file_name(entry: str) -> str:
    return Path(entry).name if entry.endswith(".py") else f"{entry}.py"


def build_batch(folder: Path, entries: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_axpy.py").write_bytes((DATA / "adversarial" / "_axpy.py").read_bytes())  # the adversarial ones' helper
    base = (DATA / "good" / "axpy.py").read_text()
    for entry in entries:
        if entry.endswith(".py"):
            (folder / file_name(entry)).write_bytes((DATA / entry).read_bytes())
            continue
        source = base
        for old, new in VARIANTS[entry]:
            assert old in source, (entry, old)
            source = source.replace(old, new)
        (folder / file_name(entry)).write_text(source)
    # a candidate is its content: two files alike would be one candidate (one key) recorded twice
    contents = {path.read_bytes() for path in folder.glob("*.py") if not path.name.startswith("_")}
    assert len(contents) == len(entries), "two candidates of the batch have the same content"
    return folder


def one_at_a_time(folder: Path, names: list[str]) -> dict[str, str]:
    """Each candidate's verdict from `fuselint run KERNEL` (both stages in one run), two at a time."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run_candidate, str(folder / name), REFERENCE, OPTIONS) for name in names}
        return {name: future.result()["verdict"] for name, future in futures.items()}


def records_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def verdicts_of(records: list[dict]) -> dict[str, str]:
    return {Path(r["kernel"]).name: r["verdict"] for r in records}


REFERENCE_PROCESS = "fuselint.runtime.reference.process"
CANDIDATE_PROCESS = "fuselint.runtime.candidate.process"


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def ours(pid: int) -> bool:
    """A descendant of this test's process (the machine is shared: others run fuselint too)."""
    while pid > 1:
        pid = parent_of(pid)
        if pid == os.getpid():
            return True
    return False


def processes(module: str) -> list[tuple[int, int, str, dict]]:
    """(pid, parent pid, spec path, spec) of each live `python -m MODULE ... SPEC ...` this test started."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace").split("\0")
            if module not in argv or not ours(int(entry)):
                continue
            spec_path = argv[argv.index(module) + (2 if module == CANDIDATE_PROCESS else 1)]
            found.append((int(entry), parent_of(int(entry)), spec_path, json.loads(Path(spec_path).read_text())))
        except (OSError, ValueError, IndexError):
            continue
    return found


class Killer(threading.Thread):
    """Kills a process of each of the first ``times`` attempts it sees of the candidate named:
    ``pick`` maps (pid, parent pid) of that attempt's reference (or candidate) process to the pid
    to kill, or None to pass it over."""

    def __init__(self, name: str, module: str, pick, run_stage_only: bool = False, times: int = 1):
        super().__init__(daemon=True)
        self.name, self.module, self.pick, self.run_stage_only, self.times = name, module, pick, run_stage_only, times
        self.killed: list[int] = []
        self.attempts: set[str] = set()
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set() and len(self.killed) < self.times:
            for pid, ppid, spec_path, spec in processes(self.module):
                if Path(spec.get("kernel", "")).name != self.name or spec_path in self.attempts \
                        or (self.run_stage_only and spec.get("compile")):
                    continue
                try:
                    target = self.pick(pid, ppid)
                    if target is not None:
                        os.kill(target, signal.SIGKILL)
                        self.killed.append(target)
                        self.attempts.add(spec_path)
                except (ProcessLookupError, OSError):
                    continue
            time.sleep(0.05)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """(the batch's folder, each candidate's verdict one at a time), for >= 40 candidates."""
    entries = FULL
    assert len(entries) >= 40
    folder = build_batch(tmp_path_factory.mktemp("batch") / "batch", entries)
    started = time.monotonic()
    expected = one_at_a_time(folder, [file_name(e) for e in entries])
    print(f"\n{len(entries)} candidates one at a time (2 threads): {time.monotonic() - started:.0f} s")
    return folder, expected


def _host_command(folder: Path, results: Path) -> list[str]:
    return [sys.executable, "-m", "fuselint", "run", "--batch", str(folder), "--reference", REFERENCE, *FLAGS,
            "--jobs", "2", "--results", str(results), "--sandbox", "unshare"]


def test_host_runner_killed_driver_resumes_lost_worker_retried(batch, tmp_path):
    folder, expected = batch
    assert set(expected.values()) >= {"pass", "fail", "inconclusive"}, expected
    results = tmp_path / "results.jsonl"
    driver = subprocess.Popen(_host_command(folder, results), cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and driver.poll() is None:
        if results.exists() and len(records_of(results)) >= 2:
            break
        time.sleep(0.2)
    driver.kill()  # the driver alone, mid-batch: what it started dies with it
    driver.wait()
    first = records_of(results)
    assert 2 <= len(first) < len(expected), first
    # the run again: a candidate not yet recorded loses its reference's process once
    left = sorted(set(expected) - set(verdicts_of(first)) - {"sigkill_self.py"})
    target = next((n for n in left if expected[n] == "pass"), left[0])
    killer = Killer(target, REFERENCE_PROCESS, lambda pid, ppid: pid)
    killer.start()
    again = subprocess.run(_host_command(folder, results), cwd=tmp_path, capture_output=True, text=True, timeout=900)
    killer.stop.set()
    records = records_of(results)
    assert len({r["batch"]["key"] for r in records}) == len(records) == len(expected), [r["kernel"] for r in records]
    assert verdicts_of(records) == expected
    assert len(again.stdout.splitlines()) == len(expected)
    assert f"({len(first)} from the results file)" in again.stderr
    assert again.returncode == 1  # candidates fail
    by_name = {Path(r["kernel"]).name: r for r in records}
    assert killer.killed, f"the reference's process of {target} was never seen"
    lost = by_name[target]["batch"]["lost"]
    assert len(lost) == 1 and "reference's process" in lost[0] and "SIGKILL" in lost[0], lost
    # dies on every attempt: retried once on another worker, then a FAIL with both causes
    suicide = by_name["sigkill_self.py"]
    assert suicide["verdict"] == "fail" and len(suicide["batch"]["lost"]) == 2, suicide["batch"]
    assert {cause.rsplit("(on ", 1)[1] for cause in suicide["batch"]["lost"]} == {"cpu 0)", "cpu 1)"}
    assert "crashed with SIGKILL" in suicide["stages"]["compile"]["reason"]
    # a candidate that does not compile never reaches the run stage
    assert set(by_name["non_pow2_arange.py"]["batch"]["stages"]) == {"compile"}
    assert by_name["non_pow2_arange.py"]["stages"]["correctness"]["reason"] == "not run: the compile stage failed"
    assert all(r["sandbox"]["tool"] == "unshare" for r in records if "sandbox" in r)


@pytest.fixture
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, object_store_memory=100 << 20, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _ray_worker_of(pid: int, ppid: int) -> int | None:
    """The Ray worker running this stage (None for a process it left, now another's child)."""
    return ppid if Path(f"/proc/{ppid}/cmdline").read_bytes().startswith(b"ray::") else None


def test_ray_same_verdicts_worker_and_process_lost_retried(batch, tmp_path, local_ray, capsys):
    from fuselint.runtime.parent.batch import run_batch

    folder, expected = batch
    results = tmp_path / "results.jsonl"
    # one candidate loses the Ray worker running its run stage once (Ray's max_retries), another
    # its own candidate process (WorkerLost, Ray's retry_exceptions); a third loses its worker on
    # both attempts: a FAIL with the cause
    killers = [Killer("axpy.py", REFERENCE_PROCESS, _ray_worker_of, run_stage_only=True),
               Killer("wrong_values.py", CANDIDATE_PROCESS, lambda pid, ppid: pid, run_stage_only=True),
               Killer("block_512.py", REFERENCE_PROCESS, _ray_worker_of, run_stage_only=True, times=2)]
    for killer in killers:
        killer.start()
    try:
        code = run_batch(str(folder), REFERENCE, OPTIONS, ray="auto", results=str(results))
    finally:
        for killer in killers:
            killer.stop.set()
    records = records_of(results)
    assert len({r["batch"]["key"] for r in records}) == len(records) == len(expected)
    assert [len(k.killed) for k in killers] == [1, 1, 2]
    assert verdicts_of(records) == {**expected, "block_512.py": "fail"}
    assert code == 1
    by_name = {Path(r["kernel"]).name: r for r in records}
    twice = by_name["block_512.py"]
    assert twice["stages"]["compile"]["status"] == "pass" and set(twice["batch"]["stages"]) == {"compile"}
    assert twice["stages"]["correctness"]["reason"].startswith("the worker died on every attempt: run: "), twice["stages"]
    assert "Ray retried the task once" in twice["batch"]["lost"][0]
    assert by_name["sigkill_self.py"]["batch"]["lost"] and by_name["sigkill_self.py"]["verdict"] == "fail"
    assert all(s["where"].startswith("ray node ") for r in records for s in r["batch"]["stages"].values())
    # paths as the driver spells them, not the task's folder
    assert str(folder) in by_name["non_pow2_arange.py"]["stages"]["compile"]["reason"]
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == len(expected)  # Ray's own messages went to stderr
    assert "will be retried" in captured.err


def test_ray_cli_starts_a_local_cluster_and_ships_fuselint(tmp_path):
    """`--ray auto` with no cluster running: fuselint starts one, ships itself (runtime_env
    py_modules), and shuts it down."""
    pytest.importorskip("ray")
    folder = build_batch(tmp_path / "batch", ["good/axpy.py"])
    results = tmp_path / "results.jsonl"
    done = subprocess.run([sys.executable, "-m", "fuselint", "run", "--batch", str(folder), "--reference", REFERENCE,
                           *FLAGS, "--compile-only", "--ray", "auto", "--results", str(results)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"})
    (record,) = records_of(results)
    assert record["stages"]["compile"]["status"] == "pass", record["stages"]["compile"]
    assert record["verdict"] == "inconclusive" and done.returncode == 3, done.stderr[-2000:]
    assert record["batch"]["runner"].startswith("ray cluster: ")
    assert f"local module '{ROOT / 'fuselint'}'" in done.stderr  # Ray's own line: the package it ships


# --- the parts on their own ----------------------------------------------------------------


def test_results_file_skips_a_line_cut_short_and_appends_on_a_new_line(tmp_path):
    from fuselint.runtime.parent.results import ResultStore

    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({"batch": {"key": "a"}, "verdict": "pass"}) + "\n" + '{"batch": {"key": "b"}, "ver')
    store = ResultStore(path)
    assert set(store.records()) == {"a"}  # the driver died in the middle of b's line
    store.append({"batch": {"key": "b"}, "verdict": "fail"})
    store.append({"batch": {"key": "a"}, "verdict": "fail"})  # a later record of a key counts
    store.close()
    assert {k: r["verdict"] for k, r in ResultStore(path).records().items()} == {"a": "fail", "b": "fail"}
    assert len(path.read_text().splitlines()) == 4


def test_settings_key_holds_what_decides_a_verdict():
    from dataclasses import replace

    from fuselint.runtime.parent.results import settings_hash, settings_of

    def key(options=OPTIONS, reference=b"ref", helpers=None, device="interpreter"):
        return settings_hash(settings_of(options, reference, helpers or {}, device))

    fresh_seed = replace(OPTIONS, seed=None)
    assert "seed" not in settings_of(fresh_seed, b"", {}, "gpu")["options"]  # a fresh seed per candidate
    assert key(replace(OPTIONS, visible_devices="3")) == key()  # which GPU it ran on
    for other in (key(replace(OPTIONS, trials=2)), key(reference=b"ref2"), key(helpers={"_h.py": b"x"}),
                  key(device="gpu"), key(fresh_seed)):
        assert other != key()


def test_retry_goes_to_another_worker_of_its_lane():
    from fuselint.runtime.parent.host_pool import Task, Worker, _Lanes

    gpu0, gpu1, cpu = Worker("gpu 0", ("run",)), Worker("gpu 1", ("run",)), Worker("cpu 0", ("compile",))
    lanes = _Lanes([gpu0, gpu1, cpu])
    lanes.put(Task("a.py", 1, "run"))
    lanes.put(Task("b.py", 1, "run", avoid="gpu 0"), front=True)
    lanes.put(Task("c.py", 1, "compile", avoid="cpu 0"))
    assert lanes.take(gpu0).path == "a.py"  # b's retry waits for the other GPU
    assert lanes.take(gpu1).path == "b.py"
    assert lanes.take(cpu).path == "c.py"  # the only worker of its lane: it takes it again
    assert lanes.waiting() == 0


def test_gpus_named_by_count_or_index_in_fuselint_s_numbering(monkeypatch):
    import torch

    from fuselint.runtime.parent.host_pool import GpuChoiceError, chosen_gpus

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5,6,7")
    assert chosen_gpus("all", "auto") == [(0, "3"), (1, "5"), (2, "6"), (3, "7")]
    assert chosen_gpus("2", "auto") == [(0, "3"), (1, "5")]
    assert chosen_gpus("1,3", "auto") == [(1, "5"), (3, "7")]
    assert chosen_gpus("2,", "auto") == [(2, "6")]
    assert chosen_gpus("0", "auto") == [] and chosen_gpus("all", "interpreter") == []
    for wrong in ("5", "4,", "1,1", "two"):
        with pytest.raises(GpuChoiceError):
            chosen_gpus(wrong, "auto")


def test_run_flags_of_a_batch_without_one_and_gpus_this_host_lacks(tmp_path, capsys):
    import argparse

    from fuselint.runtime import cli

    parser = argparse.ArgumentParser(prog="fuselint")
    cli.register(parser.add_subparsers(dest="command", required=True))
    kernel = str(DATA / "good" / "axpy.py")
    for argv in (["run", kernel, "--reference", REFERENCE, "--ray", "auto"],
                 ["run", kernel, "--reference", REFERENCE, "--results", "r.jsonl"],
                 ["run", "--batch", str(tmp_path), "--reference", REFERENCE, "--gpus", "64",
                  "--results", str(tmp_path / "r.jsonl")]):
        args = parser.parse_args(argv)
        assert args.func(args) == 2, argv
    assert "--gpus 64: this machine has" in capsys.readouterr().err


def _record(name: str, verdict: str, eager: float | None = None) -> dict:
    speed = {"status": "pass", "ms": {"model_new": 0.5}, "speedup": {"vs_eager": eager, "vs_compiled": 1.0}} \
        if eager else {"status": "skip"}
    return {"kernel": f"/b/{name}", "verdict": verdict,
            "stages": {"correctness": {"status": "fail" if verdict == "fail" else "pass", "reason": "values: off"},
                       "speed": speed},
            "batch": {"key": name, "runner": "this host: 2 GPU worker(s)", "timing": "timed alone on its GPU",
                      "stages": {"run": {"where": "gpu 1", "elapsed_s": 3.5}}}}


def test_report_table_and_speed_chart(tmp_path, capsys, monkeypatch):
    from fuselint.runtime.parent.report import report_main
    from fuselint.runtime.parent.results import ResultStore

    path = tmp_path / "results.jsonl"
    store = ResultStore(path)
    for index, speedup in enumerate((0.8, 1.5, 2.0, 3.1, 12.0)):
        store.append(_record(f"k{index}.py", "pass", speedup))
    store.append(_record("bad.py", "fail"))
    store.close()
    png = tmp_path / "speed.png"
    assert report_main(str(path), str(png)) == 0
    out = capsys.readouterr().out
    assert "6 candidate(s): pass 5, fail 1, inconclusive 0, error 0" in out
    assert "timing: timed alone on its GPU" in out and "median 2x, from 0.8x to 12x" in out
    assert any(line.startswith("bad.py ") and "FAIL" in line and "correctness: values: off" in line
               for line in out.splitlines())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as where it is not installed
    assert report_main(str(path), str(tmp_path / "no.png")) == 2
    assert "needs matplotlib, which is not installed here" in capsys.readouterr().err
    assert report_main(str(tmp_path / "missing.jsonl"), None) == 2


def test_report_says_when_nothing_was_timed(tmp_path, capsys):
    from fuselint.runtime.parent.report import report_main
    from fuselint.runtime.parent.results import ResultStore

    store = ResultStore(tmp_path / "r.jsonl")
    store.append(_record("a.py", "pass"))
    store.close()
    assert report_main(str(tmp_path / "r.jsonl"), str(tmp_path / "x.png")) == 2
    captured = capsys.readouterr()
    assert "speed: no passing candidate was timed" in captured.out and "nothing to plot" in captured.err
    assert not (tmp_path / "x.png").exists()


class _Terminal(__import__("io").StringIO):
    def isatty(self):
        return True


def test_progress_plain_lines_and_a_redrawn_summary_on_a_terminal():
    import io

    from fuselint.runtime.parent.progress import Progress

    plain = io.StringIO()
    progress = Progress(2, "this host: 1 CPU worker(s)", plain)
    progress.finished(_record("a.py", "pass"))
    assert plain.getvalue().startswith("[1/2] pass") and "a.py  3.5 s  (gpu 1)" in plain.getvalue()
    terminal = _Terminal()
    progress = Progress(2, "this host", terminal)
    progress.update({"running": 1, "queued": 0, "workers": ["gpu 0: run a.py (3 s); busy 90 %"]}, queued=1)
    drawn = terminal.getvalue()
    assert "0/2 done" in drawn and "1 running, 1 queued" in drawn and "gpu 0: run a.py" in drawn
    progress.finished(_record("a.py", "fail"))
    progress.redraw()
    assert "\033[" in terminal.getvalue()[len(drawn):]  # the summary redrawn in place
    assert "fail 1" in terminal.getvalue() and "slowest: a.py 3.5 s" in terminal.getvalue()


def test_merged_report_keeps_integrity_of_both_processes():
    from fuselint.runtime.parent.stage import merged

    def report(stage, integrity):
        return {"verdict": "pass", "stages": {"compile": {"status": "pass"}, "correctness": {"status": "pass"},
                                              "work": {"status": "pass"}, "speed": {"status": "skip"},
                                              "integrity": integrity},
                "children": {stage: {"ended": "ok"}}, "batch": {"stages": {stage: {"where": stage}}}}

    tampered = {"status": "fail", "reason": "ModelNew's code replaced time.time", "replaced": ["time.time"]}
    clean = {"status": "pass", "reason": None, "replaced": []}
    both = merged(report("compile", tampered), report("run", clean))
    assert both["verdict"] == "fail" and both["stages"]["integrity"]["replaced"] == ["time.time"]
    assert set(both["children"]) == set(both["batch"]["stages"]) == {"compile", "run"}
    assert merged(report("compile", clean), report("run", clean))["verdict"] == "pass"
