"""Minimal reproducer of a finding on flag-gems 5.0.2 (ops/vdot.py:150 and :164, found by hand,
flagged by no FL4xx rule yet), for an upstream report: `vdot` of real non-float32 inputs (fp16,
bf16) launches `dot_kernel` on `num_blocks = cdiv(n, BLOCK_SIZE)` programs but allocates
`partial_sums = torch.empty(grid_size)` with `grid_size = min(num_blocks, 1024)`, and
`reduce_kernel` sums at most 1024 partials. Past 1024 * 1024 elements (BLOCK_SIZE 1024) the
programs pid >= 1024 store past `partial_sums` and their sums are left out of the result.

    fuselint check examples/found/flaggems_vdot_real_partials.py
    fuselint run examples/found/flaggems_vdot_real_partials.py --reference examples/found/vdot_real_reference.py --sanitize --max-elements 4194304

Trimmed from flag_gems/ops/vdot.py (FlagGems, https://github.com/flagos-ai/FlagGems, Apache
License 2.0, (c) the FlagGems authors; modified): the real, non-float32 path of `vdot` only,
without `@libentry` and `@triton.heuristics`; the block size is flag_gems' NVIDIA heuristic
(runtime/backend/_nvidia/heuristics_config_utils.py, `vdot_heur_block_size`) called directly.
The kernels, the allocation and the launches are as released.
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit()
def dot_kernel(
    inp_ptr,
    other_ptr,
    out_ptr,
    n_elements,
    inp_stride: tl.constexpr,
    other_stride: tl.constexpr,
    BLOCK_SIZE: tl.constexpr,
):
    pid = tl.program_id(0)
    num_progs = tl.num_programs(0)
    grid_stride = num_progs * BLOCK_SIZE

    acc = tl.zeros([], dtype=tl.float32)

    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)

    for current_start in range(0, n_elements, grid_stride):
        cur_offsets = current_start + offsets
        mask = cur_offsets < n_elements

        inp = tl.load(inp_ptr + inp_stride * cur_offsets, mask=mask, other=0.0).to(
            tl.float32
        )
        other = tl.load(
            other_ptr + other_stride * cur_offsets, mask=mask, other=0.0
        ).to(tl.float32)

        acc += tl.sum(inp * other)

    tl.store(out_ptr + pid, acc)


@triton.jit()
def reduce_kernel(
    partial_sums_ptr,
    output_ptr,
    n_blocks,
    BLOCK_SIZE: tl.constexpr,
):
    offset = tl.arange(0, BLOCK_SIZE)
    mask = offset < n_blocks

    partial_sums = tl.load(partial_sums_ptr + offset, mask=mask, other=0.0)
    final_sum = tl.sum(partial_sums)

    if tl.program_id(0) == 0:
        tl.store(output_ptr, final_sum)


def vdot_heur_block_size(args):
    n = args["n_elements"]
    if n < 1024:
        return 32
    elif n < 8192:
        return 256
    else:
        return 1024


def vdot(input, other):
    assert input.ndim == 1 and input.size() == other.size() and input.dtype in (torch.float16, torch.bfloat16)
    inp = input
    inp_stride = inp.stride()[0]
    other_stride = other.stride()[0]

    n_elements = inp.numel()
    block_size = vdot_heur_block_size({"n_elements": n_elements})

    num_blocks = triton.cdiv(n_elements, block_size)
    grid_size = min(num_blocks, 1024)

    grid = (num_blocks,)
    partial_sums = torch.empty(grid_size, dtype=torch.float32, device=inp.device)
    dot_kernel[grid](
        inp,
        other,
        partial_sums,
        n_elements=n_elements,
        inp_stride=inp_stride,
        other_stride=other_stride,
        BLOCK_SIZE=block_size,
    )
    output = torch.empty([], dtype=input.dtype, device=inp.device)
    reduce_bs = min(triton.next_power_of_2(grid_size), 1024)
    reduce_kernel[(1,)](
        partial_sums,
        output,
        num_blocks,
        BLOCK_SIZE=reduce_bs,
    )
    return output


class ModelNew(nn.Module):
    def forward(self, a, b):
        return vdot(a, b)
