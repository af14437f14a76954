"""The precision benchmark (benchmarks/precision.py) and its manifests: the corpus pinned by
repository, commit, path and sha256, and the hand labels. The manifests' shape is always checked;
the rebuilt corpus (never committed: scripts/rebuild_precision_corpus.py writes it from local
snapshots) is checked only where it is present, as it is not in CI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))
import precision  # noqa: E402
import rebuild_precision_corpus as corpus  # noqa: E402

ENTRIES = corpus.load_manifest()
LABELS = precision.load_labels()
CORPUS = corpus.DEFAULT_INTO


def test_manifest_pins_each_file_by_commit_and_sha256():
    assert len(ENTRIES) >= 400
    assert len({e.repository for e in ENTRIES}) >= 10
    for entry in ENTRIES:
        assert re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", entry.repository), entry
        assert re.fullmatch(r"[0-9a-f]{40}", entry.commit), entry
        assert re.fullmatch(r"[0-9a-f]{64}", entry.sha256), entry
        assert entry.path.endswith(".py") and not entry.path.startswith("/") and ".." not in entry.path.split("/")
    assert len({(e.repository, e.path) for e in ENTRIES}) == len(ENTRIES), "a file listed twice"
    assert len({(e.repository, e.commit) for e in ENTRIES}) == len({e.repository for e in ENTRIES}), \
        "one commit per repository"
    assert not {e.repository for e in ENTRIES} & set(corpus.BUILT_ON), "the rules were built on these"


def test_labels_are_complete_and_point_into_the_corpus():
    assert len(LABELS) >= 200
    pinned = {(e.repository, e.path): e.commit for e in ENTRIES}
    for label in LABELS:
        where = f"{label.repository} {label.path}:{label.line} {label.code}"
        assert label.verdict in precision.VERDICTS, where
        assert len(label.reason.split()) >= 4, f"{where}: say why"
        assert label.text.strip() and label.line >= 1, where
        assert re.fullmatch(r"FL\d{3}", label.code), where
        assert pinned.get((label.repository, label.path)) == label.commit, f"{where}: not a corpus file at that commit"
    keys = Counter((label.repository, label.path, label.line, label.code) for label in LABELS)
    assert not [key for key, n in keys.items() if n > 1], "one label per rule and line"


def test_every_rule_that_fires_has_labels():
    per_rule = Counter(label.code for label in LABELS)
    assert all(n >= 1 for n in per_rule.values())
    # Both groups of issue #16 are judged: the repositories it described and the never-seen ones.
    groups = Counter(label.repository in corpus.SEEN_IN_ISSUE for label in LABELS)
    assert groups[True] >= 50 and groups[False] >= 50


def _hit(path: str, line: int, text: str, code: str = "FL401") -> precision.Hit:
    entry = corpus.Entry("o/r", "0" * 40, path, "0" * 64)
    return precision.Hit(entry, line, 1, code, "message", text)


def _label(line: int, text: str, verdict: str = "FALSE") -> precision.Label:
    return precision.Label("o/r", "0" * 40, "k.py", line, "FL401", verdict, "a reason of some words", text)


def test_a_label_judges_its_line_and_follows_its_text_only_when_the_line_is_gone():
    same_text = "x = tl.load(p)"
    hits = [_hit("k.py", 10, same_text), _hit("k.py", 30, same_text), _hit("k.py", 31, "y = 1")]
    labels = [_label(10, same_text, "TRUE")]
    assert precision.match(hits, labels) == []
    assert [h.label is not None for h in hits] == [True, False, False], "line 30 is another finding to label"
    moved = [_hit("k.py", 12, same_text)]  # the rule now reports the access's other line
    assert precision.match(moved, labels) == [] and moved[0].label is labels[0]
    gone = [_hit("k.py", 12, "something else")]
    assert precision.match(gone, labels) == labels and gone[0].label is None


def test_the_table_counts_verdicts_and_the_false_alarm_rate():
    hits = [_hit("k.py", n, f"t{n}") for n in (1, 2, 3, 4)]
    hits[0].label, hits[1].label, hits[2].label = _label(1, "t1", "TRUE"), _label(2, "t2", "FALSE"), _label(3, "t3", "HOUSE")
    rows = {row["rule"]: row for row in precision.table(hits)}
    assert rows["FL401"] == {"rule": "FL401", "findings": 4, "labelled": 3, "TRUE": 1, "HOUSE": 1, "FALSE": 1,
                             "false_alarm_rate": 1 / 3}
    assert precision.bar_missed(precision.table(hits)) == ["all: 33% false alarms > 5%"]


def test_the_benchmark_says_when_the_corpus_is_absent(tmp_path, capsys):
    assert precision.main(["--corpus", str(tmp_path / "nowhere")]) == precision.EXIT_NO_CORPUS
    assert "rebuild_precision_corpus.py" in capsys.readouterr().err


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True).stdout.strip()


def test_rebuild_checks_each_hash_and_names_what_it_could_not_rebuild(tmp_path):
    clone = tmp_path / "mirror" / "owner+kernels"
    (clone / "k").mkdir(parents=True)
    (clone / "k" / "a.py").write_text("import triton\n")
    _git(clone, "init", "-q")
    _git(clone, "add", ".")
    _git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    commit = _git(clone, "rev-parse", "HEAD")
    good = corpus.Entry("owner/kernels", commit, "k/a.py", corpus.sha256(b"import triton\n"))
    changed = corpus.Entry("owner/kernels", commit, "k/a.py", "0" * 64)
    absent = corpus.Entry("owner/kernels", commit, "k/b.py", "0" * 64)
    unknown = corpus.Entry("other/repo", commit, "x.py", "0" * 64)
    into = tmp_path / "into"
    problems = corpus.rebuild([good, absent, unknown], tmp_path / "mirror", into)
    assert (into / "owner+kernels" / "k" / "a.py").read_text() == "import triton\n"
    assert len(problems) == 2
    assert any("k/b.py" in p and "not in the local copy" in p for p in problems)
    assert any("other/repo" in p and "no snapshot or clone" in p for p in problems)
    assert corpus.verify([good], into) == []
    assert corpus.verify([changed], into) == ["owner+kernels/k/a.py: sha256 differs from the manifest"]
    mismatch = corpus.rebuild([changed], tmp_path / "mirror", tmp_path / "into2")
    assert len(mismatch) == 1 and "is not the recorded" in mismatch[0]


def _corpus_present() -> bool:
    return CORPUS.is_dir() and any((CORPUS / e.local).is_file() for e in ENTRIES)


needs_corpus = pytest.mark.skipif(not _corpus_present(), reason=f"the precision corpus is not rebuilt at {CORPUS} "
                                  "(python scripts/rebuild_precision_corpus.py --mirror DIR); CI has no snapshots")


@needs_corpus
def test_the_rebuilt_corpus_is_the_pinned_bytes():
    assert corpus.verify(ENTRIES, CORPUS) == []


@needs_corpus
def test_the_benchmark_lints_and_matches_the_labelled_files():
    """A sample, as the whole corpus takes minutes: the files that carry labels of three rules."""
    files = {(label.repository, label.path) for label in LABELS if label.code in ("FL011", "FL013", "FL402")}
    entries = [e for e in ENTRIES if (e.repository, e.path) in files]
    hits, problems = precision.lint_corpus(entries, CORPUS, ("FL011", "FL013", "FL402"))
    assert problems == []
    labels = [label for label in LABELS if label.code in ("FL011", "FL013", "FL402")]
    gone = precision.match(hits, labels)
    assert {h.code for h in hits} <= {"FL011", "FL013", "FL402"}
    rows = precision.table(hits)
    assert rows[-1]["rule"] == "all" and rows[-1]["labelled"] == sum(h.label is not None for h in hits)
    assert len(gone) + len({id(h.label) for h in hits if h.label}) == len(labels)


@needs_corpus
def test_an_incomplete_corpus_is_said_and_has_its_own_exit_code(tmp_path, capsys):
    first = ENTRIES[0]
    (tmp_path / first.local).parent.mkdir(parents=True)
    (tmp_path / first.local).write_bytes((CORPUS / first.local).read_bytes())
    assert precision.main(["--corpus", str(tmp_path), "--rule", "FL0"]) == precision.EXIT_INCOMPLETE
    err = capsys.readouterr().err
    assert f"{len(ENTRIES) - 1} of {len(ENTRIES)} files absent or changed" in err and ENTRIES[1].local in err


@needs_corpus
@pytest.mark.slow
def test_the_whole_benchmark_runs(capsys):
    assert precision.main(["--json"]) == precision.EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["files"] == len(ENTRIES)
    assert {"a", "b", "all"} == set(report["tables"])
