"""Every file of the installed liger-kernel and flag-gems wheels, linted with every rule:
no internal error, and the count of findings per rule as recorded here. A change in a count
is a change in the analysis: look at the new or lost findings and explain them here."""

from __future__ import annotations

import importlib.metadata
from collections import Counter
from pathlib import Path

import pytest

from fuselint.config import Settings
from fuselint.engine import lint_paths
from fuselint.rules import all_rules
from memory_safety_corpus import COUNTS as MEMORY_SAFETY_COUNTS
from memory_safety_corpus import REVIEWED as MEMORY_SAFETY_REVIEWED

PACKAGES = {"liger-kernel": "liger_kernel", "flag-gems": "flag_gems"}

EXPECTED_COUNTS = {
    "FL001": 2,    # flag_gems kunlunxin flash_kernel.py: two kernels whose @triton.jit is commented out
    # FL002: none. The floor divisions left are exact: act_quant asserts N % block_size == 0,
    # mthreads prod runs under `if m % block_m == 0`, tsingmicro moe divides n by n // 16.
    # FL301: none (no hint statement in either wheel); FL103, FL105: none.
    "FL003": 6,    # vendor-fork backends (ascend, cambricon, kunlunxin) with non-power-of-two blocks
    "FL004": 472,  # block sizes outside 16..256: mostly 512-16384 element-wise blocks, some 1-8
    # (+11 and FL003 +2 since configs built by a module function, `configs=cfggen()`, are read)
    # (+36 since launches follow `name_kernel = name` aliases: flag_gems experimental_ops launch their
    # kernel as `abs__kernel[grid](..., BLOCK_SIZE=1024)` after `abs__kernel = abs_`; each checked)
    "FL006": 1,    # flag_gems mhc_bwd.py: `continue` in a loop
    "FL007": 17,   # cambricon/ascend/kunlunxin backends index tensors with loop variables or integers (their forks allow it)
    "FL008": 164,  # partial masks such as rows[:, None] < M on [BLOCK_M, BLOCK_N] tiles (house rule), none fatal; helpers whose callers pass blocks not judged
    "FL009": 57,   # 50 tl.sigmoid/tl.softmax (house rule) + 7 tl.tanh in liger's Ascend backend
    "FL011": 13,   # 11 fatal in metax exponential_ (list/float globals annotated `: tl.constexpr`), 2 warnings under dtype tests
    "FL012": 23,   # 16 fatal item assignments in the cambricon fork; 7 warnings (item assignments under `if`s
    # that may be compile-time constants). The 17 `raise` in the else of dtype dispatches (randperm, topk,
    # quantile: `elif dtype is tl.uint32: ... else: raise`) are not reported: Triton visits them only for a
    # dtype they refuse.
    # flag_gems kernels take their program ids from `tle.program_id` (tl.program_id(axis).to(int64)),
    # followed since 2026-11-25: FL007 +2, FL008 +30, FL101 +4, FL104 +31, FL303 +4, FL4xx +4.
    # Fusion rules (tests/test_fusion_corpus.py records hand-checked findings of each):
    "FL101": 123,  # halves/parts of one row at shifted offsets (rope, swiglu/geglu/reglu, complex re/im, unrolled x4)
    # (-1 since vectors are compared per axis, program terms aside: cambricon pad.py:528 copies from a padded
    # view, `(batch_idx + tl.arange(0, BLOCK_H) - pad_top)[:, None]` beside `(batch_idx + tl.arange(...))[:, None]`,
    # a shift alone in a copy, as in the 1-D pads)
    "FL104": 84,   # element-wise kernels on 2-D/3-D grids (pads, triu/tril, copies, upsampling); eye fills (store only) are not
    "FL303": 9,    # `pid < n` with grid dimension exactly n (4 in repeat_interleave copies, seen through tle.program_id)
    # Opt-in rules, selected here by name so that they too run on every file without error:
    "FL407": 1329,  # int32 `row * stride` addresses (1192 flag_gems, 137 liger): a hazard past 2**31 elements, not reviewed one by one
}
OPT_IN = tuple(r.code for r in all_rules() if r.opt_in)
# Memory-safety rules: each finding checked by hand in tests/memory_safety_corpus.py.
EXPECTED_COUNTS.update(MEMORY_SAFETY_COUNTS)

