from __future__ import annotations

from fuselint.model.ranges import overrun_text, overruns
from fuselint.rule import Rule


# One launch of an unmasked copy: with sizes the block divides (VALID) or does not (INVALID).
_CONSTANT_TILING = """
import torch
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs)){mark}

def launch():
    x = torch.empty({n}, device="cuda")
    y = torch.empty_like(x)
    k[(triton.cdiv({n}, 128),)](x, y, BLOCK=128)
"""

# The same copy where the host raises unless n is a multiple of `multiple`.
_HOST_CHECK = """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs)){mark}

def launch(x, y):
    n = x.numel()
    BLOCK = 128
    if n % {multiple} != 0:
        raise ValueError("n must be a multiple of the block")
    k[(triton.cdiv(n, BLOCK),)](x, y, n, BLOCK=BLOCK)
"""

# Per-row sums stored in rows the host pads to a multiple of `pad`; the kernel's row tiles are
# 128 long (the grid name is rebound for a second launch: each launch reads its own).
_PADDED_ROWS = """
import math
import torch
import triton
import triton.language as tl

@triton.jit
def row_sums(x_ptr, out_ptr, n, n_rounded, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + tl.program_id(1) * n + offs, mask=offs < n, other=0.0)
    tl.store(out_ptr + tl.program_id(1) * n_rounded + offs, x * 2){mark}

def launch(x):
    rows, n = x.shape
    n_rounded = math.ceil(n / {pad}) * {pad}
    out = torch.empty((rows, n_rounded), device=x.device)
    grid = (1,)
    grid = lambda meta: (triton.cdiv(n, meta["BLOCK"]), rows)
    row_sums[grid](x, out, n, n_rounded, BLOCK=128)
    grid = (rows,)
    return out
"""

# A test's kernel, launched only with the sizes of its parametrize rows.
_TEST_ROWS = """
import pytest
import torch
import triton
import triton.language as tl

@pytest.mark.parametrize("K, BLOCK_K", [(64, 16), {row}])
def test_sum(K, BLOCK_K):
    @triton.jit
    def k(x_ptr, y_ptr, K, BLOCK_K: tl.constexpr):
        acc = tl.zeros((BLOCK_K,), dtype=tl.float32)
        for k0 in range(0, K, BLOCK_K):
            acc += tl.load(x_ptr + k0 + tl.arange(0, BLOCK_K)){mark}
        tl.store(y_ptr + tl.arange(0, BLOCK_K), acc)

    x = torch.randn(K, device="cuda")
    y = torch.empty(BLOCK_K, device="cuda")
    k[(1,)](x, y, K, BLOCK_K=BLOCK_K)
"""


# A row dotted with a weight vector, both walked by pointers stepped once per loop iteration.
_STEPPED = """
import triton
import triton.language as tl

@triton.jit
def row_dot(x_ptr, w_ptr, out_ptr, K, BLOCK_K: tl.constexpr):
    x_ptr += tl.program_id(0) * K
    acc = tl.zeros((BLOCK_K,), dtype=tl.float32)
    for k in range(0, K, BLOCK_K):
        cols = k + tl.arange(0, BLOCK_K)
        x = tl.load(x_ptr + tl.arange(0, BLOCK_K), mask=cols < K)
        acc += x * tl.load(w_ptr + tl.arange(0, BLOCK_K){mask}){mark}
        x_ptr += BLOCK_K
        w_ptr += BLOCK_K
    tl.store(out_ptr + tl.program_id(0), tl.sum(acc))
"""


# Rows of a (T, D) tensor tiled by block pointers, with the boundary_check under test.
_BLOCK_ROWS = """
import triton
import triton.language as tl

@triton.jit
def copy_rows(x_ptr, y_ptr, T, D: tl.constexpr, stride, BLOCK_T: tl.constexpr):
    start = tl.program_id(0) * BLOCK_T
    src = tl.make_block_ptr(x_ptr, (T, D), (stride, 1), (start, 0), (BLOCK_T, D), (1, 0))
    dst = tl.make_block_ptr(y_ptr, (T, D), (stride, 1), (start, 0), (BLOCK_T, D), (1, 0))
    tile = tl.load(src{check}){mark}
    tl.store(dst, tile, boundary_check=(0, 1))

def copy(x, y):
    T, D = x.shape
    copy_rows[(triton.cdiv(T, 64),)](x, y, T, D, x.stride(0), BLOCK_T=64)
"""


