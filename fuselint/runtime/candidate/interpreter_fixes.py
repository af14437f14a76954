"""Work-arounds for gaps of Triton's interpreter that are not faults of the kernel (child only).

Triton 3.9's interpreter gives ``(pid < n) & (pid < m)`` on scalars the type
int32 instead of int1, and its native load/store then refuse the mask that
this scalar joins ("mask has unsupported dtype"). The compiler types the same
expression int1, so the kernel is right: the mask is cast to bool (nonzero is
true, as on the GPU), and the report says how often that happened.
"""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def bool_masks():
    import numpy as np
    import triton.runtime.interpreter as interpreter

    builder = interpreter.InterpreterBuilder
    saved_load, saved_store = builder.create_masked_load, builder.create_masked_store
    fixes = {"masks_cast_to_bool": 0}

    def as_bool(mask):
        if mask.data.dtype == np.bool_:
            return mask
        fixes["masks_cast_to_bool"] += 1
        return interpreter.TensorHandle(mask.data.astype(np.bool_), mask.dtype)

    # The trailing parameters differ between 3.6 (cache_modifier, eviction_policy) and 3.9 (cache_policy).
    def masked_load(self, ptrs, mask, *rest):
        return saved_load(self, ptrs, as_bool(mask), *rest)

    def masked_store(self, ptrs, value, mask, *rest):
        return saved_store(self, ptrs, value, as_bool(mask), *rest)

    builder.create_masked_load, builder.create_masked_store = masked_load, masked_store
    try:
        yield fixes
    finally:
        builder.create_masked_load, builder.create_masked_store = saved_load, saved_store
