"""A newcomer's first run: a fresh virtual environment in a folder whose path holds `venv`,
`build` and `dist`, the pip that Python's own `venv` brings, and the README's two commands,
nothing else. Both commands are read from the README, so the test follows it if it changes.

What it guards against was seen: exclusions that matched the folders above the wheels (under
`.../venv/lib/...`), and a build that needed a newer setuptools than a new venv has. The nested
run is the README's test command limited (through PYTEST_ADDOPTS, so the command is still read
from the README) to the test files whose outcome depends on where and how fuselint and the
wheels it lints are installed; the whole suite again would double CI's time for nothing new."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NESTED = "FUSELINT_FRESH_INSTALL_RUN"
# The files that lint the installed wheels, install fuselint from a checkout or run the CLI.
LOCATION_SENSITIVE = ("tests/test_corpus.py", "tests/test_fusion_corpus.py", "tests/test_memory_safety.py",
                      "tests/test_positions.py", "tests/test_gate.py", "tests/test_cli.py", "tests/test_readme.py")


def readme_commands() -> list[str]:
    """The commands of the README's "Set up and test" block, without their comments."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Set up and test.*?```bash\n(.*?)```", text, re.S)
    assert block, "README.md has no 'Set up and test' bash block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.split("#", 1)[0].strip()]


def checkout_files() -> list[str]:
    """What a fresh clone of the working tree holds: tracked files and untracked ones git does
    not ignore (so that the test sees uncommitted work as CI's clone will see it committed)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


@pytest.mark.skipif(os.environ.get(NESTED) == "1", reason="this is the nested run")
@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs the git checkout")
def test_readme_commands_pass_in_a_fresh_venv_under_venv_build_dist(tmp_path):
    clone = tmp_path / "venv" / "build" / "dist" / "fuselint"
    for name in checkout_files():
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, clone / name)
    git = ["git", "-c", "user.name=fresh", "-c", "user.email=fresh@example.invalid"]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "fresh clone"]):  # a clone has history
        subprocess.run(git + step, cwd=clone, check=True, capture_output=True)
    shared = ROOT.parent / "shared"
    if shared.is_dir():  # the house rules beside the checkout, as in CI
        shutil.copytree(shared, clone.parent / "shared", symlinks=True)
    subprocess.run([sys.executable, "-m", "venv", "venv"], cwd=clone, check=True)
    venv_bin = clone / "venv" / "bin"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))}
    env.update(PATH=f"{venv_bin}{os.pathsep}{env['PATH']}", VIRTUAL_ENV=str(clone / "venv"), **{NESTED: "1"},
               PYTEST_ADDOPTS=" ".join(LOCATION_SENSITIVE))
    pip_version = subprocess.run(["pip", "--version"], cwd=clone, env=env, capture_output=True, text=True).stdout
    assert str(clone / "venv") in pip_version  # the venv's own pip, as Python's venv made it
    for command in readme_commands():
        done = subprocess.run(command, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=3600)
        assert done.returncode == 0, f"`{command}` failed ({pip_version.strip()}):\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
