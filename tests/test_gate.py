"""The CI gate: `--diff-base` on real git repositories, the baseline round trip, every output
format honouring both, `action.yml` and the script it calls, and pre-commit agreeing with it."""

from __future__ import annotations

import json
from urllib.parse import unquote
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import KERNEL_BAD, KERNEL_GOOD, ROOT, run_fuselint

import fuselint
from fuselint.diff import parse_unified_diff

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is needed")

# The rules KERNEL_BAD breaks on purpose; named so that a new rule elsewhere changes no count here.
SELECT = "FL002,FL003,FL010"
LAUNCH = "add_kernel[(n // 128,)](x, n, BLOCK=96)"  # line 14 of KERNEL_BAD: FL002 and FL003
LOAD = "x = tl.load(x_ptr + offs, other=0.0)"  # line 8: FL010
NEW_LOAD = "    y = tl.load(x_ptr + offs + 1, other=1.0)\n"


def git(repo, *args) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def make_repo(path, files: dict[str, str]):
    """A repository on branch main with one commit holding files."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "ci@example.com")
    git(path, "config", "user.name", "ci")
    git(path, "config", "commit.gpgsign", "false")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")
    return path


def check_json(repo, *args) -> tuple[list[tuple[str, int, str]], subprocess.CompletedProcess]:
    done = run_fuselint("check", "--select", SELECT, "--output-format", "json", *args, cwd=repo)
    assert done.returncode in (0, 1), done.stderr
    return [(f["path"], f["line"], f["code"]) for f in json.loads(done.stdout)], done


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


# --- --diff-base -------------------------------------------------------------------------------

def test_diff_base_reports_changed_lines_only(tmp_path):
    repo = make_repo(tmp_path / "repo", {"k.py": KERNEL_BAD})
    kernel = repo / "k.py"
    assert {code for _, _, code in check_json(repo, "--diff-base", "main", "k.py")[0]} == set()
    edit(kernel, "import triton\n", "# a comment above everything\nimport triton\n")  # shifts lines
    edit(kernel, "BLOCK=96", "BLOCK=48")  # the launch line, now 15
    found, done = check_json(repo, "--diff-base", "main", "k.py")
    assert found == [("k.py", 15, "FL002"), ("k.py", 15, "FL003")]  # FL010 at line 9: untouched
    assert done.returncode == 1
    assert "1 on lines not changed since main" in done.stderr
    everything, _ = check_json(repo, "k.py")
    assert ("k.py", 9, "FL010") in everything


def test_diff_base_is_the_merge_base_and_counts_commits_staged_and_unstaged(tmp_path):
    repo = make_repo(tmp_path / "repo", {"k.py": KERNEL_BAD, "other.py": KERNEL_BAD})
    git(repo, "checkout", "-q", "-b", "feature")
    edit(repo / "k.py", "BLOCK=96", "BLOCK=48")
    git(repo, "commit", "-q", "-am", "committed on the branch")
    # main moves on after the branch point: its change to other.py's load line is not the PR's
    git(repo, "checkout", "-q", "main")
    edit(repo / "other.py", LOAD, LOAD.replace("0.0", "1.0"))
    git(repo, "commit", "-q", "-am", "main moves on")
    git(repo, "checkout", "-q", "feature")
    edit(repo / "other.py", "n // 128", "n // 64")  # staged
    git(repo, "add", "other.py")
    edit(repo / "k.py", LOAD, LOAD.replace("0.0", "2.0"))  # unstaged
    found, _ = check_json(repo, "--diff-base", "main", ".")
    assert sorted(found) == [("k.py", 8, "FL010"), ("k.py", 14, "FL002"), ("k.py", 14, "FL003"),
                             ("other.py", 14, "FL002"), ("other.py", 14, "FL003")]


def test_diff_base_untracked_file_is_wholly_changed_and_ignored_files_are_not(tmp_path):
    repo = make_repo(tmp_path / "repo", {"k.py": KERNEL_GOOD, ".gitignore": "generated/\n"})
    (repo / "new.py").write_text(KERNEL_BAD)
    (repo / "generated").mkdir()
    (repo / "generated" / "old.py").write_text(KERNEL_BAD)
    found, _ = check_json(repo, "--diff-base", "main", "new.py", "generated/old.py")
    assert sorted(found) == [("new.py", 8, "FL010"), ("new.py", 14, "FL002"), ("new.py", 14, "FL003")]


def test_diff_base_syntax_error_is_reported_when_its_file_changed(tmp_path):
    multi_line = KERNEL_GOOD.replace("tl.load(x_ptr + offs, mask=offs < n, other=0.0)",
                                     "tl.load(\n        x_ptr + offs,\n        mask=offs < n, other=0.0)")
    repo = make_repo(tmp_path / "repo", {"k.py": multi_line, "untouched.py": "import triton\ndef f(:\n"})
    # deleting the closing bracket on line 10: Python places the error at line 8, which is unchanged
    edit(repo / "k.py", "other=0.0)", "other=0.0")
    found, done = check_json(repo, "--extend-select", "FL9", "--diff-base", "main", ".")
    assert found == [("k.py", 8, "FL999")], done.stdout
    everything, _ = check_json(repo, "--extend-select", "FL9", ".")
    assert sorted(everything) == [("k.py", 8, "FL999"), ("untouched.py", 2, "FL999")]


def test_diff_base_paths_work_from_a_subfolder_and_by_absolute_path(tmp_path):
    repo = make_repo(tmp_path / "repo", {"pkg/k.py": KERNEL_BAD})
    edit(repo / "pkg" / "k.py", "BLOCK=96", "BLOCK=48")
    found, _ = check_json(repo / "pkg", "--diff-base", "main", "k.py")
    assert found == [("k.py", 14, "FL002"), ("k.py", 14, "FL003")]
    absolute = str(repo / "pkg" / "k.py")
    found, _ = check_json(repo, "--diff-base", "main", absolute)
    assert found == [(absolute, 14, "FL002"), (absolute, 14, "FL003")]


def test_diff_base_errors_exit_2_with_a_message(tmp_path):
    outside = tmp_path / "not_a_repo"
    outside.mkdir()
    (outside / "k.py").write_text(KERNEL_BAD)
    done = run_fuselint("check", "--diff-base", "main", "k.py", cwd=outside)
    assert done.returncode == 2 and "needs a git repository" in done.stderr and "not in one" in done.stderr
    repo = make_repo(tmp_path / "repo", {"k.py": KERNEL_BAD})
    done = run_fuselint("check", "--diff-base", "no-such-branch", "k.py", cwd=repo)
    assert done.returncode == 2
    assert "--diff-base no-such-branch: git knows no such commit, branch or tag" in done.stderr


def test_parse_unified_diff_new_deleted_quoted_and_pure_deletions():
    diff = (
        "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -3,0 +4,2 @@ def f():\n+x\n+y\n"
        "@@ -10,2 +11,0 @@\n-gone\n-gone\n@@ -20 +19 @@\n-a\n+b\n"
        "diff --git a/old.py b/old.py\n--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
        'diff --git "a/sp\\tace \\303\\251.py" "b/sp\\tace \\303\\251.py"\n--- /dev/null\n'
        '+++ "b/sp\\tace \\303\\251.py"\n@@ -0,0 +1,3 @@\n+1\n+2\n+3\n'
        "diff --git a/empty.py b/empty.py\nnew file mode 100644\n--- /dev/null\n+++ b/empty.py\n"
    )
    assert parse_unified_diff(diff) == {"a.py": {4, 5, 19}, "sp\tace é.py": {1, 2, 3}, "empty.py": set()}


# --- baseline ----------------------------------------------------------------------------------

def test_baseline_round_trip(tmp_path):
    repo = make_repo(tmp_path / "repo", {"k.py": KERNEL_BAD})
    kernel, recorded = repo / "k.py", repo / ".fuselint-baseline.json"
    done = run_fuselint("check", "--select", SELECT, "--write-baseline", str(recorded), "k.py", cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "recorded 3 findings" in done.stderr
    entries = json.loads(recorded.read_text())["findings"]
    assert {(e["code"], e["path"], e["source"], e["occurrence"]) for e in entries} == {
        ("FL010", "k.py", LOAD, 0), ("FL002", "k.py", LAUNCH, 0), ("FL003", "k.py", LAUNCH, 0)}
    # unrelated edits above the findings: every line number moves, nothing is new
    edit(kernel, "import triton\n", "import triton\n# one\n# two\n# three\n")
    edit(kernel, "def add_one(x):\n", "def add_one(x):\n    '''Adds one.'''\n")
    found, done = check_json(repo, "--baseline", str(recorded), "k.py")
    assert found == [] and done.returncode == 0
    assert "3 in the baseline" in done.stderr
    # a new violation, and a copy of a recorded one: each is reported, the old ones are not
    edit(kernel, "    tl.store(", NEW_LOAD + "    " + LOAD + "\n    tl.store(")
    found, done = check_json(repo, "--baseline", str(recorded), "k.py")
    assert found == [("k.py", 12, "FL010"), ("k.py", 13, "FL010")] and done.returncode == 1
    # editing a recorded line makes its finding new again
    edit(kernel, LAUNCH, LAUNCH.replace("BLOCK=96", "BLOCK=80"))
    found, _ = check_json(repo, "--baseline", str(recorded), "k.py")
    assert ("k.py", 20, "FL002") in found and ("k.py", 20, "FL003") in found


def test_baseline_paths_are_relative_to_the_baseline_file(tmp_path):
    repo = make_repo(tmp_path / "repo", {"src/k.py": KERNEL_BAD})
    recorded = repo / "baseline.json"
    assert run_fuselint("check", "--select", SELECT, "--write-baseline", "baseline.json", "src", cwd=repo).returncode == 0
    assert {e["path"] for e in json.loads(recorded.read_text())["findings"]} == {"src/k.py"}
    found, _ = check_json(repo / "src", "--baseline", str(recorded), "k.py")
    assert found == []
    found, _ = check_json(tmp_path, "--baseline", str(recorded), str(repo / "src" / "k.py"))
    assert found == []


@pytest.mark.parametrize("content, message", [
    (None, "does not exist (create it with --write-baseline"),
    ("{not json", "is not valid JSON"),
    ('{"findings": []}', "is not a fuselint baseline"),
    ('{"format": "fuselint-baseline", "version": 99, "findings": []}', "has version 99"),
    ('{"format": "fuselint-baseline", "version": 1, "findings": [{"code": "FL010"}]}', "entry 0 lacks 'path'"),
    ('{"format": "fuselint-baseline", "version": 1, "findings": [{"code": "FL010", "path": "k.py", '
     '"source": 3}]}', "entry 0 has a field of the wrong type"),
])
def test_bad_baseline_exits_2(tmp_path, content, message):
    (tmp_path / "k.py").write_text(KERNEL_BAD)
    if content is not None:
        (tmp_path / "b.json").write_text(content)
    done = run_fuselint("check", "--baseline", "b.json", "k.py", cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert done.stderr.startswith("fuselint: error: ")


# --- every output format -----------------------------------------------------------------------

def _reported(output_format: str, stdout: str) -> set[tuple[int, str]]:
    """(line, code) of each finding in any output format."""
    if output_format == "json":
        return {(f["line"], f["code"]) for f in json.loads(stdout)}
    if output_format == "sarif":
        results = json.loads(stdout)["runs"][0]["results"]
        return {(r["locations"][0]["physicalLocation"]["region"]["startLine"], r["ruleId"]) for r in results}
    found = set()
    for line in stdout.splitlines():
        if output_format == "github" and line.startswith(("::error ", "::warning ")):
            props = dict(p.split("=", 1) for p in line.split(" ", 1)[1].split("::", 1)[0].split(","))
            found.add((int(props["line"]), props["title"]))
        elif output_format == "text" and line.startswith("k.py:"):
            found.add((int(line.split(":")[1]), line.split(": ", 1)[1].split()[0]))
    return found


@pytest.mark.parametrize("output_format", ["text", "json", "sarif", "github"])
def test_every_output_format_honours_diff_base_and_baseline(tmp_path, output_format):
    repo = make_repo(tmp_path / "repo", {"k.py": KERNEL_BAD})
    assert run_fuselint("check", "--select", SELECT, "--write-baseline", "b.json", "k.py", cwd=repo).returncode == 0
    edit(repo / "k.py", "    tl.store(", NEW_LOAD + "    tl.store(")  # line 9: a new FL010
    everything = run_fuselint("check", "--select", SELECT, "--output-format", output_format, "k.py", cwd=repo)
    assert _reported(output_format, everything.stdout) == {(8, "FL010"), (9, "FL010"), (15, "FL002"), (15, "FL003")}
    for gate in (["--baseline", "b.json"], ["--diff-base", "main"], ["--baseline", "b.json", "--diff-base", "main"]):
        done = run_fuselint("check", "--select", SELECT, "--output-format", output_format, *gate, "k.py", cwd=repo)
        assert done.returncode == 1, (gate, done.stderr)
        assert _reported(output_format, done.stdout) == {(9, "FL010")}, (gate, done.stdout)
    done = run_fuselint("check", "--select", SELECT, "--output-format", output_format, "--diff-base", "main",
                        "--quiet", "k.py", cwd=repo)
    assert done.stderr == ""


# --- action.yml and the script it calls --------------------------------------------------------

SCRIPT = ROOT / "scripts" / "ci-check.sh"


def ci_script(repo, command="check", **settings) -> subprocess.CompletedProcess:
    """scripts/ci-check.sh as the action runs it, with fuselint from this interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUSELINT")}
    env["FUSELINT"] = f"{sys.executable} -m fuselint"
    env.pop("GITHUB_STEP_SUMMARY", None)
    env.update({(key.upper() if key.startswith("github_") else f"FUSELINT_{key.upper()}"): value
                for key, value in settings.items()})
    return subprocess.run(["bash", str(SCRIPT), command], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=600)


