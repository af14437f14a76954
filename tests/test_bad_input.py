"""Whatever real repositories and generators throw at it: a clear message naming the path, an
exit code, the other files still linted, never a traceback."""

from __future__ import annotations

import json
import os

import pytest
from conftest import KERNEL_BAD, run_fuselint


def check(*paths, cwd=None):
    return run_fuselint("check", "--select", "FL0,FL9", "--output-format", "json", *map(str, paths), cwd=cwd)


def codes(result):
    return sorted({f["code"] for f in json.loads(result.stdout)})


def assert_no_traceback(result):
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


@pytest.mark.parametrize("name, data", [
    ("bom.py", b"\xef\xbb\xbf" + KERNEL_BAD.encode()),
    ("crlf.py", KERNEL_BAD.replace("\n", "\r\n").encode()),
    ("tabs.py", KERNEL_BAD.replace("    ", "\t").encode()),
])
def test_encodings_and_line_ends_lint_like_the_plain_file(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    result = check(path)
    assert_no_traceback(result)
    assert result.returncode == 1 and codes(result) == ["FL002", "FL003", "FL010"]
    lines = sorted(f["line"] for f in json.loads(result.stdout))
    assert lines == [8, 14, 14]


def test_empty_file_is_clean(tmp_path):
    (tmp_path / "empty.py").write_bytes(b"")
    result = check(tmp_path / "empty.py")
    assert (result.returncode, json.loads(result.stdout)) == (0, [])


def test_non_utf8_is_a_syntax_finding_naming_the_byte(tmp_path):
    (tmp_path / "latin.py").write_bytes(b"import triton\nname = 'caf\xe9'\n")
    result = check(tmp_path / "latin.py")
    assert_no_traceback(result)
    finding = json.loads(result.stdout)[0]
    assert (result.returncode, finding["code"]) == (1, "FL999")
    assert "0xe9" in finding["message"]


@pytest.mark.parametrize("data, line", [
    (b"# caf\xe9\nimport triton\n", 1),  # the encoding detection reads lines 1-2 and raises
    (b"import triton\n# caf\xe9\n", 2),
    (b"# -*- coding: nope -*-\nimport triton\n", 1),  # an encoding Python does not know
])
def test_bad_bytes_in_the_first_lines_are_fl999_and_others_still_linted(tmp_path, data, line):
    (tmp_path / "a.py").write_bytes(data)
    (tmp_path / "k.py").write_text(KERNEL_BAD)
    result = check(tmp_path / "a.py", tmp_path / "k.py")
    assert_no_traceback(result)
    findings = json.loads(result.stdout)
    assert (findings[0]["code"], findings[0]["line"]) == ("FL999", line)
    assert "0xe9" in findings[0]["message"] or "nope" in findings[0]["message"]
    assert codes(result) == ["FL002", "FL003", "FL010", "FL999"] and result.returncode == 1


def test_binary_file_named_py_is_an_input_error(tmp_path):
    (tmp_path / "blob.py").write_bytes(b"\x7fELF\x00\x00triton")
    (tmp_path / "k.py").write_text(KERNEL_BAD)
    result = check(tmp_path / "blob.py", tmp_path / "k.py")
    assert_no_traceback(result)
    assert result.returncode == 2
    assert f"{tmp_path / 'blob.py'}: is not a Python source file: it holds binary data" in result.stderr
    assert codes(result) == ["FL002", "FL003", "FL010"]


def test_missing_path_and_symlink_loop(tmp_path):
    loop = tmp_path / "loop.py"
    os.symlink(loop, loop)
    (tmp_path / "k.py").write_text(KERNEL_BAD)
    result = check(tmp_path / "nope.py", loop, tmp_path / "k.py")
    assert_no_traceback(result)
    assert result.returncode == 2
    assert f"{tmp_path / 'nope.py'}: no such file or directory" in result.stderr
    assert f"{loop}: cannot be read" in result.stderr or f"{loop}: is not a regular file" in result.stderr
    assert codes(result) == ["FL002", "FL003", "FL010"]


def test_symlinked_folder_loop_is_not_followed(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "k.py").write_text(KERNEL_BAD)
    os.symlink(tmp_path, tmp_path / "pkg" / "again")
    result = check(tmp_path)
    assert_no_traceback(result)
    assert len(json.loads(result.stdout)) == 3


def test_fifo_named_py_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "pipe.py")
    result = check(tmp_path / "pipe.py")
    assert result.returncode == 2 and "is not a regular file" in result.stderr


def test_large_generated_file(tmp_path):
    body = "\n".join(f"CONST_{i} = {i}" for i in range(300_000))  # about 5 MB
    path = tmp_path / "generated.py"
    path.write_text("import triton\n" + body + "\n" + KERNEL_BAD)
    assert path.stat().st_size > 5_000_000
    result = check(path)
    assert_no_traceback(result)
    assert codes(result) == ["FL002", "FL003", "FL010"]


def test_folder_with_thousands_of_files(tmp_path):
    for i in range(3000):
        (tmp_path / f"m{i}.py").write_text(f"x = {i}\n")
    (tmp_path / "k.py").write_text(KERNEL_BAD)
    result = check(tmp_path)
    assert result.returncode == 1 and len(json.loads(result.stdout)) == 3
