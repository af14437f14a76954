"""Block pointers: `tl.make_block_ptr(base, shape, strides, offsets, block_shape, order)`, moved
by `tl.advance` (or `.advance`), read and written with `boundary_check=(axes)`.

A load or store through a block pointer touches, on each axis `d`, the elements
`offsets[d] + tl.arange(0, block_shape[d])` (plus every advance): Triton keeps them below
`shape[d]` on the axes named in `boundary_check` and nowhere else. So each axis is an index
vector with a stated extent, the declared shape, checked like any other (ranges.py); whether
the declared shape fits the tensor is the host's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from fuselint.model.offsets import Key, canon_of

if TYPE_CHECKING:
    from fuselint.model.kernel import Access, Kernel

_PARAMS = ("base", "shape", "strides", "offsets", "block_shape", "order")


@dataclass(frozen=True)
class BlockPointer:
    shape: tuple[Key, ...]
    offsets: tuple[Key, ...]  # each axis's first element, advances included
    block: tuple[Key, ...]


def block_pointer_of(kernel: "Kernel", access: "Access") -> BlockPointer | None:
    """The block pointer an access reads or writes through; None when its pointer is not one
    the model can follow to its `make_block_ptr`."""
    return _resolve(canon_of(kernel), canon_of(kernel).key(access.pointer), 0)


def _resolve(canon, key: Key, depth: int) -> BlockPointer | None:
    if depth > 16:
        return None
    kind = key[0]
    if kind == "call" and key[1] == "make_block_ptr":
        args = dict(zip(_PARAMS, key[2]))
        args.update(dict(key[3]))
        parts = [_items(args.get(name)) for name in ("shape", "offsets", "block_shape")]
        if any(p is None for p in parts) or len({len(p) for p in parts}) != 1:
            return None
        return BlockPointer(*parts)
    if kind == "call" and key[1] == "advance" and len(key[2]) == 2:
        return _moved(canon, _resolve(canon, key[2][0], depth + 1), _items(key[2][1]))
    if kind == "method" and key[1] == "advance" and len(key[3]) == 1:
        return _moved(canon, _resolve(canon, key[2], depth + 1), _items(key[3][0]))
    if kind == "advanced":  # stepped once per loop iteration (offsets.Canon._induction)
        return _moved(canon, _resolve(canon, key[1], depth + 1), key[2])
    return None


def _items(key: Key | None) -> tuple[Key, ...] | None:
    return tuple(key[1:]) if key is not None and key[0] == "tuple" else None


def _moved(canon, pointer: BlockPointer | None, deltas) -> BlockPointer | None:
    if pointer is None or deltas is None or len(deltas) != len(pointer.offsets):
        return None
    offsets = tuple(canon._combine("Add", o, d) for o, d in zip(pointer.offsets, deltas))
    return BlockPointer(pointer.shape, offsets, pointer.block)


def checked_axes(access: "Access") -> frozenset[int] | None:
    """The axes an access's `boundary_check` names (none when it has none); None when they
    cannot be read (a conditional tuple, a name)."""
    positional = [a for a in access.call.args if a.keyword is None]
    if len(positional) > (1 if access.kind == "load" else 2) or access.mask is not None:
        return None  # mask/other/boundary_check by position, or a mask Triton rejects here: not read
    given = next((a.value for a in access.call.args if a.keyword is not None and a.keyword.value == "boundary_check"), None)
    if given is None:
        return frozenset()
    if isinstance(given, cst.Integer):
        return frozenset({given.evaluated_value})
    if isinstance(given, (cst.Tuple, cst.List)) and all(isinstance(e.value, cst.Integer) for e in given.elements):
        return frozenset(e.value.evaluated_value for e in given.elements)
    return None


def axis_vectors(kernel: "Kernel", pointer: BlockPointer) -> list[tuple[int, Key, Key]]:
    """(axis, index vector, declared size) for each axis of a block pointer."""
    canon = canon_of(kernel)
    return [(axis, canon._combine("Add", offset, ("arange", ("const", 0), block)), size)
            for axis, (offset, block, size) in enumerate(zip(pointer.offsets, pointer.block, pointer.shape))]