# Fatal findings on released code, each checked by hand.
EXPLAINED_FATAL = {
    # Triton 3.6 and 3.9 have no `visit_Continue` in code_generator.py: this kernel cannot compile
    # with upstream Triton (a real bug, or code only compiled by a vendor fork).
    ("flag_gems/fused/mhc/mhc_bwd.py", 66, "FL006"),
    # Vendor backends built for forks of Triton that accept non-power-of-two tiles and tensor
    # indexing; upstream Triton rejects each of these (arange's range must be a power of 2,
    # unsupported tensor index).
    ("flag_gems/runtime/backend/_ascend/ops/resolve_neg.py", 53, "FL003"),
    ("flag_gems/runtime/backend/_ascend/ops/var_mean.py", 138, "FL007"),
    ("flag_gems/runtime/backend/_ascend/ops/var_mean.py", 149, "FL007"),
    ("flag_gems/runtime/backend/_ascend/ops/var_mean.py", 150, "FL007"),
    ("flag_gems/runtime/backend/_cambricon/ops/groupnorm.py", 44, "FL003"),
    ("flag_gems/runtime/backend/_cambricon/ops/layernorm.py", 95, "FL003"),  # cfggen(): BLOCK_ROW_SIZE 14
    ("flag_gems/runtime/backend/_cambricon/ops/layernorm.py", 96, "FL003"),  # and 22
    ("flag_gems/runtime/backend/_cambricon/ops/nonzero.py", 52, "FL007"),
    ("flag_gems/runtime/backend/_cambricon/ops/pad.py", 496, "FL003"),
    ("flag_gems/runtime/backend/_cambricon/ops/prod.py", 63, "FL007"),
    ("flag_gems/runtime/backend/_cambricon/ops/prod.py", 64, "FL007"),
    ("flag_gems/runtime/backend/_cambricon/ops/prod.py", 65, "FL007"),
    ("flag_gems/runtime/backend/_cambricon/ops/randn.py", 63, "FL007"),  # res[0, :]: an integer index
    ("flag_gems/runtime/backend/_cambricon/ops/randn.py", 64, "FL007"),
    ("flag_gems/runtime/backend/_kunlunxin/fused/bincount.py", 82, "FL007"),  # tl.zeros([1], ...)[0]
    ("flag_gems/runtime/backend/_cambricon/ops/topk.py", 98, "FL007"),
    ("flag_gems/runtime/backend/_cambricon/ops/topk.py", 99, "FL007"),
    ("flag_gems/runtime/backend/_cambricon/ops/topk.py", 105, "FL007"),
    ("flag_gems/runtime/backend/_cambricon/ops/topk.py", 106, "FL007"),
    ("flag_gems/runtime/backend/_cambricon/ops/triu.py", 59, "FL007"),
    ("flag_gems/runtime/backend/_kunlunxin/ops/conv2d.py", 617, "FL003"),
    # FL012: `x[i] = ...` item assignment (`__setitem__ is not supported in triton`,
    # CodeGenerator.visit_Subscript_Store in 3.6 and 3.9): the Cambricon fork of Triton supports it,
    # upstream Triton does not.
    ("flag_gems/runtime/backend/_cambricon/ops/all.py", 78, "FL012"),
    ("flag_gems/runtime/backend/_cambricon/ops/any.py", 78, "FL012"),
    ("flag_gems/runtime/backend/_cambricon/ops/cumsum.py", 43, "FL012"),
    ("flag_gems/runtime/backend/_cambricon/ops/cumsum.py", 53, "FL012"),
    ("flag_gems/runtime/backend/_cambricon/ops/nonzero.py", 52, "FL012"),
    ("flag_gems/runtime/backend/_cambricon/ops/prod.py", 46, "FL012"),
    ("flag_gems/runtime/backend/_cambricon/ops/prod.py", 63, "FL012"),
    ("flag_gems/runtime/backend/_cambricon/ops/randn.py", 63, "FL012"),
    ("flag_gems/runtime/backend/_cambricon/ops/randn.py", 64, "FL012"),
    ("flag_gems/runtime/backend/_cambricon/ops/topk.py", 223, "FL012"),
    ("flag_gems/runtime/backend/_cambricon/ops/topk.py", 224, "FL012"),
    ("flag_gems/runtime/backend/_cambricon/ops/var_mean.py", 192, "FL012"),
    ("flag_gems/runtime/backend/_cambricon/ops/var_mean.py", 193, "FL012"),
    ("flag_gems/runtime/backend/_cambricon/ops/var_mean.py", 194, "FL012"),
    # FL011: module globals annotated `eps_1: tl.constexpr = [...]` / `trans_scale: tl.constexpr = 1.0 / ...`;
    # an annotation does not make a global constexpr (Triton's own error message says so), the values are a
    # list and a float: `Cannot access global variable` in upstream 3.6 and 3.9 (a MetaX-fork kernel).
    ("flag_gems/runtime/backend/_metax/ops/exponential_.py", 190, "FL011"),
    ("flag_gems/runtime/backend/_metax/ops/exponential_.py", 191, "FL011"),
    ("flag_gems/runtime/backend/_metax/ops/exponential_.py", 200, "FL011"),
    ("flag_gems/runtime/backend/_metax/ops/exponential_.py", 201, "FL011"),
    ("flag_gems/runtime/backend/_metax/ops/exponential_.py", 202, "FL011"),
    ("flag_gems/runtime/backend/_metax/ops/exponential_.py", 210, "FL011"),
    ("flag_gems/runtime/backend/_metax/ops/exponential_.py", 211, "FL011"),
    ("flag_gems/runtime/backend/_metax/ops/exponential_.py", 212, "FL011"),
    ("flag_gems/runtime/backend/_metax/ops/exponential_.py", 220, "FL011"),
    ("flag_gems/runtime/backend/_metax/ops/exponential_.py", 221, "FL011"),
    ("flag_gems/runtime/backend/_metax/ops/exponential_.py", 222, "FL011"),
    # Dead code: the @triton.jit above both functions is commented out; nothing launches them.
    ("flag_gems/runtime/backend/_kunlunxin/ops/flash_kernel.py", 296, "FL001"),
    ("flag_gems/runtime/backend/_kunlunxin/ops/flash_kernel.py", 752, "FL001"),
    # liger's Ascend backend: tl.tanh exists in the Ascend fork only, not in upstream Triton 3.x.
    ("liger_kernel/ops/backends/_ascend/ops/cross_entropy.py", 127, "FL009"),
    ("liger_kernel/ops/backends/_ascend/ops/cross_entropy.py", 139, "FL009"),
    ("liger_kernel/ops/backends/_ascend/ops/cross_entropy.py", 472, "FL009"),
    ("liger_kernel/ops/backends/_ascend/ops/dyt.py", 54, "FL009"),
    ("liger_kernel/ops/backends/_ascend/ops/dyt.py", 113, "FL009"),
    ("liger_kernel/ops/backends/_ascend/ops/geglu.py", 41, "FL009"),
    ("liger_kernel/ops/backends/_ascend/ops/geglu.py", 74, "FL009"),
}


