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
    # Ascend addmm: the same pattern as its bmm: A's rows (offs_am) and B's columns (offs_bn) are
    # masked on K only while the grid rounds M and N up; the store is masked (true bug, read only).
    ("flag_gems/runtime/backend/_ascend/ops/addmm.py", 54, "FL402"): "true: A rows past M in the last row tile",
    ("flag_gems/runtime/backend/_ascend/ops/addmm.py", 59, "FL402"): "true: B columns past N in the last column tile",
    # flag_gems' own argmin along the last dim (K == 1, argmin_kernel_opt_k1, the NVIDIA path):
    # loads and stores with mask=True while its heuristics pick BLOCK_M in {4, 8} and BLOCK_N =
    # next_power_of_2(N): rows past M are read and their results written past the output, and a
    # row of N elements reads into the next row. Confirmed on an H100 (flag_gems 5.0.2, torch
    # 2.11): (3, 5) returns index 5, (1000, 33) gets 489 of 1000 rows wrong; reproducer in
    # examples/found/flaggems_argmin_opt_k1.py.
    ("flag_gems/ops/argmin.py", 88, "FL401"): "true: reads past each row and past M (wrong argmin, confirmed on GPU)",
    ("flag_gems/ops/argmin.py", 98, "FL401"): "true: writes argmin results past M",
    # flag_gems' SDPA backward (the same kernel in five backends): `do = tl.load(do_ptrs)` loads
    # rows offs_m >= Q_CTX unmasked (the masked line is commented out beside it) while qT, m and
    # Di are masked by offs_m_mask: the last query block reads past DO. The fix upstream
    # (FlagGems 260c9035, the oob_real pair flaggems-sdpa-bwd-do-mask) masks it. Seen since the
    # loop-stepped `curr_m += step_m` is followed (offsets.Canon._induction).
    ("flag_gems/ops/attention.py", 428, "FL403"): "true: DO rows past Q_CTX read in the last query block",
    ("flag_gems/runtime/backend/_cambricon/ops/attention.py", 425, "FL403"): "true: the same unmasked DO load",
    ("flag_gems/runtime/backend/_hygon/ops/attention.py", 428, "FL403"): "true: the same unmasked DO load",
    ("flag_gems/runtime/backend/_kunlunxin/ops/attention.py", 428, "FL403"): "true: the same unmasked DO load",
    ("flag_gems/runtime/backend/_tsingmicro/ops/attention.py", 430, "FL403"): "true: the same unmasked DO load",
    # Cambricon group-norm backward, `BLOCK_HW_SIZE >= HW` branch: dY/X/dX at rows
    # `group_offset` (stepped by group_size per idx) unmasked while the other branch masks them
    # with `group_offset < C`. The rows stay below C whenever C == num_groups * group_size, which
    # PyTorch's group_norm checks before any backward runs: false alarms (the extent C comes from
    # a mask that bounds a relative index, the W load's); the kernel cannot see that check.
    ("flag_gems/runtime/backend/_cambricon/ops/groupnorm.py", 269, "FL403"): "false: rows below C when C % groups == 0 (checked by torch)",
    ("flag_gems/runtime/backend/_cambricon/ops/groupnorm.py", 270, "FL403"): "false: rows below C when C % groups == 0 (checked by torch)",
    ("flag_gems/runtime/backend/_cambricon/ops/groupnorm.py", 282, "FL403"): "false: rows below C when C % groups == 0 (checked by torch)",
}

COUNTS = {}
for (_, _, _code) in REVIEWED:
    COUNTS[_code] = COUNTS.get(_code, 0) + 1