def annotations(stdout: str) -> list[tuple[str, int, str]]:
    found = []
    for line in stdout.splitlines():
        if line.startswith(("::error file=", "::warning file=")):
            props = dict(p.split("=", 1) for p in line.split(" ", 1)[1].split("::", 1)[0].split(","))
            found.append((props["file"], int(props["line"]), props["title"]))
    return sorted(found)


def test_action_yml_is_a_composite_action_with_documented_inputs_that_the_script_receives():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["name"] and action["description"]
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    text = (ROOT / "action.yml").read_text()
    script = SCRIPT.read_text()
    for name, spec in action["inputs"].items():
        assert len(spec.get("description", "")) > 20, f"input {name} is not documented"
        assert "default" in spec and spec.get("required") is False, name
        assert f"inputs.{name}" in text, f"input {name} is never used"
    runs = [step for step in steps if "run" in step]
    assert runs and all(step["run"].startswith('bash "$GITHUB_ACTION_PATH/scripts/ci-check.sh" ') for step in runs)
    assert all(step["shell"] == "bash" for step in runs)
    for step in runs:  # every setting the action passes is one the script reads
        for variable in step.get("env", {}):
            assert variable == "FUSELINT_COMMAND" or f"${{{variable}" in script, variable
    check_step = next(step for step in runs if "FUSELINT_BASE" in step.get("env", {}))
    assert check_step["env"]["FUSELINT_BASE"] == "${{ inputs.base }}"
    assert action["inputs"]["base"]["default"] == "${{ github.event.pull_request.base.sha }}"
    upload = next(step for step in steps if step.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    assert "!cancelled()" in upload["if"] and "inputs.upload-sarif == 'true'" in upload["if"]
    assert action["inputs"]["upload-sarif"]["default"] == "false"


def _pr_repo(tmp_path):
    """main holds an old bad kernel and a good one; the branch `pr` touches the good one and adds
    a bad new one."""
    repo = make_repo(tmp_path / "repo", {"legacy.py": KERNEL_BAD, "kernels/k.py": KERNEL_GOOD, "notes.txt": "x\n"})
    git(repo, "checkout", "-q", "-b", "pr")
    edit(repo / "kernels" / "k.py", "BLOCK=128", "BLOCK=96")  # launch line 14: FL003
    (repo / "kernels" / "new kernel.py").write_text(KERNEL_BAD)
    (repo / "notes.txt").write_text("y\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pr")
    return repo


def test_script_checks_the_changed_python_files_only(tmp_path):
    repo = _pr_repo(tmp_path)
    listed = ci_script(repo, "changed", base="main")
    assert listed.returncode == 0 and listed.stdout.splitlines() == ["kernels/k.py", "kernels/new kernel.py"]
    done = ci_script(repo, base="main", args=f"--select {SELECT}")
    assert done.returncode == 1, done.stdout + done.stderr
    assert annotations(done.stdout) == [("kernels/k.py", 14, "FL003"), ("kernels/new kernel.py", 8, "FL010"),
                                        ("kernels/new kernel.py", 14, "FL002"), ("kernels/new kernel.py", 14, "FL003")]
    # the run's summary page lists every finding as text (annotations shown on the diff are capped)
    summary = tmp_path / "summary.md"
    ci_script(repo, base="main", args=f"--select {SELECT}", github_step_summary=str(summary))
    text = summary.read_text()
    assert text.startswith("### fuselint: 2 changed Python file(s) since `main`\n```text\n") and "Found 4 errors." in text
    assert "kernels/new kernel.py:8:9: FL010 tl.load passes `other` without `mask`" in text
    # only the changed lines: the same, since k.py's finding is on its changed line
    only = ci_script(repo, base="main", args=f"--select {SELECT}", changed_lines_only="true")
    assert annotations(only.stdout) == annotations(done.stdout)
    # a baseline recording the new file's findings leaves k.py's
    assert run_fuselint("check", "--select", SELECT, "--write-baseline", "b.json", "kernels/new kernel.py",
                        cwd=repo).returncode == 0
    based = ci_script(repo, base="main", args=f"--select {SELECT}", baseline="b.json")
    assert based.returncode == 1 and annotations(based.stdout) == [("kernels/k.py", 14, "FL003")]
    # no base (a push): every Python file under paths, the legacy one included
    everything = ci_script(repo, args=f"--select {SELECT}", paths="legacy.py kernels/k.py")
    assert {a[0] for a in annotations(everything.stdout)} == {"legacy.py", "kernels/k.py"}


def test_script_writes_sarif_with_the_same_findings_and_an_empty_one_when_nothing_changed(tmp_path):
    repo = _pr_repo(tmp_path)
    done = ci_script(repo, base="main", args=f"--select {SELECT}", sarif="out.sarif")
    assert done.returncode == 1
    results = json.loads((repo / "out.sarif").read_text())["runs"][0]["results"]
    located = sorted((unquote(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]),
                      r["locations"][0]["physicalLocation"]["region"]["startLine"], r["ruleId"]) for r in results)
    assert located == annotations(done.stdout)
    clean = ci_script(repo, base="HEAD", sarif="empty.sarif")
    assert clean.returncode == 0 and "no changed Python files" in clean.stdout
    document = json.loads((repo / "empty.sarif").read_text())
    assert document["runs"][0]["results"] == [] and document["runs"][0]["tool"]["driver"]["rules"]


