from __future__ import annotations

from fuselint.model.fusion import computed_by_dot, compare, fused_groups
from fuselint.model.offsets import access_text
from fuselint.rule import Rule

_VERDICTS = {
    "shift": "load the whole row once at the output's offsets and take its parts apart in registers "
             "(tl.reshape / tl.permute / tl.split / tl.join), so that one indexing serves all ops; "
             "if no single indexing can, do not fuse: split this kernel",
    "tile": "index every op with the output's index vectors (a broadcast operand sliced with "
            "`[None, :]` / `[:, None]`); if an op needs another index vector, do not fuse: split this kernel",
}


class FusedOffsetsDiffer(Rule):
    """## What it does
    Flags a load or store of a kernel's fused group whose offsets differ from the output's.
    The *offsets* of an access are its pointer minus the base pointer parameter, with local
    names inlined back to index vectors (`tl.arange`, `tl.program_id`, loop variables,
    parameters); strides are taken out (`x_ptr + offs` and `y_ptr + offs * stride_y` share
    offsets) and two offsets are identical when they are the same expression modulo the order
    of `+`/`*` operands and parentheses: the same `offs` variable, or a second name bound to the
    same expression. `offs` and `offs + HALF` differ. The *fused group* is every load and store
    whose tile shape equals the output store's, in the store's loops or outside them; `tl.dot`
    operands and reduction inputs are not element-wise and are left out. What counts:

    - another index vector inside the tile (`rows[None, :]` for `rows[:, None]`, `offs + 1`
      from a second `tl.arange`);
    - a constant shift where the fused ops disagree: the same tensor at `offs` and at
      `offs + HALF`, or one input shifted while another is read at the output's offsets.

    What does not: program terms (which row a program reads: cos/sin at `pid % seq_len`, a
    weight row shared by all rows, a page of a paged KV cache chosen by a block table), a
    vector of one lane (`tl.arange(0, XBLOCK)` where every launch sets `XBLOCK = 1`), also
    inside a sliced vector (`offs_t[:, None]` beside `(page * PAGE + offs_t)[:, None]`); a
    stride chosen per program (`offs * tl.where(is_q, q_stride, k_stride)`); a shift alone in
    a copy (where a view starts: `x + offs - pad_left`); a tile transposed in registers before
    it is stored (`tl.trans`, `.T`, `tl.permute`: its load is compared on the axes where its
    value lands); a remapped index (`offs // W`, `tl.where`, pads, upsampling) or a gathered
    one (loaded from memory): those are not known, and unknown is never a finding. The
    epilogue of a `tl.dot` is FL105's.

    ## Why is this bad?
    House rule: "Every fused op MUST use identical offset calculation" and "all tl.load/tl.store
    use same `offsets` variable". Two indexings in one kernel (the two halves of a RoPE row
    loaded at `offs` and `offs + HALF`) mean two half-width accesses per row instead of one
    full-row access, and a second boundary to get right; "if ANY op needs different indexing →
    do NOT fuse, split kernel".

    ## Example
    ```python
    x1 = tl.load(x_ptr + row * D + offs, mask=mask)
    x2 = tl.load(x_ptr + row * D + offs + HALF, mask=mask)   # other offsets
    tl.store(y_ptr + row * D + offs, x1 * c - x2 * s, mask=mask)
    ```

    ## Use instead
    ```python
    x = tl.load(x_ptr + offs, mask=mask)                     # the whole row, one offs
    x1, x2 = tl.split(tl.permute(tl.reshape(x, [ROWS, 2, HALF]), [0, 2, 1]))
    y = tl.reshape(tl.permute(tl.join(x1 * c - x2 * s, x2 * c + x1 * s), [0, 2, 1]), [ROWS, 2 * HALF])
    tl.store(y_ptr + offs, y, mask=mask)
    ```
    """

    code, name = "FL101", "fused-offsets-differ"

    def check_kernel(self, kernel):
        reported: set = set()
        for group in fused_groups(kernel):
            output = group.output
            if computed_by_dot(kernel, output.access):
                continue  # a matmul's epilogue: FL105
            differing = [(m, compare(kernel, m, output, group)) for m in group.members]
            differing = [(m, d) for m, d in differing if d is not None]
            for member, difference in differing:
                key = member.offsets.key
                if key in reported or id(member.access.call) in reported:
                    continue
                reported.add(key)
                same = [m for m, _ in differing if m.offsets.key == key and m is not member]
                for m in same:
                    reported.add(id(m.access.call))
                more = f" (as {'does 1 more access' if len(same) == 1 else f'do {len(same)} more accesses'})" if same else ""
                yield self.report(
                    member.access.call,
                    f"{access_text(kernel, member.access)} indexes the tile at other offsets than the output "
                    f"{access_text(kernel, output.access)}: its offsets {difference.text()}{more}; "
                    f"{_VERDICTS[difference.kind]}",
                )

    VALID = [
        # one offs for every op; a second name bound to the same expression is the same offsets
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    same = tl.arange(0, BLOCK) + BLOCK * pid
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    y = tl.load(y_ptr + same, mask=mask)
    tl.store(out_ptr + offs, x + y, mask=mask)
""",
        # strides differ per tensor, the index vectors do not; a bias row broadcast over rows
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, b_ptr, out_ptr, M, N, sxm, sxn, som, son, BM: tl.constexpr, BN: tl.constexpr):
    rows = tl.program_id(0) * BM + tl.arange(0, BM)
    cols = tl.arange(0, BN)
    mask = (rows[:, None] < M) & (cols[None, :] < N)
    x = tl.load(x_ptr + rows[:, None] * sxm + cols[None, :] * sxn, mask=mask)
    b = tl.load(b_ptr + cols, mask=cols < N)
    tl.store(out_ptr + (cols[None, :] * son + rows[:, None] * som), x + b[None, :], mask=mask)
""",
        # cos/sin shared by all heads (drop the head's program term); the reduction input and
        # the matmul operands are not element-wise members
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, c_ptr, out_ptr, a_ptr, b_ptr, D, BLOCK: tl.constexpr):
    head = tl.program_id(0)
    pos = tl.program_id(1)
    offs = tl.arange(0, BLOCK)
    mask = offs < D
    x = tl.load(x_ptr + head * 4096 + pos * D + offs, mask=mask)
    c = tl.load(c_ptr + pos * D + offs, mask=mask)
    r = tl.load(x_ptr + offs + 1, mask=mask)
    total = tl.sum(r, axis=0)
    tl.store(out_ptr + head * 4096 + pos * D + offs, x * c + total, mask=mask)
