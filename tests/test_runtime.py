"""The runtime (`fuselint run`): each check caught by a kernel built to fail it.

Every candidate runs in its own processes, as in real use (the reference's, the candidate's in
the sandbox); on a machine without a GPU (CI) correctness runs under Triton's interpreter and
speed is not measured. The adversarial suite is tests/test_runtime_adversarial.py.
"""

from __future__ import annotations

import argparse
import os
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fuselint.runtime import cli
from fuselint.runtime.parent.runner import Options, RunError, run_candidate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "runtime_data"
AXPY_REF = str(DATA / "axpy_reference.py")
AXPY16_REF = str(DATA / "axpy_reference_fp16.py")
RUN_ONLY = Options(trials=2, children=("run",), timeout=120, speed=False)
COMPILE_ONLY = Options(children=("compile",), timeout=300)
HAS_GPU = pytest.importorskip("torch").cuda.is_available()


def checks_of(report: dict) -> set[str]:
    return {p["check"] for p in report["stages"]["correctness"]["problems"]}


def test_cli_module_imports_nothing_heavy():
    code = "import sys, fuselint.runtime.cli; sys.exit(int(any(m in sys.modules for m in ('torch', 'triton'))))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def _parser():
    parser = argparse.ArgumentParser(prog="fuselint")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser


def test_parsers_registered_with_their_commands():
    args = _parser().parse_args(["run", "k.py", "--reference", "r.py", "--target", "sm_90", "--jobs", "3"])
    assert args.func is cli.run_command and args.target == "sm_90" and args.jobs == 3
    args = _parser().parse_args(["confirm", "k.py", "--reference", "r.py"])
    assert args.func is cli.confirm_command


@pytest.mark.parametrize("argv", [
    ["run", "missing.py", "--reference", AXPY_REF],
    ["run", str(DATA / "good" / "axpy.py"), "--reference", "missing_ref.py"],
    ["run", str(DATA / "good" / "axpy.py"), "--reference", AXPY_REF, "--batch", str(DATA / "bad")],
    ["run", str(DATA / "good" / "axpy.py"), "--reference", AXPY_REF, "--target", "ampere"],
    ["run", str(DATA / "good" / "axpy.py"), "--reference", AXPY_REF, "--dims", "ROWS=two"],
])
def test_usage_errors_exit_2(argv):
    args = _parser().parse_args(argv)
    assert args.func(args) == 2


def test_usage_error_exit_2_from_argparse():
    with pytest.raises(SystemExit) as leaving:
        _parser().parse_args(["run", "k.py"])  # --reference is required
    assert leaving.value.code == 2


# --- stage 1: compile for sm_89 on a machine without a GPU --------------------------------


def test_compile_rope_example_for_sm89():
    report = run_candidate(str(ROOT / "examples" / "rope.py"), str(ROOT / "examples" / "rope_reference.py"), COMPILE_ONLY)
    stage = report["stages"]["compile"]
    assert stage["status"] == "pass", stage
    (kernel,) = stage["kernels"]
    assert kernel["name"] == "rope_kernel" and kernel["status"] == "compiled" and kernel["launches"] == 1
    variant = kernel["variants"][0]
    # Derived from the real (full-size) arguments: bf16 pointers, head_dim 128 -> BLOCK_HALF 64.
    assert variant["signature"]["q_ptr"] == "*bf16" and variant["constexprs"]["BLOCK_HALF"] == 64
    assert variant["num_warps"] == 4 and variant["registers"] > 0 and "spill_stores" in variant


def test_compile_house_kernel_that_asserts_is_cuda(house_kernel_file):
    report = run_candidate(str(house_kernel_file), str(ROOT / "examples" / "rope_reference.py"), COMPILE_ONLY)
    stage = report["stages"]["compile"]
    assert stage["status"] == "pass", stage
    assert stage["kernels"][0]["name"] == "rope_kernel_inplace"
    assert stage["reached_via"] == ("cuda tensors" if HAS_GPU else "cpu tensors posing as cuda (no GPU here)")


def test_compile_error_non_power_of_two_arange_with_file_and_line():
    report = run_candidate(str(DATA / "bad" / "non_pow2_arange.py"), AXPY_REF, COMPILE_ONLY)
    stage = report["stages"]["compile"]
    assert stage["status"] == "fail"
    (error,) = stage["kernels"][0]["errors"]
    assert "power of 2" in error["message"]
    assert error["file"].endswith("non_pow2_arange.py") and error["line"] == 9  # the tl.arange line
    assert report["verdict"] == "fail"


