"""The real out-of-bounds benchmark (benchmarks/oob_real/): the manifest's shape always; the
rebuild script on a throwaway git repository (verified, sha256 mismatch, no snapshot); and, where
the third-party files have been rebuilt (never in CI: they are not committed), their hashes and a
run of the benchmark. No threshold on recall here: the verifier is being rewritten, and the
numbers live in docs/memory_safety.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import oob_real  # noqa: E402
import oob_real_manifest as manifest_io  # noqa: E402
import rebuild_oob_real  # noqa: E402

MANIFEST = manifest_io.load()
PAIRS = MANIFEST["pairs"]


def test_manifest_is_well_formed():
    assert manifest_io.problems(MANIFEST) == []


def test_manifest_has_enough_pairs_over_several_repositories_and_both_splits():
    assert len(PAIRS) >= 30
    assert len({p["repository"] for p in PAIRS}) >= 8
    heldout = [p for p in PAIRS if p["split"] == "heldout"]
    assert 0.25 <= len(heldout) / len(PAIRS) <= 0.4
    assert MANIFEST["split"]["heldout"] == len(heldout)


@pytest.mark.parametrize("broken, message", [
    (lambda p: p.update(buggy_lines=["12"]), "buggy_lines"),
    (lambda p: p["before"].update(sha256="abc"), "sha256"),
    (lambda p: p["after"].update(commit="HEAD"), "commit"),
    (lambda p: p.update(split="test"), "split"),
    (lambda p: p.update(fixed_lines=p["fixed_lines"] + [1]), "pair up"),
    (lambda p: p.pop("class"), "fields"),
])
def test_problems_names_each_defect(broken, message):
    manifest = json.loads(json.dumps(MANIFEST))
    broken(manifest["pairs"][0])
    found = manifest_io.problems(manifest)
    assert found and message in found[0]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def snapshot(tmp_path):
    """A mirror folder holding one repository `acme/kernels` with a two-commit fix, and a
    manifest of one pair over it."""
    repo = tmp_path / "mirror" / "acme+kernels" / "repo"
    repo.mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    before = b"x = tl.load(p + offs)\n"
    after = b"x = tl.load(p + offs, mask=offs < n)\n"
    (repo / "k.py").write_bytes(before)
    _git(repo, "add", "k.py")
    _git(repo, "commit", "-qm", "kernel")
    first = _git(repo, "rev-parse", "HEAD")
    (repo / "k.py").write_bytes(after)
    _git(repo, "commit", "-qam", "fix")
    second = _git(repo, "rev-parse", "HEAD")
    pair = {"id": "acme-fix", "repository": "acme/kernels",
            "before": {"commit": first, "path": "k.py", "sha256": manifest_io.sha256(before)},
            "after": {"commit": second, "path": "k.py", "sha256": manifest_io.sha256(after)},
            "buggy_lines": [1], "fixed_lines": [1], "class": "missing mask", "reference": "test",
            "note": "", "split": "dev"}
    manifest = {"split": {"seed": 1, "method": "test"}, "pairs": [pair]}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    return tmp_path, path, manifest


def test_rebuild_writes_verified_files(snapshot):
    tmp, manifest_path, manifest = snapshot
    into = tmp / "out"
    status = rebuild_oob_real.main(["--mirror", str(tmp / "mirror"), "--into", str(into), "--manifest", str(manifest_path)])
    assert status == rebuild_oob_real.EXIT_OK
    before, after = manifest_io.pair_files(into, manifest["pairs"][0])
    assert before.read_bytes().startswith(b"x = tl.load(p + offs)")
    assert b"mask" in after.read_bytes()


def test_rebuild_refuses_a_file_whose_hash_differs(snapshot, capsys):
    tmp, manifest_path, manifest = snapshot
    manifest["pairs"][0]["after"]["sha256"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))
    status = rebuild_oob_real.main(["--mirror", str(tmp / "mirror"), "--into", str(tmp / "out"), "--manifest", str(manifest_path)])
    assert status == rebuild_oob_real.EXIT_MISMATCH
    assert "NOT REBUILT acme-fix: after: sha256" in capsys.readouterr().out
    assert not (tmp / "out" / "acme-fix" / "after.py").exists()


def test_rebuild_says_which_pairs_have_no_snapshot(snapshot, capsys):
    tmp, manifest_path, _ = snapshot
    status = rebuild_oob_real.main(["--mirror", str(tmp / "elsewhere"), "--into", str(tmp / "out"), "--manifest", str(manifest_path)])
    assert status == rebuild_oob_real.EXIT_INCOMPLETE
    assert "SKIPPED acme-fix: no snapshot of acme/kernels" in capsys.readouterr().out


def test_both_scripts_refuse_a_malformed_manifest(snapshot, capsys):
    tmp, manifest_path, manifest = snapshot
    manifest["pairs"][0]["split"] = "test"
    manifest_path.write_text(json.dumps(manifest))
    assert rebuild_oob_real.main(["--mirror", str(tmp / "mirror"), "--manifest", str(manifest_path)]) == 2
    assert oob_real.main(["--manifest", str(manifest_path)]) == oob_real.EXIT_BAD_MANIFEST
    assert "split must be one of" in capsys.readouterr().err


def test_benchmark_says_nothing_was_measured_when_files_are_absent(snapshot, capsys):
    tmp, manifest_path, _ = snapshot
    status = oob_real.main(["--corpus", str(tmp / "none"), "--manifest", str(manifest_path), "--no-explain"])
    assert status == oob_real.EXIT_NOTHING
    assert "NOT MEASURED acme-fix" in capsys.readouterr().out


def test_flagged_means_a_finding_covers_the_first_line_of_the_access():
    # a finding on `tl.load(` spanning lines 8..9 covers an access recorded at line 8, not one at 10
    finding = type("Finding", (), {"line": 8, "end_line": 9})
    assert oob_real.covering([finding], 8) == [finding]
    assert oob_real.covering([finding], 9) == [finding]
    assert oob_real.covering([finding], 10) == []


CORPUS = manifest_io.DEFAULT_CORPUS
REBUILT = [p for p in PAIRS if all(path.exists() for path in manifest_io.pair_files(CORPUS, p))]


@pytest.mark.skipif(not REBUILT, reason=f"no pair rebuilt under {CORPUS} (third-party files are not committed; "
                                         "run benchmarks/rebuild_oob_real.py where snapshots exist)")
def test_rebuilt_files_match_their_hashes():
    for pair in REBUILT:
        for side, path in zip(("before", "after"), manifest_io.pair_files(CORPUS, pair)):
            assert manifest_io.file_state(path, pair[side]["sha256"]) == "ok", f"{pair['id']} {side}"


@pytest.mark.skipif(not REBUILT, reason=f"no pair rebuilt under {CORPUS}")
def test_benchmark_runs_on_the_rebuilt_pairs():
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "oob_real.py"), "--json", "--no-explain"],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode in (oob_real.EXIT_OK, oob_real.EXIT_PARTIAL), run.stderr
    report = json.loads(run.stdout)
    measured = {r["id"] for r in report["pairs"]}
    assert measured == {p["id"] for p in REBUILT}
    assert report["totals"]["all"]["buggy_accesses"] == sum(len(p["buggy_lines"]) for p in REBUILT)
