"""The base of every rule. A rule is a few lines of judgement on the model; it never prints,
never walks the tree itself, and carries its own docs and VALID/INVALID examples."""

from __future__ import annotations

import inspect
import re
from typing import ClassVar, Iterable

import libcst as cst

from fuselint.findings import Edit, Report, Witness
from fuselint.model.kernel import Kernel
from fuselint.model.module import ModuleModel

DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead")


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    fatal: ClassVar[bool] = False  # does a finding predict that Triton's compiler rejects the kernel?
    kernelbench: ClassVar[bool] = False  # on only for KernelBench files (defining ModelNew) unless selected
    opt_in: ClassVar[bool] = False  # on only when selected by its exact code or name
    fix: ClassVar[str] = ""  # "sometimes" when some of its findings come with a certain fix (`--fix`)
    # Examples the test suite turns into tests. In INVALID ones, lines ending in `# error`
    # are exactly the lines the rule must report.
    VALID: ClassVar[list[str]] = []
    INVALID: ClassVar[list[str]] = []

    def __init__(self, settings=None) -> None:
        self.settings = settings

    def check_module(self, module: ModuleModel) -> Iterable[Report]:
        """Module-wide judgement; by default, each kernel in turn."""
        for kernel in module.kernels:
            yield from self.check_kernel(kernel)

    def check_kernel(self, kernel: Kernel) -> Iterable[Report]:
        return ()

    def report(self, node: cst.CSTNode, message: str, fatal: bool | None = None, fix: Edit | None = None,
               witness: Witness | None = None) -> Report:
        return Report(node, message, fatal, fix, witness)

    @classmethod
    def docs(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        """The first sentence of "What it does"."""
        match = re.search(r"## What it does\s+(.+?)(?:\n\n|$)", cls.docs(), re.S)
        text = " ".join((match.group(1) if match else cls.docs()).split())
        return text.split(". ")[0].rstrip(".")
