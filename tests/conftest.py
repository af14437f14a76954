from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOUSE_FILE = ROOT.parent / "shared" / "fusion-stage-prompt.txt"


def house_kernel() -> str:
    """The house file's RoPE kernel (the ```python block after "[CURRENT CODE]"), read at test
    time: it is never copied into the project. Skips the test where the file is absent."""
    if not HOUSE_FILE.exists():
        pytest.skip(f"{HOUSE_FILE} is absent")
    match = re.search(r"\[CURRENT CODE\]\s*```python\n(.*?)```", HOUSE_FILE.read_text(), re.S)
    assert match, "the house file has a ```python block after [CURRENT CODE]"
    return match.group(1)


@pytest.fixture
def house_kernel_file(tmp_path) -> Path:
    path = tmp_path / "house_rope.py"
    path.write_text(house_kernel())
    return path


def run_fuselint(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m fuselint ARGS` in a fresh interpreter, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "fuselint", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def fuselint_cli():
    return run_fuselint


KERNEL_BAD = '''import triton
import triton.language as tl


@triton.jit
def add_kernel(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, other=0.0)
    tl.store(x_ptr + offs, x + 1, mask=offs < n)


def add_one(x):
    n = x.numel()
    add_kernel[(n // 128,)](x, n, BLOCK=96)
'''
KERNEL_GOOD = KERNEL_BAD.replace("other=0.0", "mask=offs < n, other=0.0").replace(
    "(n // 128,)", "(triton.cdiv(n, 128),)").replace("BLOCK=96", "BLOCK=128")
