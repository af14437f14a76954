"""What findings say: a message names the code as the file wrote it, so that a reader finds
it on the line and can act on it."""

from __future__ import annotations

from fuselint.config import Settings
from fuselint.engine import lint_source

KERNEL = '''import triton
import triton.language as tl
{imports}

@triton.jit
def k(x_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)
    tl.store(x_ptr + offs, {expression})
'''


def messages(imports: str, expression: str, code: str) -> list[str]:
    source = KERNEL.format(imports=imports, expression=expression)
    return [f.message for f in lint_source(source, "k.py", Settings(select=(code,)))]


def test_unavailable_function_is_named_as_written():
    assert messages("from triton.language.math import tanh", "tanh(x)", "FL009") == [
        "tanh does not exist in triton.language.math (Triton 3.x); write 2 / (1 + tl.exp(-2 * x)) - 1"]
    assert messages("", "tl.math.gelu(x)", "FL009")[0].startswith("tl.math.gelu does not exist in triton.language.math ")
    assert messages("", "tl.tanh(x)", "FL009")[0].startswith("tl.tanh does not exist in triton.language ")
    assert messages("from triton.language.math import tanh as th", "th(x)", "FL009")[0].startswith(
        "th (tanh) does not exist in triton.language.math ")
    assert messages("", "tl.sigmoid(x)", "FL009")[0].startswith("tl.sigmoid exists in Triton 3.x")
