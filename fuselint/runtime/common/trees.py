"""Small facts about (nested) values of tensors, the same for every party."""

from __future__ import annotations


def leaves(value) -> list:
    """Leaves of a (nested) output, in order."""
    from torch.utils._pytree import tree_flatten

    return tree_flatten(value)[0]


def clone_tree(value):
    import torch
    from torch.utils._pytree import tree_map

    return tree_map(lambda x: x.clone() if isinstance(x, torch.Tensor) else x, value)


def to_device(value, device):
    import torch
    from torch.utils._pytree import tree_map

    return tree_map(lambda x: x.to(device) if isinstance(x, torch.Tensor) else x, value)


def describe_inputs(inputs) -> list[dict]:
    import torch

    return [{"shape": list(x.shape), "dtype": str(x.dtype).removeprefix("torch.")} if isinstance(x, torch.Tensor)
            else {"value": repr(x)[:80]} for x in inputs]


def views_of_inputs(outputs, inputs) -> list:
    """For each output tensor, the index of an input whose storage it shares, else None."""
    import torch

    storages = {x.untyped_storage().data_ptr(): i for i, x in enumerate(inputs) if isinstance(x, torch.Tensor)}
    return [storages.get(y.untyped_storage().data_ptr()) if isinstance(y, torch.Tensor) else None
            for y in leaves(outputs)]


def minimal_bytes(inputs, outputs) -> int:
    """Each input read once, each output written once; an output that shares storage with an
    input (returned as is, or updated in place) is not counted again."""
    import torch

    seen, total = set(), 0
    for x in inputs:
        if isinstance(x, torch.Tensor):
            key = (x.untyped_storage().data_ptr(), x.storage_offset(), tuple(x.shape))
            if key not in seen:
                seen.add(key)
                total += x.numel() * x.element_size()
    input_storages = {x.untyped_storage().data_ptr() for x in inputs if isinstance(x, torch.Tensor)}
    for y in leaves(outputs):
        if isinstance(y, torch.Tensor) and y.untyped_storage().data_ptr() not in input_storages:
            total += y.numel() * y.element_size()
    return total
