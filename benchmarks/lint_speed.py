"""Lint speed, one table: the pre-commit case (one ~400-line kernel file, wall time including
Python start-up) and whole-corpus throughput on every file of the liger-kernel and flag-gems
wheels — bare `libcst.parse_module`, `fuselint check` with one job, two jobs, a warm cache, and
Fixit (`fixit lint`, its default rules) as the libcst-based peer, on the same files in the same
run. A benchmark, not a test: run it on a quiet machine.

    python benchmarks/lint_speed.py [--repeat 3] [--no-fixit] [--corpus DIR ...]

The baseline parses each file and drops its tree, as a linter does: keeping every tree alive
in one list makes the garbage collector's passes over a growing heap slow the baseline by half
(seen on 600 and on 1647 files), which flatters the ratio. Parse and fuselint alternate, round
by round, so that a machine that slows down mid-run slows both. `--corpus` adds other folders
(the unseen precision corpus: benchmarks/precision) as their own table rows.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
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


def parse_each(sources: list[bytes]) -> None:
    for source in sources:
        cst.parse_module(source)  # dropped at once, as a linter drops each file's tree


def alternate(fns: list, repeat: int) -> list[float]:
    """Median seconds of each function, run in turn `repeat` times."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, spent in zip(fns, times):
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# A user's Python keeps compiled modules; with PYTHONDONTWRITEBYTECODE set (as on some CI and
# sandbox images) every start recompiles fuselint and its rules, about 0.07 s of the start-up.
USERS_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def fuselint(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "fuselint", "check", "--quiet", "--exit-zero", *args],
                   capture_output=True, check=True, env=USERS_ENV)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-fixit", action="store_true")
    parser.add_argument("--corpus", type=Path, action="append", default=[],
                        help="another folder of Python files to measure parse vs one job on")
    args = parser.parse_args()
    # A copy outside site-packages: Fixit skips files under site-packages; both tools read the copy.
    workdir = Path(tempfile.mkdtemp(prefix="fuselint-speed-"))
    roots = [Path(shutil.copytree(root, workdir / root.name)) for root in package_roots()]
    files, _ = collect_files(roots, Settings())
    sources = [f.read_bytes() for f in files]
    kloc = sum(s.count(b"\n") for s in sources) / 1000
    paths = [str(r) for r in roots]

    one_file = str(workdir / PRE_COMMIT_FILE)
    fuselint(one_file, "--no-cache")  # writes the compiled modules, as a user's first run does
    single = median_seconds(lambda: fuselint(one_file, "--no-cache"), max(args.repeat, 5))
    bare_python = median_seconds(lambda: subprocess.run([sys.executable, "-c", "pass"], env=USERS_ENV),
                                 max(args.repeat, 5))

    rows = []
    parse, one_job = alternate([lambda: parse_each(sources),
                                lambda: fuselint(*paths, "--no-cache", "--jobs", "1")], args.repeat)
    rows.append(("libcst.parse_module, each tree dropped", parse))
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
    for corpus in args.corpus:
        files, _ = collect_files([corpus], Settings())
        texts = [f.read_bytes() for f in files]
        parse, one_job = alternate([lambda: parse_each(texts),
                                    lambda: fuselint(str(corpus), "--no-cache", "--jobs", "1")], args.repeat)
        kloc = sum(t.count(b"\n") for t in texts) / 1000
        print(f"{corpus}: {len(files)} files, {kloc:.1f} kLOC: parse {parse:.2f} s, fuselint --jobs 1 {one_job:.2f} s "
              f"= {parse / one_job:.0%} of bare parse")
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
