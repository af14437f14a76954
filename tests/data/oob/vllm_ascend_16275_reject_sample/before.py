# vllm-ascend vllm_ascend/ops/triton/reject_sample.py rejection_greedy_sample kernel before
# https://github.com/vllm-project/vllm-ascend/issues/16275 (fixed by #16222, #16215).
# Trimmed to the start-index computation the issue quotes, in a kernel that copies each
# request's first draft token; reconstructed around that line.
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def first_draft_kernel(cu_num_draft_tokens_ptr, draft_ptr, out_ptr, batch_size, BLOCK: tl.constexpr):
    offset = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    some_mask = offset < batch_size
    start_idx = tl.where(offset == 0, 0, tl.load(cu_num_draft_tokens_ptr + offset - 1, some_mask))  # oob
    token = tl.load(draft_ptr + start_idx, mask=some_mask, other=-1)
    tl.store(out_ptr + offset, token, mask=some_mask)


def first_draft(cu_num_draft_tokens, draft_token_ids):
    batch = cu_num_draft_tokens.numel()
    out = torch.empty(batch, dtype=draft_token_ids.dtype, device=draft_token_ids.device)
    first_draft_kernel[(triton.cdiv(batch, 64),)](cu_num_draft_tokens, draft_token_ids, out, batch, BLOCK=64)
    return out


class ModelNew(nn.Module):
    def forward(self, cu_num_draft_tokens, draft_token_ids):
        return first_draft(cu_num_draft_tokens, draft_token_ids)
