from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOUSE_FILE = ROOT.parent / "shared" / "fusion-stage-prompt.txt"


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