def test_grid_beyond_cuda_limits_is_a_launch_error():
    report = run_candidate(str(DATA / "bad" / "grid_too_large.py"), AXPY_REF, COMPILE_ONLY)
    stage = report["stages"]["compile"]
    assert stage["status"] == "fail"
    assert stage["kernels"][0]["launch_errors"] == ["grid axis 1 is 70000: CUDA launches need 1..65535"]


def test_compile_every_autotune_config_and_check_them_in_turn():
    report = run_candidate(str(DATA / "good" / "autotuned.py"), AXPY_REF, Options(trials=2, timeout=300, speed=False))
    (kernel,) = report["stages"]["compile"]["kernels"]
    assert kernel["launches"] == 1
    assert [(v["constexprs"]["BLOCK"], v["num_warps"], v["grid"][0]) for v in kernel["variants"]] == [(128, 2, 32), (512, 4, 8)]
    assert report["verdict"] == "pass", report["stages"]
    if not HAS_GPU:
        assert any("trial t ran config t mod N" in n for n in report["stages"]["correctness"]["notes"])


@pytest.mark.skipif(HAS_GPU, reason="the kernel is reachable where CUDA streams exist")
def test_compile_says_when_a_kernel_cannot_be_reached():
    report = run_candidate(str(DATA / "bad" / "unreachable.py"), AXPY_REF, COMPILE_ONLY)
    stage = report["stages"]["compile"]
    assert stage["status"] == "fail" and "no kernel reached" in stage["reason"]
    assert "unreachable.py:18" in stage["reason"]
    assert stage["kernels"] == [{"name": "axpy_kernel", "file": str(DATA / "bad" / "unreachable.py"), "line": 8,
                                 "status": "not_reached", "launches": 0, "variants": []}]


# --- stages 2 and 4: correctness under the interpreter ------------------------------------


@pytest.mark.parametrize("reference", [AXPY_REF, AXPY16_REF], ids=["fp32", "fp16"])
def test_good_kernel_passes(reference):
    report = run_candidate(str(DATA / "good" / "axpy.py"), reference, RUN_ONLY)
    assert report["stages"]["correctness"]["status"] == "pass", report["stages"]["correctness"]
    work = report["stages"]["work"]
    assert (work["status"], work["count"], work["kernels"], work["computed"]) == ("pass", 1, {"axpy_kernel": 1}, {})
    assert report["stages"]["integrity"]["status"] == "pass"
    assert report["verdict"] == "pass"


@pytest.mark.parametrize("kernel, reference, check", [
    ("wrong_values", AXPY_REF, "values"),
    ("wrong_values", AXPY16_REF, "values"),
    ("mutates_input", AXPY_REF, "mutation"),
])
def test_wrong_kernel_caught_by_its_check(kernel, reference, check):
    report = run_candidate(str(DATA / "bad" / f"{kernel}.py"), reference, RUN_ONLY)
    stage = report["stages"]["correctness"]
    assert stage["status"] == "fail"
    assert stage["reason"].startswith(check), stage["reason"]
    assert check in checks_of(report)
    assert report["verdict"] == "fail"


def test_zeros_pass_allclose_but_not_the_magnitude_check():
    report = run_candidate(str(DATA / "bad" / "zeros_output.py"), str(DATA / "tiny_reference.py"), RUN_ONLY)
    assert checks_of(report) == {"magnitude"}  # the values check alone would have passed it
    assert report["stages"]["correctness"]["reason"].startswith("magnitude: output 0 output is constant")
    assert report["verdict"] == "fail"


def test_unwritten_tail_located():
    report = run_candidate(str(DATA / "bad" / "unwritten_tail.py"), AXPY_REF, RUN_ONLY)
    assert report["stages"]["correctness"]["reason"].startswith("unwritten: output 0")
    (unwritten,) = [p for p in report["stages"]["correctness"]["problems"] if p["check"] == "unwritten"]
    # 4 x 1000 elements, 15 blocks of 256 written: the last 160 are not.
    assert unwritten["detail"].startswith("160 of 4000 elements never written, first at [3, 840]")


