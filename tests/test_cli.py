"""The command line as users and CI gates use it: exit codes, formats, selection, config.
The sample kernels are checked with the FL0 rules only, so that these tests see the CLI's
behaviour, not the set of rules."""

from __future__ import annotations

import json
import sys

from conftest import HOUSE_FILE, KERNEL_BAD, KERNEL_GOOD, run_fuselint


def write(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_text_output_and_exit_code_one(tmp_path):
    path = write(tmp_path, "k.py", KERNEL_BAD)
    result = run_fuselint("check", "--select", "FL0", str(path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"{path}:8:9: FL010 tl.load passes `other` without `mask`: Triton rejects it; add the mask (will not compile)" in lines
    assert any(line.startswith(f"{path}:14:17: FL002 ") for line in lines)
    assert any(line.startswith(f"{path}:14:41: FL003 ") for line in lines)
    # the load is not masked: FL002's triton.cdiv would let the last block read past n (an unsafe fix)
    assert lines[-2:] == ["Found 3 errors.", "No fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option)."]


def test_clean_file_exits_zero(tmp_path):
    path = write(tmp_path, "k.py", KERNEL_GOOD)
    result = run_fuselint("check", "--select", "FL0", str(path))
    assert (result.returncode, result.stdout.strip()) == (0, "All checks passed! (1 file linted)")


def test_named_folders_are_linted_even_below_excluded_names(tmp_path):
    # A folder named on the command line is linted whatever its path holds (Ruff's rule): the
    # wheels live under .../venv/lib/..., generated kernels under build/.
    for folder in ("venv/lib/build/dist/pkg", "build/gen"):
        write(tmp_path, f"{folder}/k.py", KERNEL_BAD)
        write(tmp_path, f"{folder}/build/skipped.py", KERNEL_BAD)  # discovered below: excluded
    for named in ("venv/lib/build/dist/pkg", "build/gen"):
        result = run_fuselint("check", "--select", "FL0", named, "--output-format", "json", cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        assert {f["path"] for f in json.loads(result.stdout)} == {f"{named}/k.py"}
    # outside the project root: only names below the named folder are matched
    outside = run_fuselint("check", "--select", "FL0", str(tmp_path / "venv/lib/build/dist/pkg"), cwd=tmp_path / "build")
    assert outside.returncode == 1 and "skipped.py" not in outside.stdout


def test_force_exclude_applies_the_exclusions_to_named_paths(tmp_path):
    write(tmp_path, "pyproject.toml", "[tool.fuselint]\nselect = ['FL0']\nexclude = ['generated']\n")
    write(tmp_path, "generated/k.py", KERNEL_BAD)
    write(tmp_path, "src/k.py", KERNEL_BAD)
    named = run_fuselint("check", "generated/k.py", "src/k.py", "--output-format", "json", cwd=tmp_path)
    assert {f["path"] for f in json.loads(named.stdout)} == {"generated/k.py", "src/k.py"}
    forced = run_fuselint("check", "--force-exclude", "generated/k.py", "src/k.py", "--output-format", "json", cwd=tmp_path)
    assert {f["path"] for f in json.loads(forced.stdout)} == {"src/k.py"}


def test_a_run_that_lints_no_file_does_not_pass(tmp_path):
    (tmp_path / "empty").mkdir()
    write(tmp_path, "only/venv/k.py", KERNEL_BAD)  # excluded when discovered
    for named in ("empty", "only"):
        result = run_fuselint("check", named, cwd=tmp_path)
        assert result.returncode == 2 and "All checks passed" not in result.stdout
        assert "no Python file to lint" in result.stderr and "nothing was checked" in result.stderr


def test_json_fields(tmp_path):
    path = write(tmp_path, "k.py", KERNEL_BAD)
    result = run_fuselint("check", "--select", "FL0", str(path), "--output-format", "json")
    findings = json.loads(result.stdout)
    assert {f["code"] for f in findings} == {"FL002", "FL003", "FL010"}
    for f in findings:
        assert set(f) >= {"code", "name", "message", "path", "line", "column", "end_line", "end_column", "fatal"}
    fatal = {f["code"]: f["fatal"] for f in findings}
    assert fatal == {"FL002": False, "FL003": True, "FL010": True}


def test_github_annotations(tmp_path):
    path = write(tmp_path, "k.py", KERNEL_BAD)
    lines = run_fuselint("check", "--select", "FL0", str(path), "--output-format", "github").stdout.splitlines()
    assert lines[0].startswith(f"::error file={path},line=8,col=9,endLine=8,endColumn=")
    assert ",title=FL010::FL010 other-without-mask: tl.load passes" in lines[0]


def test_sarif_is_2_1_0_with_rules_and_results(tmp_path):
    path = write(tmp_path, "k.py", KERNEL_BAD)
    sarif = json.loads(run_fuselint("check", "--select", "FL0", str(path), "--output-format", "sarif").stdout)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {"FL001", "FL010", "FL999"} <= {r["id"] for r in rules}
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
    assert {r["level"] for r in run["results"]} == {"error", "warning"}


def test_sarif_uris_are_percent_encoded_and_absolute_paths_are_file_uris(tmp_path):
    from urllib.parse import unquote, urlparse

    write(tmp_path, "odd dir/50% #1.py", KERNEL_BAD)
    relative = json.loads(run_fuselint("check", "--select", "FL010", "odd dir/50% #1.py", "--output-format", "sarif",
                                       cwd=tmp_path).stdout)["runs"][0]
    location = relative["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "odd%20dir/50%25%20%231.py", "uriBaseId": "%SRCROOT%"}
    root = relative["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert root.startswith("file:///") and root.endswith("/")
    absolute = json.loads(run_fuselint("check", "--select", "FL010", str(tmp_path / "odd dir/50% #1.py"),
                                       "--output-format", "sarif").stdout)["runs"][0]
    uri = absolute["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("file:///") and " " not in uri and "#" not in uri
    assert unquote(urlparse(uri).path) == str(tmp_path / "odd dir/50% #1.py")


def test_select_ignore_and_exit_zero(tmp_path):
    path = write(tmp_path, "k.py", KERNEL_BAD)
    only = json.loads(run_fuselint("check", "--select", "FL0", str(path), "--select", "FL010", "--output-format", "json").stdout)
    assert [f["code"] for f in only] == ["FL010"]
    rest = json.loads(run_fuselint("check", "--select", "FL0", str(path), "--ignore", "FL010,FL003", "--output-format", "json").stdout)
    assert [f["code"] for f in rest] == ["FL002"]
    assert run_fuselint("check", "--select", "FL0", str(path), "--exit-zero").returncode == 0


def test_statistics(tmp_path):
    path = write(tmp_path, "k.py", KERNEL_BAD)
    out = run_fuselint("check", "--select", "FL0", str(path), "--statistics").stdout.splitlines()
    assert sorted(line.split()[1] for line in out) == ["FL002", "FL003", "FL010"]


def test_noqa_suppresses_only_the_named_code(tmp_path):
    text = KERNEL_BAD.replace("other=0.0)", "other=0.0)  # noqa: FL010").replace(
        "BLOCK=96)", "BLOCK=96)  # noqa: FL002")
    path = write(tmp_path, "k.py", text)
    codes = [f["code"] for f in json.loads(run_fuselint("check", "--select", "FL0", str(path), "--output-format", "json").stdout)]
    assert codes == ["FL003"]


def test_pyproject_configuration(tmp_path):
    write(tmp_path, "pyproject.toml", """
[tool.fuselint]
select = ["FL0"]
ignore = ["FL002"]
per-file-ignores = {"legacy/*.py" = ["FL003"]}
exclude = ["generated"]
block-sizes = [32, 64]
""")
    write(tmp_path, "src/k.py", KERNEL_BAD)
    write(tmp_path, "legacy/k.py", KERNEL_BAD)
    write(tmp_path, "generated/k.py", KERNEL_BAD)
    result = run_fuselint("check", "--output-format", "json", cwd=tmp_path)
    found = sorted((f["path"], f["code"]) for f in json.loads(result.stdout))
    assert found == [("legacy/k.py", "FL010"), ("src/k.py", "FL003"), ("src/k.py", "FL010")]


def test_block_sizes_setting_drives_fl004(tmp_path):
    write(tmp_path, "pyproject.toml", "[tool.fuselint]\nselect = ['FL0']\nblock-sizes = [32, 64]\n")
    write(tmp_path, "k.py", KERNEL_GOOD)
    result = run_fuselint("check", "k.py", "--output-format", "json", cwd=tmp_path)
    assert [f["code"] for f in json.loads(result.stdout)] == ["FL004"]


def test_bad_configuration_is_a_usage_error(tmp_path):
    write(tmp_path, "pyproject.toml", "[tool.fuselint]\nselcet = ['FL0']\n")
    result = run_fuselint("check", ".", cwd=tmp_path)
    assert result.returncode == 2 and "unknown [tool.fuselint] option(s): selcet" in result.stderr


def test_not_python_exits_two_and_other_files_still_linted(tmp_path):
    text_file = write(tmp_path, "notes.txt", "hello")
    kernel = write(tmp_path, "k.py", KERNEL_BAD)
    result = run_fuselint("check", "--select", "FL0", str(text_file), str(kernel), str(tmp_path / "missing.py"))
    assert result.returncode == 2
    assert f"{text_file}: is not a Python file" in result.stderr
    assert f"{tmp_path / 'missing.py'}: no such file or directory" in result.stderr
    assert "FL010" in result.stdout


def test_house_prompt_file_is_not_python():
    if not HOUSE_FILE.exists():
        import pytest

        pytest.skip("../shared/fusion-stage-prompt.txt is not beside this checkout")
    result = run_fuselint("check", str(HOUSE_FILE))
    assert result.returncode == 2
    assert "is not a Python file" in result.stderr


def test_syntax_error_is_a_finding_and_others_still_linted(tmp_path):
    broken = write(tmp_path, "a_broken.py", "import triton\ndef k(x:\n    pass\n")
    write(tmp_path, "b.py", KERNEL_BAD)
    result = run_fuselint("check", "--select", "FL0,FL9", str(tmp_path), "--output-format", "json")
    findings = json.loads(result.stdout)
    assert result.returncode == 1
    assert findings[0]["path"] == str(broken) and findings[0]["code"] == "FL999" and findings[0]["line"] == 2
    assert {f["code"] for f in findings[1:]} == {"FL002", "FL003", "FL010"}


def test_rule_docs_and_listing():
    docs = run_fuselint("rule", "FL003")
    assert docs.returncode == 0
    assert "# FL003 block-not-power-of-two" in docs.stdout and "## Use instead" in docs.stdout
    listing = run_fuselint("rule", "--all").stdout
    assert "FL010  other-without-mask" in listing
    assert run_fuselint("rule", "FL777").returncode == 2


def test_usage_error_exits_two():
    assert run_fuselint("check", "--output-format", "xml").returncode == 2


def test_check_imports_neither_torch_nor_triton(tmp_path):
    path = write(tmp_path, "k.py", KERNEL_BAD)
    code = (
        "import sys\nfrom fuselint.cli import main\n"
        f"main(['check', {str(path)!r}, '--quiet'])\n"
        "print(sorted(m for m in ('torch', 'triton') if m in sys.modules))"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_check_never_executes_the_file(tmp_path):
    marker = tmp_path / "marker"
    text = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n" + KERNEL_BAD
    path = write(tmp_path, "k.py", text)
    run_fuselint("check", "--select", "FL0", str(path))
    assert not marker.exists()


def test_jobs_do_not_change_the_output(tmp_path):
    for i in range(6):
        write(tmp_path, f"pkg{i % 2}/k{i}.py", KERNEL_BAD if i % 3 else KERNEL_GOOD)
    one = run_fuselint("check", "--select", "FL0", str(tmp_path), "--jobs", "1", "--output-format", "json")
    two = run_fuselint("check", "--select", "FL0", str(tmp_path), "--jobs", "2", "--output-format", "json")
    assert one.stdout == two.stdout and len(json.loads(one.stdout)) == 12
    assert run_fuselint("check", str(tmp_path), "--jobs", "0").returncode == 2


def test_rule_listing_is_wrapped_says_which_rules_fix_and_survives_a_closed_pipe():
    import subprocess

    listing = run_fuselint("rule", "--all").stdout.splitlines()
    assert max(len(line) for line in listing) <= 100  # wrapped to the terminal (100 when not one)
    fl009 = next(line for line in listing if line.startswith("FL009"))
    assert " fatal fix " in fl009
    assert "Fix: sometimes available" in run_fuselint("rule", "FL009").stdout
    assert "Fix: none" in run_fuselint("rule", "FL005").stdout
    for command in ("rule --all", "check examples --no-cache --select ALL"):
        piped = subprocess.run(f"{sys.executable} -m fuselint {command} | head -1", shell=True,
                               capture_output=True, text=True)
        assert "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr, piped.stderr


def test_declared_fixes_match_what_the_rules_do():
    from fuselint.config import Settings
    from fuselint.engine import fixed_source
    from fuselint.rules import all_rules

    for rule in all_rules():
        settings = Settings(select=(rule.code,))
        fixed = [fixed_source(example.encode(), "example.py", settings, [rule(settings)], unsafe=True)[1]
                 for example in rule.INVALID]
        assert bool(rule.fix) == any(fixed), f"{rule.code}: declares fix={rule.fix!r}, its examples fix {fixed}"
