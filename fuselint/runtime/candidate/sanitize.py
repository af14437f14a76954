"""Guarded runs (`fuselint run --sanitize`, on by default in `confirm`).

Writes, on a GPU and under the interpreter: every tensor handed to a Triton launch is moved, for
that launch, into a larger allocation with `GUARD_BYTES` of a known pattern before and after
the bytes it views (tensors that share a storage share one allocation, so aliasing is kept).
After the launch a changed guard byte is an out-of-bounds write, reported with the kernel, the
argument and the element range (negative before the start); then the bytes are copied back to
the caller's tensors.

Reads and writes under the interpreter: every kept lane's address of each `tl.load`,
`tl.store` and `tl.atomic_*` is checked against the allocations of the launch's tensor
arguments before it runs. A lane outside every allocation is reported with its kernel line,
and dropped (its load yields 0, its store is skipped) so that the run goes on instead of
writing through a wild pointer; a lane that lands in a guard is let through, so that the guard
check reports it as well.

Runs in the candidate's process (it needs torch and triton); `parent/memory.py` sets its report
beside the lint's.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field

GUARD_BYTES = 4096
PATTERN = 0xA5
_MAX_REPORTS = 50


@dataclass
class Region:
    """One guarded allocation: the tensors that live in it and where its bytes are."""

    guard_start: int  # address of the first guard byte
    start: int  # address of the first byte the tensors view
    end: int  # one past the last byte they view
    guard_end: int
    names: list  # (argument name, tensor start address, element size, numel)
    buffer: object = None  # the uint8 torch tensor
    original: object = None  # the caller's bytes, a uint8 view
    kernel: str = ""


@dataclass
class Sanitizer:
    violations: list = field(default_factory=list)
    launches: int = 0
    checked_lanes: int = 0
    _regions: list = field(default_factory=list)  # of the launch in flight
    _kernel: str = ""
    _kernel_file: str = ""
    _seen: set = field(default_factory=set)

    # --- guarded arguments -------------------------------------------------------------------
    def _guard(self, torch, names_and_args):
        """Replace every tensor argument by a view into a guarded allocation."""
        groups: dict = {}
        for index, (name, value) in enumerate(names_and_args):
            if isinstance(value, torch.Tensor) and value.numel() > 0 and value.device.type in ("cuda", "cpu"):
                key = (value.device, value.untyped_storage().data_ptr())
                groups.setdefault(key, []).append((index, name, value))
        replaced = list(value for _, value in names_and_args)
        regions = []
        for (device, _), members in groups.items():
            spans = []
            for _, _, t in members:
                first = t.data_ptr()
                last = first + (sum((s - 1) * st for s, st in zip(t.shape, t.stride()) if s > 0) + 1) * t.element_size()
                spans.append((first, last))
            low, high = min(s[0] for s in spans), max(s[1] for s in spans)
            size = high - low
            storage = members[0][2].untyped_storage()
            base = storage.data_ptr()
            original = torch.empty(0, dtype=torch.uint8, device=device).set_(storage, low - base, (size,), (1,))
            buffer = torch.full((GUARD_BYTES + size + GUARD_BYTES,), PATTERN, dtype=torch.uint8, device=device)
            buffer[GUARD_BYTES:GUARD_BYTES + size].copy_(original)
            region = Region(buffer.data_ptr(), buffer.data_ptr() + GUARD_BYTES, buffer.data_ptr() + GUARD_BYTES + size,
                            buffer.data_ptr() + 2 * GUARD_BYTES + size, [], buffer, original, self._kernel)
            for index, name, t in members:
                offset = GUARD_BYTES + t.data_ptr() - low
                itemsize = t.element_size()
                typed = buffer.view(t.dtype) if itemsize == 1 else buffer[: (buffer.numel() // itemsize) * itemsize].view(t.dtype)
                view = typed.as_strided(t.shape, t.stride(), offset // itemsize)
                replaced[index] = view
                region.names.append((name, view.data_ptr(), itemsize, t.numel()))
            regions.append(region)
        return replaced, regions

    def _check_guards(self, torch, regions) -> None:
        changes = []
        for region in regions:
            size = region.end - region.start
            before = torch.nonzero(region.buffer[:GUARD_BYTES] != PATTERN).flatten()
            after = torch.nonzero(region.buffer[GUARD_BYTES + size:] != PATTERN).flatten()
            for changed, side in ((before, "before the start"), (after, "past the end")):
                if changed.numel():
                    changes.append((region, side, int(changed.min()), int(changed.max()), int(changed.numel())))
            region.original.copy_(region.buffer[GUARD_BYTES:GUARD_BYTES + size])
        # on a GPU a long overrun runs through its own guard into the next allocation, which may
        # be another tensor's front guard: say so beside that tensor's report
        overran = [region.names[0][0] for region, side, *_ in changes if side == "past the end"]
        for region, side, lo, hi, count in changes:
            name, start, itemsize, numel = region.names[0]
            if side == "before the start":  # byte offsets from the first tensor's first element
                first_byte, last_byte = region.guard_start + lo - start, region.guard_start + hi - start
            else:
                first_byte, last_byte = region.end + lo - start, region.end + hi - start
            how = "guard bytes changed"
            others = [n for n in overran if n != name]
            if side == "before the start" and others:
                how += f"; or the overrun of `{others[0]}` past its own guard"
            self._report("write", side, region.kernel, name, first_byte // itemsize, last_byte // itemsize, numel,
                         count, how, None)

    # --- lane checks under the interpreter ----------------------------------------------------
    def check_lanes(self, np, kind: str, addresses, mask, itemsize: int):
        """The mask with lanes outside every allocation (guards included) dropped; those
        outside the tensors' bytes are reported."""
        if not self._regions:
            return mask
        addresses = np.asarray(addresses).astype(np.uint64).reshape(-1)
        keep = np.ones(addresses.shape, dtype=bool) if mask is None else np.asarray(mask).astype(bool).reshape(-1).copy()
        live = addresses[keep]
        self.checked_lanes += int(live.size)
        inside = np.zeros(live.shape, dtype=bool)
        home, most = None, -1  # the allocation most lanes fall in: the tensor this access is on
        for region in self._regions:
            here = (live >= region.start) & (live + itemsize <= region.end)
            inside |= here
            if int(here.sum()) > most:
                home, most = region, int(here.sum())
        # only the access's own guards take its stray lanes: a lane in another tensor's guard
        # would be reported against that tensor
        in_guard = (live >= home.guard_start) & (live + itemsize <= home.guard_end)
        bad = ~inside
        if bad.any():
            wild = live[bad]
            region, name, start, size, numel = self._nearest(int(wild.min()))
            first = (int(wild.min()) - start) // size
            last = (int(wild.max()) - start) // size
            side = "before the start" if first < 0 else "past the end"
            self._report("read" if kind == "load" else "write", side, self._kernel, name, first, last, numel,
                         int(bad.sum()), f"tl.{kind}", self._line())
            drop = bad & ~in_guard  # guard lanes go through: the guard check sees the writes
            positions = np.flatnonzero(keep)
            keep[positions[drop]] = False
        return keep.reshape(np.asarray(addresses).shape) if mask is None else keep.reshape(np.asarray(mask).shape)

    def _nearest(self, address: int):
        best = None
        for region in self._regions:
            for name, start, size, numel in region.names:
                end = start + size * numel
                distance = 0 if start <= address < end else min(abs(address - start), abs(address - end))
                if best is None or distance < best[0]:
                    best = (distance, region, name, start, size, numel)
        _, region, name, start, size, numel = best
        return region, name, start, size, numel

    def _line(self) -> int | None:
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == self._kernel_file:
                return frame.f_lineno
            frame = frame.f_back
        return None

    def _report(self, access, side, kernel, name, first, last, numel, count, how, line) -> None:
        key = (access, side, kernel, name, line, how)
        if key in self._seen or len(self.violations) >= _MAX_REPORTS:
            return
        self._seen.add(key)
        self.violations.append({
            "kernel": kernel, "argument": name, "access": access, "side": side, "line": line,
            "elements": [first, last], "numel": numel, "lanes": count, "how": how,
            "detail": f"{kernel}: out-of-bounds {access} of `{name}` {side}: elements {first}..{last} "
                      f"(it has {numel}){f' at line {line}' if line else ''} ({how})",
        })

    # --- the launch hook --------------------------------------------------------------------
    def launch(self, torch, function, run, args, kwargs):
        fn = getattr(function, "fn", None)
        arg_names = list(getattr(function, "arg_names", []) or [])
        names = [arg_names[i] if i < len(arg_names) else f"arg{i}" for i in range(len(args))]
        pairs = list(zip(names, args)) + list(kwargs.items())
        outer = (self._kernel, self._kernel_file, self._regions)
        self._kernel = getattr(fn, "__name__", str(function))
        self._kernel_file = getattr(getattr(fn, "__code__", None), "co_filename", "")
        values, regions = self._guard(torch, pairs)
        new_args = values[: len(args)]
        new_kwargs = dict(zip(kwargs.keys(), values[len(args):]))
        self._regions = regions
        self.launches += 1
        try:
            return run(*new_args, **new_kwargs)
        finally:
            self._regions = outer[2]
            try:
                self._check_guards(torch, regions)
            finally:
                self._kernel, self._kernel_file = outer[0], outer[1]

    def summary(self) -> dict:
        return {"launches": self.launches, "lanes_checked": self.checked_lanes,
                "violations": list(self.violations),
                "status": "fail" if self.violations else "pass"}


