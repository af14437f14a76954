"""--fix and --diff: certain fixes only, every other byte kept, atomic and idempotent writes."""

from __future__ import annotations

import json
import os

import libcst as cst
import pytest
from conftest import run_fuselint

from fuselint.config import Settings
from fuselint.engine import enabled_rules, fixed_source, lint_source
from fuselint.fix import ChangedOnDisk, write_atomically

# Odd formatting, comments, CRLF-free tabs-free source with one finding per fixable rule.
SOURCE = '''import triton
import triton.language as tl   # the usual alias


def add_kernel(x_ptr, n, BLOCK : tl.constexpr):   # FL001: no @triton.jit
    offs = tl.program_id(0)*BLOCK + tl.arange(0, BLOCK)  # keep   this spacing
    x = tl.load(x_ptr + offs, mask=offs < n)
    y = tl.silu(x)+tl.tanh( x * 2 )   # FL009 twice
    tl.store(x_ptr + offs, y, mask=offs < n)


def launch(x):
    n = x.numel()
    # a comment that must survive
    add_kernel[( n // 128 , )](x, n, BLOCK=128)   # FL002
'''
FIXABLE = {"FL001", "FL002", "FL009"}


def fix(source: bytes) -> tuple[bytes, int]:
    settings = Settings()
    return fixed_source(source, "k.py", settings, enabled_rules(settings))


def codes(source: bytes) -> set[str]:
    return {f.code for f in lint_source(source, "k.py", Settings())}


def test_fixes_remove_the_findings_and_keep_every_other_line():
    before = SOURCE.encode()
    assert codes(before) == {"FL001"}  # the rest shows once it is a kernel
    assert {"FL002", "FL009"} <= codes(SOURCE.replace("\ndef add_kernel", "\n@triton.jit\ndef add_kernel").encode())
    after, count = fix(before)
    assert count == 4
    assert not FIXABLE & codes(after)
    cst.parse_module(after)  # still parses
    old_lines, new_lines = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert new_lines[4] == b"@triton.jit\n"
    del new_lines[4]  # the added decorator
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b]
    assert len(old_lines) == len(new_lines) and changed == [7, 14]
    assert new_lines[7] == b"    y = (x / (1 + tl.exp(-x)))+(2 / (1 + tl.exp(-2 * (x * 2))) - 1)   # FL009 twice\n"
    assert new_lines[14] == b"    add_kernel[( triton.cdiv(n, 128) , )](x, n, BLOCK=128)   # FL002\n"


def test_fix_is_idempotent():
    once, _ = fix(SOURCE.encode())
    twice, count = fix(once)
    assert (twice, count) == (once, 0)


@pytest.mark.parametrize("transform", [
    lambda s: s.replace(b"\n", b"\r\n"),
    lambda s: b"\xef\xbb\xbf" + s,
    lambda s: s.replace(b"    ", b"\t"),
])
def test_line_ends_bom_and_tabs_are_kept(transform):
    before = transform(SOURCE.encode())
    after, _ = fix(before)
    expected, _ = fix(SOURCE.encode())
    newline = b"\r\n" if b"\r\n" in before else b"\n"
    assert after.startswith(b"\xef\xbb\xbf") == before.startswith(b"\xef\xbb\xbf")
    assert after.count(b"\r\n") == (expected.count(b"\n") if newline == b"\r\n" else 0)
    assert after.count(b"\t") == before.count(b"\t")


def test_noqa_findings_are_not_fixed():
    source = SOURCE.replace("# FL002", "# noqa: FL002").encode()
    after, _ = fix(source)
    assert b"n // 128" in after


def test_cli_fix_writes_atomically_keeping_permissions(tmp_path):
    path = tmp_path / "k.py"
    path.write_text(SOURCE)
    os.chmod(path, 0o751)
    result = run_fuselint("check", "--fix", "--output-format", "json", str(path))
    assert "Fixed 4 errors." in result.stderr
    assert not FIXABLE & {f["code"] for f in json.loads(result.stdout)}
    assert path.stat().st_mode & 0o777 == 0o751
    assert [p.name for p in tmp_path.iterdir()] == ["k.py"]  # no temporary file left behind


def test_cli_diff_writes_nothing(tmp_path):
    path = tmp_path / "k.py"
    path.write_text(SOURCE)
    result = run_fuselint("check", "--diff", str(path))
    assert result.returncode == 1 and path.read_text() == SOURCE
    assert "-    add_kernel[( n // 128 , )](x, n, BLOCK=128)   # FL002" in result.stdout
    assert "+@triton.jit" in result.stdout and "Would fix 4 errors." in result.stderr
    clean = tmp_path / "clean.py"
    clean.write_text("import triton\n")
    assert run_fuselint("check", "--diff", str(clean)).returncode == 0


def test_a_file_changed_on_disk_is_not_overwritten(tmp_path):
    path = tmp_path / "k.py"
    path.write_bytes(b"edited by someone else\n")
    with pytest.raises(ChangedOnDisk):
        write_atomically(path, b"what fuselint read\n", b"fixed\n")
    assert path.read_bytes() == b"edited by someone else\n"
    assert [p.name for p in tmp_path.iterdir()] == ["k.py"]


def test_a_hint_on_an_unread_value_has_no_fix():
    """Which access a lost hint was meant for is the author's call: FL301 reports, never edits."""
    source = (b"import triton\nimport triton.language as tl\n\n@triton.jit\n"
              b"def k(x_ptr, n, BLOCK: tl.constexpr):\n"
              b"    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n"
              b"    tl.multiple_of(x_ptr + offs, 16); tl.multiple_of(offs, BLOCK)  # keep\n"
              b"    tl.store(x_ptr + offs, 1.0, mask=offs < n)\n")
    assert codes(source) == {"FL301"}
    assert fix(source) == (source, 0)


