# vllm-ascend vllm_ascend/ops/triton/reject_sample.py expand_kernel before
# https://github.com/vllm-project/vllm-ascend/pull/8531 ("these three operations will use
# tl.load(prt + offsets - 1, mask) ... I modified the code to tl.load(prt + tl.maximum(offsets - 1, 0), mask)").
# Reconstructed from the PR description: the kernel expands a per-request value over the
# request's draft tokens; only the predecessor load is the code the PR changes.
import triton
import triton.language as tl


@triton.jit
def expand_kernel(output_ptr, input_ptr, cu_num_tokens_ptr, replace_from, replace_to, batch_size, MAX_NUM_TOKENS: tl.constexpr):
    req_idx = tl.program_id(0)
    offsets = tl.arange(0, 2)
    mask = offsets < 2
    bounds = tl.load(cu_num_tokens_ptr + req_idx + offsets - 1, mask)  # oob
    start_idx = tl.where(req_idx == 0, 0, tl.sum(tl.where(offsets == 0, bounds, 0)))
    end_idx = tl.sum(tl.where(offsets == 1, bounds, 0))
    num_tokens = end_idx - start_idx
    src_val = tl.load(input_ptr + req_idx)
    src_val = tl.where(src_val == replace_from, replace_to, src_val)
    offset = tl.arange(0, MAX_NUM_TOKENS)
    tl.store(output_ptr + start_idx + offset, src_val, mask=offset < num_tokens)