def test_script_errors_exit_2_as_annotations(tmp_path):
    repo = _pr_repo(tmp_path)
    unknown = ci_script(repo, base="no-such-ref")
    assert unknown.returncode == 2 and unknown.stdout.startswith("::error title=fuselint::unknown base 'no-such-ref'")
    bare = tmp_path / "bare"
    bare.mkdir()
    assert ci_script(bare, base="main").returncode == 2
    assert ci_script(repo, "lint").returncode == 2
    missing = ci_script(repo, base="main", baseline="missing.json")
    assert missing.returncode == 2 and "does not exist" in missing.stderr


# --- pre-commit and CI agree -------------------------------------------------------------------

def _text_findings(stdout: str) -> list[tuple[str, int, str]]:
    """(path, line, code) of each `path:line:col: CODE message` line of the text format."""
    found = []
    for line in stdout.splitlines():
        parts = line.split(":", 3)
        if len(parts) == 4 and parts[1].isdigit() and parts[2].isdigit():
            found.append((parts[0], int(parts[1]), parts[3].split()[0]))
    return sorted(found)


@pytest.mark.skipif(shutil.which("pre-commit") is None, reason="pre-commit is needed")
def test_pre_commit_hook_and_ci_script_agree(tmp_path):
    """The same pull request through both: the hook from this checkout, as a
    .pre-commit-config.yaml names it (pre-commit picks the files changed from main to HEAD
    itself), and the action's script. Each case fails both or passes both, with the same
    findings; the configuration in pyproject.toml drives both."""
    # This checkout as it is now, committed once, for pre-commit to install from.
    names = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".pre-commit-hooks.yaml",
                "pyproject.toml", "README.md", "fuselint", "rules").split("\0")
    source = make_repo(tmp_path / "fuselint", {name: (ROOT / name).read_text() for name in names
                                               if name and (ROOT / name).is_file()})
    config = (f"repos:\n  - repo: {source}\n    rev: {git(source, 'rev-parse', 'HEAD').strip()}\n"
              f"    hooks:\n      - id: fuselint\n")
    repo = make_repo(tmp_path / "repo", {"kernels/k.py": KERNEL_GOOD, "README.txt": "kernels\n",
                                         ".pre-commit-config.yaml": config})
    git(repo, "checkout", "-q", "-b", "pr")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache")}

    def hook() -> int:
        done = subprocess.run(["pre-commit", "run", "fuselint", "--from-ref", "main", "--to-ref", "HEAD"],
                              cwd=repo, capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode in (0, 1), done.stdout + done.stderr
        assert "Traceback" not in done.stdout, done.stdout  # a crash is not a finding
        return done.returncode, _text_findings(done.stdout)

    def commit(message: str) -> None:
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", message)

    def script():
        done = ci_script(repo, base="main")
        return done.returncode, annotations(done.stdout)

    cases = []
    (repo / "kernels" / "new.py").write_text(KERNEL_BAD)  # a new bad kernel
    commit("bad kernel")
    cases.append(("new bad kernel", hook(), script()))
    (repo / "pyproject.toml").write_text('[tool.fuselint]\nper-file-ignores = {"kernels/new.py" = ["FL"]}\n')
    commit("configuration ignores its rules")
    cases.append(("ignored by pyproject.toml", hook(), script()))
    (repo / "pyproject.toml").unlink()
    (repo / "kernels" / "new.py").write_text(KERNEL_GOOD)
    edit(repo / "kernels" / "k.py", "BLOCK=128", "BLOCK=96")  # an old file, now broken
    commit("fix the new kernel, break the old one")
    cases.append(("old kernel broken", hook(), script()))
    edit(repo / "kernels" / "k.py", "BLOCK=96", "BLOCK=128")
    commit("fixed")
    cases.append(("all fixed", hook(), script()))
    assert [(case, hook[0], script[0]) for case, hook, script in cases] == [
        ("new bad kernel", 1, 1), ("ignored by pyproject.toml", 0, 0), ("old kernel broken", 1, 1), ("all fixed", 0, 0)]
    for case, hook_result, script_result in cases:  # and the same findings, where they fail
        assert hook_result[1] == script_result[1], case
    assert ("kernels/new.py", 8, "FL010") in cases[0][1][1] and ("kernels/k.py", 14, "FL003") in cases[2][1][1]


def test_script_confirms_the_changed_kernels_against_their_references(tmp_path):
    """The optional GPU job's command, here under Triton's interpreter: only kernels the PR
    changes, each against references/{name}; a wrong kernel fails the job."""
    pytest.importorskip("torch")
    pytest.importorskip("triton")
    data = ROOT / "tests" / "runtime_data"
    good, wrong = (data / "good" / "axpy.py").read_text(), (data / "bad" / "wrong_values.py").read_text()
    reference = (data / "axpy_reference.py").read_text()
    repo = make_repo(tmp_path / "repo", {"kernels/untouched.py": wrong, "references/untouched.py": reference,
                                         "references/axpy.py": reference, "references/wrong.py": reference})
    git(repo, "checkout", "-q", "-b", "pr")
    (repo / "kernels" / "axpy.py").write_text(good)
    (repo / "kernels" / "wrong.py").write_text(wrong)
    (repo / "kernels" / "orphan.py").write_text(good)  # no reference: a warning, not a failure
    (repo / "kernels" / "helpers.py").write_text("import triton\n")  # not a kernel file
    done = ci_script(repo, "confirm", base="main",
                     confirm_args="--device interpreter --skip-compile --no-speed --trials 1 --timeout 300")
    assert done.returncode == 1, done.stdout + done.stderr
    groups = [line for line in done.stdout.splitlines() if line.startswith("::group::")]
    assert groups == ["::group::fuselint confirm kernels/axpy.py --reference references/axpy.py",
                      "::group::fuselint confirm kernels/wrong.py --reference references/wrong.py"]
    errors = [line for line in done.stdout.splitlines() if line.startswith("::error")]
    assert errors == ["::error file=kernels/wrong.py,title=fuselint confirm::kernels/wrong.py failed fuselint "
                      "confirm against references/wrong.py (exit 1)"]
    assert "::warning file=kernels/orphan.py,title=fuselint confirm::no reference references/orphan.py" in done.stdout
    assert "confirmed 2 changed kernel(s) since main" in done.stdout


def test_script_installs_fuselint_from_its_own_checkout(tmp_path):
    """The action's install line: with no package named, pip installs the checkout the script
    sits in (the action's own ref). Offline here: a venv that sees this interpreter's packages."""
    names = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "scripts",
                "pyproject.toml", "README.md", "fuselint", "rules").split("\0")
    checkout = tmp_path / "action"
    for name in filter(None, names):
        if (ROOT / name).is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, checkout / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FUSELINT", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
               FUSELINT_PIP_ARGS="--no-deps --no-build-isolation --no-index --ignore-installed")
    done = subprocess.run(["bash", str(checkout / "scripts" / "ci-check.sh"), "install"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith(f"fuselint {fuselint.__version__}")
    installed = subprocess.run([str(venv / "bin" / "python"), "-c", "import fuselint; print(fuselint.__file__)"],
                               capture_output=True, text=True, env=env, cwd=tmp_path)
    assert installed.stdout.startswith(str(venv)), installed.stdout + installed.stderr


# --- readable in review ------------------------------------------------------------------------

def test_review_formats_say_what_where_and_the_house_rule_in_one_line(tmp_path):
    (tmp_path / "k.py").write_text(KERNEL_BAD.replace("x = tl.load(x_ptr + offs, other=0.0)",
                                                      "x = tl.load(x_ptr\n                + offs, other=0.0)"))
    github = run_fuselint("check", "--select", SELECT, "--output-format", "github", "k.py", cwd=tmp_path).stdout
    lines = github.splitlines()
    assert len(lines) == 3
    levels = {line.split(",title=")[1].split("::")[0]: line.split(" ", 1)[0] for line in lines}
    assert levels == {"FL010": "::error", "FL003": "::error", "FL002": "::warning"}  # fatal or house rule
    by_code = {line.split(",title=")[1].split("::")[0]: line.split("::", 2)[2] for line in lines}
    assert by_code["FL010"] == ("FL010 other-without-mask: tl.load passes `other` without `mask`: Triton rejects "
                                "it; add the mask (will not compile)")
    assert by_code["FL002"].endswith('runs past `n`; house rule: "Grid size MUST be > 0"')  # the unmasked load named before
    assert by_code["FL003"].endswith('(will not compile); house rule: "BLOCK sizes MUST be power-of-2"')
    sarif = json.loads(run_fuselint("check", "--select", SELECT, "--output-format", "sarif", "k.py", cwd=tmp_path).stdout)
    messages = {r["ruleId"]: r["message"]["text"] for r in sarif["runs"][0]["results"]}
    assert messages == {code: text.split(": ", 1)[1] for code, text in by_code.items()}  # "CODE name: " less
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "`fuselint rule FL002` prints this page" in rules["FL002"]["help"]["markdown"]
    assert rules["FL002"]["fullDescription"]["text"].endswith('house rule: "Grid size MUST be > 0"')
    assert rules["FL002"]["helpUri"].endswith("/rules/fl002_grid_may_be_zero.py")


def test_every_rule_that_quotes_a_house_rule_carries_it_into_review():
    from fuselint.reporters.review import house_rule
    from fuselint.rules import all_rules

    for rule in all_rules():
        quotes = "House rule:" in rule.docs() or "House output format" in rule.docs()
        assert (house_rule(rule.code) is not None) == quotes, rule.code


# --- the documentation stays true --------------------------------------------------------------

def _yaml_blocks(markdown: str) -> list:
    blocks, rest = [], markdown
    while "```yaml\n" in rest:
        rest = rest.split("```yaml\n", 1)[1]
        block, rest = rest.split("```", 1)
        blocks.append(yaml.safe_load(block))
    return blocks


@pytest.mark.parametrize("document", ["README.md", "docs/ci.md"])
def test_the_documented_workflow_uses_the_action_as_it_is(document):
    text = (ROOT / document).read_text()
    if document == "README.md":
        assert "\n## Use in CI\n" in text and text.index("## Use in CI") < text.index("## Rules")
        text = text.split("\n## Use in CI\n", 1)[1].split("\n## ", 1)[0]
    inputs = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]
    workflows = [block for block in _yaml_blocks(text) if "jobs" in block]
    assert len(workflows) == 1
    jobs = workflows[0]["jobs"]
    assert set(jobs) == {"lint", "confirm"} and "self-hosted" in jobs["confirm"]["runs-on"]
    for job in jobs.values():
        checkout, action = job["steps"]
        assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
        assert action["uses"].startswith("fuselint/fuselint@")
        assert set(action["with"]) <= set(inputs), set(action["with"]) - set(inputs)
    assert jobs["confirm"]["steps"][1]["with"]["command"] == "confirm"
    assert workflows[0]["permissions"]["security-events"] == "write"


def test_docs_list_every_input_and_show_a_real_annotation(tmp_path):
    docs = (ROOT / "docs" / "ci.md").read_text()
    for name in yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]:
        assert f"\n| `{name}` |" in docs, f"docs/ci.md's input table lacks {name}"
    example = docs.split("```text\n", 1)[1].split("\n```", 1)[0]
    (tmp_path / "k.py").write_text(KERNEL_BAD)
    github = run_fuselint("check", "--output-format", "github", "k.py", cwd=tmp_path).stdout
    assert any(line.endswith("::" + example) for line in github.splitlines()), github


