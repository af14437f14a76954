"""The offsets/mask semantics of fuselint/model/offsets.py and fusion.py, tested once: what
makes two offsets identical, what makes them differ, and what stays unknown."""

from __future__ import annotations

import libcst as cst
import pytest

from fuselint.model.fusion import compare, fused_groups, not_elementwise_loads, product_tile, structured_dots
from fuselint.model.module import ModuleModel
from fuselint.model.offsets import boundary, mask_of, offsets_of

HEADER = "import triton\nimport triton.language as tl\n\n@triton.jit\n"


def kernel_of(body: str, params: str = "x_ptr, y_ptr, out_ptr, n, stride, HALF, BLOCK: tl.constexpr"):
    source = HEADER + f"def k({params}):\n" + "".join(f"    {line}\n" for line in body.strip().splitlines())
    return ModuleModel(cst.parse_module(source)).kernels[0]


def offsets(kernel):
    return [offsets_of(kernel, access) for access in kernel.accesses]


def member(group, index: int):
    """The group member of the kernel's `index`-th load."""
    loads = [m for m in group.members if m.access.kind == "load"]
    return loads[index]


def test_a_second_name_for_the_same_expression_and_operand_order_are_the_same_offsets():
    k = kernel_of("""
pid = tl.program_id(0)
offs = pid * BLOCK + tl.arange(0, BLOCK)
same = (tl.arange(0, BLOCK) + (BLOCK * pid))
a = tl.load(x_ptr + offs)
b = tl.load(same + y_ptr)
tl.store(out_ptr + offs, a + b)
""")
    a, b, out = offsets(k)
    assert a.key == b.key == out.key
    assert (a.base, b.base, out.base) == ("x_ptr", "y_ptr", "out_ptr")


def test_strides_are_taken_out_and_a_shift_is_kept():
    k = kernel_of("""
offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
a = tl.load(x_ptr + offs * stride)
b = tl.load(x_ptr + (offs + HALF) * stride)
tl.store(out_ptr + offs, a + b)
""")
    a, b, out = offsets(k)
    assert a.key == out.key
    group = fused_groups(k)[0]
    difference = compare(k, member(group, 1), group.output, group)
    assert difference is not None and difference.kind == "shift" and "HALF" in difference.text()


def test_a_rebound_pointer_keeps_its_base_parameter():
    k = kernel_of("""
row = tl.program_id(0)
x_ptr = x_ptr + row * stride
x_ptr += 0
cols = tl.arange(0, BLOCK)
tl.store(out_ptr + row * stride + cols, tl.load(x_ptr + cols))
""")
    store, load = offsets(k)  # the store's call is visited before the load inside it
    assert (load.base, store.base) == ("x_ptr", "out_ptr") and load.key == store.key


def test_bindings_in_two_branches_or_carried_by_a_loop_are_not_known():
    k = kernel_of("""
cols = tl.arange(0, BLOCK)
if n > 0:
    p = x_ptr + cols
else:
    p = x_ptr + cols + 1
a = tl.load(p)
q = y_ptr + cols
for i in range(4):
    b = tl.load(q)
    if n > 1:
        q += BLOCK
tl.store(out_ptr + cols, a)
""")
    a, b, _ = offsets(k)
    assert a is None  # a join of two bindings: no single base
    assert b is None or not b.known  # stepped in some iterations only


@pytest.mark.parametrize("loop, step, program", [
    ("range(4)", "BLOCK", "i"),  # q = y_ptr + cols + i * BLOCK
    ("range(2, n)", "BLOCK", "i"),  # + (i - 2) * BLOCK
    ("range(0, n, BLOCK)", "BLOCK * stride", "i"),  # the loop's step divides the pointer's: + i * stride
])
def test_a_pointer_stepped_once_per_iteration_is_its_start_plus_the_steps_before(loop, step, program):
    k = kernel_of(f"""
cols = tl.arange(0, BLOCK)
q = y_ptr + cols
for i in {loop}:
    b = tl.load(q)
    q += {step}
    c = tl.load(q)
""")
    before, after = offsets(k)
    assert before.known and before.base == "y_ptr" and f"('loop', '{program}'" in repr(before.program)
    assert after.known and after.base == "y_ptr"


def test_a_step_that_varies_or_a_continue_keeps_the_pointer_unknown():
    for body in ("    q += i\n", "    if i == 1:\n        continue\n    q += BLOCK\n", "    q += BLOCK // 3\n"):
        k = kernel_of(f"""
cols = tl.arange(0, BLOCK)
q = y_ptr + cols
for i in range(0, n, 2):
    b = tl.load(q)
{body}""")
        (load,) = offsets(k)
        assert load is None or not load.known, body


def test_transposed_index_vectors_differ():
    k = kernel_of("""
rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
a = tl.load(x_ptr + rows[:, None] * stride + cols[None, :])
b = tl.load(y_ptr + rows[None, :] * stride + cols[:, None])
tl.store(out_ptr + rows[:, None] * stride + cols[None, :], a + b)
""")
    group = fused_groups(k)[0]
    assert compare(k, member(group, 0), group.output, group) is None
    assert compare(k, member(group, 1), group.output, group).kind == "tile"


