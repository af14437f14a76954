"""The runtime's integrity on a GPU (issue #15), in one run: what a CPU machine cannot show.

Part "rope": `fuselint confirm examples/rope.py --reference examples/rope_reference.py` on the
GPU (full size, bf16) must PASS, and the ModelNew time it reports must agree within 5 % with
benchmarks/rope.py's own timing (`device_ms`: an L2 clear and a GPU spin before each call, the
median device time) of the same kernel at the same shape, taken in this same run; its device
copy bandwidth is set beside the benchmark's.

Part "exploits": the candidates whose cheat works only on a GPU (patched timers, a side stream,
replayed answers, a call counter, a deferred write), and a few others, run through `fuselint
run` against the axpy reference at a size where the timing checks can see them (ROWS=1024,
COLS=16384: 192 MiB moved a call); each must end in anything but PASS, and the honest axpy
kernel must PASS. The rows show which check fired (replay, fuselint's clock, impossible speed,
timed outputs, integrity).

Usage: python benchmarks/runtime_gpu_check.py [--part rope|exploits|all] [--only NAME,...] [--out DIR]
Run the parts as two commands where a command may take at most 10 minutes (rope: about 5; the
14 exploit runs: about 30-40 s each). Writes DIR/runtime_gpu_check_PART.json (DIR defaults to $OUT,
else the current folder); prints a line per run as it ends, and the summary table last.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "runtime_data"
GPU_EXPLOITS = ["timer_patch_do_bench", "timer_patch_event", "timer_patch_clock", "timer_patch_harness", "side_stream",
                "replay_sampled_cache", "replay_pointer_cache", "warmup_then_stale", "deferred_thread_write",
                "lazy_subclass_output", "torch_with_token_launch", "numpy_compute", "allocator_reuse"]
AXPY_DIMS = "ROWS=1024,COLS=16384"
AGREEMENT = 0.05


def fuselint(args: list[str], timeout: float = 900) -> tuple[int, dict, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")}
    done = subprocess.run([sys.executable, "-m", "fuselint.runtime", *args, "--json"], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)
    try:
        report = json.loads(done.stdout[done.stdout.index("{"):]) if "{" in done.stdout else {}
    except ValueError:
        report = {}
    return done.returncode, report, done.stderr[-2000:]


def failing_reasons(report: dict) -> str:
    reasons = [f"{name}: {stage['reason']}" for name, stage in report.get("stages", {}).items()
               if stage.get("status") in ("fail", "inconclusive")]
    return " | ".join(reasons)[:400] or "-"


def benchmark_rope_ms() -> dict:
    """examples/rope.py at the reference's full shape, timed by benchmarks/rope.py's device_ms."""
    import torch

    spec = importlib.util.spec_from_file_location("rope_bench", ROOT / "benchmarks" / "rope.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    reference, fast = bench.load_example("rope_reference"), bench.load_example("rope")
    torch.manual_seed(0)
    q, k, cos, sin = (x.cuda() for x in reference.get_inputs())
    model = fast.ModelNew()
    runs = [bench.device_ms(lambda: model(q, k, cos, sin)) for _ in range(2)]
    cold, _ = bench.copy_bandwidth()
    return {"ms": sum(runs) / 2, "runs": runs, "copy_gbps": cold / 1e9}


def part_rope(rows: list, results: dict) -> None:
    started = time.monotonic()
    code, report, err = fuselint(["confirm", "examples/rope.py", "--reference", "examples/rope_reference.py"])
    speed = report.get("stages", {}).get("speed", {})
    results["rope_confirm"] = {"exit": code, "verdict": report.get("verdict"), "speed": speed,
                               "sandbox": report.get("sandbox"), "agreement": report.get("agreement"),
                               "seconds": round(time.monotonic() - started, 1), "stderr": err if code else ""}
    rows.append(["fuselint confirm examples/rope.py (GPU, bf16, full size)", "PASS, exit 0",
                 f"{str(report.get('verdict')).upper()}, exit {code}; {failing_reasons(report)}",
                 code == 0 and report.get("verdict") == "pass"])
    bench = benchmark_rope_ms()
    results["rope_benchmark"] = bench
    ours = speed.get("ms", {}).get("model_new")
    if ours:
        diff = ours / bench["ms"] - 1
        rows.append(["ModelNew ms: fuselint vs benchmarks/rope.py device_ms", f"within {AGREEMENT:.0%}",
                     f"{ours:.4f} vs {bench['ms']:.4f} ms ({diff:+.1%}; benchmark passes {bench['runs'][0]:.4f}, "
                     f"{bench['runs'][1]:.4f})", abs(diff) <= AGREEMENT])
        copy = speed.get("copy_gbps", 0)
        rows.append(["device copy GB/s: fuselint vs benchmarks/rope.py", "beside each other (information)",
                     f"{copy:.0f} vs {bench['copy_gbps']:.0f} GB/s", None])
        checks = speed.get("checks", {})
        rows.append(["rope timing checks (first call / later calls / fuselint's clock)", "agree (information)",
                     f"{checks.get('first_call_ms', 0):.4f} / {checks.get('later_calls_ms', 0):.4f} / "
                     f"{checks.get('wall_clock_ms', 0):.4f} ms over {checks.get('calls')} calls, {checks.get('sets')} sets",
                     None])
    else:
        rows.append(["ModelNew ms: fuselint vs benchmarks/rope.py device_ms", f"within {AGREEMENT:.0%}",
                     f"no speed figure from fuselint ({speed.get('status')}: {speed.get('reason')})", False])


def part_exploits(rows: list, results: dict, only: list[str]) -> None:
    # Two trials: a candidate that counts its calls is then past the correctness checks and shows
    # in the timed calls' outputs, the GPU's own check.
    options = ["--skip-compile", "--trials", "2", "--device", "gpu", "--dims", AXPY_DIMS, "--timeout", "300"]
    reference = str(DATA / "axpy_reference.py")
    cases = [("good/axpy.py (honest control)", DATA / "good" / "axpy.py", "pass")] + [
        (name, DATA / "adversarial" / f"{name}.py", "not pass") for name in GPU_EXPLOITS]
    if only:
        cases = [case for case in cases if any(name in case[0] for name in only)]
    results["exploits"] = {}
    for label, kernel, wanted in cases:
        started = time.monotonic()
        code, report, err = fuselint(["run", str(kernel), "--reference", reference, *options], timeout=400)
        verdict = report.get("verdict") or ("error" if code == 2 else "none")
        speed = report.get("stages", {}).get("speed", {})
        results["exploits"][label] = {"exit": code, "verdict": verdict, "reasons": failing_reasons(report),
                                      "speed": speed, "seconds": round(time.monotonic() - started, 1),
                                      "stderr": err if not report else ""}
        ok = verdict == "pass" if wanted == "pass" else verdict in ("fail", "inconclusive")
        detail = failing_reasons(report) if report else err.strip().splitlines()[-1:] or ["no report"]
        rows.append([label, "PASS" if wanted == "pass" else "not PASS", f"{verdict.upper()}, exit {code}; {detail}", ok])
        print(f"{label}: {verdict} ({time.monotonic() - started:.0f} s) {detail}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("rope", "exploits", "all"), default="all")
    parser.add_argument("--only", help="exploits part: comma-separated names (good/axpy for the control)")
    parser.add_argument("--out", default=os.environ.get("OUT", "."))
    args = parser.parse_args()
    import torch
    import triton

    if not torch.cuda.is_available():
        print("no GPU here: this check is for a GPU machine", file=sys.stderr)
        return 2
    results = {"versions": {"torch": torch.__version__, "triton": triton.__version__, "python": sys.version.split()[0],
                            "device": torch.cuda.get_device_name()}}
    print(json.dumps(results["versions"]), flush=True)
    rows: list = []
    if args.part in ("rope", "all"):
        part_rope(rows, results)
    if args.part in ("exploits", "all"):
        part_exploits(rows, results, args.only.split(",") if args.only else [])
    results["rows"] = rows
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"runtime_gpu_check_{args.part}.json").write_text(json.dumps(results, indent=2, default=str))
    sandbox = results.get("rope_confirm", {}).get("sandbox") or {}
    print(f"\nsandbox: {sandbox.get('tool', '(see the exploit runs)')} ({sandbox.get('why', '')}); "
          f"cgroups: {sandbox.get('cgroups', '-')}")
    print(f"{results['versions']}\n")
    print("| check | expected | result | ok |")
    print("| --- | --- | --- | --- |")
    for label, expected, result, ok in rows:
        print(f"| {label} | {expected} | {result.replace('|', '/')} | {'-' if ok is None else 'yes' if ok else 'NO'} |")
    failed = [r[0] for r in rows if r[3] is False]
    print(f"\n{len([r for r in rows if r[3] is not None])} checks, {len(failed)} not as expected"
          + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