def package_root(distribution: str) -> Path:
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{distribution} is not installed (pip install -e .[dev])")
    return Path(dist.locate_file(PACKAGES[distribution]))


@pytest.fixture(scope="module")
def corpus():
    roots = [package_root(name) for name in PACKAGES]
    result = lint_paths(roots, Settings(select=("ALL", *OPT_IN)), jobs=2)
    site = roots[0].parent
    findings = [(Path(f.path).relative_to(site).as_posix(), f) for f in result.findings]
    return result, findings


def test_every_file_is_linted_without_error(corpus):
    result, findings = corpus
    assert result.files > 1500
    assert result.errors == []
    assert [f for _, f in findings if f.code in ("FL998", "FL999")] == []


def test_counts_per_rule_are_as_recorded(corpus):
    _, findings = corpus
    counts = dict(Counter(f.code for _, f in findings))
    assert counts == EXPECTED_COUNTS


def test_fatal_findings_are_each_explained(corpus):
    _, findings = corpus
    fatal = {(path, f.line, f.code) for path, f in findings if f.fatal}
    assert fatal == EXPLAINED_FATAL


def test_triton_and_torch_triton_files_lint_without_internal_error():
    """Triton's own package and every torch file that mentions triton (Inductor's generators
    and templates): code that stretches the model far beyond kernels."""
    import importlib.util

    torch_root, triton_root = (Path(importlib.util.find_spec(name).origin).parent for name in ("torch", "triton"))
    torch_files = [p for p in sorted(torch_root.rglob("*.py")) if b"triton" in p.read_bytes()]
    result = lint_paths([triton_root, *torch_files], Settings(select=("ALL", *OPT_IN)), jobs=2)
    assert result.files > 300 and result.errors == []
    internal = [f"{f.path}:{f.line}: {f.message}" for f in result.findings if f.code in ("FL998", "FL999")]
    assert internal == []


def test_memory_safety_findings_are_each_reviewed(corpus):
    _, findings = corpus
    found = {(path, f.line, f.code) for path, f in findings if f.code.startswith("FL4") and f.code not in OPT_IN}
    assert found == set(MEMORY_SAFETY_REVIEWED)
