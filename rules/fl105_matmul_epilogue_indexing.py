from __future__ import annotations

from fuselint.model.fusion import (DOTS, compare, computed_by_dot, device_function, flows_into, foreign_vectors,
                                   fused_groups, product_tile, structured_dots)
from fuselint.model.offsets import access_text, axis_vectors, canon_of, render_vector
from fuselint.rule import Rule

_VERDICT = ("index the bias, the residual and the output store with the one `offs_m`/`offs_n` pair of the "
            "accumulator (`offs_m[:, None]`, `offs_n[None, :]`) on a 2-D grid of (pid_m, pid_n); if the epilogue "
            "needs another indexing, do not fuse: split this kernel")


class MatmulEpilogueIndexing(Rule):
    """## What it does
    In a kernel with `tl.dot`, checks the epilogue: the store of the accumulator and the loads
    fused into it (a bias, a residual, a per-row or per-column scale). Flags an epilogue load
    whose index vectors are not the output's `offs_m` / `offs_n` on the axis where its value
    lands (`s[:, None]` on the rows, a bare vector or `s.T` of a column on the columns;
    compared after inlining, strides taken out, as in FL101 and FL103), and, in a kernel with a
    single `tl.dot` whose product reaches the store through element-wise ops only (not
    reshaped, reduced or moved: its axes are then M and N), an output tile axis that no
    program id moves along (the grid does not cover M and N in 2-D). The A and B operands of `tl.dot` are
    not element-wise and are never compared. A 1-D grid whose program id is split into
    `pid_m`/`pid_n` (grouped ordering) covers both axes and is not flagged, nor is a
    `@triton.jit` helper, whose tile comes from its callers' program ids. An epilogue load is
    compared with the store its value flows into (a kernel that stores a state beside its
    output compares each with its own). A `tl.dot` that is not a matmul is left alone: one
    with a triangular operand (built from a comparison of two index vectors: a cumulative sum
    or product, a causal mask) or one feeding a state the loop carries and stores at each
    step (a scan, a recurrence).

    ## Why is this bad?
    House rule: "Matmul fusion: 2D grid, `offs_m/offs_n` shared by bias add & activation".
    An epilogue operand indexed by its own vectors adds the bias of other columns (or rows) to
    each tile; an output axis without a program id means every program writes the same
    columns, or that one program walks all of N: the grid does not cover the output.

    ## Example
    ```python
    acc = tl.dot(a, b)
    bias = tl.load(bias_ptr + tl.arange(0, BLOCK_N))      # not offs_n
    tl.store(c_ptr + offs_m[:, None] * N + offs_n[None, :], acc + bias[None, :])
    ```

    ## Use instead
    ```python
    bias = tl.load(bias_ptr + offs_n, mask=offs_n < N)
    tl.store(c_ptr + offs_m[:, None] * N + offs_n[None, :], acc + bias[None, :], mask=mask)
    ```
    """

    code, name = "FL105", "matmul-epilogue-indexing"

    def check_kernel(self, kernel):
        dots = [c for c in kernel.tl_calls if c.name in DOTS]
        if not dots:
            return
        canon = canon_of(kernel)
        helper = device_function(kernel)
        reported: set[int] = set()
        structured = structured_dots(kernel)
        for group in fused_groups(kernel):
            output = group.output
            if not computed_by_dot(kernel, output.access):
                continue
            feeding = flows_into(kernel, output.access)
            if structured & feeding:
                continue  # a scan or a recurrence computed with tl.dot, not a matmul and its epilogue
            for member in group.members:
                if member.access.kind != "load" or id(member.access.call) in reported:
                    continue
                if id(member.access.call) not in feeding:
                    continue  # feeds another of the kernel's outputs (a state beside the output)
                difference = compare(kernel, member, output, group)
                if difference is not None:
                    reported.add(id(member.access.call))
                    yield self.report(member.access.call,
                                      f"epilogue load {access_text(kernel, member.access)} of the matmul output "
                                      f"{access_text(kernel, output.access)} {difference.text()} its offsets; {_VERDICT}")
            for operand in group.broadcast:
                if id(operand.access.call) in reported:
                    continue
                foreign = foreign_vectors(kernel, operand, output)
                if foreign is not None:
                    reported.add(id(operand.access.call))
                    axis, vector, other = foreign[0]
                    mine = f"`{render_vector(other)}`" if other else "no index vector"
                    yield self.report(operand.access.call,
                                      f"epilogue operand {access_text(kernel, operand.access)} is indexed by `{render_vector(vector)}`, "
                                      f"where the matmul output {access_text(kernel, output.access)} has {mine} on axis {axis}; "
                                      f"{_VERDICT}")
            if len(dots) != 1 or len(output.shape) != 2 or id(output.access.call) in reported or helper:
                continue  # a helper's rows and columns come from its callers' program ids
            if not product_tile(kernel, output.access):
                continue  # reshaped, reduced or transformed on the way: its axes are not M and N
            axes = axis_vectors(kernel, output.access, 2)
            if axes is None or set(axes) != {0, 1}:
                continue
            if any(canon.facts(t)[2] or canon.facts(t)[3] for v in axes.values() for t in v):
                continue
            still = [a for a in (0, 1) if not any(canon.facts(t)[1] for t in axes[a])]
            moving = [a for a in (0, 1) if a not in still]
            if len(still) == 1 and moving:
                axis = still[0]
                reported.add(id(output.access.call))
                yield self.report(output.access.call,
                                  f"matmul output {access_text(kernel, output.access)}: no program id moves along axis {axis} "
                                  f"(`{render_vector(axes[axis])}`), so the grid is not 2-D over M and N; {_VERDICT}")

    VALID = [
        # the tutorial matmul with grouped ordering on a 1-D grid, bias on offs_n
        """
import triton
import triton.language as tl

@triton.jit
def mm(a_ptr, b_ptr, c_ptr, bias_ptr, M, N, K, sam, sak, sbk, sbn, scm, scn,
       BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr, GROUP_M: tl.constexpr):
    pid = tl.program_id(0)
    num_pid_m = tl.cdiv(M, BM)
    num_pid_n = tl.cdiv(N, BN)
    group = pid // (GROUP_M * num_pid_n)
    first_m = group * GROUP_M
    pid_m = first_m + (pid % GROUP_M)
    pid_n = (pid % (GROUP_M * num_pid_n)) // GROUP_M
    offs_m = pid_m * BM + tl.arange(0, BM)
    offs_n = pid_n * BN + tl.arange(0, BN)
    offs_k = tl.arange(0, BK)
    a_ptrs = a_ptr + offs_m[:, None] * sam + offs_k[None, :] * sak
    b_ptrs = b_ptr + offs_k[:, None] * sbk + offs_n[None, :] * sbn
    acc = tl.zeros((BM, BN), dtype=tl.float32)
    for k in range(0, tl.cdiv(K, BK)):
        a = tl.load(a_ptrs, mask=offs_k[None, :] < K - k * BK, other=0.0)
        b = tl.load(b_ptrs, mask=offs_k[:, None] < K - k * BK, other=0.0)
        acc += tl.dot(a, b)
        a_ptrs += BK * sak
        b_ptrs += BK * sbk
    bias = tl.load(bias_ptr + offs_n, mask=offs_n < N)
    acc = acc + bias[None, :]
    mask = (offs_m[:, None] < M) & (offs_n[None, :] < N)
    tl.store(c_ptr + offs_m[:, None] * scm + offs_n[None, :] * scn, acc, mask=mask)
""",
        # a 2-D grid, a residual at the output's offsets
        """
import triton
import triton.language as tl

@triton.jit
def mm(a_ptr, b_ptr, r_ptr, c_ptr, N, K: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    offs_m = tl.program_id(0) * BM + tl.arange(0, BM)
    offs_n = tl.program_id(1) * BN + tl.arange(0, BN)
    offs_k = tl.arange(0, K)
    a = tl.load(a_ptr + offs_m[:, None] * K + offs_k[None, :])
    b = tl.load(b_ptr + offs_k[:, None] * N + offs_n[None, :])
    r = tl.load(r_ptr + offs_m[:, None] * N + offs_n[None, :])
    tl.store(c_ptr + offs_m[:, None] * N + offs_n[None, :], tl.dot(a, b) + r)
""",
        # attention-like: two dots, the head dimension whole in every program
        """
import triton
import triton.language as tl

@triton.jit
def attn(q_ptr, k_ptr, v_ptr, o_ptr, D: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    offs_m = tl.program_id(0) * BM + tl.arange(0, BM)
    offs_n = tl.arange(0, BN)
    offs_d = tl.arange(0, D)
    q = tl.load(q_ptr + offs_m[:, None] * D + offs_d[None, :])
    k = tl.load(k_ptr + offs_n[:, None] * D + offs_d[None, :])
    v = tl.load(v_ptr + offs_n[:, None] * D + offs_d[None, :])
    p = tl.dot(q, tl.trans(k))
    tl.store(o_ptr + offs_m[:, None] * D + offs_d[None, :], tl.dot(p.to(v.dtype), v))
""",
        # per-row and per-column scales, placed where they are used: a per-row vector sliced
        # [:, None], a per-column scale loaded as a column and transposed, a row vector through tl.trans
        """
import triton
import triton.language as tl

@triton.jit
def scaled_mm(a_ptr, b_ptr, c_ptr, sa_ptr, sb_ptr, lse_ptr, M, N, K: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    offs_m = pid_m * BM + tl.arange(0, BM)
    offs_n = pid_n * BN + tl.arange(0, BN)
    offs_k = tl.arange(0, K)
    a = tl.load(a_ptr + offs_m[:, None] * K + offs_k[None, :])
    b = tl.load(b_ptr + offs_k[:, None] * N + offs_n[None, :])
    acc = tl.dot(a, b)
    sa = tl.load(sa_ptr + offs_m, mask=offs_m < M)
    sb = tl.load(sb_ptr + offs_n[:, None], mask=offs_n[:, None] < N)
    lse = tl.load(lse_ptr + offs_m[None, :])
    acc = sb.T * (acc * sa[:, None]) - tl.trans(lse)
    tl.store(c_ptr + offs_m[:, None] * N + offs_n[None, :], acc.to(tl.float16))
""",
        # a helper whose column block comes from its caller's program id
        """
import triton
import triton.language as tl

@triton.jit
def _tile(a_ptr, b_ptr, c_ptr, pid_n, N, K: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    offs_m = tl.program_id(0) * BM + tl.arange(0, BM)
    offs_n = pid_n * BN + tl.arange(0, BN)
    offs_k = tl.arange(0, K)
    a = tl.load(a_ptr + offs_m[:, None] * K + offs_k[None, :])
    b = tl.load(b_ptr + offs_k[:, None] * N + offs_n[None, :])
    tl.store(c_ptr + offs_m[:, None] * N + offs_n[None, :], tl.dot(a, b))

@triton.jit
def mm(a_ptr, b_ptr, c_ptr, N, K: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    _tile(a_ptr, b_ptr, c_ptr, tl.program_id(1), N, K, BM, BN)
""",
        # a chunked cumulative sum through a lower-triangular matrix: D whole in every program
        """
import triton
import triton.language as tl

@triton.jit
def chunk_cumsum(x_ptr, o_ptr, T, D: tl.constexpr, BT: tl.constexpr):
    i_t = tl.program_id(0)
    i_bh = tl.program_id(1)
    o_t = i_t * BT + tl.arange(0, BT)
    o_d = tl.arange(0, D)
    m = o_t[:, None] < T
    x = tl.load(x_ptr + i_bh * T * D + o_t[:, None] * D + o_d[None, :], mask=m, other=0.0)
    tri = tl.where(tl.arange(0, BT)[:, None] >= tl.arange(0, BT)[None, :], 1.0, 0.0)
    tl.store(o_ptr + i_bh * T * D + o_t[:, None] * D + o_d[None, :], tl.dot(tri, x), mask=m)
""",
        # a recurrence: the state is stored at every step and at the end, beside the gated output
        """
import triton
import triton.language as tl

@triton.jit
def chunk_state(q_ptr, k_ptr, v_ptr, g_ptr, h_ptr, o_ptr, ht_ptr, h0_ptr, T, NT, K: tl.constexpr, V: tl.constexpr,
                BT: tl.constexpr, BV: tl.constexpr):
    i_v = tl.program_id(0)
    i_bh = tl.program_id(1)
    o_k = tl.arange(0, K)
    o_v = i_v * BV + tl.arange(0, BV)
    h = tl.load(h0_ptr + i_bh * K * V + o_k[:, None] * V + o_v[None, :])
    for i_t in range(0, NT):
        o_t = i_t * BT + tl.arange(0, BT)
        tl.store(h_ptr + (i_bh * NT + i_t) * K * V + o_k[:, None] * V + o_v[None, :], h)
        q = tl.load(q_ptr + i_bh * T * K + o_t[:, None] * K + o_k[None, :])
        k = tl.load(k_ptr + i_bh * T * K + o_t[None, :] * K + o_k[:, None])
        v = tl.load(v_ptr + i_bh * T * V + o_t[:, None] * V + o_v[None, :])
        g = tl.load(g_ptr + i_bh * T * V + o_t[:, None] * V + o_v[None, :])
        tl.store(o_ptr + i_bh * T * V + o_t[:, None] * V + o_v[None, :], tl.dot(q, h.to(q.dtype)) * tl.exp(g))
        h = h * 0.9 + tl.dot(k, v)
    tl.store(ht_ptr + i_bh * K * V + o_k[:, None] * V + o_v[None, :], h)

def launch(q, k, v, g, h, o, ht, h0, T, NT):
    chunk_state[(1, 8)](q, k, v, g, h, o, ht, h0, T, NT, K=64, V=64, BT=64, BV=64)
""",
        # two outputs of one matmul, the product and a per-row amax: the bias feeds the product only
        """
import triton
import triton.language as tl

@triton.jit
def mm_amax(a_ptr, b_ptr, bias_ptr, c_ptr, amax_ptr, N, K: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    offs_m = tl.program_id(0) * BM + tl.arange(0, BM)
    offs_n = tl.program_id(1) * BN + tl.arange(0, BN)
    offs_k = tl.arange(0, K)
    a = tl.load(a_ptr + offs_m[:, None] * K + offs_k[None, :])
    b = tl.load(b_ptr + offs_k[:, None] * N + offs_n[None, :])
    acc = tl.dot(a, b)
    tl.store(amax_ptr + offs_m * 64 + tl.program_id(1), tl.max(tl.abs(acc), axis=1))
    bias = tl.load(bias_ptr + offs_n)
    tl.store(c_ptr + offs_m[:, None] * N + offs_n[None, :], acc + bias[None, :])

def launch(a, b, bias, c, amax, N):
    mm_amax[(8, 8)](a, b, bias, c, amax, N, K=32, BM=64, BN=64)
""",
        # a product that is reshaped or reduced before it is stored: the stored axes are not M and N
        # (a rotation by a small constant matrix, a router's top-1 over experts)
        """
import triton
import triton.language as tl

@triton.jit
def rotate(x_ptr, r_ptr, y_ptr, D: tl.constexpr, BM: tl.constexpr, R: tl.constexpr):
    offs_m = tl.program_id(0) * BM + tl.arange(0, BM)
    offs_d = tl.arange(0, D)
    x = tl.load(x_ptr + offs_m[:, None] * D + offs_d[None, :])
    r = tl.load(r_ptr + tl.arange(0, R)[:, None] * R + tl.arange(0, R)[None, :])
    y = tl.dot(tl.reshape(x, (BM * D // R, R)), r)
    tl.store(y_ptr + offs_m[:, None] * D + offs_d[None, :], tl.reshape(y, (BM, D)))

@triton.jit
def route(x_ptr, w_ptr, ids_ptr, E: tl.constexpr, D: tl.constexpr, BM: tl.constexpr):
    offs_m = tl.program_id(0) * BM + tl.arange(0, BM)
    offs_d = tl.arange(0, D)
    x = tl.load(x_ptr + offs_m[:, None] * D + offs_d[None, :])
    offs_e = tl.arange(0, E)
    w = tl.load(w_ptr + offs_d[:, None] * E + offs_e[None, :])
    logits = tl.dot(x, w)
    top = tl.argmax(logits, axis=1)
    tl.store(ids_ptr + offs_m[:, None] * 2 + tl.arange(0, 2)[None, :], tl.broadcast_to(top[:, None], (BM, 2)))
""",
    ]
    INVALID = [
        # a per-row scale used bare lands on the columns (axis 1); a per-row column transposed onto them
        """
import triton
import triton.language as tl

@triton.jit
def mm(a_ptr, b_ptr, c_ptr, s_ptr, t_ptr, N, K: tl.constexpr, B: tl.constexpr):
    offs_m = tl.program_id(0) * B + tl.arange(0, B)
    offs_n = tl.program_id(1) * B + tl.arange(0, B)
    offs_k = tl.arange(0, K)
    a = tl.load(a_ptr + offs_m[:, None] * K + offs_k[None, :])
    b = tl.load(b_ptr + offs_k[:, None] * N + offs_n[None, :])
    s = tl.load(s_ptr + offs_m)  # error
    t = tl.load(t_ptr + offs_m[:, None])  # error
    tl.store(c_ptr + offs_m[:, None] * N + offs_n[None, :], tl.dot(a, b) * s + t.T)
""",
        # the bias re-indexed from 0 in every program
        """
import triton
import triton.language as tl

@triton.jit
def mm(a_ptr, b_ptr, bias_ptr, c_ptr, N, K: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    offs_m = tl.program_id(0) * BM + tl.arange(0, BM)
    offs_n = tl.program_id(1) * BN + tl.arange(0, BN)
    offs_k = tl.arange(0, K)
    a = tl.load(a_ptr + offs_m[:, None] * K + offs_k[None, :])
    b = tl.load(b_ptr + offs_k[:, None] * N + offs_n[None, :])
    bias = tl.load(bias_ptr + tl.arange(0, BN))  # error
    tl.store(c_ptr + offs_m[:, None] * N + offs_n[None, :], tl.dot(a, b) + bias[None, :])
""",
        # the residual read transposed
        """
import triton
import triton.language as tl

@triton.jit
def mm(a_ptr, b_ptr, r_ptr, c_ptr, N, K: tl.constexpr, B: tl.constexpr):
    offs_m = tl.program_id(0) * B + tl.arange(0, B)
    offs_n = tl.program_id(1) * B + tl.arange(0, B)
    offs_k = tl.arange(0, K)
    a = tl.load(a_ptr + offs_m[:, None] * K + offs_k[None, :])
    b = tl.load(b_ptr + offs_k[:, None] * N + offs_n[None, :])
    r = tl.load(r_ptr + offs_n[:, None] * N + offs_m[None, :])  # error
    tl.store(c_ptr + offs_m[:, None] * N + offs_n[None, :], tl.dot(a, b) + r)
""",
        # a 1-D grid over M only: every program writes the same BN columns
        """
import triton
import triton.language as tl

@triton.jit
def mm(a_ptr, b_ptr, c_ptr, N, K: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    offs_m = tl.program_id(0) * BM + tl.arange(0, BM)
    offs_n = tl.arange(0, BN)
    offs_k = tl.arange(0, K)
    a = tl.load(a_ptr + offs_m[:, None] * K + offs_k[None, :])
    b = tl.load(b_ptr + offs_k[:, None] * N + offs_n[None, :])
    tl.store(c_ptr + offs_m[:, None] * N + offs_n[None, :], tl.dot(a, b))  # error
""",
    ]
