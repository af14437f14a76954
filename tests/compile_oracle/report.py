"""The agreement tables and the list of disagreements, as Markdown."""

from __future__ import annotations

from collections import defaultdict

from compile_oracle.harness import Case, confusion, disagreements
from compile_oracle.operators import OPERATORS

# Disagreements whose cause is known, by (operator, triton version): a version difference that
# the finding's message names (fuselint keeps `fatal` for what every supported version rejects).
KNOWN_CAUSES = {
    ("chained-compare", "3.6.0"): "version difference: Triton 3.6's `visit_Compare` rejects `a < b < c` "
                                  "(`simultaneous multiple comparison`), 3.9 compiles it; FL012 warns, naming 3.6",
    ("walrus", "3.6.0"): "version difference: Triton 3.6 has no `visit_NamedExpr`, 3.9 compiles `:=`; FL012 warns, naming 3.6",
    ("dot-k8-fp32", "3.6.0"): "version difference: Triton 3.6's `min_dot_size` needs K >= 16 for fp32, 3.9 K >= 8; "
                              "FL014 warns, naming 3.6",
}


def _cells(row: dict | None) -> str:
    if row is None:
        return "– | – | – | –"
    return f"{row['tp']} | {row['fn']} | {row['fp']} | {row['tn']}"


def _summary(row: dict) -> str:
    rejected, compiled = row["tp"] + row["fn"], row["fp"] + row["tn"]
    recall = f"{100 * row['tp'] / rejected:.1f} %" if rejected else "–"
    return (f"{rejected + compiled} mutants: {rejected} rejected by the compiler, {recall} of them predicted fatal; "
            f"{compiled} compile, {row['fp']} of them predicted fatal")


def tables(cases: list[Case], versions: list[str]) -> str:
    per_version = {v: confusion(cases, v) for v in versions}
    head = "| operator | intent | " + " | ".join(f"{v}: TP | FN | FP | TN" for v in versions) + " |"
    rule = "| --- | --- | " + " | ".join("---: | ---: | ---: | ---:" for _ in versions) + " |"
    lines = [head, rule]
    for op in OPERATORS:
        if not any(op.name in per_version[v] for v in versions):
            continue
        lines.append(f"| `{op.name}` | {op.intent} | " + " | ".join(_cells(per_version[v].get(op.name)) for v in versions) + " |")
    lines.append("| **all** | | " + " | ".join(_cells(per_version[v].get("all")) for v in versions) + " |")
    lines.append("")
    lines.append("TP: predicted fatal, rejected. FN: not predicted, rejected. FP: predicted fatal, compiles. "
                 "TN: not predicted, compiles.")
    lines.append("")
    for v in versions:
        if "all" in per_version[v]:
            lines.append(f"- Triton {v}: {_summary(per_version[v]['all'])}.")
    return "\n".join(lines)


def disagreement_list(cases: list[Case], versions: list[str]) -> tuple[str, list[tuple]]:
    """Markdown of every disagreement grouped by cause; and the ones with no known cause."""
    groups: dict = defaultdict(list)
    unexplained = []
    for v in versions:
        for case in disagreements(cases, v):
            cause = KNOWN_CAUSES.get((case.operator.name, v))
            if cause is None:
                unexplained.append((v, case.operator.name, case.seed.path, case.seed.kernel,
                                    case.verdicts[v]["verdict"], case.codes, case.verdicts[v]["message"]))
                cause = "UNEXPLAINED"
            groups[(v, case.operator.name, cause)].append(case)
    if not groups:
        return "No disagreement.", []
    lines = ["| Triton | operator | mutants | compiler | fuselint | cause |", "| --- | --- | ---: | --- | --- | --- |"]
    for (v, name, cause), group in sorted(groups.items()):
        verdict = group[0].verdicts[v]["verdict"]
        predicted = "fatal" if group[0].predicted else "not fatal"
        lines.append(f"| {v} | `{name}` | {len(group)} | {verdict} | {predicted} | {cause} |")
    for v, name, path, kernel, verdict, codes, message in unexplained:
        lines.append(f"\n- UNEXPLAINED {v} `{name}` on {path}::{kernel}: compiler {verdict} ({message[:150]}), fuselint {codes}")
    return "\n".join(lines), unexplained


def triton_case_table(cases: list[Case], versions: list[str]) -> str:
    from compile_oracle.triton_cases import CAUSES

    lines = ["| upstream test | upstream expects | " + " | ".join(f"Triton {v}" for v in versions) + " | fuselint | cause of a disagreement |",
             "| --- | --- | " + " | ".join("---" for _ in versions) + " | --- | --- |"]
    agree = {v: 0 for v in versions}
    for case in cases:
        verdicts = [case.verdicts.get(v, {}).get("verdict", "–") for v in versions]
        for v, verdict in zip(versions, verdicts):
            agree[v] += (verdict == "rejected") == case.predicted
        disagree = any((verdict == "rejected") != case.predicted for verdict in verdicts)
        fuselint = ("fatal " + ", ".join(case.codes)) if case.predicted else "not fatal"
        lines.append(f"| `{case.operator.name}` | {case.operator.intent} | " + " | ".join(verdicts)
                     + f" | {fuselint} | {CAUSES.get(case.operator.name, 'UNEXPLAINED') if disagree else ''} |")
    lines.append("")
    lines += [f"- Triton {v}: fuselint agrees on {agree[v]} of {len(cases)} cases." for v in versions]
    return "\n".join(lines)
