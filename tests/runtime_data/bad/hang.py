import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def spin_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    # Waits for a flag that nothing ever sets. Volatile: a plain load is hoisted out of the loop and
    # the side-effect-free spin then removed by the compiler (seen on an H100: the kernel finished).
    done = tl.load(out_ptr, volatile=True)
    while done != 12345.0:
        done = tl.load(out_ptr, volatile=True)
    tl.store(out_ptr + offs, 2.0 * tl.load(x_ptr + offs, mask=mask) + tl.load(y_ptr + offs, mask=mask), mask=mask)


class ModelNew(nn.Module):
    def forward(self, x, y):
        out = torch.zeros_like(x)
        spin_kernel[(triton.cdiv(x.numel(), 256),)](x, y, out, x.numel(), BLOCK=256)
        return out