def _expression(value: str, inputs: dict[str, str], github: dict[str, str]) -> str:
    """A `${{ ... }}` value of action.yml as GitHub evaluates it, for the few forms it uses:
    inputs.NAME, github.PATH, 'strings', ==, &&, || (operands, not booleans, as in Python)."""
    def evaluate(expression: str) -> str:
        python = re.sub(r"\binputs\.([\w-]+)", lambda m: f"inputs[{m[1]!r}]", expression)
        python = re.sub(r"\bgithub\.([\w.]+)", lambda m: f"github[{m[1]!r}]", python)
        python = python.replace("&&", " and ").replace("||", " or ")
        return eval(python, {"__builtins__": {}}, {"inputs": inputs, "github": github})  # noqa: S307

    return re.sub(r"\$\{\{(.+?)\}\}", lambda m: str(evaluate(m[1].strip())), value)


def test_action_check_step_runs_as_github_would_run_it(tmp_path):
    """The action's own check step, its env evaluated from the inputs: annotations, SARIF where
    the upload step looks for it, exit 1."""
    repo = _pr_repo(tmp_path)
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    github = {"event.pull_request.base.sha": git(repo, "rev-parse", "main").strip()}
    inputs = {name: _expression(str(spec["default"]), {}, github) for name, spec in action["inputs"].items()}
    inputs.update({"upload-sarif": "true", "args": f"--select {SELECT}"})
    step = next(s for s in action["runs"]["steps"] if s.get("env", {}).get("FUSELINT_COMMAND"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUSELINT")}
    env.update({name: _expression(value, inputs, github) for name, value in step["env"].items()},
               GITHUB_ACTION_PATH=str(ROOT), FUSELINT=f"{sys.executable} -m fuselint")
    assert env["FUSELINT_BASE"] == github["event.pull_request.base.sha"] and env["FUSELINT_SARIF"] == "fuselint.sarif"
    done = subprocess.run(["bash", "-c", step["run"]], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr
    assert annotations(done.stdout) == [("kernels/k.py", 14, "FL003"), ("kernels/new kernel.py", 8, "FL010"),
                                        ("kernels/new kernel.py", 14, "FL002"), ("kernels/new kernel.py", 14, "FL003")]
    upload = next(s for s in action["runs"]["steps"] if s.get("uses", "").startswith("github/codeql-action/"))
    sarif = repo / _expression(upload["with"]["sarif_file"], inputs, github)
    assert len(json.loads(sarif.read_text())["runs"][0]["results"]) == 4


def test_diff_base_ignores_user_diff_configuration(tmp_path):
    repo = make_repo(tmp_path / "repo", {"pkg/k.py": KERNEL_BAD})
    for key, value in (("diff.mnemonicPrefix", "true"), ("color.diff", "always"),
                       ("diff.relative", "true"), ("diff.renames", "false")):
        git(repo, "config", key, value)
    edit(repo / "pkg" / "k.py", "BLOCK=96", "BLOCK=48")
    found, _ = check_json(repo / "pkg", "--diff-base", "main", "k.py")
    assert found == [("k.py", 14, "FL002"), ("k.py", 14, "FL003")]


def test_script_from_a_subfolder_lists_paths_relative_to_it(tmp_path):
    repo = _pr_repo(tmp_path)
    listed = ci_script(repo / "kernels", "changed", base="main")
    assert listed.stdout.splitlines() == ["k.py", "new kernel.py"]
    done = ci_script(repo / "kernels", base="main", args=f"--select {SELECT}")
    assert {a[0] for a in annotations(done.stdout)} == {"k.py", "new kernel.py"} and done.returncode == 1


def test_diff_base_reports_a_finding_on_the_module_when_its_file_changed(tmp_path):
    kernel_file = (ROOT / "tests" / "runtime_data" / "good" / "axpy.py").read_text()
    assert kernel_file.startswith("import torch\nimport torch.nn as nn\n")
    repo = make_repo(tmp_path / "repo", {"model.py": kernel_file, "other.py": kernel_file.replace("import torch\n", "", 1)})
    edit(repo / "model.py", "import torch\n", "")  # only a deletion: no line of the new file changed
    done = run_fuselint("check", "--select", "FL201", "--output-format", "json", "--diff-base", "main", ".", cwd=repo)
    found = [(f["path"], f["line"], f["code"], f["message"]) for f in json.loads(done.stdout)]
    assert found == [("model.py", 1, "FL201", "missing `import torch` (house output format)")]  # not other.py's


def test_baseline_counts_lines_as_python_does(tmp_path):
    """A form feed (an old page break) is no line end for Python, nor for the baseline."""
    text = KERNEL_BAD.replace("def add_one(x):", "\x0c\ndef add_one(x):  # page \x0c break").replace("\n", "\r\n")
    (tmp_path / "k.py").write_text(text, newline="")
    run_fuselint("check", "--select", SELECT, "--write-baseline", "b.json", "k.py", cwd=tmp_path)
    sources = {e["code"]: e["source"] for e in json.loads((tmp_path / "b.json").read_text())["findings"]}
    assert sources == {"FL010": LOAD, "FL002": LAUNCH, "FL003": LAUNCH}


def test_script_without_a_base_skips_files_deleted_in_the_working_tree(tmp_path):
    repo = make_repo(tmp_path / "repo", {"a.py": KERNEL_BAD, "b.py": KERNEL_GOOD})
    (repo / "a.py").unlink()
    listed = ci_script(repo, "changed")
    assert listed.returncode == 0 and listed.stdout.splitlines() == ["b.py"]
    assert ci_script(repo, args=f"--select {SELECT}").returncode == 0