@contextlib.contextmanager
def sanitizing(interpreted: bool):
    """Install the launch hook (and, under the interpreter, the lane checks) for the block."""
    import numpy as np
    import torch
    import triton.runtime.jit as jit

    sanitizer = Sanitizer()
    patched = []

    def hook(cls):
        original = cls.run

        def run(self, *args, grid, warmup=False, **kwargs):
            if warmup:
                return original(self, *args, grid=grid, warmup=warmup, **kwargs)
            return sanitizer.launch(torch, self, lambda *a, **k: original(self, *a, grid=grid, warmup=warmup, **k),
                                    args, kwargs)

        cls.run = run
        patched.append((cls, "run", original))

    hook(jit.JITFunction)
    if interpreted:
        import triton.runtime.interpreter as interp

        hook(interp.InterpretedFunction)
        builder = interp.InterpreterBuilder
        load, store = builder.create_masked_load, builder.create_masked_store
        rmw, cas = builder.create_atomic_rmw, builder.create_atomic_cas

        def itemsize(ptrs):
            return np.dtype(interp._get_np_dtype(ptrs.get_element_ty())).itemsize

        def masked(handle, keep):
            return interp.TensorHandle(keep, handle.dtype) if handle is not None else None

        def create_masked_load(self, ptrs, mask, other, cache_policy, is_volatile):
            keep = sanitizer.check_lanes(np, "load", ptrs.data, mask.data, itemsize(ptrs))
            return load(self, ptrs, masked(mask, keep), other, cache_policy, is_volatile)

        def create_masked_store(self, ptrs, value, mask, cache_policy):
            keep = sanitizer.check_lanes(np, "store", ptrs.data, mask.data, itemsize(ptrs))
            return store(self, ptrs, value, masked(mask, keep), cache_policy)

        def create_atomic_rmw(self, op, ptr, val, mask, sem, scope):
            keep = sanitizer.check_lanes(np, "atomic", ptr.data, mask.data, itemsize(ptr))
            return rmw(self, op, ptr, val, masked(mask, keep), sem, scope)

        def create_atomic_cas(self, ptr, cmp, val, sem, scope):
            sanitizer.check_lanes(np, "atomic_cas", ptr.data, None, itemsize(ptr))
            return cas(self, ptr, cmp, val, sem, scope)

        for name, value in (("create_masked_load", create_masked_load), ("create_masked_store", create_masked_store),
                            ("create_atomic_rmw", create_atomic_rmw), ("create_atomic_cas", create_atomic_cas)):
            patched.append((builder, name, getattr(builder, name)))
            setattr(builder, name, value)
    try:
        yield sanitizer
    finally:
        for cls, name, original in reversed(patched):
            setattr(cls, name, original)
