"""Facts computed once per kernel or module and kept on it, so that every rule asking for them
after the first pays nothing."""

from __future__ import annotations

import functools
from typing import Callable, TypeVar

T = TypeVar("T")


def once_per_owner(compute: Callable[[object], T]) -> Callable[[object], T]:
    """`compute(owner)`, run on the first call for each owner (a Kernel or a ModuleModel) and
    stored in the owner's `__dict__`."""
    key = f"_memo_{compute.__module__}.{compute.__qualname__}"

    @functools.wraps(compute)
    def cached(owner):
        store = owner.__dict__
        if key not in store:
            store[key] = compute(owner)
        return store[key]

    return cached
