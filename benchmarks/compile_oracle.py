"""Differential test of fuselint's `fatal` against Triton's compiler, full run.

Every kernel of examples/, liger-kernel's ops and the importable flag-gems files whose
signature can be derived and that compiles (sm_89, CPU) is a seed; every mutation operator is
applied to every seed; each mutant is compiled by the installed Triton (3.9) and, with
--triton36 PYTHON, by Triton 3.6 in another environment; fuselint's fatal findings inside the
kernel are the prediction. Writes the tables to docs/compile_oracle.md (section between the
markers) and prints them.

    python benchmarks/compile_oracle.py --triton36 /tmp/venv36/bin/python
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from compile_oracle import harness  # noqa: E402
from compile_oracle.report import disagreement_list, tables, triton_case_table  # noqa: E402

BEGIN, END = "<!-- mutation-tables:begin -->", "<!-- mutation-tables:end -->"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triton36", help="a python whose triton is 3.6 (a CPU virtual environment)")
    parser.add_argument("--seeds-per-origin", type=int, default=None, help="limit the seeds (default: all)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/compile_oracle.md alone")
    args = parser.parse_args()
    start = time.time()
    seeds = harness.seed_cases(args.seeds_per_origin)
    main_version = harness.compile_all(seeds, workers=args.workers)
    versions = [main_version]
    usable = harness.usable_seeds(seeds, main_version)
    mutants = harness.mutant_cases(usable)
    harness.compile_all(mutants, workers=args.workers)
    if args.triton36:
        other = harness.compile_all(seeds, python=args.triton36, workers=args.workers)
        harness.compile_all(mutants, python=args.triton36, workers=args.workers)
        compiled_seed = {c.seed.id for c in seeds if c.verdicts[other]["verdict"] == "compiles"}
        for case in mutants:  # a seed that does not compile with 3.6 has no 3.6 verdicts
            if case.seed.id not in compiled_seed:
                case.verdicts.pop(other, None)
        versions = [other, main_version]
    triton_cases = harness.triton_test_cases()
    harness.compile_all(triton_cases, workers=1)
    if args.triton36:
        harness.compile_all(triton_cases, python=args.triton36, workers=1)
    origins = sorted({s.origin for s in usable})
    by_origin = ", ".join(f"{sum(s.origin == o for s in usable)} from {o}" for o in origins)
    table = tables(mutants, versions)
    listing, unexplained = disagreement_list(mutants, versions)
    text = (f"{len(usable)} seed kernels ({by_origin}) of {len(seeds)} with a derivable signature compile and have no "
            f"fatal finding; {len(mutants)} mutants; {time.time() - start:.0f} s on this machine.\n\n"
            f"{table}\n\n### Disagreements\n\n{listing}\n\n"
            f"### Second oracle: Triton's own compile-error tests\n\n{triton_case_table(triton_cases, versions)}\n")
    print(text)
    if not args.no_write:
        doc = ROOT / "docs" / "compile_oracle.md"
        old = doc.read_text() if doc.exists() else f"{BEGIN}\n{END}\n"
        head, _, rest = old.partition(BEGIN)
        _, _, tail = rest.partition(END)
        doc.write_text(f"{head}{BEGIN}\n{text}{END}{tail}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
