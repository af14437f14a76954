"""Batch throughput on every GPU of a host and on Ray (issue #18), in one run.

One batch (--candidates variants of the axpy kernel that compile and pass, at 1024 x 16384 fp32 on
a GPU, plus one that does not compile and so never takes a GPU) goes through
`fuselint run --batch` several times, each a fresh driver with a fresh results file:

- the host runner on 1 GPU (``--gpus 1``: one candidate on the GPU at a time, the exclusive
  baseline), on every larger count of --gpus, then on 1 GPU again (the run-to-run spread of two
  exclusive runs);
- Ray on every count of --gpus (a local cluster started by fuselint, ``--ray auto``, which sees
  the GPUs CUDA_VISIBLE_DEVICES names), where ray is importable; where it is not, the table says
  so and the host runner is measured alone.

The table (printed last) gives per run: candidates per minute (wall clock of the whole command,
the driver's start included), the speedup over the same runner on 1 GPU and the scaling
efficiency (speedup / N; target >= 0.9 x N on N GPUs), whether the verdicts are those of the
exclusive run, the median run-stage seconds of a candidate (the issue asks for >= 1 s), and each
candidate's ModelNew time against the exclusive single-GPU run (median and largest relative
difference) beside the spread of two exclusive runs. A run that would not end within --budget
(all runs together, estimated from the first) is skipped and said so; one still running at the
budget's end is killed and its row says what it recorded. The JSON goes to OUT/batch_scaling.json (--out,
default $OUT or .).

Without a GPU the same plan runs under Triton's interpreter with N CPU workers in place of N GPUs
(``--gpus 0 --jobs N``) and the reference's default sizes: verdicts and throughput, no speed.

Usage: python benchmarks/batch_scaling.py [--gpus 1,2,4,8] [--candidates 8] [--budget 420] [--out DIR]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "runtime_data" / "axpy_reference.py"
KERNEL = ROOT / "tests" / "runtime_data" / "good" / "axpy.py"
GPU_DIMS = "ROWS=1024,COLS=16384"
SEED = 1801
EFFICIENCY_TARGET = 0.9
RAY_START_S = 20  # a local Ray cluster's start and its first workers' imports, for the budget
SHAPES = [(block, warps) for warps in (4, 8) for block in (256, 512, 1024, 2048, 4096)]


def write_batch(folder: Path, count: int) -> None:
    """count variants of the axpy kernel that compile and pass (block sizes and warps in turn, a
    comment making each file its own candidate), and one whose block is no power of two: it
    fails to compile and never takes a GPU."""
    folder.mkdir(parents=True)
    base = KERNEL.read_text()
    for index in range(count):
        block, warps = SHAPES[index % len(SHAPES)]
        source = base.replace("256", str(block)).replace(f"BLOCK={block})", f"BLOCK={block}, num_warps={warps})")
        (folder / f"axpy_{index:03d}_b{block}_w{warps}.py").write_text(f"# batch_scaling candidate {index}\n{source}")
    (folder / "axpy_b384_not_compiling.py").write_text(base.replace("256", "384"))


def visible_gpus() -> list[str]:
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    names = os.environ.get("CUDA_VISIBLE_DEVICES")
    return [n.strip() for n in names.split(",") if n.strip()][:count] if names else [str(i) for i in range(count)]


def fuselint_batch(folder: Path, results: Path, runner: str, count: int, gpus: list[str],
                   limit: float) -> tuple[float, int | None, str]:
    """One batch as a user runs it, killed after ``limit`` seconds; (wall seconds, exit status or
    None when killed, the end of its stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")}
    env.pop("RAY_ADDRESS", None)  # a cluster of its own, sized by CUDA_VISIBLE_DEVICES
    command = [sys.executable, "-m", "fuselint.runtime", "run", "--batch", str(folder), "--reference", str(REFERENCE),
               "--trials", "2", "--seed", str(SEED), "--results", str(results)]
    if gpus:
        command += ["--dims", GPU_DIMS]
    if runner == "host":
        command += ["--gpus", str(count), "--jobs", str(2 * count)] if gpus else ["--gpus", "0", "--jobs", str(count)]
    else:
        command += ["--ray", "auto"]
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus[:count])
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              timeout=limit)
    except subprocess.TimeoutExpired as expired:
        stderr = expired.stderr.decode(errors="replace") if isinstance(expired.stderr, bytes) else expired.stderr or ""
        return time.monotonic() - started, None, f"killed at the budget ({limit:.0f} s); {stderr[-2000:]}"
    return time.monotonic() - started, done.returncode, done.stderr[-3000:]