# A private launcher whose one caller pads the rows to a multiple of the block first.
_PADDED_BY_CALLER = """
import torch
import triton
import triton.language as tl

@triton.jit
def scale_rows(x_ptr, n_rows, D: tl.constexpr, BLOCK_M: tl.constexpr):
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs = rows[:, None] * D + tl.arange(0, D)[None, :]
    tl.store(x_ptr + offs, tl.load(x_ptr + offs) * 2){mark}

def _scale(x, block_m):
    scale_rows[(triton.cdiv(x.shape[0], block_m),)](x, x.shape[0], x.shape[1], BLOCK_M=block_m)

def scale(x, block_m=64):
    {prep}
    _scale(x, block_m)
    return x
"""


class UnmaskedTailAccess(Rule):
    """## What it does
    Flags a `tl.load`, `tl.store` or `tl.atomic_*` whose index vector can pass the extent that
    bounds it — a mask such as `offs < n` elsewhere in the kernel, or the launch grid's
    `triton.cdiv(n, BLOCK)` tiling — and that has no mask covering it. The EVEN pattern (an
    unmasked access under a flag that says the sizes divide the blocks), offsets wrapped by
    `% n` and blocks that provably equal the extent are not flagged; nor is one window that is
    the same for every program (`tl.arange(0, C)`) when the bound a mask elsewhere gives it is
    no size the kernel walks in blocks or pads to a power of two (`offs < rank` selects lanes).
    A kernel that only a test module (or the function that defines it) launches, with sizes the
    module states (parametrize rows, constants, tensors it makes), is judged at those sizes.
    Tiles that stay below the row pitch of the same pointer (`out + row * n_rounded + offs`,
    where the host passes `n_rounded = math.ceil(n / 128) * 128` and the tiles are 128 long)
    stay inside their padded row, and are not flagged.

    ## Why is this bad?
    The grid rounds up: the last program's tile reaches `cdiv(n, BLOCK) * BLOCK - 1`, up to
    `BLOCK - 1` elements past the end whenever `n % BLOCK != 0`. An unmasked load there reads
    another tensor's memory (or faults); an unmasked store corrupts it. Tests whose sizes are
    multiples of the block never see it (FlagGems PR #5231: the store was masked, the input
    load was not).

    ## Example
    ```python
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)
    tl.store(y_ptr + offs, x, mask=offs < n)
    ```

    ## Use instead
    ```python
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    tl.store(y_ptr + offs, x, mask=mask)
    ```
    """

    code, name = "FL401", "unmasked-tail-access"

    def check_kernel(self, kernel):
        for overrun in overruns(kernel):
            if overrun.kind == "unmasked":
                yield self.report(overrun.access.call, f"tail access: {overrun_text(kernel, overrun)}",
                                  witness=overrun.witness)

    VALID = [
        # the only caller of the private launcher pads the rows up to a multiple of the block
        _PADDED_BY_CALLER.format(prep="x = torch.nn.functional.pad(x, [0, 0, 0, block_m - (x.shape[0] & (block_m - 1))])", mark=""),
        # a block pointer checked on the axis the grid tiles
        _BLOCK_ROWS.format(check=", boundary_check=(0,)", mark=""),
        # pointers stepped by BLOCK_K per iteration, both masked by the row's end
        _STEPPED.format(mask=", mask=cols < K", mark=""),
        # one mask on every access
        """
import triton
import triton.language as tl

@triton.jit
def copy(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    tl.store(y_ptr + offs, x, mask=mask)

def launch(x, y, n):
    copy[(triton.cdiv(n, 1024),)](x, y, n, BLOCK=1024)
""",
        # the EVEN pattern: unmasked only when a heuristic says n divides the block
        """
import triton
import triton.language as tl

@triton.heuristics({"EVEN_N": lambda args: args["n"] % args["BLOCK"] == 0})
@triton.jit
def copy(x_ptr, y_ptr, n, BLOCK: tl.constexpr, EVEN_N: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    if EVEN_N:
        x = tl.load(x_ptr + offs)
        tl.store(y_ptr + offs, x)
    else:
        x = tl.load(x_ptr + offs, mask=offs < n)
        tl.store(y_ptr + offs, x, mask=offs < n)
""",
        # modulo-wrapped offsets stay below n
        """
import triton
import triton.language as tl

@triton.jit
def gather_wrap(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs % n)
    tl.store(y_ptr + offs, x, mask=offs < n)
""",
        # a block that equals the extent: the mask is there, but the load provably needs none
        """
import triton
import triton.language as tl

@triton.jit
def row_sum(x_ptr, y_ptr, N: tl.constexpr):
    cols = tl.arange(0, N)
    x = tl.load(x_ptr + tl.program_id(0) * N + cols)
    tl.store(y_ptr + tl.program_id(0) * N + cols, x, mask=cols < N)
""",
        # next_power_of_2 block with the mask on every access
        """
import triton
import triton.language as tl

@triton.jit
def scale_rows(x_ptr, y_ptr, N, stride, BLOCK_N: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK_N)
    x = tl.load(x_ptr + row * stride + cols, mask=cols < N, other=0.0)
    tl.store(y_ptr + row * stride + cols, x * 2, mask=cols < N)

def launch(x, y, n_rows, N):
    scale_rows[(n_rows,)](x, y, N, x.stride(0), BLOCK_N=triton.next_power_of_2(N))
""",
        # the same loop with the K tail masked on both loads
        """
import triton
import triton.language as tl

@triton.jit
def row_times_matrix(a_ptr, b_ptr, c_ptr, K, N, stride_ak, stride_bk, BLOCK_K: tl.constexpr, BLOCK_N: tl.constexpr):
    offs_k = tl.arange(0, BLOCK_K)
    offs_n = tl.arange(0, BLOCK_N)
    a_ptrs = a_ptr + offs_k * stride_ak
    b_ptrs = b_ptr + offs_k[:, None] * stride_bk + offs_n[None, :]
    acc = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for k in range(0, K, BLOCK_K):
        a = tl.load(a_ptrs, mask=offs_k + k < K, other=0.0)
        b = tl.load(b_ptrs, mask=(offs_k[:, None] + k < K) & (offs_n[None, :] < N), other=0.0)
        acc += tl.sum(a[:, None] * b, axis=0)
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk
    tl.store(c_ptr + offs_n, acc, mask=offs_n < N)
""",
        # constant sizes that the block divides: cdiv(4096, 128) * 128 is 4096, no tail
        _CONSTANT_TILING.format(n=4096, mark=""),
        # one fixed window (no tiling) read whole: `offs < rank` selects the ranks before this
        # one, it does not say where `sizes` ends
        """
import triton
import triton.language as tl

@triton.jit
def offsets_before(sizes_ptr, remote_ptr, out_ptr, rank, WORLD: tl.constexpr):
    offs = tl.arange(0, WORLD)
    before = tl.load(remote_ptr + offs, mask=offs < rank, other=0)
    sizes = tl.load(sizes_ptr + offs)
    tl.store(out_ptr + offs, sizes + tl.sum(before))
""",
        # the host raises unless the block divides n: the tiling has no tail
        _HOST_CHECK.format(multiple="BLOCK", mark=""),
        # a config function whose every config sets BLOCK_M = 1 (`for m in [1]`, and the prune
        # hook keeps it): `pid % M` rows of one lane stay below M
        """
import triton
import triton.language as tl

def get_configs():
    configs = []
    for m in [1]:
        for n in [64, 128]:
            configs.append(triton.Config({"BLOCK_M": m, "BLOCK_N": n}))
    return configs

def prune(configs, named_args, **kwargs):
    for config in configs:
        block_m = 1
        yield triton.Config({"BLOCK_M": block_m, "BLOCK_N": config.kwargs["BLOCK_N"]})

@triton.autotune(configs=get_configs(), key=["M", "N"], prune_configs_by={"early_config_prune": prune})
@triton.jit
def gemv(a_ptr, scale_ptr, out_ptr, M, N, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    pid = tl.program_id(0)
    offs_m = (pid % M) * BLOCK_M + tl.arange(0, BLOCK_M)
    s = tl.load(scale_ptr + offs_m, mask=offs_m < M, other=1.0)
    a = tl.load(a_ptr + offs_m)
    tl.store(out_ptr + offs_m, a * s)
""",
        # every row of the test's parametrize has K a multiple of BLOCK_K
        _TEST_ROWS.format(row="(256, 64)", mark=""),
        # out's rows are padded to whole 128-long tiles: the last tile stays inside its row
        _PADDED_ROWS.format(pad=128, mark=""),
    ]
    INVALID = [
        # the caller does not pad: any row count reaches the private launcher
        _PADDED_BY_CALLER.format(prep="x = x.contiguous()", mark="  # error"),
        # a block pointer loaded without boundary_check: the last row block reads past T
        _BLOCK_ROWS.format(check="", mark="  # error"),
        # the weight's load unmasked: its last step reads past w when K % BLOCK_K != 0
        _STEPPED.format(mask="", mark="  # error"),
        # one row of the test has K = 100, no multiple of 16
        _TEST_ROWS.format(row="(100, 16)", mark="  # error"),
        # padded to 64 only: the last 128-long tile runs up to 64 lanes past a row of out
        _PADDED_ROWS.format(pad=64, mark="  # error"),
        # FlagGems #5231's shape: the store masked, the input load not
        """
import triton
import triton.language as tl

@triton.jit
def bucketize(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)  # error
    tl.store(out_ptr + offs, x, mask=offs < n)
""",
        # no mask anywhere: the grid rounds n up to a multiple of 1024
        """
import triton
import triton.language as tl

@triton.jit
def copy(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)  # error
    tl.store(y_ptr + offs, x)  # error

def launch(x, y):
    n = x.numel()
    copy[(triton.cdiv(n, 1024),)](x, y, n, BLOCK=1024)
""",
        # next_power_of_2 block: cols < N on the store only
        """
import triton
import triton.language as tl

@triton.jit
def scale_rows(x_ptr, y_ptr, N, stride, BLOCK_N: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK_N)
    x = tl.load(x_ptr + row * stride + cols)  # error
    tl.store(y_ptr + row * stride + cols, x * 2, mask=cols < N)

def launch(x, y, n_rows, N):
    scale_rows[(n_rows,)](x, y, N, x.stride(0), BLOCK_N=triton.next_power_of_2(N))
""",
        # a K loop stepping by BLOCK_K: the last step passes K when K % BLOCK_K != 0
        """
import triton
import triton.language as tl

@triton.jit
def row_dot(a_ptr, b_ptr, out_ptr, K, BLOCK_K: tl.constexpr):
    acc = tl.zeros((BLOCK_K,), dtype=tl.float32)
    for k in range(0, K, BLOCK_K):
        offs = k + tl.arange(0, BLOCK_K)
        acc += tl.load(a_ptr + offs) * tl.load(b_ptr + offs, mask=offs < K, other=0.0)  # error
    tl.store(out_ptr + tl.arange(0, BLOCK_K), acc)
""",
        # a pointer advanced in the K loop: `a_ptrs` is `a_ptr + (offs_k + k) * stride_ak` in iteration k
        """
import triton
import triton.language as tl

@triton.jit
def row_times_matrix(a_ptr, b_ptr, c_ptr, K, N, stride_ak, stride_bk, BLOCK_K: tl.constexpr, BLOCK_N: tl.constexpr):
    offs_k = tl.arange(0, BLOCK_K)
    offs_n = tl.arange(0, BLOCK_N)
    a_ptrs = a_ptr + offs_k * stride_ak
    b_ptrs = b_ptr + offs_k[:, None] * stride_bk + offs_n[None, :]
    acc = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for k in range(0, K, BLOCK_K):
        a = tl.load(a_ptrs)  # error
        b = tl.load(b_ptrs, mask=(offs_k[:, None] + k < K) & (offs_n[None, :] < N), other=0.0)
        acc += tl.sum(a[:, None] * b, axis=0)
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk
    tl.store(c_ptr + offs_n, acc, mask=offs_n < N)
""",
        # FlagGems #413: the mask bounds j < M * N; Mean is read at j // N (bounded by M) unmasked
        """
import triton
import triton.language as tl

@triton.jit
def per_row_scale(x_ptr, mean_ptr, y_ptr, M, N, BLOCK: tl.constexpr):
    j = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = j < M * N
    x = tl.load(x_ptr + j, mask=mask)
    mean = tl.load(mean_ptr + j // N)  # error
    tl.store(y_ptr + j, x - mean, mask=mask)
""",
        # 4000 is no multiple of 128: the last program stores past the end
        _CONSTANT_TILING.format(n=4000, mark="  # error"),
        # one window padded to a power of two: N is a size, and the weight holds N values
        """
import triton
import triton.language as tl

@triton.jit
def scale_rows(x_ptr, w_ptr, y_ptr, N, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * N + cols, mask=cols < N)
    w = tl.load(w_ptr + cols)  # error
    tl.store(y_ptr + row * N + cols, x * w, mask=cols < N)

def launch(x, w, y, M, N):
    scale_rows[(M,)](x, w, y, N, BLOCK=triton.next_power_of_2(N))
""",
        # the host checks another multiple than the block it launches with
        _HOST_CHECK.format(multiple="64", mark="  # error"),
    ]
