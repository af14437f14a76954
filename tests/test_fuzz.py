"""Property-based tests: kernels generated from a small grammar, and real kernels mutated.
fuselint never fails internally, its output is deterministic, and a planted defect is found by
its rule. CI runs a short share; `pytest -m slow tests/test_fuzz.py` runs the long one."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fuselint.config import Settings
from fuselint.engine import lint_source

SETTINGS = Settings()
SHORT = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

POW2 = [16, 32, 64, 128, 256]
# defect -> the rule that must report it
DEFECTS = {
    None: None,
    "non_pow2_block": "FL003",
    "axis_3": "FL005",
    "break_in_loop": "FL006",
    "other_without_mask": "FL010",
    "floor_div_grid": "FL002",
    "tanh": "FL009",
    "missing_jit": "FL001",
}


@st.composite
def kernels(draw):
    defect = draw(st.sampled_from(list(DEFECTS)))
    block = draw(st.sampled_from([48, 96, 100]) if defect == "non_pow2_block" else st.sampled_from(POW2))
    two_d = draw(st.booleans())
    n_loads = draw(st.integers(1, 3))
    loop = draw(st.sampled_from(["none", "range", "static_range"]))
    axis = 3 if defect == "axis_3" else 0
    lines = ["import triton", "import triton.language as tl", ""]
    if defect != "missing_jit":
        lines.append("@triton.jit")
    lines += [f"def k(out_ptr, {', '.join(f'in{i}_ptr' for i in range(n_loads))}, n, m, BLOCK: tl.constexpr):",
              f"    pid = tl.program_id({axis})"]
    if two_d:
        lines += ["    rows = pid * BLOCK + tl.arange(0, BLOCK)", "    cols = tl.arange(0, BLOCK)",
                  "    offs = rows[:, None] * m + cols[None, :]",
                  "    mask = (rows[:, None] < n) & (cols[None, :] < m)"]
    else:
        lines += ["    offs = pid * BLOCK + tl.arange(0, BLOCK)", "    mask = offs < n"]
    lines.append("    acc = tl.zeros(" + ("(BLOCK, BLOCK)" if two_d else "(BLOCK,)") + ", dtype=tl.float32)")
    body = []
    for i in range(n_loads):
        shift = draw(st.sampled_from(["", " + 1", " + n"]))
        use_mask = draw(st.booleans()) or defect == "other_without_mask"
        mask = "" if defect == "other_without_mask" and i == 0 else (", mask=mask" if use_mask else "")
        other = ", other=0.0" if (use_mask or defect == "other_without_mask") else ""
        body.append(f"x{i} = tl.load(in{i}_ptr + offs{shift}{mask}{other})")
        body.append(f"acc += {'tl.tanh' if defect == 'tanh' and i == 0 else ''}(x{i})")
    if loop == "none" and defect != "break_in_loop":
        lines += [f"    {b}" for b in body]
    else:
        kind = "tl.static_range" if loop == "static_range" else "range"
        lines.append(f"    for i in {kind}(4):")
        lines += [f"        {b}" for b in body]
        if defect == "break_in_loop":
            lines += ["        if i > 2:", "            break"]
    lines += ["    tl.store(out_ptr + offs, acc, mask=mask)", "", "", "def launch(out, xs, n, m):"]
    grid = f"n // {block}" if defect == "floor_div_grid" else f"triton.cdiv(n, {block})"
    lines.append(f"    k[({grid},)](out, {', '.join('xs' for _ in range(n_loads))}, n, m, BLOCK={block})")
    return "\n".join(lines) + "\n", defect


def assert_sound(source: str) -> list:
    first = lint_source(source, "fuzz.py", SETTINGS)
    assert lint_source(source, "fuzz.py", SETTINGS) == first, "output is not deterministic"
    internal = [f.message for f in first if f.code == "FL998"]
    assert internal == [], internal
    return first


def check_generated(case) -> None:
    source, defect = case
    findings = assert_sound(source)
    codes = {f.code for f in findings}
    if defect is not None:
        assert DEFECTS[defect] in codes, f"{defect} not found by {DEFECTS[defect]}:\n{source}"
    fatal = {f.code for f in findings if f.fatal}
    if defect is None:
        assert fatal == set(), source


@SHORT
@given(kernels())
def test_generated_kernels(case):
    check_generated(case)


@pytest.mark.slow
@LONG
@given(kernels())
def test_generated_kernels_long(case):
    check_generated(case)


def _real_kernels() -> list[str]:
    sources = [p.read_text() for p in sorted(Path(__file__).parent.parent.joinpath("examples").rglob("*.py"))]
    try:
        dist = importlib.metadata.distribution("liger-kernel")
        root = Path(dist.locate_file("liger_kernel")) / "ops"
        sources += [p.read_text() for p in sorted(root.glob("*.py"))[:25]]
    except importlib.metadata.PackageNotFoundError:
        pass
    return [s for s in sources if "triton" in s]


REAL = _real_kernels()


@st.composite
def mutants(draw):
    source = draw(st.sampled_from(REAL))
    operator = draw(st.sampled_from(["delete", "block", "offset", "swap_lines"]))
    if operator == "delete":  # delete a token: often a syntax error, sometimes a new program
        tokens = [m.span() for m in re.finditer(r"\w+|[^\w\s]", source)]
        start, end = draw(st.sampled_from(tokens))
        return source[:start] + source[end:]
    if operator == "block":
        numbers = [m.span() for m in re.finditer(r"\b\d+\b", source)] or [(0, 0)]
        start, end = draw(st.sampled_from(numbers))
        return source[:start] + str(draw(st.sampled_from([0, 1, 3, 48, 100, 4096]))) + source[end:]
    if operator == "offset":
        offsets = [m.span() for m in re.finditer(r"\boffs\w*\b", source)] or [(0, 0)]
        start, end = draw(st.sampled_from(offsets))
        return source[:start] + "(" + source[start:end] + " + 1)" + source[end:]
    lines = source.splitlines(keepends=True)
    i = draw(st.integers(0, max(0, len(lines) - 2)))
    lines[i:i + 2] = lines[i:i + 2][::-1]
    return "".join(lines)


@SHORT
@given(mutants())
def test_mutated_real_kernels(source):
    assert_sound(source)


@pytest.mark.slow
@LONG
@given(mutants())
def test_mutated_real_kernels_long(source):
    assert_sound(source)
