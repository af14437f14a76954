"""How many memory-safety findings (FL4xx) carry a witness: concrete sizes at which the access
leaves its tensor. Lints the liger-kernel and flag-gems wheels and any folders given (the
precision corpus: benchmarks/precision), and prints one row per rule.

    python benchmarks/witness_coverage.py [--corpus DIR ...] [--list]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from collections import Counter
from pathlib import Path

from fuselint.engine import lint_source


def roots(extra: list[str]) -> list[Path]:
    wheels = [Path(importlib.metadata.distribution(dist).locate_file(package))
              for dist, package in (("liger-kernel", "liger_kernel"), ("flag-gems", "flag_gems"))]
    return wheels + [Path(p) for p in extra]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", default=[], help="another folder to lint")
    parser.add_argument("--list", action="store_true", help="list the findings without a witness")
    args = parser.parse_args()
    counts: Counter = Counter()
    missing = []
    for root in roots(args.corpus):
        for path in sorted(root.rglob("*.py")):
            data = path.read_bytes()
            if b"triton" not in data:
                continue
            for finding in lint_source(data, path):
                if finding.code.startswith("FL4"):
                    counts[(finding.code, finding.witness is not None)] += 1
                    if finding.witness is None:
                        missing.append(f"{path}:{finding.line}: {finding.code} {finding.message[:140]}")
    print("| rule | findings | with a witness |")
    print("| --- | ---: | ---: |")
    for code in sorted({c for c, _ in counts}):
        print(f"| {code} | {counts[(code, True)] + counts[(code, False)]} | {counts[(code, True)]} |")
    print(f"| all | {sum(counts.values())} | {sum(v for (_, shown), v in counts.items() if shown)} |")
    if args.list:
        print("\n".join(missing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