def test_torch_only_model_fails_no_triton_kernel_ran():
    report = run_candidate(str(DATA / "bad" / "torch_only.py"), AXPY_REF, RUN_ONLY)
    assert report["stages"]["correctness"]["status"] == "pass"
    work = report["stages"]["work"]
    assert work["status"] == "fail" and work["reason"].startswith("no Triton kernel ran in ModelNew's forward; "
                                                                  "torch computed the output: ")
    assert set(work["computed"]) == {"mul", "add"}
    assert report["verdict"] == "fail"


def test_hang_is_killed_at_the_timeout():
    options = Options(trials=1, children=("run",), timeout=12, speed=False)
    report = run_candidate(str(DATA / "bad" / "hang.py"), AXPY_REF, options)
    stage = report["stages"]["correctness"]
    assert stage["status"] == "fail" and stage["reason"].startswith("timed out after 12 s")
    assert report["children"]["run"]["elapsed_s"] < 30


@pytest.mark.skipif(HAS_GPU, reason="needs a machine without a GPU")
def test_device_gpu_without_a_gpu_is_an_environment_error():
    with pytest.raises(RunError, match="--device gpu, but torch sees no CUDA device here"):
        run_candidate(str(DATA / "good" / "axpy.py"), AXPY_REF, Options(device="gpu", children=("run",)))


def test_kernel_that_does_not_import_fails_both_stages(tmp_path):
    kernel = tmp_path / "broken.py"
    kernel.write_text("import torch\nclass ModelNew(torch.nn.Module:\n    pass\n")
    report = run_candidate(str(kernel), AXPY_REF, Options(trials=1, speed=False, timeout=120))
    for name in ("compile", "correctness"):
        assert report["stages"][name]["status"] == "fail"
        assert report["stages"][name]["reason"].startswith("SyntaxError"), report["stages"][name]


def test_crash_is_a_failed_stage_with_its_signal():
    report = run_candidate(str(DATA / "bad" / "segfault.py"), AXPY_REF, RUN_ONLY)
    assert report["stages"]["correctness"]["reason"].startswith("crashed with SIGSEGV (during warm-up forward")
    assert report["stages"]["work"]["status"] == "skip"
    assert report["verdict"] == "fail"


def test_out_of_bounds_store_fails():
    report = run_candidate(str(DATA / "bad" / "out_of_bounds.py"), AXPY_REF, RUN_ONLY)
    reason = report["stages"]["correctness"]["reason"]
    # A GPU faults; the interpreter writes through a wild host pointer and dies.
    assert reason.startswith("illegal memory access" if HAS_GPU else "crashed with SIGSEGV"), reason


def test_out_of_memory_is_named():
    report = run_candidate(str(DATA / "bad" / "out_of_memory.py"), AXPY_REF, RUN_ONLY)
    reason = report["stages"]["correctness"]["reason"]
    assert reason.startswith("out of memory: ") and "out_of_memory.py:7 (during" in reason, reason


def test_house_kernel_mutates_its_inputs_cli_exit_1(capsys, house_kernel_file):
    argv = ["run", str(house_kernel_file), "--reference", str(DATA / "rope_reference_fp32.py"), "--trials", "1", "--no-speed", "--json"]
    args = _parser().parse_args(argv)
    assert args.func(args) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["schema"] == "fuselint.runtime/2"
    assert report["stages"]["compile"]["status"] == "pass"
    stage = report["stages"]["correctness"]
    assert {(p["check"], p.get("input")) for p in stage["problems"]} == {("mutation", 0), ("mutation", 1)}
    assert report["stages"]["speed"]["status"] == "skip"


def test_batch_one_json_line_per_candidate_and_progress(tmp_path, capsys):
    for name in ("good/axpy.py", "bad/wrong_values.py"):
        shutil.copy(DATA / name, tmp_path / Path(name).name)
    argv = ["run", "--batch", str(tmp_path), "--reference", AXPY_REF, "--jobs", "2", "--trials", "1", "--skip-compile", "--no-speed",
            "--results", str(tmp_path / "results.jsonl")]
    args = _parser().parse_args(argv)
    assert args.func(args) == 1
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert sorted((Path(r["kernel"]).name, r["verdict"]) for r in lines) == [("axpy.py", "pass"), ("wrong_values.py", "fail")]
    assert "2/2" in captured.err


