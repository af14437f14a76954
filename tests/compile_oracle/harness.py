"""Run mutants through Triton (the oracle) and fuselint (the prediction); tabulate agreement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from compile_oracle.mutants import Seed, candidate_files, derive_seeds, mutate
from compile_oracle.operators import OPERATORS, Operator
from fuselint.config import Settings
from fuselint.engine import lint_source

WORKER = Path(__file__).with_name("worker.py")
MAIN_SITE = sysconfig.get_paths()["purelib"]


@dataclass
class Case:
    id: str
    seed: Seed
    operator: Operator | None  # None: the seed itself
    source: str
    span: tuple[int, int]
    predicted: bool = False  # fuselint: a fatal finding inside the kernel
    codes: tuple[str, ...] = ()
    verdicts: dict | None = None  # triton version -> {"verdict", "message"}

    def job(self) -> dict:
        return {"id": self.id, "source": self.source, "kernel": self.seed.kernel,
                "signature": self.seed.signature, "constexprs": self.seed.constexprs, "target": "sm_89"}


def compile_all(cases: list[Case], python: str = sys.executable, workers: int = 2, timeout: float = 1800) -> str:
    """Compile every case in `workers` processes of `python`; fills case.verdicts[version]."""
    # A fresh kernel cache: every verdict and every timing comes from a real compile.
    cache = tempfile.TemporaryDirectory(prefix="fl_oracle_cache_")
    env = dict(os.environ, FL_ORACLE_EXTRA_PATH=MAIN_SITE, TRITON_CACHE_DIR=cache.name)
    chunks = [cases[i::workers] for i in range(workers)]

    def run(chunk):
        if not chunk:
            return []
        text = "".join(json.dumps(c.job()) + "\n" for c in chunk)
        out = subprocess.run([python, str(WORKER)], input=text, capture_output=True, text=True, env=env, timeout=timeout)
        results = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        if len(results) != len(chunk):
            raise RuntimeError(f"oracle worker ({python}) answered {len(results)} of {len(chunk)}: {out.stderr[-2000:]}")
        return results

    by_id = {c.id: c for c in cases}
    version = None
    with ThreadPoolExecutor(workers) as pool:
        for results in pool.map(run, chunks):
            for result in results:
                version = result["triton"]
                case = by_id[result["id"]]
                case.verdicts = case.verdicts or {}
                case.verdicts[version] = result
    cache.cleanup()
    return version


def predict(case: Case) -> None:
    findings = lint_source(case.source, "mutant.py", Settings())
    inside = [f for f in findings if f.fatal and case.span[0] <= f.line <= case.span[1]]
    case.predicted = bool(inside)
    case.codes = tuple(sorted({f.code for f in inside}))


def seed_cases(limit_per_origin: int | None = None) -> list[Case]:
    cases, counts = [], defaultdict(int)
    for path, origin, label in candidate_files():
        for seed in derive_seeds(path, origin, label):
            if limit_per_origin is not None and counts[origin] >= limit_per_origin:
                continue
            counts[origin] += 1
            mutant = mutate(seed, Operator("seed", "seed", "pass"))
            if mutant is not None:
                cases.append(Case(f"{seed.id}_seed", seed, None, seed.source, mutant[1]))
    return cases


def usable_seeds(cases: list[Case], version: str) -> list[Seed]:
    """Seeds that compile with this Triton and that fuselint finds nothing fatal in."""
    for case in cases:
        predict(case)
    return [c.seed for c in cases if c.verdicts[version]["verdict"] == "compiles" and not c.predicted]


def mutant_cases(seeds: list[Seed], operators=OPERATORS) -> list[Case]:
    cases = []
    for seed in seeds:
        for operator in operators:
            mutant = mutate(seed, operator)
            if mutant is not None:
                case = Case(f"{seed.id}_{operator.name}".replace("-", "_"), seed, operator, *mutant)
                predict(case)
                cases.append(case)
    return cases


# -- tables -------------------------------------------------------------------------------------
def confusion(cases: list[Case], version: str) -> dict:
    """{operator: {"tp", "fn", "fp", "tn"}} and "all": predicted fatal x compiler rejects."""
    table: dict = defaultdict(lambda: {"tp": 0, "fn": 0, "fp": 0, "tn": 0})
    for case in cases:
        verdict = case.verdicts.get(version, {}).get("verdict")
        if verdict not in ("compiles", "rejected"):
            continue
        rejected = verdict == "rejected"
        key = ("tp" if case.predicted else "fn") if rejected else ("fp" if case.predicted else "tn")
        table[case.operator.name][key] += 1
        table["all"][key] += 1
    return dict(table)


def disagreements(cases: list[Case], version: str) -> list[Case]:
    return [c for c in cases if c.verdicts.get(version, {}).get("verdict") in ("compiles", "rejected")
            and (c.verdicts[version]["verdict"] == "rejected") != c.predicted]


def rates(row: dict) -> tuple[float | None, int]:
    rejected = row["tp"] + row["fn"]
    return (row["tp"] / rejected if rejected else None), row["fp"]


# -- the second oracle: Triton's own compile-error tests ---------------------------------------------
def triton_test_cases() -> list[Case]:
    from compile_oracle.mutants import Seed
    from compile_oracle.triton_cases import CASES, HEADER

    cases = []
    for number, tc in enumerate(CASES):
        source = HEADER + tc.source
        seed = Seed(tc.name, source, tc.kernel, tc.signature or {}, [list(c) for c in tc.constexprs], None, "triton-tests")
        case = Case(f"tt{number}", seed, Operator(tc.name, tc.expected, ""), source, (1, len(source.splitlines())))
        predict(case)
        cases.append(case)
    return cases