""",
        # accesses in another loop than the store feed an accumulation
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, out_ptr, N, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    m = tl.zeros([BLOCK], dtype=tl.float32)
    for start in range(0, N, BLOCK):
        cols = start + tl.arange(0, BLOCK)
        m = tl.maximum(m, tl.load(x_ptr + row * N + cols, mask=cols < N))
    for start in range(0, N, BLOCK):
        cols = start + tl.arange(0, BLOCK)
        x = tl.load(x_ptr + row * N + cols, mask=cols < N)
        tl.store(out_ptr + row * N + cols, x - m, mask=cols < N)
""",
        # a copy into a slice or from a padded view: a shift alone is where a view starts;
        # a remapped index (upsampling) is not known
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, out_ptr, up_ptr, n, pad_left, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs - pad_left, mask=mask)
    tl.store(out_ptr + offs, x, mask=mask)
    tl.store(up_ptr + offs, tl.load(x_ptr + offs // 2, mask=mask), mask=mask)
""",
        # a paged KV cache: the page comes from the block table, the rows inside the page are the
        # output's rows; a stride chosen per program (q or k) is a stride
        """
import triton
import triton.language as tl

@triton.jit
def k(cache_ptr, table_ptr, out_ptr, q_ptr, k_ptr, qo_ptr, ko_ptr, H_q, q_s, k_s, qo_s, ko_s,
      stride_page, stride_out, D: tl.constexpr, PAGE: tl.constexpr):
    seq = tl.program_id(0)
    page = tl.program_id(1)
    block = tl.load(table_ptr + seq * 64 + page).to(tl.int64)
    rows = tl.arange(0, PAGE)
    cols = tl.arange(0, D)
    kv = tl.load(cache_ptr + block * stride_page + rows[:, None] * D + cols[None, :])
    tl.store(out_ptr + (seq * 4096 + page * PAGE + rows)[:, None] * stride_out + cols[None, :], kv)
    is_q = seq < H_q
    src = tl.where(is_q, q_ptr, k_ptr)
    dst = tl.where(is_q, qo_ptr, ko_ptr)
    x = tl.load(src + seq * 128 + cols * tl.where(is_q, q_s, k_s))
    tl.store(dst + seq * 128 + cols * tl.where(is_q, qo_s, ko_s), x * 2)
""",
        # a tile transposed in registers, stored where its value lands (tl.trans, .T, tl.permute)
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, s_ptr, y_ptr, z_ptr, M, N, B: tl.constexpr):
    rows = tl.program_id(0) * B + tl.arange(0, B)
    cols = tl.program_id(1) * B + tl.arange(0, B)
    x = tl.load(x_ptr + rows[:, None] * N + cols[None, :])
    s = tl.load(s_ptr + cols[:, None] * M + rows[None, :])
    tl.store(y_ptr + cols[:, None] * M + rows[None, :], x.T * s)
    a = tl.arange(0, B)
    t = tl.load(x_ptr + a[:, None, None] * B * B + a[None, :, None] * B + a[None, None, :] + rows[0])
    tl.store(z_ptr + a[None, None, :] * B * B + a[:, None, None] * B + a[None, :, None], tl.permute(t, (1, 2, 0)))
""",
        # Inductor's reduction layout with XBLOCK = 1: the row vector has one lane, so the weight
        # read at the column vector alone is at the output's offsets
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, w_ptr, out_ptr, rnumel, XBLOCK: tl.constexpr, RBLOCK: tl.constexpr):
    x0 = tl.program_id(0) * XBLOCK + tl.arange(0, XBLOCK)[:, None]
    r1 = tl.arange(0, RBLOCK)[None, :]
    rmask = r1 < rnumel
    x = tl.load(x_ptr + (r1 + rnumel * x0), rmask)
    w = tl.load(w_ptr + r1, rmask)
    tl.store(out_ptr + (r1 + rnumel * x0), x * w, rmask)

def launch(x, w, out, rows, rnumel):
    k[(rows,)](x, w, out, rnumel, XBLOCK=1, RBLOCK=1024)
""",
    ]
    INVALID = [
        # one input shifted while another is read at the output's offsets
        """
import triton
import triton.language as tl

@triton.jit
def k(q_ptr, k_ptr, q_out_ptr, k_out_ptr, n, HALF: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    q = tl.load(q_ptr + offs + HALF, mask=mask)  # error
    kk = tl.load(k_ptr + offs, mask=mask)
    tl.store(q_out_ptr + offs, q * 2, mask=mask)
    tl.store(k_out_ptr + offs, kk * 2, mask=mask)
""",
        # the house RoPE pattern: two halves of a row at offs and offs + HALF
        """
import triton
import triton.language as tl

@triton.jit
def k(q_ptr, c_ptr, s_ptr, HALF, stride, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    offs = tl.arange(0, BLOCK)
    mask = offs < HALF
    q1_ptrs = q_ptr + row * stride + offs
    q2_ptrs = q_ptr + row * stride + (offs + HALF)
    c = tl.load(c_ptr + offs, mask=mask)
    s = tl.load(s_ptr + offs, mask=mask)
    q1 = tl.load(q1_ptrs, mask=mask)
    q2 = tl.load(q2_ptrs, mask=mask)  # error
    tl.store(q1_ptrs, q1 * c - q2 * s, mask=mask)
    tl.store(q2_ptrs, q2 * c + q1 * s, mask=mask)
""",
        # a neighbour: another index vector
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    nxt = tl.load(x_ptr + offs + 1, mask=mask)  # error
    tl.store(out_ptr + offs, nxt - x, mask=mask)
""",
        # a 2-D tile: the residual is read transposed
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, r_ptr, out_ptr, N, B: tl.constexpr):
    rows = tl.program_id(0) * B + tl.arange(0, B)
    cols = tl.program_id(1) * B + tl.arange(0, B)
    x = tl.load(x_ptr + rows[:, None] * N + cols[None, :])
    r = tl.load(r_ptr + rows[None, :] * N + cols[:, None])  # error
    tl.store(out_ptr + rows[:, None] * N + cols[None, :], x + r)
""",
        # a tile stored at transposed offsets without transposing it; the two halves of a page
        # row of a paged cache; a half of a row read with a stride chosen per program
        """
import triton
import triton.language as tl

@triton.jit
def k(x_ptr, y_ptr, cache_ptr, table_ptr, out_ptr, q_ptr, k_ptr, o_ptr, H_q, q_s, k_s, M, N, stride_page,
      D: tl.constexpr, HALF: tl.constexpr, B: tl.constexpr):
    rows = tl.program_id(0) * B + tl.arange(0, B)
    cols = tl.program_id(1) * B + tl.arange(0, B)
    x = tl.load(x_ptr + rows[:, None] * N + cols[None, :])  # error
    tl.store(y_ptr + cols[:, None] * M + rows[None, :], x * 2)
    seq = tl.program_id(0)
    block = tl.load(table_ptr + seq)
    t = tl.arange(0, B)
    d = tl.arange(0, D)
    lo = tl.load(cache_ptr + block * stride_page + t[:, None] * D + d[None, :])
    hi = tl.load(cache_ptr + block * stride_page + t[:, None] * D + (d + HALF)[None, :])  # error
    tl.store(out_ptr + (seq * B + t)[:, None] * D + d[None, :], lo * hi)
    src = tl.where(seq < H_q, q_ptr, k_ptr)
    sd = tl.where(seq < H_q, q_s, k_s)
    a = tl.load(src + seq * 128 + d * sd)
    b = tl.load(src + seq * 128 + (d + HALF) * sd)  # error
    tl.store(o_ptr + seq * 128 + d, a * b)
""",
    ]
