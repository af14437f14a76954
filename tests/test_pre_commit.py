"""The pre-commit hook for real: a temporary git repo with a bad kernel fails the hook from
this checkout, and passes once the kernel is fixed."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from conftest import KERNEL_BAD, KERNEL_GOOD, ROOT

pytestmark = pytest.mark.skipif(shutil.which("pre-commit") is None or shutil.which("git") is None,
                                reason="pre-commit and git are needed")


def git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_hook_fails_on_bad_kernel_then_passes(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "ci")
    kernel = repo / "kernel.py"
    kernel.write_text(KERNEL_BAD)
    git(repo, "add", "kernel.py")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}

    def hook():
        return subprocess.run(["pre-commit", "try-repo", str(ROOT), "fuselint", "--files", "kernel.py"],
                              cwd=repo, capture_output=True, text=True, env=env, timeout=600)

    failed = hook()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "kernel.py:8:9: FL010" in failed.stdout
    kernel.write_text(KERNEL_GOOD)
    git(repo, "add", "kernel.py")
    passed = hook()
    assert passed.returncode == 0, passed.stdout + passed.stderr
