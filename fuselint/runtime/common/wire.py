"""Tensors between processes as plain bytes: a format that cannot run code.

A file is a magic line, an 8-byte header length, a JSON header and the tensors' bytes. The
header holds the Python structure of the value (tensors, lists, tuples, dicts with string keys,
numbers, strings, None) and, for each tensor, its dtype, shape, strides, storage offset,
device, the byte range of its (contiguous) data, and which storage it views, so that a reader
can see aliasing without trusting anything but the header's arithmetic.

Nothing is unpickled: `read` rebuilds tensors with ``torch.frombuffer`` from byte ranges it
has checked against the file, and refuses a header it cannot make sense of (`WireError`). The
writer runs in the reference's and the candidate's processes; the reader in fuselint's own.
"""

from __future__ import annotations

import json
import os
import struct

MAGIC = b"fuselint-tensors/1\n"
MAX_HEADER_BYTES = 16 << 20
SCALARS = (bool, int, float, str, type(None))


class WireError(ValueError):
    """A file that is not what `write` makes."""


def write(path: str, value, limit_bytes: int | None = None) -> None:
    """Write value (tensors in any nesting of lists, tuples and str-keyed dicts) to path.

    Every tensor must be a plain ``torch.Tensor``: a subclass is refused (its methods are code
    that would run here, and could compute on demand). Its bytes are read from the storage under
    ``DisableTorchFunctionSubclass``, contiguous, on the host."""
    import torch

    tensors: list = []

    def node(v):
        if type(v) is torch.Tensor or type(v) is torch.nn.Parameter:
            tensors.append(v)
            return {"tensor": len(tensors) - 1}
        if isinstance(v, torch.Tensor):
            raise TypeError(f"a {type(v).__module__}.{type(v).__qualname__}, a subclass of torch.Tensor (plain tensors only)")
        if isinstance(v, (list, tuple)):
            return {type(v).__name__ if type(v) in (list, tuple) else "tuple": [node(x) for x in v]}
        if isinstance(v, dict):
            if not all(isinstance(k, str) for k in v):
                raise TypeError("a dict with keys other than strings")
            return {"dict": [[k, node(x)] for k, x in v.items()]}
        if isinstance(v, SCALARS):
            return {"scalar": v} if not isinstance(v, float) or v == v and abs(v) != float("inf") else {"float": repr(v)}
        raise TypeError(f"a {type(v).__module__}.{type(v).__qualname__} (tensors, lists, tuples, dicts and numbers only)")

    tree = node(value)
    entries, blobs, offset = [], [], 0
    storages: dict = {}
    with torch._C.DisableTorchFunctionSubclass():
        for t in tensors:
            t = t.detach()
            data = t.contiguous().reshape(-1).view(torch.uint8).cpu() if t.numel() else torch.empty(0, dtype=torch.uint8)
            storage = t.untyped_storage()
            key = (str(t.device), storage.data_ptr())
            entries.append({"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape), "stride": list(t.stride()),
                            "storage_offset": t.storage_offset(), "device": str(t.device),
                            "storage": storages.setdefault(key, len(storages)), "storage_bytes": storage.nbytes(),
                            "data_ptr": t.data_ptr(), "offset": offset, "nbytes": data.numel()})
            blobs.append(data)
            offset += data.numel()
    header = json.dumps({"tree": tree, "tensors": entries}).encode()
    if limit_bytes is not None and offset + len(header) > limit_bytes:
        raise ValueError(f"{offset + len(header)} bytes, more than the {limit_bytes} allowed")
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<Q", len(header)) + header)
        for data in blobs:
            f.write(memoryview(data.numpy()))
    os.replace(tmp, path)


def read(path: str, max_bytes: int | None = None):
    """(value, descriptions): the value `write` wrote, and per tensor its header entry.

    Raises WireError on anything else. Only ``torch.frombuffer`` over checked byte ranges makes
    tensors; dtypes must be torch dtypes by name."""
    import stat

    import torch

    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        raise WireError("not a regular file")
    size = info.st_size
    if max_bytes is not None and size > max_bytes:
        raise WireError(f"{size} bytes, more than the {max_bytes} expected")
    with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise WireError("not a fuselint tensor file")
        (length,) = struct.unpack("<Q", f.read(8) or b"\0" * 8)
        if length > MAX_HEADER_BYTES:
            raise WireError(f"a header of {length} bytes")
        try:
            header = json.loads(f.read(length))
        except ValueError as error:
            raise WireError(f"an unreadable header: {error}") from None
        blob = bytearray(f.read(size))
    if not isinstance(header, dict) or not isinstance(header.get("tensors"), list):
        raise WireError("a header without its tensor list")
    tensors = [_tensor(torch, blob, entry, i) for i, entry in enumerate(header["tensors"])]
    return _value(header.get("tree"), tensors), header["tensors"]


def _tensor(torch, blob: bytearray, entry, index: int):
    if not isinstance(entry, dict):
        raise WireError(f"tensor {index}: not an entry")
    dtype = getattr(torch, str(entry.get("dtype")), None)
    shape, offset, nbytes = entry.get("shape"), entry.get("offset"), entry.get("nbytes")
    if not isinstance(dtype, torch.dtype):
        raise WireError(f"tensor {index}: dtype {entry.get('dtype')!r} is no torch dtype")
    if not (isinstance(shape, list) and all(type(s) is int and s >= 0 for s in shape)):
        raise WireError(f"tensor {index}: shape {shape!r}")
    numel = 1
    for s in shape:
        numel *= s
    itemsize = torch.empty((), dtype=dtype).element_size()
    if not (type(offset) is int and type(nbytes) is int and nbytes == numel * itemsize and 0 <= offset
            and offset + nbytes <= len(blob)):
        raise WireError(f"tensor {index}: {nbytes!r} bytes at {offset!r} for {numel} elements of {dtype}")
    if numel == 0:
        return torch.empty(shape, dtype=dtype)
    data = torch.frombuffer(blob, dtype=torch.uint8, count=nbytes, offset=offset)
    return data.view(dtype).reshape(shape)


def _value(node, tensors):
    if not isinstance(node, dict) or len(node) != 1:
        raise WireError(f"a structure node {str(node)[:60]!r}")
    (kind, body), = node.items()
    if kind == "tensor":
        if type(body) is not int or not 0 <= body < len(tensors):
            raise WireError(f"tensor reference {body!r}")
        return tensors[body]
    if kind in ("list", "tuple") and isinstance(body, list):
        items = [_value(x, tensors) for x in body]
        return items if kind == "list" else tuple(items)
    if kind == "dict" and isinstance(body, list):
        return {str(k): _value(v, tensors) for k, v in body}
    if kind == "scalar" and isinstance(body, SCALARS):
        return body
    if kind == "float" and body in ("nan", "inf", "-inf"):
        return float(body)
    raise WireError(f"a structure node of kind {kind!r}")


def describe(value) -> str:
    """A short name of a value's structure: 'tensor', 'list of 1 tensor', 'tuple of 4'."""
    import torch

    if isinstance(value, torch.Tensor):
        return "tensor"
    if isinstance(value, (list, tuple)):
        inner = {describe(v) for v in value}
        what = f" {inner.pop()}" if len(inner) == 1 and len(value) == 1 else ""
        return f"{type(value).__name__} of {len(value)}{what}"
    return type(value).__name__