def test_masks_compare_as_sets_of_boundary_conditions():
    k = kernel_of("""
rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
cols = tl.arange(0, BLOCK)
a = tl.load(x_ptr + rows[:, None] * stride + cols[None, :], mask=(rows[:, None] < n) & (cols[None, :] < stride))
b = tl.load(y_ptr + rows[:, None] * stride + cols[None, :], mask=(stride > cols[None, :]) & (n > rows[:, None]))
c = tl.load(y_ptr + rows[:, None] * stride + cols[None, :], mask=(rows[:, None] < n) & (cols[None, :] > rows[:, None]))
tl.store(out_ptr + rows[:, None] * stride + cols[None, :], a + b + c)
""")
    a, b, c, _ = (boundary(k, mask_of(k, access)) for access in k.accesses)
    assert a == b and len(a) == 2
    assert len(c) == 1  # the causal term compares two index vectors: it selects values, not a bound


def test_dot_operands_and_reduction_inputs_are_not_element_wise():
    k = kernel_of("""
rows = tl.arange(0, BLOCK)
a = tl.load(x_ptr + rows[:, None] * BLOCK + rows[None, :])
b = tl.load(y_ptr + rows[:, None] * BLOCK + rows[None, :])
s = tl.sum(tl.load(out_ptr + rows), axis=0)
tl.store(out_ptr + rows[:, None] * BLOCK + rows[None, :], tl.dot(a, b) + s)
""")
    excluded = not_elementwise_loads(k)
    assert [id(access.call) in excluded for access in k.accesses] == [True, True, True, False]


def test_vectors_are_compared_per_axis_whatever_program_terms_start_them():
    """A page of a paged cache read at `t[:, None]` beside the output's `(page * B + t)[:, None]`
    indexes with the same vector; a transposed read moves along axis 0 by axis 1's program term."""
    k = kernel_of("""
page = tl.program_id(0)
block = tl.load(y_ptr + page)
t = tl.arange(0, BLOCK)
cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
rows = page * BLOCK + t
a = tl.load(x_ptr + block * stride + t[:, None] * stride + cols[None, :])
b = tl.load(x_ptr + rows[None, :] * stride + cols[:, None])
c = tl.load(x_ptr + block * stride + t[:, None] * stride + (cols + HALF)[None, :])
tl.store(out_ptr + rows[:, None] * stride + cols[None, :], a + b + c)
""")
    group = fused_groups(k)[0]
    assert compare(k, member(group, 0), group.output, group) is None
    assert compare(k, member(group, 1), group.output, group).kind == "tile"
    shifted = compare(k, member(group, 2), group.output, group)
    assert shifted.kind == "shift" and shifted.text() == "adds `HALF`"


def test_a_stride_chosen_per_program_is_a_stride():
    k = kernel_of("""
pid = tl.program_id(0)
offs = tl.arange(0, BLOCK)
a = tl.load(x_ptr + pid * 64 + offs * tl.where(pid < n, stride, HALF))
tl.store(out_ptr + pid * 64 + offs, a)
""")
    a, out = offsets(k)
    assert a.key == out.key


def test_a_tile_transposed_in_registers_is_compared_where_it_lands():
    k = kernel_of("""
rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
a = tl.load(x_ptr + rows[:, None] * stride + cols[None, :])
b = tl.load(y_ptr + cols[:, None] * stride + rows[None, :])
tl.store(out_ptr + cols[:, None] * n + rows[None, :], tl.permute(a, (1, 0)) + b)
""")
    group = fused_groups(k)[0]
    assert compare(k, member(group, 0), group.output, group) is None
    assert compare(k, member(group, 1), group.output, group) is None


def test_scans_and_recurrences_are_not_matmuls():
    k = kernel_of("""
o = tl.arange(0, BLOCK)
tri = tl.where(o[:, None] >= o[None, :], 1.0, 0.0)
x = tl.load(x_ptr + o[:, None] * BLOCK + o[None, :])
tl.store(out_ptr + o[:, None] * BLOCK + o[None, :], tl.dot(tri, x))
h = tl.zeros((BLOCK, BLOCK), dtype=tl.float32)
for i in range(n):
    tl.store(y_ptr + i * stride + o[:, None] * BLOCK + o[None, :], h)
    v = tl.load(x_ptr + i * stride + o[:, None] * BLOCK + o[None, :])
    h = h * 0.5 + tl.dot(v, v)
acc = tl.zeros((BLOCK, BLOCK), dtype=tl.float32)
for i in range(n):
    acc += tl.dot(x, tl.load(y_ptr + i * stride + o[:, None] * BLOCK + o[None, :]))
tl.store(out_ptr + stride + o[:, None] * BLOCK + o[None, :], acc)
tl.store(out_ptr + 2 * stride + o[:, None] * BLOCK + o[None, :], tl.reshape(acc, (BLOCK, BLOCK)))
""")
    dots = [c for c in k.tl_calls if c.name == "dot"]
    assert [id(d.call) in structured_dots(k) for d in dots] == [True, True, False]
    stores = [a for a in k.accesses if a.kind == "store"]
    assert [product_tile(k, s) for s in stores[-2:]] == [True, False]
