import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def softplus_rows_kernel(x_ptr, out_ptr, n_rows, n_cols, BLOCK: tl.constexpr):
    row = tl.program_id(3)
    cols = tl.arange(0, BLOCK)
    acc = tl.zeros((BLOCK,), dtype=tl.float32)
    for start in range(0, n_cols, BLOCK):
        if start >= n_cols:
            break
        x = tl.load(x_ptr + row * n_cols + start + cols, other=0.0)
        acc += tl.tanh(x)
    tl.store(out_ptr + row * BLOCK + cols, acc)


def softplus_rows(x):
    out = torch.empty(x.shape[0], 96, device=x.device)
    softplus_rows_kernel[(x.shape[0],)](x, out, x.shape[0], x.shape[1], BLOCK=96)
    return out


class ModelNew(nn.Module):
    def forward(self, x):
        return softplus_rows(x)
