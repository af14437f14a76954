"""Minimal reproducer of a finding on liger-kernel 0.8.5 (ops/backends/_ascend/ops/group_norm.py:167
and :168, FL401 tail-access), for an upstream report: the Ascend backend's fused group-norm forward
runs `grid_size = min(total_tasks, num_cores * 2, 65535)` programs over `total_tasks =
batch_size * num_groups` (batch, group) tasks in a grid-stride loop, `pid_task = task_iter + pid`,
without a `pid_task < total_tasks` check: when total_tasks % grid_size != 0 the last sweep reads X
and writes Y past their ends and stores Mean and RSTD past their `total_tasks` elements.

    fuselint check --witness examples/found/liger_ascend_group_norm_sweep.py
    fuselint run examples/found/liger_ascend_group_norm_sweep.py --reference examples/found/group_norm_reference.py --sanitize

Trimmed from liger_kernel/ops/backends/_ascend/ops/group_norm.py (Liger-Kernel,
https://github.com/linkedin/Liger-Kernel, BSD 2-Clause License; Copyright 2024 LinkedIn
Corporation, All Rights Reserved; modified): the fused branch of `group_norm_forward` only
(hidden_size <= MAX_FUSED_FORWARD_SIZE), with `get_npu_core_count()` replaced by the 20 it returns
where no NPU answers (liger_kernel/ops/utils.py), and `tl.math.rsqrt` called for the imported
`rsqrt` (Triton's interpreter patches tl.math, not a name imported from it). The kernel, the allocations and the launch are as
released. Redistributions of source code must retain the above copyright notice, this list of
conditions and the following disclaimer: THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND
CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO
EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL,
SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING
NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF
THE POSSIBILITY OF SUCH DAMAGE.
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl

MAX_FUSED_FORWARD_SIZE = 4096
MAX_GRID_SIZE = 65535


def get_npu_core_count(default: int = 20) -> int:
    return default


def _group_norm_backward_spatial_block_size(hidden_size_per_channel: int) -> int:
    return min(1024, triton.next_power_of_2(hidden_size_per_channel))


@triton.jit
def _group_norm_forward_single_task_kernel(
    Y_ptr,
    X_ptr,
    Mean_ptr,
    RSTD_ptr,
    W_ptr,
    B_ptr,
    num_groups,
    total_tasks,
    hidden_size: tl.constexpr,
    channels_per_group: tl.constexpr,
    eps,
    BLOCK_H: tl.constexpr,
    BLOCK_CH: tl.constexpr,
):
    hidden_size_per_channel: tl.constexpr = hidden_size // channels_per_group
    pid = tl.program_id(0)
    num_progs = tl.num_programs(0)
    grid_stride = num_progs

    ch_offsets = tl.arange(0, BLOCK_CH)
    h_offsets = tl.arange(0, BLOCK_H)
    ch_mask = ch_offsets < channels_per_group
    h_mask = h_offsets < hidden_size_per_channel
    mask = ch_mask[:, None] & h_mask[None, :]

    for task_iter in range(0, total_tasks, grid_stride):
        pid_task = task_iter + pid

        pid_group = pid_task % num_groups
        task_base = pid_task * hidden_size
        ptrs = task_base + ch_offsets[:, None] * hidden_size_per_channel + h_offsets[None, :]

        X_vals = tl.load(X_ptr + ptrs, mask=mask, other=0.0).to(tl.float32)
        # tl.sum(X_vals): full-tile reduction; axis=1 fails 950 compile when BLOCK_CH=1.
        sum_acc = tl.sum(X_vals)
        sum_sq_acc = tl.sum(X_vals * X_vals)

        mean = sum_acc / hidden_size
        variance = tl.maximum(sum_sq_acc / hidden_size - mean * mean, 0.0)
        rstd = tl.math.rsqrt(variance + eps)

        group_ch_start = pid_group * channels_per_group
        W_vals = tl.load(W_ptr + group_ch_start + ch_offsets, mask=ch_mask, other=1.0).to(tl.float32)
        B_vals = tl.load(B_ptr + group_ch_start + ch_offsets, mask=ch_mask, other=0.0).to(tl.float32)
        Y_vals = (X_vals - mean) * rstd
        Y_vals = Y_vals * W_vals[:, None] + B_vals[:, None]
        tl.store(Y_ptr + ptrs, Y_vals.to(Y_ptr.dtype.element_ty), mask=mask)

        tl.store(Mean_ptr + pid_task, mean)
        tl.store(RSTD_ptr + pid_task, rstd)


def group_norm_forward(X, num_channels, num_groups, W, B, eps):
    shape = X.shape
    batch_size = shape[0]
    channels_per_group = num_channels // num_groups

    X = X.view(batch_size, num_groups, -1)
    hidden_size = X.shape[-1]
    hidden_size_per_channel = hidden_size // channels_per_group
    Y = torch.empty_like(X)
    total_tasks = batch_size * num_groups
    Mean = torch.empty(total_tasks, dtype=torch.float32, device=X.device)
    RSTD = torch.empty(total_tasks, dtype=torch.float32, device=X.device)

    assert hidden_size <= MAX_FUSED_FORWARD_SIZE, "the fused branch of liger's Ascend group norm"
    block_h = _group_norm_backward_spatial_block_size(hidden_size_per_channel)
    block_ch = triton.next_power_of_2(channels_per_group)
    num_cores = get_npu_core_count()
    grid_size = min(total_tasks, num_cores * 2, MAX_GRID_SIZE)
    _group_norm_forward_single_task_kernel[(grid_size,)](
        Y,
        X,
        Mean,
        RSTD,
        W,
        B,
        num_groups,
        total_tasks,
        hidden_size,
        channels_per_group,
        eps,
        BLOCK_H=block_h,
        BLOCK_CH=block_ch,
    )
    return Y.view(*shape), X.view(*shape), Mean.view(batch_size, num_groups), RSTD.view(batch_size, num_groups)


class ModelNew(nn.Module):
    def __init__(self, num_groups, num_channels):
        super().__init__()
        self.gn = nn.GroupNorm(num_groups, num_channels)

    def forward(self, x):
        gn = self.gn
        return group_norm_forward(x.contiguous(), gn.num_channels, gn.num_groups, gn.weight, gn.bias, gn.eps)[0]
