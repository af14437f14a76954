"""The fusion rules (FL1xx, FL3xx) on real kernels of the installed liger-kernel and flag-gems
wheels. Only the files named here are linted, so this runs in seconds. Every finding in these
files is recorded with the reason it is right (each checked by hand against the source); a
finding that appears or disappears is a change in the analysis to look at. Where one of them
was a false alarm, the semantics were fixed, never the list."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import libcst as cst
import pytest

from fuselint.config import Settings
from fuselint.engine import lint_source
from fuselint.model.fusion import DOTS, computed_by_dot, fused_groups, not_elementwise_loads
from fuselint.model.module import ModuleModel
from fuselint.rules import all_rules

PACKAGES = {"liger-kernel": "liger_kernel", "flag-gems": "flag_gems"}

# file (relative to site-packages) -> {(line, code): why it is right}
EXPECTED = {
    "liger_kernel/ops/rope.py": {
        (91, "FL101"): "q's second half loaded at first_half_q_offsets + rd // 2 (the RoPE halves)",
        (92, "FL101"): "k's second half loaded at first_half_k_offsets + rd // 2",
    },
    "liger_kernel/ops/qwen2vl_mrope.py": {
        (82, "FL101"): "q's second half at first_half_q_offsets + hd // 2",
        (83, "FL101"): "k's second half at first_half_k_offsets + hd // 2",
    },
    "liger_kernel/ops/llama4_rope.py": {
        (74, "FL101"): "interleaved real/imag: q at d_indices * 2 + 1 beside d_indices * 2",
    },
    "liger_kernel/ops/swiglu.py": {
        (112, "FL104"): "_swiglu_forward_kernel_tiled: element-wise, tl.program_id(1) over column blocks",
        (133, "FL104"): "_swiglu_backward_kernel_tiled: element-wise, tl.program_id(1) over column blocks",
        (331, "FL101"): "up half of y at y_ptr + ffn_size + cols beside the gate half at y_ptr + cols",
        (350, "FL101"): "backward: the up half again at + ffn_size",
    },
    "liger_kernel/ops/mhc.py": {
        (447, "FL101"): "mix_post at (HC + j) beside mix_pre at j of the same row",
        (450, "FL101"): "b_post at b_ptr + HC + j beside b_pre at b_ptr + j",
    },
    "liger_kernel/ops/multi_token_attention.py": {
        (28, "FL104"): "_mask_fwd_kernel: element-wise masking on a 3-D grid (row block, col block, batch)",
        (48, "FL104"): "_mask_bwd_kernel: the same grid for the backward mask",
    },
    "liger_kernel/ops/backends/_ascend/ops/qwen2vl_mrope.py": {
        (98, "FL101"): "k's second half at offsets + hd // 2",
    },
    "liger_kernel/ops/backends/_ascend/ops/llama4_rope.py": {
        (104, "FL101"): "imag part stored at imag_idx = real_idx + 1 (interleaved), forward",
        (147, "FL101"): "the same interleaved store, backward",
    },
    "liger_kernel/ops/backends/_ascend/ops/fused_moe_kernels.py": {
        (314, "FL101"): "up projection at (n_idx + I_dim) beside the gate at n_idx of pre_act",
    },
    "flag_gems/ops/absolute.py": {
        (34, "FL101"): "complex abs: imaginary part at base + 1 beside the real part at base",
    },
    "flag_gems/ops/conj_physical.py": {
        (26, "FL101"): "complex conj: imaginary part loaded (and stored) at base + 1",
    },
    "flag_gems/ops/dropout.py": {
        (55, "FL101"): "unrolled x4: X at off_1 = off_0 + BLOCK",
        (56, "FL101"): "unrolled x4: X at off_2 = off_0 + 2 * BLOCK",
        (57, "FL101"): "unrolled x4: X at off_3 = off_0 + 3 * BLOCK",
    },
    "flag_gems/ops/kron.py": {
        (210, "FL101"): "pairs stored interleaved: b index at 2 * offset + 1 beside a index at 2 * offset",
    },
    "flag_gems/ops/resolve_conj.py": {
        (42, "FL101"): "imaginary part stored at output_real_offsets + 1",
        (63, "FL104"): "resolve_conj_kernel_2d_strided: element-wise copy on a 2-D grid",
        (87, "FL101"): "imaginary part stored at output_base_offset + 1",
        (108, "FL104"): "resolve_conj_kernel_large_2d: element-wise copy on a 2-D grid",
        (133, "FL101"): "imaginary part stored at output_base_offsets + 1",
    },
    "flag_gems/ops/unique.py": {
        (77, "FL101"): "neighbour: idx at i0 + 1 beside idx at i0 (a stencil)",
        (132, "FL101"): "the same neighbour load in the second kernel",
    },
    "flag_gems/fused/geglu.py": {
        (106, "FL101"): "backward: x_b half of the input at offs_h + H beside grad_out at offs_h",
    },
    "flag_gems/fused/swiglu.py": {
        (105, "FL101"): "backward: second half of the input at offs_h + H",
    },
    "flag_gems/fused/reglu.py": {
        (36, "FL104"): "dreglu_kernel: element-wise on a 2-D grid (rows, column blocks)",
        (61, "FL101"): "backward: second half of the input at offs_n + N",
        (89, "FL104"): "reglu_kernel: element-wise on a 2-D grid",
        (99, "FL101"): "forward: gate half of x at offs_n + N_OUT beside the first half",
    },
    "flag_gems/fused/mhc/mhc_post.py": {
        (60, "FL104"): "mhc_post_kernel_hc_mult_4: element-wise, tl.program_id(1) over H blocks",
        (98, "FL101"): "stream 1 of b at b_base + 1 * H beside stream 0 at b_base + 0 * H",
        (99, "FL101"): "stream 2 of b at b_base + 2 * H",
        (100, "FL101"): "stream 3 of b at b_base + 3 * H",
    },
    "flag_gems/fused/mhc/mhc_pre.py": {
        (360, "FL101"): "residual stream 1 at res_base + 1 * res_stride_i beside stream 0",
        (366, "FL101"): "residual stream 2 at res_base + 2 * res_stride_i",
        (371, "FL101"): "residual stream 3 at res_base + 3 * res_stride_i",
    },
    "flag_gems/experimental_ops/amin.py": {
        (21, "FL303"): "pid < M with grid = lambda meta: (M,)",
    },
    "flag_gems/ops/upsample_linear1d.py": {
        (25, "FL104"): "element-wise interpolation on grid (NC, cdiv(W_out, BLOCK))",
        (31, "FL303"): "pid_nc < NC with grid dimension 0 exactly NC",
    },
    "flag_gems/ops/t_copy.py": {
        (25, "FL104"): "t_copy_2d_kernel: element-wise strided copy on a 2-D grid",
    },
    "flag_gems/ops/tril.py": {
        (14, "FL104"): "_tril_kernel: element-wise on a 3-D grid (batch, rows, cols)",
    },
    "flag_gems/ops/reflection_pad1d.py": {
        (19, "FL104"): "reflection_pad1d_kernel: element-wise on a 2-D grid",
        (43, "FL104"): "_copy_rows_kernel: element-wise on a 2-D grid",
    },
    "flag_gems/runtime/backend/_cambricon/ops/masked_fill.py": {
        (89, "FL104"): "masked_fill_kernel uses only program_id(0) but is launched on (x, y, 1): a 2-D grid",
    },
}

# Kernels with tl.dot: their A and B operands are not element-wise and never compared.
MATMUL_FILES = [
    "liger_kernel/ops/fused_moe_kernels.py",
    "liger_kernel/ops/fused_neighborhood_attention.py",
    "flag_gems/ops/conv2d.py",
    "flag_gems/ops/flash_kernel.py",
    "flag_gems/ops/mm.py",
    "flag_gems/ops/addmm.py",
    "flag_gems/ops/bmm.py",
    "flag_gems/fused/cutlass_scaled_mm.py",
]


@pytest.fixture(scope="module")
def site() -> Path:
    roots = []
    for distribution, package in PACKAGES.items():
        try:
            dist = importlib.metadata.distribution(distribution)
        except importlib.metadata.PackageNotFoundError:
            pytest.skip(f"{distribution} is not installed (pip install -e .[dev])")
        roots.append(Path(dist.locate_file(package)))
    return roots[0].parent


@pytest.fixture(scope="module")
def fusion_rules():
    settings = Settings()
    return [cls(settings) for cls in all_rules() if cls.code.startswith(("FL1", "FL3"))]


def fusion_findings(site: Path, relative: str, rules) -> list:
    path = site / relative
    # Default settings: FL302 is on only for KernelBench files, as it is for users.
    return lint_source(path.read_bytes(), path, Settings(), rules)


def test_at_least_thirty_findings_are_recorded():
    assert sum(len(found) for found in EXPECTED.values()) >= 30


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_findings_are_the_hand_checked_ones(site, fusion_rules, relative):
    found = {(f.line, f.code) for f in fusion_findings(site, relative, fusion_rules)}
    assert found == set(EXPECTED[relative])


@pytest.mark.parametrize("relative", ["liger_kernel/ops/rope.py", "liger_kernel/ops/qwen2vl_mrope.py"])
def test_liger_rotary_kernels_load_each_row_at_two_offsets(site, fusion_rules, relative):
    findings = [f for f in fusion_findings(site, relative, fusion_rules) if f.code == "FL101"]
    assert len(findings) == 2  # q and k
    for finding in findings:
        assert "second_half" in finding.message and finding.message.endswith("do not fuse: split this kernel")


@pytest.mark.parametrize("relative", MATMUL_FILES)
def test_matmul_operands_are_not_fused_members(site, fusion_rules, relative):
    found = [f for f in fusion_findings(site, relative, fusion_rules) if f.code in ("FL101", "FL102")]
    assert found == []
    model = ModuleModel(cst.parse_module((site / relative).read_bytes()))
    with_dot = [k for k in model.kernels if k.calls(*DOTS)]
    assert with_dot
    # the model sees the A/B operand loads as tl.dot inputs (the check is not vacuous)
    assert any(not_elementwise_loads(k) for k in with_dot)


@pytest.mark.parametrize("relative", ["flag_gems/ops/conv2d.py", "flag_gems/fused/cutlass_scaled_mm.py"])
def test_matmul_epilogue_groups_are_modelled(site, relative):
    """The bias of these matmul epilogues is a broadcast operand of the accumulator's store,
    checked (and clean) under FL105."""
    model = ModuleModel(cst.parse_module((site / relative).read_bytes()))
    epilogues = [g for k in model.kernels for g in fused_groups(k) if computed_by_dot(k, g.output.access)]
    assert any(g.broadcast for g in epilogues)