def test_confirm_agrees_with_fl003_on_non_power_of_two_arange(capsys):
    argv = ["confirm", str(DATA / "bad" / "non_pow2_arange.py"), "--reference", AXPY_REF, "--compile-only", "--json"]
    args = _parser().parse_args(argv)
    assert args.func(args) == 1
    report = json.loads(capsys.readouterr().out)
    assert "FL003" in {f["code"] for f in report["lint"]["findings"] if f["fatal"]}
    assert report["stages"]["compile"]["status"] == "fail"
    assert report["agreement"]["agree"] is True


# --- the checks themselves, in process ----------------------------------------------------


def test_checks_compare_shapes_dtypes_and_values():
    torch = pytest.importorskip("torch")
    from fuselint.runtime.parent.judge import compare_output, mutation

    want = torch.randn(8, 8)
    assert compare_output(want.clone(), want) == []
    assert compare_output(want.reshape(64), want)[0]["check"] == "shape"
    assert compare_output(want.half(), want)[0]["check"] == "dtype"
    assert [p["check"] for p in compare_output(want * 1.01, want)] == ["values", "magnitude"]
    half = (torch.randn(100) * 1e-3).half()
    assert [p["check"] for p in compare_output(torch.full_like(half, 1e-3), half)] == ["magnitude"]
    x = torch.randn(4)
    assert mutation([x + 1], [x.clone()], [x.clone()])[0]["check"] == "mutation"
    assert mutation([x + 1], [x + 1], [x.clone()]) == []  # the reference updates in place too


def test_poison_marks_what_a_kernel_leaves_unwritten():
    torch = pytest.importorskip("torch")
    from fuselint.runtime.candidate.poison import PoisonFreshMemory
    from fuselint.runtime.parent.judge import unwritten_elements

    def forward(which):
        with PoisonFreshMemory(which):
            out = torch.empty(10)
            out[:7] = 1.0
        return out

    (problem,) = unwritten_elements([forward(0)], [forward(1)])
    assert problem["detail"].startswith("3 of 10 elements never written, first at [7]")


@pytest.mark.skipif(not HAS_GPU, reason="needs a GPU")
def test_speed_on_gpu():
    report = run_candidate(str(DATA / "good" / "axpy.py"), AXPY_REF, Options(trials=1, children=("run",)))
    speed = report["stages"]["speed"]
    assert speed["status"] == "pass" and speed["ms"]["model_new"] > 0 and speed["copy_gbps"] > 0, speed
    assert set(speed["speedup"]) >= {"vs_eager"} and speed["timed_outputs"] == "match the reference"


def test_agreement_counts_fl302_as_predicting_the_mutation_check():
    from fuselint.runtime.cli import agreement

    def report(checks):
        return {"stages": {"compile": {"status": "pass"},
                           "correctness": {"status": "fail", "problems": [{"check": c} for c in checks]}}}

    fl302 = {"fatal": 0, "findings": [{"code": "FL302", "fatal": False}]}
    assert agreement(fl302, report(["mutation"]))["agree"] is True
    assert agreement(fl302, report(["mutation", "values"]))["agree"] is False  # values were not predicted
    assert agreement({"fatal": 0, "findings": []}, report(["mutation"]))["agree"] is False


def test_agreement_counts_the_guarded_run_and_memory_findings():
    from fuselint.runtime.cli import agreement

    passed = {"stages": {"compile": {"status": "pass"}, "correctness": {"status": "pass"}},
              "sanitize": {"violations": [{"line": 9, "detail": "write past the end"}]}}
    assert agreement({"fatal": 0, "findings": []}, passed)["agree"] is False  # sanitize failed, nothing predicted it
    memory = {"fatal": 0, "findings": [{"code": "FL403", "fatal": False}]}
    assert agreement(memory, passed)["agree"] is True
    corrupted = {"stages": {"correctness": {"status": "fail", "problems": [{"check": "values"}]}},
                 "sanitize": {"violations": [{"line": 9}]}}
    assert agreement(memory, corrupted)["agree"] is True


# --- issue #15's smaller items: skips, seeds, broken references, views, messages ------------