# FL002's triton.cdiv adds a last, partial block: safe only when the kernel masks every access
# against the divided size along that grid axis; otherwise unsafe (--unsafe-fixes).
GRID = '''import torch
import triton
import triton.language as tl


@triton.jit
def double_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs{load_mask})
    tl.store(y_ptr + offs, x * 2{store_mask})


def double(x):
    y = torch.empty_like(x)
    n = x.numel()
    double_kernel[(n // 256,)](x, y, {bound}, BLOCK=256)
    return y
'''
ROWS = '''import torch
import triton
import triton.language as tl


@triton.jit
def scale_rows(x_ptr, y_ptr, M, N, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.arange(0, BLOCK_N)
    mask = (rows[:, None] < M) & (cols[None, :] < N)
    x = tl.load(x_ptr + rows[:, None] * N + cols[None, :], mask=mask)
    tl.store(y_ptr + rows[:, None] * N + cols[None, :], x * 2, mask=mask)


def scale(x):
    M, N = x.shape
    y = torch.empty_like(x)
    scale_rows[(M // 16,)](x, y, M, N, BLOCK_M=16, BLOCK_N=triton.next_power_of_2(N))
    return y
'''
MASK = ", mask=offs < n"


def grid_source(load_mask="", store_mask="", bound="n") -> bytes:
    return GRID.format(load_mask=load_mask, store_mask=store_mask, bound=bound).encode()


def fix_grid(source: bytes, unsafe: bool) -> bytes:
    settings = Settings(select=("FL002",))
    return fixed_source(source, "k.py", settings, enabled_rules(settings), unsafe)[0]


def test_grid_fix_is_safe_only_when_every_access_is_masked_against_the_size():
    masked = grid_source(MASK, MASK)
    assert b"triton.cdiv(n, 256)" in fix_grid(masked, unsafe=False)
    for unmasked in (grid_source(), grid_source(MASK, ""), grid_source("", MASK),
                     grid_source(", mask=offs < 2 * n", MASK), ROWS.replace("(rows[:, None] < M) & ", "").encode()):
        assert fix_grid(unmasked, unsafe=False) == unmasked
        assert b"triton.cdiv(" in fix_grid(unmasked, unsafe=True)
    # the kernel does not receive n: it cannot mask a partial block, so no fix at all
    blind = grid_source(MASK, MASK, bound="x.shape[0]")
    assert fix_grid(blind, unsafe=True) == blind
    message = lint_source(blind, "k.py", Settings(select=("FL002",)))[0].message
    assert "`n` is not passed to `double_kernel`" in message


@pytest.mark.parametrize("source", [grid_source(), grid_source(MASK, ""), ROWS.replace("(rows[:, None] < M) & ", "").encode()],
                         ids=["none", "store", "rows"])
def test_unsafe_grid_fix_leaves_the_out_of_bounds_accesses_reported(tmp_path, source):
    """The unsafe fix makes unmasked accesses run past the end: after it, fuselint must not call
    the file clean; it reports each access the last block takes out of bounds."""
    path = tmp_path / "k.py"
    path.write_bytes(source)
    safe = run_fuselint("check", "--no-cache", "--fix", str(path))
    assert path.read_bytes() == source and safe.returncode == 1
    assert "No fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option)." in safe.stdout
    assert "is not masked against" in safe.stdout
    unsafe = run_fuselint("check", "--no-cache", "--fix", "--unsafe-fixes", "--output-format", "json", str(path))
    assert b"triton.cdiv(" in path.read_bytes() and "Fixed 1 error." in unsafe.stderr
    assert unsafe.returncode == 1
    reported = {f["line"] for f in json.loads(unsafe.stdout)}
    unmasked = {n for n, line in enumerate(source.decode().splitlines(), 1)
                if ("tl.load(" in line or "tl.store(" in line) and "< n" not in line}
    assert unmasked and unmasked <= reported


def test_fix_counts_and_json_say_which_fixes_are_safe(tmp_path):
    path = tmp_path / "k.py"
    path.write_bytes(grid_source())
    [finding] = json.loads(run_fuselint("check", "--no-cache", "--select", "FL002", "--output-format", "json",
                                        str(path)).stdout)
    assert finding["fix"] == "unsafe"
    assert b"triton.cdiv(M, 16)" in fix_grid(ROWS.encode(), unsafe=False)  # rows masked against M: safe
    shown = run_fuselint("check", "--no-cache", "--select", "FL002", "--unsafe-fixes", str(path))
    assert shown.stdout.splitlines()[-1] == "[*] 1 fixable with the `--fix` option."
    diff = run_fuselint("check", "--select", "FL002", "--diff", str(path))
    assert diff.stdout == "" and "Would fix 0 errors (1 additional fix available with `--unsafe-fixes`)." in diff.stderr
    diff = run_fuselint("check", "--select", "FL002", "--diff", "--unsafe-fixes", str(path))
    assert "+    double_kernel[(triton.cdiv(n, 256),)](x, y, n, BLOCK=256)" in diff.stdout
    assert path.read_bytes() == grid_source()
    path.write_bytes(grid_source(MASK, MASK))
    shown = run_fuselint("check", "--no-cache", "--select", "FL002", str(path))
    assert shown.stdout.splitlines()[-1] == "[*] 1 fixable with the `--fix` option."
