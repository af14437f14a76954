from __future__ import annotations

from fuselint.model.ranges import overrun_text, overruns
from fuselint.rule import Rule


# A read of `attn_sink` in a @triton.jit helper; the host allocates `size` elements for it (the
# helper reads H of them). `mark` is where the INVALID form expects its finding.
_SINK_READ_IN_A_HELPER = """
import torch
import triton
import triton.language as tl

@triton.jit
def _add_sink(o_ptr, sink_ptr, H_ACTUAL, H: tl.constexpr):
    offs_h = tl.arange(0, H)
    h_mask = offs_h < H_ACTUAL
    sink = tl.load(sink_ptr + offs_h){mark}
    o = tl.load(o_ptr + offs_h, mask=h_mask, other=0.0)
    tl.store(o_ptr + offs_h, o + sink, mask=h_mask)

@triton.jit
def add_sink(o_ptr, sink_ptr, H_ACTUAL, H: tl.constexpr):
    _add_sink(o_ptr, sink_ptr, H_ACTUAL, H)

def launch(o, attn_sink, h):
    H_padded = max(16, triton.next_power_of_2(h))
    attn_sink_padded = torch.zeros({size}, dtype=attn_sink.dtype, device=attn_sink.device)
    attn_sink_padded[:h] = attn_sink
    add_sink[(1,)](o, attn_sink_padded, h, H=H_padded)
"""


