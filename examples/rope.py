import functools

import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def _rotate_half(x, c, s, BLOCK_ROWS: tl.constexpr, BLOCK_HALF: tl.constexpr):
    """[x1, x2] -> [x1 * c - x2 * s, x2 * c + x1 * s] for a [BLOCK_ROWS, 2 * BLOCK_HALF] tile whose
    columns hold the first half then the second half of each row; c, s: [BLOCK_ROWS, BLOCK_HALF]."""
    x1, x2 = tl.split(tl.permute(tl.reshape(x, [BLOCK_ROWS, 2, BLOCK_HALF]), [0, 2, 1]))
    y = tl.join(x1 * c - x2 * s, x2 * c + x1 * s)
    return tl.reshape(tl.permute(y, [0, 2, 1]), [BLOCK_ROWS, 2 * BLOCK_HALF])


@triton.jit
def rope_kernel(
    q_ptr, k_ptr, q_out_ptr, k_out_ptr, cos_ptr, sin_ptr,
    n_rows, seq_len, n_tiles,
    stride_cos_s, stride_cos_d, stride_sin_s, stride_sin_d,
    HALF: tl.constexpr,
    BLOCK_HALF: tl.constexpr,
    BLOCK_D: tl.constexpr,
    BLOCK_ROWS: tl.constexpr,
    TENSORS_PER_PROGRAM: tl.constexpr,
):
    """Rotate-half RoPE over rows of 2 * HALF elements, out of place.

    q, k, q_out, k_out: contiguous (n_rows, 2 * HALF), one row per (batch, head, position).
    cos, sin: (>= seq_len, >= HALF), any strides; row r uses cos[r % seq_len, :HALF].

    TENSORS_PER_PROGRAM = 1: programs [0, n_tiles) rotate the tiles of q, programs [n_tiles,
    2 * n_tiles) those of k: each program reads one stream and writes one (a program that did
    both tensors touched four, and ran 1 % slower on the H100 in fp32). TENSORS_PER_PROGRAM = 2:
    program i rotates tile i of q, then of k, with the cos/sin tile loaded once: the launcher
    takes it when the cos/sin rows are not 16-element aligned, where every cos/sin element is
    a load of its own and loading them twice cost 11 % of the bandwidth on an H200.
    The tile is BLOCK_ROWS whole rows, [BLOCK_ROWS, BLOCK_D] with BLOCK_D = 2 * BLOCK_HALF: tile
    column j holds element (j // BLOCK_HALF) * HALF + j % BLOCK_HALF of its row, so the two
    halves of a row sit in the two halves of the tile even when HALF is not a power of two (the
    padding columns are masked off). One offsets tuple and one mask serve every load and store;
    the halves are taken apart and put back together in registers.
    """
    pid = tl.program_id(0)
    rows = (pid % n_tiles) * BLOCK_ROWS + tl.arange(0, BLOCK_ROWS)
    cols = tl.arange(0, BLOCK_D)
    halves = tl.arange(0, BLOCK_HALF)

    col_in_half = cols % BLOCK_HALF
    offs = rows[:, None].to(tl.int64) * (2 * HALF) + ((cols // BLOCK_HALF) * HALF + col_in_half)[None, :]
    mask = (rows[:, None] < n_rows) & (col_in_half[None, :] < HALF)

    # cos/sin are broadcast over batch and heads: the same row vector, taken modulo the sequence
    # length, and the half-width column vector, sliced explicitly.
    pos = rows % seq_len
    cs_mask = (rows[:, None] < n_rows) & (halves[None, :] < HALF)
    c = tl.load(cos_ptr + pos[:, None] * stride_cos_s + halves[None, :] * stride_cos_d,
                mask=cs_mask, other=0.0).to(tl.float32)
    s = tl.load(sin_ptr + pos[:, None] * stride_sin_s + halves[None, :] * stride_sin_d,
                mask=cs_mask, other=0.0).to(tl.float32)

    for i in tl.static_range(TENSORS_PER_PROGRAM):
        # k when the program id is past the q tiles, or on the second pass of a two-tensor program
        # (issuing both loads before either store measured 1-1.5 % slower on an H200)
        is_k = pid + i * n_tiles >= n_tiles
        x_ptr = tl.where(is_k, k_ptr, q_ptr)
        out_ptr = tl.where(is_k, k_out_ptr, q_out_ptr)
        x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
        x_rot = _rotate_half(x, c, s, BLOCK_ROWS, BLOCK_HALF)
        tl.store(out_ptr + offs, x_rot.to(out_ptr.dtype.element_ty), mask=mask)


# Launch rule, the same for an RTX 4090 and an H100 (both bound by memory bandwidth here):
# a program moves a tile of about BYTES_PER_TILE bytes of q or of k, with 4 warps: 16-byte
# accesses, several in flight per thread before the first use, and few enough registers for several
# programs per multiprocessor. When that leaves fewer than two programs per multiprocessor
# (decode-like calls), the tile shrinks toward MIN_ROWS so that every multiprocessor gets work.
BYTES_PER_TILE = 8192
MIN_ROWS, MAX_ROWS = 16, 256
NUM_WARPS = 4


@functools.lru_cache(maxsize=None)
def _multiprocessor_count(device):
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).multi_processor_count
    return 1


@functools.lru_cache(maxsize=1024)
def rope_launch_config(n_rows, head_dim, element_size, device, tensors_per_program=1):
    """(BLOCK_HALF, BLOCK_ROWS) for rows of head_dim elements of element_size bytes (cached: at
    decode sizes the host's time per call is most of the cost)."""
    block_half = max(16, triton.next_power_of_2(head_dim // 2))
    block_rows = min(MAX_ROWS, max(MIN_ROWS, triton.next_power_of_2(BYTES_PER_TILE // (2 * block_half * element_size))))
    programs_wanted = 2 * _multiprocessor_count(device)
    while block_rows > MIN_ROWS and (2 // tensors_per_program) * triton.cdiv(n_rows, block_rows) < programs_wanted:
        block_rows //= 2
    return block_half, block_rows


def _rows_vectorise(t):
    """Can Triton load t's rows 16 bytes at a time? Only when it can prove the alignment: a
    16-byte-aligned base, a row stride divisible by 16 (the integer arguments Triton specialises
    on) and unit column stride."""
    return t.stride(1) == 1 and t.stride(0) % 16 == 0 and t.data_ptr() % 16 == 0


def _cos_sin_loads_dominate(q, cos_used, sin_used):
    """Are the cos/sin loads worth sharing between q and k? Where Triton cannot vectorise their
    rows, each element is a load instruction of its own: for 16-bit q/k that is four times the
    loads of q itself, and loading them once for both tensors won 10 % on an H200; for fp32 q/k,
    one tensor a program stayed faster (98.6 % of copy against 94.8 %)."""
    return q.element_size() < 4 and not (_rows_vectorise(cos_used) and _rows_vectorise(sin_used))


def rope_triton(q, k, cos, sin, out=None, block_rows=None, num_warps=NUM_WARPS, tensors_per_program=None):
    """(q_rot, k_rot, cos[:S, :D/2], sin[:S, :D/2]) for q, k of shape (B, H, S, D).

    q and k are only read. The results go to `out` = (q_out, k_out), contiguous tensors shaped
    and typed like q, when given, else to fresh tensors. block_rows, num_warps and
    tensors_per_program (1 or 2) override the launch rule.
    """
    if q.ndim != 4 or q.shape != k.shape:
        raise ValueError(f"q and k must both be (B, H, S, D); got {tuple(q.shape)} and {tuple(k.shape)}")
    if q.dtype != k.dtype:
        raise ValueError(f"q and k must have one dtype; got {q.dtype} and {k.dtype}")
    batch, heads, seq_len, head_dim = q.shape
    if head_dim % 2:
        raise ValueError(f"the head dim must be even; got {head_dim}")
    half = head_dim // 2
    if cos.ndim != 2 or sin.ndim != 2 or min(cos.shape[0], sin.shape[0]) < seq_len \
            or min(cos.shape[1], sin.shape[1]) < half:
        raise ValueError(f"cos and sin must be (>= {seq_len}, >= {half}); got {tuple(cos.shape)}, {tuple(sin.shape)}")
    cos_used = cos[:seq_len, :half]
    sin_used = sin[:seq_len, :half]

    # The kernel reads q and k as contiguous rows; a non-contiguous one is copied into a fresh
    # tensor first. Nothing is ever written into the caller's q, k, cos or sin.
    q_in = q if q.is_contiguous() else q.contiguous()
    k_in = k if k.is_contiguous() else k.contiguous()
    if out is None:
        q_out, k_out = torch.empty_like(q_in), torch.empty_like(k_in)
    else:
        q_out, k_out = out
        for t in (q_out, k_out):
            if t.shape != q.shape or t.dtype != q.dtype or not t.is_contiguous():
                raise ValueError("out must hold two contiguous tensors shaped and typed like q")
    n_rows = batch * heads * seq_len
    if n_rows == 0 or half == 0:
        return q_out, k_out, cos_used, sin_used

    block_half, rule_rows = rope_launch_config(n_rows, head_dim, q.element_size(), q.device)
    if tensors_per_program is None:
        # Sharing also halves the programs: only where there are many (decode-sized calls kept
        # one tensor a program: 6.2 against 6.7 us on an H200).
        many = triton.cdiv(n_rows, rule_rows) >= 8 * _multiprocessor_count(q.device)
        tensors_per_program = 2 if many and _cos_sin_loads_dominate(q, cos_used, sin_used) else 1
    if tensors_per_program == 2:
        block_half, rule_rows = rope_launch_config(n_rows, head_dim, q.element_size(), q.device, 2)
    block_rows = rule_rows if block_rows is None else block_rows
    n_tiles = triton.cdiv(n_rows, block_rows)
    rope_kernel[((2 // tensors_per_program) * n_tiles,)](
        q_in, k_in, q_out, k_out, cos_used, sin_used,
        n_rows, seq_len, n_tiles,
        cos_used.stride(0), cos_used.stride(1), sin_used.stride(0), sin_used.stride(1),
        HALF=half, BLOCK_HALF=block_half, BLOCK_D=2 * block_half, BLOCK_ROWS=block_rows,
        TENSORS_PER_PROGRAM=tensors_per_program, num_warps=num_warps,
    )
    return q_out, k_out, cos_used, sin_used


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, q, k, cos, sin):
        return rope_triton(q, k, cos, sin)
