"""Lint speed, one table: the pre-commit case (one ~400-line kernel file, wall time including
Python start-up) and whole-corpus throughput on every file of the liger-kernel and flag-gems
wheels — bare `libcst.parse_module`, `fuselint check` with one job, two jobs, a warm cache, and
Fixit (`fixit lint`, its default rules) as the libcst-based peer, on the same files in the same
run. A benchmark, not a test: run it on a quiet machine.

    python benchmarks/lint_speed.py [--repeat 3] [--no-fixit]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import libcst as cst

from fuselint.config import Settings
from fuselint.engine import collect_files

PRE_COMMIT_FILE = "liger_kernel/ops/poly_norm.py"  # 387 lines, three kernels and their launches


def package_roots() -> list[Path]:
    return [Path(importlib.metadata.distribution(dist).locate_file(package))
            for dist, package in (("liger-kernel", "liger_kernel"), ("flag-gems", "flag_gems"))]


def median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fuselint(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "fuselint", "check", "--quiet", "--exit-zero", *args],
                   capture_output=True, check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-fixit", action="store_true")
    args = parser.parse_args()
    # A copy outside site-packages: Fixit skips files under site-packages; both tools read the copy.
    workdir = Path(tempfile.mkdtemp(prefix="fuselint-speed-"))
    roots = [Path(shutil.copytree(root, workdir / root.name)) for root in package_roots()]
    files, _ = collect_files(roots, Settings())
    sources = [f.read_bytes() for f in files]
    kloc = sum(s.count(b"\n") for s in sources) / 1000
    paths = [str(r) for r in roots]

    one_file = str(workdir / PRE_COMMIT_FILE)
    single = median_seconds(lambda: fuselint(one_file, "--no-cache"), max(args.repeat, 5))
    bare_python = median_seconds(lambda: subprocess.run([sys.executable, "-c", "pass"]), max(args.repeat, 5))

    rows = []
    parse = median_seconds(lambda: [cst.parse_module(s) for s in sources], args.repeat)
    rows.append(("libcst.parse_module (in process)", parse))
    one_job = median_seconds(lambda: fuselint(*paths, "--no-cache", "--jobs", "1"), args.repeat)
    rows.append(("fuselint check --jobs 1", one_job))
    two_jobs = median_seconds(lambda: fuselint(*paths, "--no-cache", "--jobs", "2"), args.repeat)
    rows.append(("fuselint check --jobs 2", two_jobs))
    cache = tempfile.mkdtemp(prefix="fuselint-cache-")
    fuselint(*paths, "--cache-dir", cache, "--jobs", "1")
    warm = median_seconds(lambda: fuselint(*paths, "--cache-dir", cache, "--jobs", "1"), args.repeat)
    shutil.rmtree(cache)
    rows.append(("fuselint check --jobs 1, warm cache", warm))
    fixit = None
    if not args.no_fixit and shutil.which("fixit"):
        fixit = median_seconds(lambda: subprocess.run(["fixit", "lint", *paths], capture_output=True, cwd=workdir), 1)
        rows.append(("fixit lint (2.2.1 default rules, all cores)", fixit))

    print(f"{len(files)} files, {kloc:.1f} kLOC (liger-kernel + flag-gems); Python {sys.version.split()[0]}, "
          f"libcst {importlib.metadata.version('libcst')}")
    print(f"pre-commit case: fuselint check on one 387-line file, wall incl. start-up: {single:.3f} s "
          f"(python -c pass: {bare_python:.3f} s)")
    print(f"{'run':<40} {'seconds':>8} {'kLOC/s':>8} {'vs parse':>9} {'vs fixit':>9}")
    for name, seconds in rows:
        versus_fixit = f"{fixit / seconds:.1f}x" if fixit else "-"
        print(f"{name:<40} {seconds:>8.2f} {kloc / seconds:>8.1f} {parse / seconds:>8.0%} {versus_fixit:>9}")
    print(f"two jobs over one: {one_job / two_jobs:.2f}x; warm over cold: {one_job / warm:.1f}x")
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
