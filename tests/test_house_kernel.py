"""The house file's own RoPE kernel (../shared/fusion-stage-prompt.txt, the ```python block after
"[CURRENT CODE]"), linted with every rule: exactly the fusion findings the house rules predict,
each at its line, and nothing else. The kernel is read at test time, never copied here."""

from __future__ import annotations

from conftest import house_kernel

from fuselint.config import Settings
from fuselint.engine import lint_source


def line_of(source: str, text: str) -> int:
    lines = [n for n, line in enumerate(source.splitlines(), 1) if text in line]
    assert len(lines) == 1, f"{text!r} is on lines {lines}"
    return lines[0]


def test_house_kernel_gets_exactly_the_fusion_findings():
    source = house_kernel()
    found = {(f.line, f.code) for f in lint_source(source, "house.py", Settings())}  # every rule
    expected = {
        # q2/k2 are loaded (and stored) at `offs_d + HALF_D`, q1/k1/cos/sin at `offs_d`
        (line_of(source, "q2 = tl.load(q2_ptrs"), "FL101"),
        # an element-wise op on a 3-D grid: the first program id past axis 0
        (line_of(source, "pid_s = tl.program_id(1)"), "FL104"),
        # q_flat / k_flat are q.contiguous().view(...): the caller's q and k, stored into
        (line_of(source, "q_flat, k_flat, cos_trunc, sin_trunc,"), "FL302"),
        # pid_bh < BH and pid_s < S with grid (BH, S, ...): always true
        (line_of(source, "valid = (pid_bh < BH) & (pid_s < S)"), "FL303"),
    }
    assert found == expected
    # `tl.multiple_of(offs_d, BLOCK_D)` as a statement marks offs_d itself (the hint sets an
    # attribute on the value's defining operation): no finding (tests/test_hint_compile.py)
    assert not {code for line, code in found if line == line_of(source, "tl.multiple_of(offs_d, BLOCK_D)")}


def test_house_kernel_findings_name_the_two_offsets_and_the_verdict():
    source = house_kernel()
    findings = lint_source(source, "house.py", Settings(select=("FL101", "FL104")))
    fl101 = next(f for f in findings if f.code == "FL101")
    assert "(offs_d + HALF_D)" in fl101.message and "offs_d * stride_q2" in fl101.message
    assert "adds `HALF_D`" in fl101.message
    assert fl101.message.endswith("do not fuse: split this kernel")
    fl104 = next(f for f in findings if f.code == "FL104")
    assert "1-D grid" in fl104.message
    # both redundant terms, both FL302 arguments are reported (two findings on one line each)
    both = lint_source(source, "house.py", Settings(select=("FL302", "FL303")))
    assert sorted(f.code for f in both) == ["FL302", "FL302", "FL303", "FL303"]