def read_records(results: Path) -> dict[str, dict]:
    records = {}
    for line in results.read_text().splitlines() if results.exists() else []:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        records[Path(record["kernel"]).name] = record
    return records


def model_ms(record: dict):
    return record.get("stages", {}).get("speed", {}).get("ms", {}).get("model_new")


def differences(records: dict, baseline: dict) -> list[float]:
    """Relative difference of each candidate's ModelNew time from the baseline run's."""
    found = []
    for name, record in records.items():
        here, there = model_ms(record), model_ms(baseline.get(name, {}))
        if here and there:
            found.append(abs(here / there - 1))
    return found


def parse_counts(spec: str | None, available: int) -> list[int]:
    """The counts to measure, 1 always first; default 1 and each power of two up to the machine's
    count, and that count."""
    if spec is None:
        top = max(available, 2 if not available else 1)  # no GPU: 1 and 2 CPU workers
        return sorted({1, top} | {c for c in (2, 4, 8, 16) if c <= top})
    counts = sorted({int(part) for part in spec.split(",") if part.strip()} | {1})
    if counts[0] < 1:
        raise SystemExit(f"--gpus {spec}: counts are at least 1")
    return counts


def plan(counts: list[int], ray_ok: bool, gpu: bool) -> list[tuple[str, int, str]]:
    """(runner, count, label suffix) in the order they run: the exclusive baseline first, the
    larger counts, the exclusive run again (the spread), then Ray (without a GPU, one Ray run: a
    local cluster takes every CPU of the machine)."""
    runs = [("host", c, "") for c in counts] + [("host", 1, " (again)")]
    if not ray_ok:
        return runs
    return runs + ([("ray", c, "") for c in counts] if gpu else [("ray", os.cpu_count() or 1, "")])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpus", help="GPU counts to measure, comma-separated (default: 1, 2, 4, 8 up to the machine's "
                        "count, and that count); CPU workers where there is no GPU")
    parser.add_argument("--candidates", type=int, default=8, help="variants that compile (default 8; a multiple of the counts)")
    parser.add_argument("--budget", type=float, default=420.0, help="seconds for all runs together (default 420)")
    parser.add_argument("--out", default=os.environ.get("OUT", "."))
    args = parser.parse_args(argv)
    started = time.monotonic()
    ray_ok = importlib.util.find_spec("ray") is not None
    gpus = visible_gpus()
    available = len(gpus) if gpus else os.cpu_count() or 1
    counts = parse_counts(args.gpus, len(gpus))
    unit = "GPU" if gpus else "CPU worker"
    work = Path(tempfile.mkdtemp(prefix="batch-scaling-"))
    folder = work / "batch"
    write_batch(folder, args.candidates)
    total = args.candidates + 1
    runs = plan([c for c in counts if c <= available], ray_ok, bool(gpus))
    print(f"{total} candidates ({args.candidates} that compile); {len(gpus)} GPU(s)"
          f"{' (the interpreter on CPU workers)' if not gpus else ''}; ray "
          f"{'importable' if ray_ok else 'NOT installed here: the Ray runs are skipped (pip install fuselint[ray])'}; "
          f"runs: {', '.join(f'{r} {c}{s}' for r, c, s in runs)}", flush=True)
    rows, by_run, one_s = [], {}, None
    for runner, count, suffix in runs:
        label = f"{runner} {count} {unit}{'s' if count > 1 else ''}{suffix}"
        estimate = (one_s or 0) / count + (RAY_START_S if runner == "ray" else 0)
        left = args.budget - (time.monotonic() - started)
        if one_s and estimate > left:
            rows.append({"run": label, "skipped": f"over the budget (about {estimate:.0f} s; {left:.0f} s left)"})
            continue
        results = work / f"{runner}_{count}{'_again' if suffix else ''}.jsonl"
        seconds, code, stderr = fuselint_batch(folder, results, runner, count, gpus, limit=max(left, 30.0))
        records = read_records(results)
        if runner == "host" and count == 1 and one_s is None:
            one_s = seconds
        by_run[label] = records
        run_stages = [r["batch"]["stages"]["run"]["elapsed_s"] for r in records.values()
                      if "run" in r.get("batch", {}).get("stages", {})]
        row = {"run": label, "runner": runner, "count": count, "seconds": round(seconds, 1), "exit": code,
               "recorded": len(records), "per_minute": round(60 * len(records) / seconds, 2),
               "verdicts": {name: r["verdict"] for name, r in sorted(records.items())},
               "run_stage_s": round(statistics.median(run_stages), 2) if run_stages else None}
        if len(records) != total:
            row["problem"] = f"{len(records)} of {total} recorded; stderr: {stderr[-800:]}"
        rows.append(row)
        print(f"{label}: {row['seconds']} s, {row['per_minute']} candidates/min, exit {code}, "
              f"run stage median {row['run_stage_s']} s", flush=True)
    rows += [{"run": f"{runner} {c} {unit}s", "skipped": f"this machine has {available} {unit}(s)"}
             for runner in ("host", "ray")[:1 + ray_ok] for c in counts if c > available]
    if not ray_ok:
        rows.append({"run": "ray", "skipped": "ray is not installed here (pip install 'fuselint[ray]')"})
    summarize(rows, by_run, bool(gpus))
    out = Path(args.out) / "batch_scaling.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"gpus": len(gpus), "candidates": total, "ray": ray_ok, "rows": rows,
                               "timings_ms": {label: {n: model_ms(r) for n, r in records.items()}
                                              for label, records in by_run.items()}}, indent=1))
    print(f"json: {out}")
    print_table(rows, unit, bool(gpus))
    bad = [r for r in rows if "problem" in r or r.get("same_verdicts") is False]
    return 1 if bad or not by_run else 0


