"""Every memory-safety finding (FL4xx) on the liger-kernel and flag-gems wheels, checked by
hand, with a one-line reason. A change here is a change in the analysis: look at the source.

Gone since they were recorded: two false alarms in Kunlunxin's unique.py (lines 1016 and 1148,
FL403), reads of `cumsum_in` in @triton.jit helpers whose callers' launches pad it to a multiple
of 2048 on the host; padded_on_host now asks a helper's callers."""

REVIEWED = {
    # Cambricon fork: the rows of the last `n_start` tile pass N (new_n_offset < N masks dY and X
    # on the lines above); Mean/Rstd are read unmasked there: an out-of-bounds read when
    # N % BLOCK_N != 0 (a true bug, read only; the values are dropped by the masked sums).
    ("flag_gems/runtime/backend/_cambricon/ops/groupnorm.py", 535, "FL401"): "true: Mean read past N rows in the last tile",
    ("flag_gems/runtime/backend/_cambricon/ops/groupnorm.py", 536, "FL401"): "true: Rstd read past N rows in the last tile",
    # Iluvatar sparse attention: heads padded to H = next_power_of_2(h); q is read for every padded
    # head ("will load OOB for h >= H_ACTUAL but we mask later", says the source): a true bug.
    ("flag_gems/runtime/backend/_iluvatar/fused/sparse_attention.py", 52, "FL403"): "true: q read for padded heads (the source says OOB)",
    # Ascend bmm: B is read with rows bounded in K (mask_b) but columns offs_n never bounded; the
    # grid rounds N up, so the last column tile reads past each row, and past B's end on its last
    # row (true bug, read only; the store is masked). Ascend fork.
    ("flag_gems/runtime/backend/_ascend/ops/bmm.py", 78, "FL402"): "true: B columns past N in the last column tile",
}

COUNTS = {}
for (_, _, _code) in REVIEWED:
    COUNTS[_code] = COUNTS.get(_code, 0) + 1
