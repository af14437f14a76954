"""Witnesses of the memory-safety findings (fuselint/model/witness.py): concrete sizes at which
the access leaves its tensor, in the message, in JSON and through the cache."""

import json
import textwrap

from fuselint.engine import lint_source
from fuselint.findings import Finding, Witness

COPY = """
import triton
import triton.language as tl

@triton.jit
def copy(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs))

def launch(x, y):
    n = x.numel()
    copy[(triton.cdiv(n, 1024),)](x, y, n, BLOCK=1024)
"""


def findings(source: str, path: str = "kernels.py", prefix: str = "FL4") -> list[Finding]:
    return [f for f in lint_source(textwrap.dedent(source), path) if f.code.startswith(prefix)]


def test_a_tail_access_gets_the_smallest_size_that_shows_it():
    found = findings(COPY)
    assert [f.code for f in found] == ["FL401", "FL401"]
    for f in found:
        # n = 1 element, one program of 1024 lanes: the last lane is at 1023
        assert f.witness == Witness((("n", 1),), 1023, 1, False)
        assert f.message.endswith("witness: at n = 1 it reaches 1023, the extent is 1")


def test_a_test_module_launch_that_breaks_the_bound_is_the_witness():
    source = COPY.replace("def launch(x, y):\n    n = x.numel()", "def test_copy():\n    n = 4000\n    x = y = None")
    found = findings(source, "test_copy.py")
    assert {f.witness for f in found} == {Witness((("n", 4000),), 4095, 4000, True)}
    assert "at the module's launch with n = 4000 it reaches 4095" in found[0].message


def test_below_zero_witness():
    source = """
import triton
import triton.language as tl

@triton.jit
def shift(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    left = tl.load(x_ptr + offs - 1, mask=offs < n)
    tl.store(y_ptr + offs, left, mask=offs < n)
"""
    found = findings(source, prefix="FL405")
    assert len(found) == 1 and found[0].witness is not None
    assert found[0].witness.reach == -1 and found[0].witness.extent is None


def test_a_bound_the_model_cannot_evaluate_says_it_has_no_witness():
    source = """
import triton
import triton.language as tl

@triton.jit
def rows(x_ptr, y_ptr, M, BLOCK_M: tl.constexpr):
    r = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    x = tl.load(x_ptr + r, mask=r < M)
    tl.store(y_ptr + r, x)
"""
    found = findings(source)
    assert found and all(f.witness is None for f in found)
    assert all(f.message.endswith("no witness among the sizes tried") for f in found)


def test_witness_survives_json_and_the_cache_record():
    finding = findings(COPY)[0]
    record = json.loads(json.dumps(finding.to_dict()))
    assert record["witness"] == {"sizes": {"n": 1}, "reach": 1023, "extent": 1, "launched": False}
    assert Finding.from_dict(record) == finding


GROUPED = """
import triton
import triton.language as tl

@triton.jit
def mm_bias(c_ptr, bias_ptr, M, N, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, GROUP: tl.constexpr):
    pid = tl.program_id(0)
    num_pid_m = tl.cdiv(M, BLOCK_M)
    num_pid_n = tl.cdiv(N, BLOCK_N)
    group_id = pid // (GROUP * num_pid_n)
    first_m = group_id * GROUP
    size_m = tl.minimum(num_pid_m - first_m, GROUP)
    pid_m = first_m + pid % size_m
    pid_n = (pid % (GROUP * num_pid_n)) // size_m
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    bias = tl.load(bias_ptr + offs_n)
    tl.store(c_ptr + offs_m[:, None] * N + offs_n[None, :], bias[None, :],
             mask=(offs_m[:, None] < M) & (offs_n[None, :] < N))

def launch(c, bias, M, N):
    mm_bias[(triton.cdiv(M, 64) * triton.cdiv(N, 64),)](c, bias, M, N, BLOCK_M=64, BLOCK_N=64, GROUP=8)
"""


def test_programs_in_grouped_order_get_a_program_and_a_lane_by_evaluating_the_vector():
    (found,) = findings(GROUPED)
    assert found.code == "FL401"
    # the range of pid_n has no bound the model can write; evaluated, program 0 lane 63 of one
    # 64-column block reads column 63 of a bias of N = 1
    sizes = (("M", 1), ("N", 1), ("BLOCK_M", 64), ("BLOCK_N", 64), ("GROUP", 8))
    assert found.witness == Witness(sizes, 63, 1, False, program=(0,), lane=63)
    assert found.message.endswith(
        "witness: at M = 1, N = 1, BLOCK_M = 64, BLOCK_N = 64, GROUP = 8, program 0 lane 63 reaches 63, the extent is 1")
    assert Witness.from_dict(json.loads(json.dumps(found.witness.to_dict()))) == found.witness




def persistent(source: str) -> str:
    """GROUPED with its program's work in a loop over tiles, two programs launched."""
    head, body = source.split("    pid = tl.program_id(0)\n")
    kernel, launch = body.split("\ndef launch")
    loop = "    for pid in range(tl.program_id(0), tl.cdiv(M, BLOCK_M) * tl.cdiv(N, BLOCK_N), 2):\n"
    grid = "[(triton.cdiv(M, 64) * triton.cdiv(N, 64),)]"
    return head + loop + textwrap.indent(kernel, "    ") + "\ndef launch" + launch.replace(grid, "[(2,)]")


def test_a_persistent_loop_is_tried_at_its_iterations_when_evaluating_the_vector():
    (found,) = findings(persistent(GROUPED))
    # the tile is the loop variable: program 0's first tile, last lane, reads column 63 of N = 1
    assert found.witness is not None and found.witness.program == (0,) and found.witness.lane == 63
    assert (found.witness.reach, found.witness.extent) == (63, 1)


def test_a_block_the_launch_computes_from_a_size_is_computed_not_searched():
    source = """
import triton
import triton.language as tl

@triton.jit
def cols(x_ptr, e, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < e) * 2)

def launch(x):
    e = x.shape[-1]
    BLOCK = min(triton.next_power_of_2(e), 32)
    cols[(triton.cdiv(e, BLOCK),)](x, e, BLOCK=BLOCK)
"""
    (found,) = findings(source)
    # e = 1 makes BLOCK 1 (no overrun): the first size that shows one is e = 3, BLOCK = 4
    assert found.witness == Witness((("e", 3), ("BLOCK", 4)), 3, 3, False)