def test_bf16_on_the_interpreter_is_inconclusive_exit_3_and_float32_verifies(capsys):
    argv = ["confirm", str(DATA / "good" / "axpy.py"), "--reference", str(DATA / "axpy_reference_bf16.py"),
            "--skip-compile", "--trials", "1", "--no-sanitize"]
    args = _parser().parse_args(argv)
    assert args.func(args) == 3
    out = capsys.readouterr().out
    assert "verdict: INCONCLUSIVE (correctness not verified: bfloat16 under the Triton interpreter" in out
    assert "lint and run INCONCLUSIVE: the run is inconclusive, the lint's prediction untested" in out
    args = _parser().parse_args(["run", *argv[1:-1], "--dtype", "float32", "--json"])
    assert args.func(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "pass" and report["stages"]["correctness"]["inputs"][0]["dtype"] == "float32"


def test_a_fresh_seed_each_run_and_seed_reproduces():
    options = Options(trials=1, children=(), speed=False)
    first, second = (run_candidate(str(DATA / "good" / "axpy.py"), AXPY_REF, options) for _ in range(2))
    assert first["seed"] != second["seed"]
    assert first["verdict"] == "inconclusive"  # nothing ran: nothing verified
    pinned = Options(trials=1, children=(), speed=False, seed=first["seed"])
    assert run_candidate(str(DATA / "good" / "axpy.py"), AXPY_REF, pinned)["seed"] == first["seed"]


def test_a_broken_reference_is_an_environment_error_exit_2(tmp_path, capsys):
    reference = tmp_path / "broken_reference.py"
    reference.write_text("import torch\nclass Model(torch.nn.Module):\n    def forward(self, x):\n"
                         "        return x @ x\ndef get_inputs():\n    return [torch.randn(3, 4)]\n"
                         "def get_init_inputs():\n    return []\n")
    args = _parser().parse_args(["run", str(DATA / "good" / "axpy.py"), "--reference", str(reference)])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert "fuselint: error: the reference failed: RuntimeError" in err and "broken_reference.py:4" in err


def test_confirm_without_torch_is_an_environment_error_exit_2():
    code = ("import sys; sys.modules['torch'] = None; from fuselint.cli import entry; "
            f"sys.argv = ['fuselint', 'confirm', {str(DATA / 'good' / 'axpy.py')!r}, '--reference', {AXPY_REF!r}]; entry()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert "the runtime needs torch and triton (pip install 'fuselint[runtime]')" in done.stderr
    assert "DISAGREE" not in done.stdout


def test_a_view_of_an_input_is_noted():
    report = run_candidate(str(ROOT / "examples" / "rope.py"), str(DATA / "rope_reference_fp32.py"), RUN_ONLY)
    notes = report["stages"]["correctness"]["notes"]
    assert "output 2 is a view of input 2 (as the reference's is)" in notes, notes
    assert report["verdict"] == "pass"


def test_a_mismatch_names_an_element_that_differs():
    torch = pytest.importorskip("torch")
    from fuselint.runtime.parent.judge import compare_output

    want = torch.tensor([float("-inf"), 1.0, 2.0])
    got = torch.tensor([float("-inf"), 1.0, 5.0])
    (values,) = [p for p in compare_output(got, want) if p["check"] == "values"]
    assert values["detail"] == "1 of 3 elements off by more than 0.0001; worst at [2]: 5 vs 2"


def test_tensor_files_refuse_what_they_cannot_check(tmp_path):
    torch = pytest.importorskip("torch")
    from fuselint.runtime.common import wire

    path = str(tmp_path / "x.bin")
    wire.write(path, (torch.arange(6.0).reshape(2, 3), [torch.ones(2, dtype=torch.bfloat16)], {"n": 3}))
    (a, (b,), extra), headers = wire.read(path)
    assert a.tolist() == [[0, 1, 2], [3, 4, 5]] and b.dtype == torch.bfloat16 and extra == {"n": 3}
    assert headers[0]["shape"] == [2, 3] and headers[0]["device"] == "cpu"
    with pytest.raises(TypeError, match="subclass of torch.Tensor"):
        wire.write(path, torch.ones(2).as_subclass(type("Sub", (torch.Tensor,), {})))
    raw = bytearray(open(path, "rb").read())
    raw[-1:] = b""  # one byte short of what the header promises
    open(path, "wb").write(bytes(raw))
    with pytest.raises(wire.WireError):
        wire.read(path)
    os.symlink("/dev/zero", tmp_path / "link.bin")
    with pytest.raises(wire.WireError, match="not a regular file"):
        wire.read(str(tmp_path / "link.bin"))


class _FakeReader:
    def __init__(self, messages):
        self.messages = messages

    def last(self, kind):
        return next((m for m in reversed(self.messages) if m["kind"] == kind), None)

    def all(self, kind):
        return [m for m in self.messages if m["kind"] == kind]


class _FakeChild:
    death = None

    def __init__(self, messages):
        self.reader = _FakeReader(messages)

    def phase(self):
        return "speed"


def _speed(tmp_path, times, wall_s, min_bytes=10**6, copy_gbps=1000.0):
    """The speed stage decided from given per-call times and wall clock (what a GPU run sends)."""
    torch = pytest.importorskip("torch")
    from fuselint.runtime.common import wire
    from fuselint.runtime.parent.verdict import Evidence, speed_stage

    (tmp_path / "out").mkdir(exist_ok=True)
    (tmp_path / "expected").mkdir(exist_ok=True)
    for k in range(3):
        wire.write(str(tmp_path / "expected" / f"timing_{k}.bin"), torch.full((4,), float(k)))
        for which in ("first", "last"):
            wire.write(str(tmp_path / "out" / f"timing_{k}_{which}.bin"), torch.full((4,), float(k)))
    trusted = {"sets": 3, "event_delay_ms": 0.005, "iteration_s": 50e-6, "kept_s": 0.0, "min_bytes": min_bytes,
               "copy_gbps": copy_gbps, "reference_ms": {"reference_eager": 1.0}, "notes": []}
    child = _FakeChild([{"kind": "timing-start", "received": 100.0},
                        {"kind": "timing-end", "received": 100.0 + wall_s, "ms": times}])
    ready = {"mode": "gpu", "timing": trusted}
    return speed_stage(child, ready, Options(), Evidence(tmp_path, tmp_path / "expected"), {"status": "pass", "problems": []})


def test_speed_checks_on_what_a_gpu_run_sends(tmp_path):
    calls, iteration_s = 300, 50e-6  # 3 sets, 100 rounds; the empty loop's cost per call
    honest = _speed(tmp_path, [0.105] * calls, wall_s=calls * (0.1e-3 + iteration_s) + 0.004)
    assert honest["status"] == "pass", honest["reason"]
    assert honest["ms"]["model_new"] == pytest.approx(0.1) and honest["timed_outputs"] == "match the reference"
    replay = _speed(tmp_path, [0.105] * 3 + [0.007] * (calls - 3), wall_s=calls * (0.002e-3 + iteration_s) + 0.004)
    assert replay["status"] == "fail" and replay["reason"].startswith("replay: the first call on each input set")
    faked = _speed(tmp_path, [0.007] * calls, wall_s=calls * (0.1e-3 + iteration_s) + 0.004)  # timer says 0.002 ms
    assert faked["status"] == "fail" and faked["reason"].startswith("timing disagrees with fuselint's clock: the "
                                                                    "in-process timer says 0.0020 ms a call")
    impossible = _speed(tmp_path, [0.015] * calls, wall_s=calls * (0.01e-3 + iteration_s) + 0.004, min_bytes=10**8,
                        copy_gbps=3000.0)
    assert impossible["status"] == "fail" and impossible["reason"].startswith("impossible speed: 10000 GB/s")


def test_each_party_imports_only_common_code():
    """The trust boundary in the layout: parent/, reference/ and candidate/ import each other
    never, only common/."""
    import ast

    parties = ("parent", "reference", "candidate")
    for party in parties:
        for path in (ROOT / "fuselint" / "runtime" / party).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module:
                    others = [p for p in parties if p != party and (f".{p}" in f".{node.module}" or node.module == p)]
                    assert not others or node.level == 0 and not node.module.startswith("fuselint.runtime"), \
                        f"{path.name} imports {node.module}"


def test_agreement_leaves_out_what_no_rule_judges():
    from fuselint.runtime.cli import agreement

    def report(**statuses):
        stages = {"compile": {"status": "pass"}, "correctness": {"status": "pass", "problems": []},
                  "work": {"status": "pass"}, "speed": {"status": "skip"}, "integrity": {"status": "pass"}}
        for name, status in statuses.items():
            stages[name] = {"status": status, "reason": "why", "problems": []}
        return {"verdict": "fail" if "fail" in statuses.values() else "inconclusive", "stages": stages}

    clean = {"fatal": 0, "findings": []}
    assert agreement(clean, report(work="fail")) == {
        "agree": None, "detail": "the lint found nothing fatal; work failed, which no lint rule judges"}
    assert agreement(clean, report(correctness="inconclusive"))["agree"] is None
    assert agreement(clean, report(correctness="fail", work="fail"))["detail"] == (
        "the lint found nothing fatal but correctness failed: a miss of the linter?")
