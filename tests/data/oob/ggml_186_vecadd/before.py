# ggml-hsa src/ggml-hsa/kernels/triton/vecadd.py from https://github.com/ypapadop-amd/ggml/pull/186
# (review: "unmasked tl.load/tl.store while the mask = offsets < n_elements logic is commented
# out ... Re-enable the mask"). Trimmed to the kernel; the launch is reconstructed (cdiv grid).
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def vecadd(A, B, C, n_elements, BLOCK_SIZE_N: tl.constexpr):
    pid = tl.program_id(0)
    block_start = pid * BLOCK_SIZE_N
    offsets = block_start + tl.arange(0, BLOCK_SIZE_N)
    a_block = tl.load(A + offsets[:])  # oob
    b_block = tl.load(B + offsets[:])  # oob
    tl.store(C + offsets[:], a_block + b_block)  # oob


def add(a, b):
    c = torch.empty_like(a)
    n = a.numel()
    vecadd[(triton.cdiv(n, 256),)](a, b, c, n, BLOCK_SIZE_N=256)
    return c


class ModelNew(nn.Module):
    def forward(self, a, b):
        return add(a.contiguous(), b.contiguous())
