"""The two poisons fresh allocations get in the candidate's process; fuselint's judge reads an
element that holds both runs' poisons as never written."""

from __future__ import annotations

POISON_FLOATS = (float("nan"), -1024.0)  # -1024 is exact in fp16, bf16 and fp32
POISON_INTS = (-77, 99)


def poison_value(dtype, which: int):
    import torch

    if dtype.is_floating_point or dtype.is_complex:
        return POISON_FLOATS[which]
    if dtype == torch.bool:
        return bool(which)
    return abs(POISON_INTS[which]) if not dtype.is_signed else POISON_INTS[which]