class MaskComputedNotUsed(Rule):
    """## What it does
    Flags an access that passes no mask, or another one, where the kernel computed a mask that
    bounds exactly this access's index vectors (`mask = (rm < M)[:, None] & (rn < N)[None, :]`
    on the line above `tl.store(C, acc)`), and those vectors can pass the bound.

    ## Why is this bad?
    The mask was written for this access and then forgotten: the access reads or writes the
    tail the mask was meant to cut (flash-attention PR #2822). Nothing fails until a size that
    is not a multiple of the block comes along.

    ## Example
    ```python
    mask = (rm < M)[:, None] & (rn < N)[None, :]
    tl.store(C, acc)
    ```

    ## Use instead
    ```python
    mask = (rm < M)[:, None] & (rn < N)[None, :]
    tl.store(C, acc, mask=mask)
    ```
    """

    code, name = "FL403", "mask-computed-not-used"

    def check_kernel(self, kernel):
        for overrun in overruns(kernel):
            if overrun.kind == "unused":
                yield self.report(
                    overrun.access.call,
                    f"mask `{overrun.unused_mask}` is computed for this access and not passed: {overrun_text(kernel, overrun)}",
                    witness=overrun.witness,
                )

    VALID = [
        """
import triton
import triton.language as tl

@triton.jit
def store_tile(C, M, N, stride_cm, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    rm = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    mask = (rm < M)[:, None] & (rn < N)[None, :]
    tl.store(C + rm[:, None] * stride_cm + rn[None, :], acc, mask=mask)
""",
        # the EVEN pattern: the mask is used only where the sizes may not divide the blocks
        """
import triton
import triton.language as tl

@triton.heuristics({"EVEN": lambda args: args["n"] % args["BLOCK"] == 0})
@triton.jit
def copy(x_ptr, y_ptr, n, BLOCK: tl.constexpr, EVEN: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    if EVEN:
        tl.store(y_ptr + offs, tl.load(x_ptr + offs))
    else:
        tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=mask), mask=mask)
""",
        # a mask for another vector: this load indexes a wrapped offset
        """
import triton
import triton.language as tl

@triton.jit
def tile_bias(x_ptr, b_ptr, y_ptr, n, C, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    b = tl.load(b_ptr + offs % C)
    x = tl.load(x_ptr + offs, mask=mask)
    tl.store(y_ptr + offs, x + b, mask=mask)
""",
        # the host pads the tensor to the block before the launch (Iluvatar sparse attention's
        # attn_sink): the tail is inside the allocation
        """
import torch
import triton
import triton.language as tl

@triton.jit
def add_sink(o_ptr, sink_ptr, H_ACTUAL, H: tl.constexpr):
    offs_h = tl.arange(0, H)
    h_mask = offs_h < H_ACTUAL
    sink = tl.load(sink_ptr + offs_h)
    o = tl.load(o_ptr + offs_h, mask=h_mask, other=0.0)
    tl.store(o_ptr + offs_h, o + sink, mask=h_mask)

def launch(o, attn_sink, h):
    H_padded = max(16, triton.next_power_of_2(h))
    attn_sink_padded = torch.zeros(H_padded, dtype=attn_sink.dtype, device=attn_sink.device)
    attn_sink_padded[:h] = attn_sink
    add_sink[(1,)](o, attn_sink_padded, h, H=H_padded)
""",
        # the same read in a @triton.jit helper: the kernels that call it pass a padded tensor
        _SINK_READ_IN_A_HELPER.format(mark="", size="H_padded"),
        # a grid of whole tiles (`q_len // BLOCK`, the host asserts the division): rows stay
        # inside the tensor; `keep` selects the real queries among them, it is no bound
        """
import triton
import triton.language as tl

@triton.jit
def block_sum(x_ptr, out_ptr, real_len, start, BLOCK: tl.constexpr):
    rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    keep = rows + start < real_len
    x = tl.load(x_ptr + rows)
    tl.store(out_ptr + tl.program_id(0), tl.sum(tl.where(keep, x, 0.0)))

def block_sums(x, out, real_len, start, BLOCK=128):
    q_len = x.shape[0]
    assert q_len % BLOCK == 0
    block_sum[(q_len // BLOCK,)](x, out, real_len, start, BLOCK=BLOCK)
""",
        # Inductor's launch helper: grid(65536) is cdiv(65536, XBLOCK) programs, and 512 divides
        # 65536, so Inductor dropped the store's mask
        """
import triton
import triton.language as tl
from torch._inductor.triton_heuristics import grid

@triton.jit
def add_relu(in_out_ptr0, in_ptr0, XBLOCK: tl.constexpr):
    xnumel = 65536
    xindex = tl.program_id(0) * XBLOCK + tl.arange(0, XBLOCK)
    xmask = xindex < xnumel
    tmp0 = tl.load(in_out_ptr0 + xindex, xmask)
    tmp1 = tl.load(in_ptr0 + xindex % 512, xmask)
    tl.store(in_out_ptr0 + xindex, tl.maximum(tmp0 + tmp1, 0), None)

def run(x, bias):
    add_relu[grid(65536)](x, bias, 512)
""",
    ]
    INVALID = [
        # the helper's caller passes a tensor of exactly h elements: the tail is past its end
        _SINK_READ_IN_A_HELPER.format(mark="  # error", size="h"),
        # a program picks q or k with tl.where; the load through the choice drops the mask
        """
import triton
import triton.language as tl

@triton.jit
def scale(q_ptr, k_ptr, n, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    tiles = tl.cdiv(n, BLOCK)
    x_ptr = tl.where(pid >= tiles, k_ptr, q_ptr)
    offs = (pid % tiles) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs)  # error
    tl.store(x_ptr + offs, x * 2, mask=mask)
""",
        # flash-attention PR #2822
        """
import triton
import triton.language as tl

@triton.jit
def store_tile(C, M, N, stride_cm, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    rm = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    C = C + rm[:, None] * stride_cm + rn[None, :]
    mask = (rm < M)[:, None] & (rn < N)[None, :]
    tl.store(C, acc)  # error
""",
        """
import triton
import triton.language as tl

@triton.jit
def copy(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs)  # error
    tl.store(y_ptr + offs, x, mask=mask)
""",
        """
import triton
import triton.language as tl

@triton.jit
def norm_row(x_ptr, y_ptr, N, stride, BLOCK_N: tl.constexpr):
    cols = tl.arange(0, BLOCK_N)
    col_mask = cols < N
    x = tl.load(x_ptr + tl.program_id(0) * stride + cols, mask=col_mask, other=0.0)
    y = x / tl.sum(x, axis=0)
    tl.store(y_ptr + tl.program_id(0) * stride + cols, y)  # error

def launch(x, y, n_rows, N):
    norm_row[(n_rows,)](x, y, N, x.stride(0), BLOCK_N=triton.next_power_of_2(N))
""",
    ]
