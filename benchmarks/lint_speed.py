"""Lint speed: the pre-commit case (one ~400-line kernel file, wall time including Python
start-up) and throughput on every file of the liger-kernel and flag-gems wheels beside bare
`libcst.parse_module` on the same files. A benchmark, not a test: run it on a quiet machine.

    python benchmarks/lint_speed.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
import subprocess
import sys
import time
from pathlib import Path

import libcst as cst

from fuselint.config import Settings
from fuselint.engine import collect_files, lint_paths

PRE_COMMIT_FILE = "liger_kernel/ops/poly_norm.py"  # 387 lines, three kernels and their launches


def package_roots() -> list[Path]:
    roots = []
    for dist, package in (("liger-kernel", "liger_kernel"), ("flag-gems", "flag_gems")):
        roots.append(Path(importlib.metadata.distribution(dist).locate_file(package)))
    return roots


def median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    roots = package_roots()
    files, _ = collect_files(roots, Settings())
    sources = [f.read_bytes() for f in files]
    kloc = sum(s.count(b"\n") for s in sources) / 1000

    one_file = roots[0].parent / PRE_COMMIT_FILE
    command = [sys.executable, "-m", "fuselint", "check", str(one_file), "--quiet"]
    single = median_seconds(lambda: subprocess.run(command, capture_output=True), max(args.repeat, 5))
    bare_python = median_seconds(lambda: subprocess.run([sys.executable, "-c", "pass"]), max(args.repeat, 5))

    parse = median_seconds(lambda: [cst.parse_module(s) for s in sources], args.repeat)
    lint = median_seconds(lambda: lint_paths(roots, Settings()), args.repeat)
    lint2 = median_seconds(lambda: lint_paths(roots, Settings(), jobs=2), args.repeat)

    rows = [
        ("fuselint check, one file (387 lines), wall incl. start-up", f"{single:.3f} s", f"python -c pass: {bare_python:.3f} s"),
        ("libcst.parse_module, every file", f"{parse:.2f} s", f"{kloc / parse:.1f} kLOC/s"),
        ("fuselint check, every file, 1 job", f"{lint:.2f} s", f"{kloc / lint:.1f} kLOC/s ({parse / lint:.0%} of bare parse)"),
        ("fuselint check, every file, 2 jobs", f"{lint2:.2f} s", f"{kloc / lint2:.1f} kLOC/s ({lint / lint2:.2f}x one job)"),
    ]
    print(f"{len(files)} files, {kloc:.1f} kLOC (liger-kernel + flag-gems), Python {sys.version.split()[0]}, "
          f"libcst {importlib.metadata.version('libcst')}")
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>9}  {note}")


if __name__ == "__main__":
    main()
