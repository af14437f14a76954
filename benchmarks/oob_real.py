"""Recall of the memory-safety rules (FL4xx) on real public out-of-bounds fixes: every pair of
benchmarks/oob_real/manifest.json linted before and after its fix.

    python benchmarks/rebuild_oob_real.py            # once: the files, from local git snapshots
    python benchmarks/oob_real.py [--split dev|heldout|all] [--corpus DIR] [--json]

An access is *flagged at its line* when an FL4xx finding's line range (line..end_line) includes
the first line of the access's call (the opt-in FL407 counts on int32-overflow pairs only, and
only it counts there; recall without it is shown beside) (`tl.load(`, `tl.store(`, `tl.atomic_*(`), the line the
manifest records. Recall = buggy accesses flagged / buggy accesses; a false alarm is a finding
on one of the same accesses after the fix. For each missed access the verifier's own reason is
printed: the verdict and cause of `fuselint check --explain FILE:LINE`.

Exit status: 0 every selected pair measured; 3 some pairs absent or failing their sha256 (the rest
measured, the absent ones listed); 4 none present (nothing measured); 2 the manifest is malformed.
The verifier engineer reads only the dev pairs; held-out pairs measure whether a change generalises.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
from pathlib import Path

import oob_real_manifest as manifest_io

from fuselint import __version__
from fuselint.config import Settings
from fuselint.engine import lint_source
from fuselint.rules import all_rules

EXIT_OK, EXIT_BAD_MANIFEST, EXIT_PARTIAL, EXIT_NOTHING = 0, 2, 3, 4
# The FL4xx rules, the opt-in ones (int32 overflow) named: recall is reported with and without them.
OPT_IN = tuple(sorted(r.code for r in all_rules() if r.opt_in and r.code.startswith("FL4")))
SETTINGS = Settings(select=("FL4", *OPT_IN))
# An opt-in rule scores only on the pairs of the bug class it looks for (FL407 on int32 overflows,
# which the other rules never look for); its findings on other pairs' lines are a different defect.
CLASS_RULES = {"int32 offset overflow": ("FL407",)}


def scoring(pair: dict, findings: list) -> list:
    """The findings that count for this pair: its class's rules, else the default FL4xx rules."""
    codes = CLASS_RULES.get(pair["class"])
    return [f for f in findings if (f.code in codes if codes else f.code not in OPT_IN)]


def memory_findings(path: Path) -> list:
    return [f for f in lint_source(path.read_bytes(), path, SETTINGS) if f.code.startswith("FL4")]


def covering(findings: list, line: int) -> list:
    return [f for f in findings if f.line <= line <= f.end_line]


def explain(path: Path, line: int) -> str:
    """`fuselint check --explain PATH:LINE`, in this process, as text ('' when the installed
    fuselint has no --explain or it fails)."""
    from fuselint import cli

    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            status = cli.main(["check", "--explain", f"{path}:{line}"])
    except (SystemExit, Exception):  # an older or newer CLI: say so rather than stop the benchmark
        return ""
    return out.getvalue() if status == 0 else ""


def block_at(text: str, line: int) -> list[str]:
    """The explain block of the access that starts on `line` (a line may hold several)."""
    blocks, current = [], []
    for raw in text.splitlines():
        if raw and not raw[0].isspace() and current:
            blocks.append(current)
            current = []
        current.append(raw.strip())
    if current:
        blocks.append(current)
    exact = [b for b in blocks if b[0].endswith(f"(line {line})")]
    return [row for b in (exact or blocks) for row in b]


def verdict_and_cause(text: str, line: int) -> tuple[str, str]:
    """The verdict line and a short cause, grouped the same way across accesses: code shown in
    backticks and numbers are dropped from the cause so that equal reasons compare equal."""
    rows = block_at(text, line)
    if not rows:
        return "no explanation", "`--explain` gave nothing (unavailable in this fuselint)"
    if rows[0].startswith("no load, store or atomic"):
        return rows[0], "the model sees no access on this line"
    verdict = next((r for r in rows if r.startswith("verdict:")), rows[-1])
    reasons = [r for r in rows[1:] if not r.startswith(("verdict:", "mask:", "guards:"))
               and not (r.startswith("offset:") and "not modelled" not in r)]
    reasons.sort(key=lambda r: ": proven" in r)  # a vector the model could not prove says more
    cause = reasons[0] if reasons else verdict
    if cause.startswith("vector"):  # "vector `v`: range …; extent `e` (where it comes from): kind"
        cause = f"an extent is stated; the vector {cause.rsplit('): ', 1)[-1]}"
    return verdict, re.sub(r"\d+", "N", re.sub(r"`[^`]*`", "…", cause))


def measure(pair: dict, corpus: Path, with_explain: bool = True) -> dict:
    before, after = manifest_io.pair_files(corpus, pair)
    found_before, found_after = scoring(pair, memory_findings(before)), scoring(pair, memory_findings(after))
    accesses = []
    for buggy, fixed in zip(pair["buggy_lines"], pair["fixed_lines"]):
        hits, alarms = covering(found_before, buggy), covering(found_after, fixed)
        access = {"before_line": buggy, "after_line": fixed, "flagged": bool(hits),
                  "codes": sorted({f.code for f in hits}),
                  "fixed_line_findings": [f"{f.code} {f.message}" for f in alarms]}
        if not hits and with_explain:
            access["verdict"], access["cause"] = verdict_and_cause(explain(before, buggy), buggy)
        accesses.append(access)
    listed_before, listed_after = set(pair["buggy_lines"]), set(pair["fixed_lines"])
    return {
        "id": pair["id"], "repository": pair["repository"], "class": pair["class"], "split": pair["split"],
        "accesses": accesses,
        # findings on lines the manifest does not list: not scored, shown for the reader
        "other_findings_before": sum(1 for f in found_before if not listed_before & set(range(f.line, f.end_line + 1))),
        "other_findings_after": sum(1 for f in found_after if not listed_after & set(range(f.line, f.end_line + 1))),
    }


