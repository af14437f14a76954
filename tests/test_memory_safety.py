"""The range model behind FL4xx, seen through `fuselint check --explain FILE:LINE`."""

from __future__ import annotations

import re
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


def test_explain_judges_each_axis_of_a_block_pointer_against_its_declared_shape():
    from fuselint.rules.fl401_unmasked_tail_access import _BLOCK_ROWS

    source = _BLOCK_ROWS.format(check=", boundary_check=(1,)", mark="")
    load, store = explain(source, 10), explain(source, 11)
    assert "axis 0 `BLOCK_T * tl.program_id(0) + tl.arange(0, BLOCK_T)`: range [0, 64 * cdiv(T, 64) - 1]; shape `T`: passes" in load
    assert "axis 1 `tl.arange(0, D)`" in load and "proven (checked by Triton)" in load
    assert "verdict: flagged (FL402)" in load
    assert "verdict: proven within the block pointer's declared shape" in store


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
    ("fastvideo_rmsnorm_rows.py", {"FL401", "FL402", "FL403"}),
    ("lightning_attn_columns.py", {"FL401"}),
])
def test_found_reproducers_are_flagged(name, expected):
    """The reproducers of findings on released code (examples/found) keep their findings."""
    source = (ROOT / "examples" / "found" / name).read_text()
    codes = {f.code for f in lint_source(source, name, Settings(select=("FL4",)))}
    assert codes == expected


# Reproducers whose findings come from the host extents (the tensor a wrapper allocates) and the
# grid a wrapper launches: each access a memory-safety rule must flag, by its code and its line's
# text. Every FL4 finding on these files is one of them (the model without host extents flags none).
HOST_FOUND = {
    "flaggems_kron_batch_indices.py": [("FL401", "tl.store(batch_indices_ptr + a_store_offset"),
                                       ("FL401", "tl.store(batch_indices_ptr + b_store_offset")],
    "flaggems_vdot_complex.py": [("FL401", "tl.store(out_ptr + temp_offset + 1"),
                                 ("FL402", "tl.load(input_ptr + base_offset * 2 + 1")],
    "metax_outer_rows.py": [("FL402", "tl.store(out + output_offsets")],
    "liger_ascend_group_norm_sweep.py": [("FL401", "tl.store(Mean_ptr + pid_task"),
                                         ("FL401", "tl.store(RSTD_ptr + pid_task")],
    "flaggems_sparse_mla_heads.py": [("FL402", "q_blk = tl.load(q_ptr"), ("FL402", "tq_blk = tl.load(tq_ptr"),
                                     ("FL402", "tl.store(o_ptr"), ("FL402", "tl.store(l_ptr")],
}


def _found_lines(source: str, expected) -> set:
    """(code, line) of each expected access, its text found on exactly one line."""
    lines = source.splitlines()
    found = set()
    for code, text in expected:
        where = [n for n, line in enumerate(lines, 1) if text in line]
        assert len(where) == 1, (text, where)
        found.add((code, where[0]))
    return found


@pytest.mark.parametrize("name", sorted(HOST_FOUND))
def test_host_found_reproducers_flag_only_their_bugs(name):
    source = (ROOT / "examples" / "found" / name).read_text()
    expected = _found_lines(source, HOST_FOUND[name])
    flagged = {(f.code, f.line) for f in lint_source(source, name, Settings(select=("FL4",)))}
    assert flagged <= expected, flagged - expected


def test_every_found_reproducer_is_linted_and_has_a_reference():
    found = ROOT / "examples" / "found"
    # flaggems_vdot_real_partials.py: found by hand, no FL4 rule flags it yet (README).
    listed = {"ascend_bmm_columns.py", "flaggems_argmin_opt_k1.py", "flaggems_vdot_real_partials.py",
              "fastvideo_rmsnorm_rows.py", "lightning_attn_columns.py"} | set(HOST_FOUND)
    reproducers = {p.name for p in found.glob("*.py") if "class ModelNew" in p.read_text()}
    assert reproducers == listed
    readme = (found / "README.md").read_text()
    for name in reproducers:
        reference = re.search(r"--reference (examples/found/\w+\.py)", (found / name).read_text())
        assert reference, name
        text = (ROOT / reference.group(1)).read_text()
        assert "class Model(" in text and "def get_inputs(" in text and "def get_init_inputs(" in text
        assert f"`{name}`" in readme, name
