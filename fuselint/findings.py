"""The records every layer shares: what a rule reports and what the engine hands to reporters."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import libcst as cst


@dataclass(frozen=True)
class Edit:
    """A fix: replace `old` (a node of the parsed module) by `new`. A safe fix keeps what the
    code means; an unsafe one may change it (as Ruff's: applied only under --unsafe-fixes)."""

    old: cst.CSTNode
    new: cst.CSTNode
    safe: bool = True


@dataclass(frozen=True)
class Report:
    """What a rule yields: a node and a message. The engine turns it into a Finding."""

    node: cst.CSTNode
    message: str
    fatal: bool | None = None  # None: the rule's default
    fix: Edit | None = None


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    column: int  # 1-based, as editors and Ruff show it
    code: str
    name: str
    message: str
    end_line: int
    end_column: int
    fatal: bool = False
    fix: str | None = None  # "safe" or "unsafe" when a fix is offered (--fix, --unsafe-fixes)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class InputError:
    """A path that could not be linted at all (missing, not Python, unreadable)."""

    path: str
    message: str
