"""`fuselint report RESULTS.jsonl [--plot PNG]`: a batch's results file as a table (the verdicts,
a row per candidate, the slowest) and the speed distribution as a chart. Reads records only:
no torch; matplotlib only for --plot."""

from __future__ import annotations

import os
import statistics
import sys

from .progress import VERDICTS, elapsed_of
from .results import ResultStore

EXIT_OK, EXIT_ERROR = 0, 2
WHY_WIDTH = 90


def _why(record: dict) -> str:
    if record.get("verdict") == "error":
        return str(record.get("error", ""))
    for status in ("fail", "inconclusive"):
        for name, stage in record.get("stages", {}).items():
            if stage.get("status") == status:
                return f"{name}: {stage.get('reason')}"
    return ""


def _speed(record: dict) -> tuple:
    speed = record.get("stages", {}).get("speed", {})
    return speed.get("ms", {}).get("model_new"), speed.get("speedup", {}).get("vs_eager"), \
        speed.get("speedup", {}).get("vs_compiled")


def _number(value, unit: str = "") -> str:
    return "-" if value is None else f"{value:.4g}{unit}"


def table(records: list[dict]) -> list[str]:
    counts = {v: sum(r.get("verdict") == v for r in records) for v in VERDICTS}
    lines = [f"{len(records)} candidate(s): " + ", ".join(f"{v} {n}" for v, n in counts.items())]
    runners = sorted({r.get("batch", {}).get("runner", "?") for r in records})
    timings = sorted({r.get("batch", {}).get("timing", "?") for r in records})
    lines += [f"ran on: {runner}" for runner in runners] + [f"timing: {timing}" for timing in timings]
    rows = [("candidate", "verdict", "ms", "vs eager", "vs compiled", "stages s", "where", "why")]
    for record in sorted(records, key=lambda r: str(r.get("kernel"))):
        ms, eager, compiled = _speed(record)
        where = ", ".join(s.get("where", "?") for s in record.get("batch", {}).get("stages", {}).values()) or "-"
        why = _why(record).replace("\n", " ")
        rows.append((os.path.basename(str(record.get("kernel"))), str(record.get("verdict", "?")).upper(), _number(ms),
                     _number(eager, "x"), _number(compiled, "x"), f"{elapsed_of(record):.1f}", where,
                     why[:WHY_WIDTH] + ("..." if len(why) > WHY_WIDTH else "")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines.append("")
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows]
    slowest = sorted(records, key=elapsed_of, reverse=True)[:5]
    lines += ["", "slowest: " + ", ".join(f"{os.path.basename(str(r.get('kernel')))} {elapsed_of(r):.1f} s"
                                          for r in slowest)]
    speedups = [s for s in (_speed(r)[1] for r in records if r.get("verdict") == "pass") if s is not None]
    if speedups:
        lines.append(f"speedup over eager of the {len(speedups)} passing candidate(s) timed: median "
                     f"{statistics.median(speedups):.3g}x, from {min(speedups):.3g}x to {max(speedups):.3g}x")
    else:
        lines.append("speed: no passing candidate was timed (no GPU in these runs, or --no-speed)")
    return lines


def plot(records: list[dict], path: str) -> str | None:
    """Draw the speedups over eager of the passing candidates into path; the reason when not."""
    speedups = [s for s in (_speed(r)[1] for r in records if r.get("verdict") == "pass") if s is not None and s > 0]
    if not speedups:
        return "no passing candidate was timed: nothing to plot"
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        return "--plot needs matplotlib, which is not installed here (pip install 'fuselint[plot]')"
    low, high = min(speedups), max(speedups)
    bins = [low * (high / low) ** (i / 30) for i in range(31)] if high > low else 10
    figure, axes = pyplot.subplots(figsize=(8, 4.5))
    axes.hist(speedups, bins=bins, color="#4c72b0", edgecolor="white")
    if high > low:
        axes.set_xscale("log")
    axes.axvline(1.0, color="#c44e52", linestyle="--", linewidth=1, label="as fast as eager")
    axes.set_xlabel("speedup over the eager reference (log scale)")
    axes.set_ylabel("candidates")
    axes.set_title(f"{len(speedups)} passing candidate(s) timed, median {statistics.median(speedups):.3g}x")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
    return None


def report_main(path: str, png: str | None) -> int:
    if not os.path.isfile(path):
        print(f"fuselint: error: {path} not found", file=sys.stderr)
        return EXIT_ERROR
    records = list(ResultStore(path).records().values())
    if not records:
        print(f"fuselint: error: {path} holds no batch record", file=sys.stderr)
        return EXIT_ERROR
    print("\n".join(table(records)))
    if png:
        problem = plot(records, png)
        if problem:
            print(f"fuselint: no PNG written: {problem}", file=sys.stderr)
            return EXIT_ERROR
        print(f"chart: {png}")
    return EXIT_OK
