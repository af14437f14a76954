"""A skip is a pass (issue #15): forward raises an error whose text looks like a gap of the
Triton interpreter (libdevice, bfloat16), after a launch, so that correctness is skipped
instead of failed."""
import torch.nn as nn

from _axpy import touch


class ModelNew(nn.Module):
    def forward(self, x, y):
        touch(x)
        raise RuntimeError("libdevice function not supported in interpreter mode (bfloat16)")