def summarize(rows: list[dict], by_run: dict, gpu: bool) -> None:
    """Speedup and efficiency against the same runner's first run on one GPU (or worker); verdicts
    and timings against the host runner's exclusive single-GPU run, beside the spread of the
    exclusive run repeated."""
    measured = [r for r in rows if "seconds" in r]
    one = {}
    for row in measured:
        if row["count"] == 1:
            one.setdefault(row["runner"], row)
    baseline_row = one.get("host")
    baseline = by_run.get(baseline_row["run"], {}) if baseline_row else {}
    again = next((r["run"] for r in measured if r["run"].endswith("(again)")), None)
    spread = differences(by_run.get(again, {}), baseline) if gpu and again else []
    for row in measured:
        first = one.get(row["runner"])
        if first and row["count"] > 1:
            row["speedup"] = round(row["per_minute"] / first["per_minute"], 2)
            row["efficiency"] = round(row["speedup"] / row["count"], 2)
        row["same_verdicts"] = row["verdicts"] == {n: r["verdict"] for n, r in sorted(baseline.items())}
        if gpu and row is not baseline_row:
            found = differences(by_run[row["run"]], baseline)
            if found:
                row["timing_vs_exclusive"] = {"median": round(statistics.median(found), 4), "max": round(max(found), 4),
                                              "candidates": len(found)}
        if spread:
            row["exclusive_spread"] = {"median": round(statistics.median(spread), 4), "max": round(max(spread), 4)}
            timing = row.get("timing_vs_exclusive")
            if timing and not row["run"].endswith("(again)"):
                # within 1.5 x the spread of two exclusive runs (floors of 1 % / 2 % for a spread near 0)
                row["timing_agrees"] = timing["median"] <= max(1.5 * row["exclusive_spread"]["median"], 0.01) \
                    and timing["max"] <= max(1.5 * row["exclusive_spread"]["max"], 0.02)


def _pair(figures: dict | None) -> str:
    return f"{figures['median']:.1%} / {figures['max']:.1%}" if figures else "-"


def print_table(rows: list[dict], unit: str, gpu: bool) -> None:
    target = f" (target >= {EFFICIENCY_TARGET})" if gpu else ""
    print(f"\n| run | {unit}s | wall s | candidates/min | speedup vs 1 | efficiency{target} | same verdicts | "
          "run stage s (median) | ModelNew ms vs the exclusive 1-GPU run: median / max diff | "
          "exclusive run-to-run spread |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        if "skipped" in row:
            print(f"| {row['run']} | - | skipped: {row['skipped']} | | | | | | | |")
            continue
        efficiency = row.get("efficiency")
        mark = "" if efficiency is None or not gpu else " ok" if efficiency >= EFFICIENCY_TARGET else " BELOW"
        agrees = {True: " (agrees)", False: " (DISAGREES)"}.get(row.get("timing_agrees"), "")
        stage = row["run_stage_s"]
        short = " (under 1 s)" if gpu and stage is not None and stage < 1 else ""
        print(f"| {row['run']} | {row['count']} | {row['seconds']} | {row['per_minute']} | {row.get('speedup', '-')} | "
              f"{'-' if efficiency is None else efficiency}{mark} | {'yes' if row['same_verdicts'] else 'NO'} | "
              f"{'-' if stage is None else stage}{short} | {_pair(row.get('timing_vs_exclusive'))}{agrees} | "
              f"{_pair(row.get('exclusive_spread'))} |" + (f" {row['problem']}" if "problem" in row else ""))
    if not gpu:
        print("\n(no GPU here: the interpreter on CPU workers; no speed measured, no timing compared)")


if __name__ == "__main__":
    sys.exit(main())
