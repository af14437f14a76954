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


@dataclass(frozen=True, order=True)
class Witness:
    """Concrete sizes at which a memory-safety finding's access leaves its tensor."""

    sizes: tuple  # ((parameter, value), ...) in the kernel's parameter order
    reach: int  # the index's highest value there (its lowest, for one below zero)
    extent: int | None  # the bound it passes there; None for one below zero
    launched: bool  # the sizes of a launch the module makes, not ones a search chose
    program: tuple | None = None  # the program ids (axis 0, 1, ...) that reach it, where found
    lane: int | None = None  # and the lane of the vector's tl.arange

    def text(self) -> str:
        sizes = ", ".join(f"{name} = {value}" for name, value in self.sizes) or "every size"
        where = "at the module's launch with " if self.launched else "at "
        who = " it" if self.program is None else f", program {', '.join(map(str, self.program))} lane {self.lane}"
        if self.extent is None:
            return f"{where}{sizes}{who} reaches {self.reach}"
        return f"{where}{sizes}{who} reaches {self.reach}, the extent is {self.extent}"

    def to_dict(self) -> dict:
        record = {"sizes": dict(self.sizes), "reach": self.reach, "extent": self.extent, "launched": self.launched}
        if self.program is not None:
            record.update(program=list(self.program), lane=self.lane)
        return record

    @staticmethod
    def from_dict(record: dict) -> "Witness":
        program = record.get("program")
        return Witness(tuple(record["sizes"].items()), record["reach"], record["extent"], record["launched"],
                       tuple(program) if program is not None else None, record.get("lane"))


@dataclass(frozen=True)
class Report:
    """What a rule yields: a node and a message. The engine turns it into a Finding."""

    node: cst.CSTNode
    message: str
    fatal: bool | None = None  # None: the rule's default
    fix: Edit | None = None
    witness: Witness | None = None


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
    witness: Witness | None = None  # FL4xx: sizes at which the access leaves its tensor

    def to_dict(self) -> dict:
        record = asdict(self)
        record["witness"] = None if self.witness is None else self.witness.to_dict()
        return record

    @staticmethod
    def from_dict(record: dict) -> "Finding":
        witness = record.get("witness")
        return Finding(**{**record, "witness": None if witness is None else Witness.from_dict(witness)})


@dataclass(frozen=True)
class InputError:
    """A path that could not be linted at all (missing, not Python, unreadable)."""

    path: str
    message: str
