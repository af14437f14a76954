"""Mutation operators: each plants one construct into a kernel that compiles.

An operator adds statements at the top of the kernel body (after its docstring) and, for some,
a definition at module level. Half of them are compile errors Triton's front end raises (from
triton/compiler/code_generator.py, language/semantic.py, language/core.py, runtime/jit.py);
the others are look-alikes that compile, so that a rule flagging a look-alike shows as a false
fatal prediction. The oracle, not the operator, decides what compiles: `intent` is only the
label of the row in the tables.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operator:
    name: str
    intent: str  # "error": meant to be rejected; "look-alike": meant to compile
    body: str  # statements to add at the top of the kernel; `{ptr}` is a pointer parameter
    module: str = ""  # a definition to add before the kernel
    needs_pointer: bool = False
    rewrite: str = ""  # instead of adding lines, change the kernel's own code (see mutants.REWRITES)


OPERATORS = [
    # -- compile errors ------------------------------------------------------------------------
    Operator("global-plain", "error", "_fl_m = _FL_G", module="_FL_G = 2.0"),
    Operator("global-annotated", "error", "_fl_m = _FL_G", module="_FL_G: tl.constexpr = 2.0"),
    Operator("global-tuple", "error", "_fl_m = _FL_G[0]", module="_FL_G = (1, 2)"),
    Operator("list-comprehension", "error", "_fl_m = [_fl_i for _fl_i in range(4)]"),
    Operator("nested-comprehension", "error", "_fl_m = [_fl_i * _fl_j for _fl_i in (1, 2) for _fl_j in (1, 2)]"),
    Operator("lambda", "error", "_fl_m = lambda _fl_v: _fl_v"),
    Operator("try", "error", "try:\n    _fl_m = 1\nexcept Exception:\n    _fl_m = 2"),
    Operator("dict-literal", "error", "_fl_m = {}"),
    Operator("in-compare", "error", "_fl_m = 1 in (1, 2)"),
    Operator("setitem", "error", "_fl_m = tl.zeros((16,), dtype=tl.float32)\n_fl_m[0] = 1.0"),
    Operator("nested-def", "error", "def _fl_f(_fl_v):\n    return _fl_v"),
    Operator("break-in-for", "error", "for _fl_i in range(2):\n    break"),
    Operator("continue-in-while", "error", "_fl_i = 0\nwhile _fl_i < 2:\n    _fl_i += 1\n    continue"),
    Operator("return-in-loop", "error", "for _fl_i in range(2):\n    return"),
    Operator("plain-function-call", "error", "_fl_m = _fl_helper(1)", module="def _fl_helper(v):\n    return v + 1"),
    Operator("unsupported-builtin", "error", "_fl_m = abs(-1)"),
    Operator("undefined-name", "error", "_fl_m = _fl_not_defined(1)"),
    Operator("arange-not-pow2", "error", "_fl_m = tl.arange(0, 48)"),
    Operator("arange-span-not-pow2", "error", "_fl_m = tl.arange(16, 40)"),
    Operator("zeros-not-pow2", "error", "_fl_m = tl.zeros((24,), dtype=tl.float32)"),
    Operator("full-not-pow2", "error", "_fl_m = tl.full((12, 16), 0, tl.float32)"),
    Operator("reshape-not-pow2", "error", "_fl_m = tl.reshape(tl.zeros((32,), dtype=tl.float32), (4, 6))"),
    Operator("reshape-method-not-pow2", "error", "_fl_m = tl.zeros((32,), dtype=tl.float32).reshape(4, 6)"),
    Operator("zeros-too-many-elements", "error", "_fl_m = tl.zeros((2048, 1024), dtype=tl.float32)"),
    Operator("augmented-undefined", "error", "_fl_acc += 1"),
    Operator("dot-k8-fp16", "error", "_fl_m = tl.dot(tl.zeros((16, 8), dtype=tl.float16), tl.zeros((8, 16), dtype=tl.float16))"),
    Operator("dot-1d", "error", "_fl_m = tl.dot(tl.zeros((16,), dtype=tl.float16), tl.zeros((16,), dtype=tl.float16))"),
    Operator("dot-k-mismatch", "error", "_fl_m = tl.dot(tl.zeros((16, 32), dtype=tl.float16), tl.zeros((16, 16), dtype=tl.float16))"),
    Operator("tensor-int-index", "error", "_fl_m = tl.arange(0, 16)[3]"),
    Operator("tensor-loop-index", "error", "for _fl_i in range(4):\n    _fl_m = tl.arange(0, 16)[_fl_i]"),
    Operator("program-id-axis-3", "error", "_fl_m = tl.program_id(3)"),
    Operator("other-without-mask", "error", "_fl_m = tl.load({ptr} + tl.arange(0, 16), other=0.0)", needs_pointer=True),
    Operator("mask-shape-mismatch", "error",
             "_fl_m = tl.load({ptr} + tl.arange(0, 16)[:, None] + tl.arange(0, 16)[None, :], mask=tl.arange(0, 32) < 8)",
             needs_pointer=True),
    Operator("absent-tl-function", "error", "_fl_m = tl.tanh(tl.zeros((16,), dtype=tl.float32))"),
    Operator("raise", "error", "raise ValueError(\"fl\")"),
    Operator("raise-under-tensor-if", "error", "if tl.program_id(0) > 1000000:\n    raise ValueError(\"fl\")"),
    # in place: the kernel's own code changed where it stands (seeds without such code are skipped)
    Operator("own-arange-extent-48", "error", "", rewrite="arange-extent"),
    Operator("own-loop-break", "error", "", rewrite="loop-break"),
    Operator("own-load-mask-none", "error", "", rewrite="load-mask-none"),
    # rejected by one version only (3.6): the oracle of each version decides
    Operator("chained-compare", "error (3.6)", "_fl_m = tl.program_id(0)\nif 0 <= _fl_m < 4:\n    pass"),
    Operator("walrus", "error (3.6)", "if (_fl_m := tl.program_id(0)) > 0:\n    pass"),
    Operator("dot-k8-fp32", "error (3.6)", "_fl_m = tl.dot(tl.zeros((16, 8), dtype=tl.float32), tl.zeros((8, 16), dtype=tl.float32))"),
    # -- look-alikes that compile ----------------------------------------------------------------
    Operator("global-constexpr", "look-alike", "_fl_m = _FL_G", module="_FL_G = tl.constexpr(2.0)"),
    Operator("global-dtype", "look-alike", "_fl_m = tl.zeros((16,), dtype=_FL_D)", module="_FL_D = tl.float16"),
    Operator("global-none", "look-alike", "_fl_m = _FL_N", module="_FL_N = None"),
    Operator("tuple-comprehension", "look-alike", "_fl_m = [_fl_i * 2 for _fl_i in (1, 2, 3)]"),
    Operator("static-range-loop", "look-alike", "for _fl_i in tl.static_range(2):\n    _fl_m = _fl_i"),
    Operator("print", "look-alike", "print(\"fl\", tl.program_id(0))"),
    Operator("program-id-axis-1", "look-alike", "_fl_m = tl.program_id(axis=1)"),
    Operator("arange-pow2", "look-alike", "_fl_m = tl.arange(0, 128)"),
    Operator("arange-span-pow2", "look-alike", "_fl_m = tl.arange(16, 48)"),
    Operator("zeros-pow2", "look-alike", "_fl_m = tl.zeros((32,), dtype=tl.float32)"),
    Operator("reshape-method-pow2", "look-alike", "_fl_m = tl.zeros((32,), dtype=tl.float32).reshape(4, 8)"),
    Operator("augmented-after-assign", "look-alike", "_fl_acc = 0\n_fl_acc += 1"),
    Operator("reshape-pow2", "look-alike", "_fl_m = tl.reshape(tl.zeros((32,), dtype=tl.float32), (4, 8))"),
    Operator("jit-helper-call", "look-alike", "_fl_m = _fl_helper(1)", module="@triton.jit\ndef _fl_helper(v):\n    return v + 1"),
    Operator("supported-builtins", "look-alike", "_fl_m = min(1, 2) + max(3, 4) + len((1, 2)) + int(2.0)"),
    Operator("dot-k16-fp16", "look-alike", "_fl_m = tl.dot(tl.zeros((16, 16), dtype=tl.float16), tl.zeros((16, 16), dtype=tl.float16))"),
    Operator("tensor-none-index", "look-alike", "_fl_m = tl.arange(0, 16)[None, :]"),
    Operator("load-mask-other", "look-alike", "_fl_m = tl.load({ptr} + tl.arange(0, 16), mask=tl.arange(0, 16) < 8, other=0.0)",
             needs_pointer=True),
    Operator("lambda-in-constant-false-branch", "look-alike", "if False:\n    _fl_m = lambda _fl_v: _fl_v"),
    Operator("raise-in-constexpr-dispatch", "look-alike",
             "if tl.constexpr(2) == 1:\n    _fl_m = 1\nelif tl.constexpr(2) == 2:\n    _fl_m = 2\nelse:\n    raise ValueError(\"fl\")"),
    Operator("raise-in-helper-dispatch", "look-alike", "_fl_m = _fl_pick(1.0, 0)",
             module="@triton.jit\ndef _fl_pick(v, MODE):\n    if MODE == 0:\n        r = v\n    else:\n"
                    "        raise ValueError(\"fl\")\n    return r"),
    Operator("raise-under-dtype-test", "look-alike",
             "if {ptr}.dtype.element_ty.primitive_bitwidth > 64:\n    raise ValueError(\"fl\")", needs_pointer=True),
    Operator("libdevice-tanh", "look-alike", "_fl_m = libdevice.tanh(tl.zeros((16,), dtype=tl.float32))",
             module="from triton.language.extra import libdevice"),
]
