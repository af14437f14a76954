"""The first draft token of each request: draft[cu[i - 1]] (0 for the first request)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, cu_num_draft_tokens, draft_token_ids):
        starts = torch.cat([cu_num_draft_tokens.new_zeros(1), cu_num_draft_tokens[:-1]])
        return draft_token_ids[starts.long()]


BATCH = 37


def get_inputs():
    counts = torch.randint(1, 4, (BATCH,), dtype=torch.int32)
    cu = torch.cumsum(counts, 0).to(torch.int32)
    return [cu, torch.randint(0, 1000, (int(cu[-1]),), dtype=torch.int32)]


def get_init_inputs():
    return []