def totals(results: list[dict]) -> dict:
    accesses = [a for r in results for a in r["accesses"]]
    flagged = sum(a["flagged"] for a in accesses)
    by_default = sum(a["flagged"] and not set(a["codes"]) <= set(OPT_IN) for a in accesses)
    return {
        "pairs": len(results),
        "pairs_fully_flagged": sum(all(a["flagged"] for a in r["accesses"]) for r in results),
        "buggy_accesses": len(accesses),
        "flagged": flagged,
        "recall": flagged / len(accesses) if accesses else None,
        "flagged_by_default_rules": by_default,
        "findings_on_fixed_accesses": sum(len(a["fixed_line_findings"]) for a in accesses),
        "fixed_accesses_with_findings": sum(bool(a["fixed_line_findings"]) for a in accesses),
    }


def print_text(results: list[dict], summary: dict, absent: dict, out) -> None:
    out.write(f"fuselint {__version__}: FL4xx on real out-of-bounds fixes "
              f"(flagged = a finding whose lines include the access's first line)\n\n")
    out.write("| pair | repository | class | split | buggy | flagged | rules | findings on fixed |\n")
    out.write("| --- | --- | --- | --- | ---: | ---: | --- | ---: |\n")
    for r in results:
        acc = r["accesses"]
        codes = ", ".join(sorted({c for a in acc for c in a["codes"]})) or "-"
        alarms = sum(len(a["fixed_line_findings"]) for a in acc)
        out.write(f"| {r['id']} | {r['repository']} | {r['class']} | {r['split']} | {len(acc)} | "
                  f"{sum(a['flagged'] for a in acc)} | {codes} | {alarms} |\n")
    out.write("\nMissed accesses (the verifier's verdict and cause, from --explain):\n")
    for r in results:
        for a in r["accesses"]:
            if not a["flagged"]:
                out.write(f"  {r['id']}:{a['before_line']}: {a.get('verdict', '-')} -- {a.get('cause', '-')}\n")
    for r in results:
        for a in r["accesses"]:
            for alarm in a["fixed_line_findings"]:
                out.write(f"  FALSE ALARM {r['id']} after:{a['after_line']}: {alarm}\n")
    out.write(f"\n| split | pairs | fully flagged | buggy accesses | flagged | recall | without {', '.join(OPT_IN)} (opt-in) "
              "| findings on fixed accesses |\n")
    out.write("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
    for split, t in summary.items():
        recall = f"{100 * t['recall']:.0f} %" if t["recall"] is not None else "n/a (nothing measured)"
        default = f"{t['flagged_by_default_rules']} ({100 * t['flagged_by_default_rules'] / t['buggy_accesses']:.0f} %)" \
            if t["buggy_accesses"] else "n/a"
        out.write(f"| {split} | {t['pairs']} | {t['pairs_fully_flagged']} | {t['buggy_accesses']} | {t['flagged']} | "
                  f"{recall} | {default} | {t['findings_on_fixed_accesses']} |\n")
    for pair_id, why in absent.items():
        out.write(f"NOT MEASURED {pair_id}: {why}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default="all")
    parser.add_argument("--corpus", type=Path, default=manifest_io.DEFAULT_CORPUS, help="where the rebuilt files are")
    parser.add_argument("--manifest", type=Path, default=manifest_io.MANIFEST)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--no-explain", action="store_true", help="skip --explain on missed accesses (faster)")
    args = parser.parse_args(argv)
    manifest = manifest_io.load_checked(args.manifest)
    if manifest is None:
        return EXIT_BAD_MANIFEST
    selected = [p for p in manifest["pairs"] if args.split in ("all", p["split"])]
    results, absent = [], {}
    for pair in selected:
        states = [manifest_io.file_state(path, pair[side]["sha256"])
                  for side, path in zip(("before", "after"), manifest_io.pair_files(args.corpus, pair))]
        if states != ["ok", "ok"]:
            absent[pair["id"]] = f"before {states[0]}, after {states[1]} in {args.corpus}"
            continue
        results.append(measure(pair, args.corpus, with_explain=not args.no_explain))
    splits = ("dev", "heldout") if args.split == "all" else (args.split,)
    summary = {s: totals([r for r in results if r["split"] == s]) for s in splits}
    if args.split == "all":
        summary["all"] = totals(results)
    if args.json:
        json.dump({"fuselint": __version__, "split": args.split, "pairs": results, "totals": summary,
                   "not_measured": absent}, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print_text(results, summary, absent, sys.stdout)
    if not results:
        print(f"nothing measured: no rebuilt pair under {args.corpus} "
              f"(run benchmarks/rebuild_oob_real.py)", file=sys.stderr)
        return EXIT_NOTHING
    return EXIT_PARTIAL if absent else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
