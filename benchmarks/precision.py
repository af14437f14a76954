"""Precision on unseen code: lint the precision corpus (public Triton files from repositories no rule
was built on, pinned in benchmarks/precision/corpus.json) with every rule, match each finding to its
hand label in benchmarks/precision/labels.json, and print per rule: findings, labelled, TRUE (a real
defect), HOUSE (a house rule, correctly reported), FALSE (a false alarm), and the false-alarm rate
FALSE / labelled — for the repositories issue #16 described (a), the others labelled before the
rules' fixes (b), the held-out repositories nobody on the team had used (c), and all. (a) and (b)
are development numbers (their false alarms were fixed); (c) is the held-out measure.

    python scripts/rebuild_precision_corpus.py          # once: rebuild the files from snapshots
    python benchmarks/precision.py [--corpus DIR] [--group c] [--rule FL401] [--json] [--unlabelled] [--check]

A label matches a finding by repository, path and code, and then by line, or, where the rule now
reports another line, by that line's text. Findings no label matches are listed as unlabelled (label
them); labels no finding matches are counted as gone (a rule stopped reporting them).
Exit 0; 1 with --check when the bar is missed (false alarms over 10 % for a rule with 5 or more
labels, or over 5 % overall); 2 when the corpus is absent; 3 when it is incomplete (results cover
the files present, and the missing ones are named).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from rebuild_precision_corpus import DEFAULT_INTO, ROOT, Entry, load_manifest, sha256  # noqa: E402

from fuselint import __version__  # noqa: E402
from fuselint.config import Settings  # noqa: E402
from fuselint.engine import enabled_rules, lint_source  # noqa: E402

LABELS = ROOT / "benchmarks" / "precision" / "labels.json"
VERDICTS = ("TRUE", "HOUSE", "FALSE")
RULE_BAR, OVERALL_BAR, RULE_BAR_MIN_LABELS = 0.10, 0.05, 5
EXIT_OK, EXIT_BAR_MISSED, EXIT_NO_CORPUS, EXIT_INCOMPLETE = 0, 1, 2, 3
GROUPS = {"a": "seen in issue #16 (development)", "b": "labelled before the rules' fixes (development)",
          "c": "held out: repositories nobody on the team had used", "all": "all"}


@dataclass(frozen=True)
class Label:
    repository: str
    commit: str
    path: str
    line: int
    code: str
    verdict: str
    reason: str
    text: str


@dataclass
class Hit:
    """One finding on the corpus, and the label that judges it (None: unlabelled)."""

    entry: Entry
    line: int
    column: int
    code: str
    message: str
    text: str
    label: Label | None = None

    @property
    def group(self) -> str:
        return self.entry.group


def load_labels(path: Path = LABELS) -> list[Label]:
    return [Label(**{**row, "line": int(row["line"])}) for row in json.loads(path.read_text())["labels"]]


def lint_corpus(entries: list[Entry], corpus: Path, codes: tuple[str, ...]) -> tuple[list[Hit], list[str]]:
    """The findings of the rules `codes` (prefixes; empty: all) on the files present, linted with
    every rule as `fuselint check --select ALL` does (naming a KernelBench rule would widen it to
    every file); the files absent or changed."""
    settings = Settings(select=("ALL",), root=corpus)
    rules = enabled_rules(settings)
    hits: list[Hit] = []
    problems: list[str] = []
    for entry in entries:
        file = corpus / entry.local
        if not file.is_file():
            problems.append(f"{entry.local}: missing")
            continue
        data = file.read_bytes()
        if sha256(data) != entry.sha256:
            problems.append(f"{entry.local}: not the recorded bytes (sha256 differs)")
            continue
        lines = data.decode("utf-8", "replace").splitlines()
        for finding in lint_source(data, file, settings, rules):
            if codes and not finding.code.startswith(tuple(c.upper() for c in codes)):
                continue
            text = lines[finding.line - 1].strip() if 0 < finding.line <= len(lines) else ""
            hits.append(Hit(entry, finding.line, finding.column, finding.code, finding.message, text))
    return hits, problems


def match(hits: list[Hit], labels: list[Label]) -> list[Label]:
    """Attach each hit's label; return the labels that matched no hit. A label judges the
    findings of its code on its line (two loads on one line share it). A label whose line no
    longer has such a finding has moved with the rule's choice of line: it then judges the
    nearest unlabelled finding of its code whose line has the same text."""
    at_line = {(label.repository, label.path, label.code, label.line): label for label in labels}
    used: set[int] = set()
    for hit in hits:
        hit.label = at_line.get((hit.entry.repository, hit.entry.path, hit.code, hit.line))
        if hit.label is not None:
            used.add(id(hit.label))
    for label in labels:
        if id(label) in used or not label.text:
            continue
        moved = [h for h in hits if h.label is None and h.code == label.code and h.text == label.text
                 and (h.entry.repository, h.entry.path) == (label.repository, label.path)]
        if moved:
            line = min(moved, key=lambda h: abs(h.line - label.line)).line
            for hit in moved:
                if hit.line == line:
                    hit.label = label
            used.add(id(label))
    return [label for label in labels if id(label) not in used]


def table(hits: list[Hit]) -> list[dict]:
    """One row per rule, then "all": findings, labelled, each verdict, false-alarm rate."""
    rows = []
    for code in sorted({h.code for h in hits}) + ["all"]:
        mine = [h for h in hits if code == "all" or h.code == code]
        verdicts = Counter(h.label.verdict for h in mine if h.label is not None)
        labelled = sum(verdicts.values())
        rows.append({"rule": code, "findings": len(mine), "labelled": labelled,
                     **{v: verdicts[v] for v in VERDICTS},
                     "false_alarm_rate": verdicts["FALSE"] / labelled if labelled else None})
    return rows


def bar_missed(rows: list[dict]) -> list[str]:
    missed = []
    for row in rows:
        rate, limit = row["false_alarm_rate"], OVERALL_BAR if row["rule"] == "all" else RULE_BAR
        if rate is not None and rate > limit and (row["rule"] == "all" or row["labelled"] >= RULE_BAR_MIN_LABELS):
            missed.append(f"{row['rule']}: {rate:.0%} false alarms > {limit:.0%}")
    return missed


def _format(rows: list[dict]) -> str:
    out = [f"{'rule':<6} {'findings':>8} {'labelled':>8} {'TRUE':>5} {'HOUSE':>5} {'FALSE':>5} {'false alarms':>12}"]
    for r in rows:
        rate = "—" if r["false_alarm_rate"] is None else f"{r['false_alarm_rate']:.1%}"
        out.append(f"{r['rule']:<6} {r['findings']:>8} {r['labelled']:>8} {r['TRUE']:>5} {r['HOUSE']:>5} "
                   f"{r['FALSE']:>5} {rate:>12}")
    return "\n".join(out)


def _unlabelled_record(hit: Hit) -> dict:
    return {"repository": hit.entry.repository, "commit": hit.entry.commit, "path": hit.entry.path,
            "line": hit.line, "code": hit.code, "text": hit.text, "message": hit.message}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_INTO, help="the rebuilt corpus (default: %(default)s)")
    parser.add_argument("--rule", action="append", default=[], metavar="CODE",
                        help="only this rule (a code or prefix; repeatable)")
    parser.add_argument("--group", choices=[g for g in GROUPS if g != "all"],
                        help="lint and judge only this group's files (c: the held-out measure)")
    parser.add_argument("--json", action="store_true", help="print the tables and lists as JSON")
    parser.add_argument("--unlabelled", action="store_true",
                        help="list the unlabelled findings, one JSON object a line, to label")
    parser.add_argument("--check", action="store_true", help="exit 1 when the false-alarm bar is missed")
    args = parser.parse_args(argv)

    entries = [e for e in load_manifest() if args.group in (None, e.group)]
    if not args.corpus.is_dir() or not any((args.corpus / e.local).is_file() for e in entries):
        print(f"error: the precision corpus is not at {args.corpus}. Rebuild it from snapshots with "
              "`python scripts/rebuild_precision_corpus.py --mirror DIR` (DIR holds OWNER+NAME/repo "
              "snapshots or clones), or name it with --corpus.", file=sys.stderr)
        return EXIT_NO_CORPUS
    hits, problems = lint_corpus(entries, args.corpus, tuple(args.rule))
    files = {(e.repository, e.path) for e in entries}
    labels = [label for label in load_labels() if (label.repository, label.path) in files and (
              not args.rule or any(label.code.startswith(c.upper()) for c in args.rule))]
    gone = match(hits, labels)
    unlabelled = [h for h in hits if h.label is None]

    if args.unlabelled:
        for hit in unlabelled:
            print(json.dumps(_unlabelled_record(hit)))
    else:
        groups = [g for g in GROUPS if args.group in (None, g) or g == "all"]
        tables = {group: table([h for h in hits if group == "all" or h.group == group]) for group in groups}
        present = len(entries) - len(problems)
        if args.json:
            print(json.dumps({"fuselint": __version__, "files": present, "missing": problems, "tables": tables,
                              "unlabelled": [_unlabelled_record(h) for h in unlabelled],
                              "gone": [label.__dict__ for label in gone]}, indent=1))
        else:
            repositories = len({e.repository for e in entries})
            print(f"fuselint {__version__} on {present} files of {repositories} repositories "
                  f"(benchmarks/precision/corpus.json); {len(labels)} labels\n")
            for group in groups:
                print(f"({group}) {GROUPS[group]}" if group != "all" else "overall")
                print(_format(tables[group]) + "\n")
            print(f"unlabelled findings: {len(unlabelled)} (list them with --unlabelled)")
            print(f"labels that matched no finding (gone or moved): {len(gone)}")
    if problems:
        print(f"incomplete corpus: {len(problems)} of {len(entries)} files absent or changed; the results "
              "cover the others:\n  " + "\n  ".join(problems), file=sys.stderr)
        return EXIT_INCOMPLETE
    missed = bar_missed(table(hits)) if args.check else []
    for line in missed:
        print(f"bar missed: {line}", file=sys.stderr)
    return EXIT_BAR_MISSED if missed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
