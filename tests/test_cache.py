"""The cache of results: same output warm as cold, keyed by content and settings, and never
fatal when corrupt or unwritable."""

from __future__ import annotations

import json
import os

import pytest
from conftest import KERNEL_BAD, KERNEL_GOOD, run_fuselint


def lint(tmp_path, *extra):
    return run_fuselint("check", "--select", "FL0", "--output-format", "json", "--cache-dir",
                        str(tmp_path / "cache"), str(tmp_path / "src"), *extra)


@pytest.fixture
def src(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "bad.py").write_text(KERNEL_BAD)
    (tmp_path / "src" / "good.py").write_text(KERNEL_GOOD)
    return tmp_path / "src"


def entries(tmp_path):
    return sorted(p for p in (tmp_path / "cache").rglob("*.json"))


def test_warm_run_reads_the_entries_of_the_cold_run(tmp_path, src):
    cold = lint(tmp_path)
    assert len(entries(tmp_path)) == 2
    # Prove the warm run reads the cache: an entry edited by hand is what it reports.
    for entry in entries(tmp_path):
        records = json.loads(entry.read_text())
        for record in records:
            record["message"] = "from the cache"
        entry.write_text(json.dumps(records))
    warm = lint(tmp_path)
    assert [f["message"] for f in json.loads(warm.stdout)] == ["from the cache"] * 3
    assert [(f["code"], f["line"]) for f in json.loads(warm.stdout)] == [
        (f["code"], f["line"]) for f in json.loads(cold.stdout)]


def test_changed_content_or_settings_miss_the_cache(tmp_path, src):
    lint(tmp_path)
    (src / "bad.py").write_text(KERNEL_BAD + "\n# touched\n")
    lint(tmp_path)
    run_fuselint("check", "--select", "FL01", "--cache-dir", str(tmp_path / "cache"), str(src))
    assert len(entries(tmp_path)) == 2 + 1 + 2


def test_no_cache_writes_nothing(tmp_path, src):
    lint(tmp_path, "--no-cache")
    assert not (tmp_path / "cache").exists()


def test_corrupt_entry_is_ignored_with_a_warning(tmp_path, src):
    cold = lint(tmp_path)
    for entry in entries(tmp_path):
        entry.write_text("{not json")
    warm = lint(tmp_path)
    assert warm.returncode == 1 and warm.stdout == cold.stdout
    assert warm.stderr.count("warning: unreadable entries in the cache") == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_unwritable_cache_is_ignored_with_a_warning(tmp_path, src):
    (tmp_path / "cache").mkdir(mode=0o500)
    result = lint(tmp_path)
    assert result.returncode == 1 and "cannot write the cache" in result.stderr


def test_cache_path_that_is_a_file_is_ignored_with_a_warning(tmp_path, src):
    (tmp_path / "cache").write_text("not a folder")
    result = lint(tmp_path)
    assert result.returncode == 1 and len(json.loads(result.stdout)) == 3
    assert result.stderr.count("cannot write the cache") == 1


def test_cache_ignores_itself_in_git(tmp_path, src):
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    lint(tmp_path)
    assert (tmp_path / "cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (tmp_path / "cache" / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    untracked = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=tmp_path,
                               capture_output=True, text=True, check=True).stdout
    assert "cache/" not in untracked and "src/bad.py" in untracked  # `git add -A` would not commit it
