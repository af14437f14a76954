# FlagGems bucketize_kernel before https://github.com/flagos-ai/FlagGems/pull/5231 (trimmed:
# the kernel and its launch, reconstructed from the PR's description; the wrapper hardcodes
# BLOCK_SIZE = 1024). The store is masked, the input load is not.
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def bucketize_kernel(inp_ptr, bnd_ptr, out_ptr, n_elements, n_boundaries, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(0)
    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    inp_val = tl.load(inp_ptr + offsets)  # oob
    count = tl.zeros((BLOCK_SIZE,), dtype=tl.int64)
    for i in range(0, n_boundaries):
        b = tl.load(bnd_ptr + i)
        count += (inp_val > b).to(tl.int64)
    tl.store(out_ptr + offsets, count, mask=mask)


def bucketize(inp, boundaries):
    out = torch.empty(inp.shape, dtype=torch.int64, device=inp.device)
    n = inp.numel()
    BLOCK_SIZE = 1024
    bucketize_kernel[(triton.cdiv(n, BLOCK_SIZE),)](inp, boundaries, out, n, boundaries.numel(), BLOCK_SIZE=BLOCK_SIZE)
    return out


class ModelNew(nn.Module):
    def forward(self, inp, boundaries):
        return bucketize(inp.contiguous(), boundaries.contiguous())
