import triton
import triton.language as tl

EPS = 1e-6


def gelu(x):
    return 0.5 * x * (1 + tl.erf(x * 0.7071067811865476))


@triton.jit
def gelu_rows_kernel(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n, other=0.0)
    scale = lambda v: v * 2
    w = tl.dot(tl.zeros((16, 8), tl.float16), tl.zeros((8, 16), tl.float16))
    first = x[0]
    if 0 <= n < 10:
        pass
    tl.store(x_ptr + offs, gelu(x) + EPS, mask=offs < n)
