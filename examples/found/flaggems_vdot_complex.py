"""Minimal reproducer of a finding on flag-gems 5.0.2 (ops/vdot.py:97 FL401 tail-access and :108
FL402), for an upstream report: `vdot` of complex inputs allocates its partial sums as
`torch.empty(grid_size)`, but each of the grid_size programs of `vdot_kernel_complex` stores its
real and imaginary sums at `2 * pid` and `2 * pid + 1`, and `reduce_kernel_complex` reads
`2 * i` and `2 * i + 1` for i < grid_size: the buffer needs 2 * grid_size elements, so the upper
half of the programs write (and the reduction reads) past its end.

    fuselint check --witness examples/found/flaggems_vdot_complex.py
    fuselint run examples/found/flaggems_vdot_complex.py --reference examples/found/vdot_reference.py --sanitize

Trimmed from flag_gems/ops/vdot.py (FlagGems, https://github.com/flagos-ai/FlagGems, Apache
License 2.0, (c) the FlagGems authors; modified): the complex path of `vdot` only, without
`@libentry`; the block size is flag_gems' NVIDIA heuristic (runtime/backend/_nvidia/
heuristics_config_utils.py, `vdot_heur_block_size`) called directly. The kernels, the
allocation and the launches are as released.
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def compute_vdot(
    inp_real, inp_imag, other_real, other_imag, inp_is_conj, other_is_conj
):
    if not inp_is_conj and not other_is_conj:  # Case 1
        out_real = tl.sum(inp_real * other_real + inp_imag * other_imag)
        out_imag = tl.sum(inp_real * other_imag - inp_imag * other_real)
    elif inp_is_conj and not other_is_conj:  # Case 2
        out_real = tl.sum(inp_real * other_real - inp_imag * other_imag)
        out_imag = tl.sum(inp_real * other_imag + inp_imag * other_real)
    elif not inp_is_conj and other_is_conj:  # Case 3
        out_real = tl.sum(inp_real * other_real - inp_imag * other_imag)
        out_imag = tl.sum(-inp_real * other_imag - inp_imag * other_real)
    else:  # Case 4
        out_real = tl.sum(inp_real * other_real + inp_imag * other_imag)
        out_imag = tl.sum(-inp_real * other_imag + inp_imag * other_real)

    return out_real, out_imag


@triton.jit()
def vdot_kernel_complex(
    inp_ptr,
    other_ptr,
    out_ptr,
    n_elements,
    inp_is_conj: tl.constexpr,
    other_is_conj: tl.constexpr,
    inp_stride: tl.constexpr,
    other_stride: tl.constexpr,
    BLOCK_SIZE: tl.constexpr,
):
    pid = tl.program_id(0)
    num_progs = tl.num_programs(0)

    grid_stride = num_progs * BLOCK_SIZE

    acc_real = tl.zeros([], dtype=tl.float32)
    acc_imag = tl.zeros([], dtype=tl.float32)

    for current_start in range(0, n_elements // 2, grid_stride):
        complex_idx = current_start + pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
        mask = complex_idx < n_elements // 2

        real_offset = complex_idx * 2

        inp_real = tl.load(inp_ptr + real_offset * inp_stride, mask=mask, other=0.0)
        inp_imag = tl.load(inp_ptr + real_offset * inp_stride + 1, mask=mask, other=0.0)

        other_real = tl.load(
            other_ptr + real_offset * other_stride, mask=mask, other=0.0
        )
        other_imag = tl.load(
            other_ptr + real_offset * other_stride + 1, mask=mask, other=0.0
        )

        out_real, out_imag = compute_vdot(
            inp_real, inp_imag, other_real, other_imag, inp_is_conj, other_is_conj
        )
        acc_real += out_real
        acc_imag += out_imag

    temp_offset = pid * 2
    tl.store(out_ptr + temp_offset, acc_real)
    tl.store(out_ptr + temp_offset + 1, acc_imag)


@triton.jit()
def reduce_kernel_complex(input_ptr, out_ptr, n_blocks, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(0)
    base_offset = tl.arange(0, BLOCK_SIZE)
    mask = base_offset < n_blocks

    inp_real = tl.load(input_ptr + base_offset * 2, mask=mask, other=0.0)
    inp_imag = tl.load(input_ptr + base_offset * 2 + 1, mask=mask, other=0.0)
    final_out_real = tl.sum(inp_real)
    final_out_imag = tl.sum(inp_imag)
    if pid == 0:
        tl.store(out_ptr, final_out_real)
        tl.store(out_ptr + 1, final_out_imag)


def vdot_heur_block_size(args):
    n = args["n_elements"]
    if n < 1024:
        return 32
    elif n < 8192:
        return 256
    else:
        return 1024


def vdot(input, other):
    assert input.is_complex() and input.ndim == 1 and input.size() == other.size()
    inp = input
    inp_stride = inp.stride()[0]
    other_stride = other.stride()[0]

    inp_is_conj = False
    other_is_conj = False

    if inp.is_conj():
        inp_is_conj = True
        inp = inp.conj()

    if other.is_conj():
        other_is_conj = True
        other = other.conj()

    inp_real = torch.view_as_real(inp)
    other_real = torch.view_as_real(other)

    n_elements = inp_real.numel()
    n_complex = inp.numel()

    block_size = vdot_heur_block_size({"n_elements": n_elements})
    num_blocks = triton.cdiv(n_complex, block_size)

    grid_size = min(num_blocks, 1024)

    partial_real_sums = torch.empty(
        grid_size, dtype=inp_real.dtype, device=inp.device
    )
    grid = (grid_size,)
    vdot_kernel_complex[grid](
        inp_real,
        other_real,
        partial_real_sums,
        n_elements=n_elements,
        inp_is_conj=inp_is_conj,
        other_is_conj=other_is_conj,
        inp_stride=inp_stride,
        other_stride=other_stride,
        BLOCK_SIZE=block_size,
    )
    output_real = torch.empty(2, dtype=inp_real.dtype, device=inp.device)
    reduce_kernel_complex[(1,)](
        partial_real_sums,
        output_real,
        grid_size,
        BLOCK_SIZE=triton.next_power_of_2(grid_size),
    )
    return torch.view_as_complex(output_real)


class ModelNew(nn.Module):
    def forward(self, a, b):
        return vdot(a, b)
