"""The range model behind FL4xx, seen through `fuselint check --explain FILE:LINE`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fuselint.config import Settings
from fuselint.engine import lint_source
from fuselint.model.ranges import explain

OOB = Path(__file__).parent / "data" / "oob"
ROOT = Path(__file__).resolve().parents[1]


def test_explain_names_offsets_ranges_mask_and_verdict():
    text = explain((OOB / "flaggems_5231_bucketize" / "before.py").read_text(), 15)
    assert "tl.load(`inp_ptr + offsets`)" in text
    assert "mask: none" in text
    assert "range [0, 1024 * cdiv(n_elements, 1024) - 1]" in text
    assert "extent `n_elements`" in text and "the tiling `cdiv(n_elements, 1024) * 1024`" in text
    assert "verdict: flagged (FL403)" in text


def test_explain_proves_the_fixed_store_in_bounds_per_axis():
    text = explain((OOB / "flash_attn_2822_linear_fwd" / "after.py").read_text(), 41)
    assert "vector `BLOCK_M * tl.program_id(0) + tl.arange(0, BLOCK_M)`" in text
    assert "vector `BLOCK_N * tl.program_id(1) + tl.arange(0, BLOCK_N)`" in text
    assert "verdict: proven in bounds" in text


def test_explain_proves_the_shipped_ropes_q_or_k_accesses_through_their_tl_where_base():
    source = (ROOT / "examples" / "rope.py").read_text()
    lines = [n for n, text in enumerate(source.splitlines(), 1)
             if "tl.load(x_ptr + offs" in text or "tl.store(out_ptr + offs" in text]
    assert len(lines) == 2
    for line in lines:
        explained = explain(source, line)
        assert "verdict: proven in bounds" in explained, explained


def test_explain_below_zero_and_where_arm():
    text = explain((OOB / "vllm_ascend_16275_reject_sample" / "before.py").read_text(), 15)
    assert "below zero: passes (lower bounds -1)" in text
    assert "verdict: flagged (FL404)" in text
    fixed = explain((OOB / "vllm_ascend_16275_reject_sample" / "after.py").read_text(), 15)
    assert "below zero" not in fixed or "below zero: proven" in fixed
    assert "flagged" not in fixed


def test_explain_from_the_cli():
    where = f"{OOB / 'ggml_186_vecadd' / 'before.py'}:15"
    done = subprocess.run([sys.executable, "-m", "fuselint", "check", "--explain", where], capture_output=True, text=True)
    assert done.returncode == 0
    assert "verdict: flagged (FL401)" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "fuselint", "check", "--explain", "nofile"], capture_output=True, text=True)
    assert bad.returncode == 2


def test_a_line_without_access():
    assert explain("x = 1\n", 1) == "no load, store or atomic of a kernel on line 1"


@pytest.mark.parametrize("name, expected", [
    ("ascend_bmm_columns.py", {"FL402"}),
    ("flaggems_argmin_opt_k1.py", {"FL401"}),
])
def test_found_reproducers_are_flagged(name, expected):
    """The reproducers of findings on released code (examples/found) keep their findings."""
    source = (ROOT / "examples" / "found" / name).read_text()
    codes = {f.code for f in lint_source(source, name, Settings(select=("FL4",)))}
    assert codes == expected
