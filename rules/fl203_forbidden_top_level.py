from __future__ import annotations

import libcst as cst

from fuselint.model.names import dotted
from fuselint.rule import Rule

_FORBIDDEN_DEFS = {"get_inputs", "get_init_inputs"}
_TEST_MODULES = {"pytest", "unittest"}
_SCRIPT_CALLS = {"print", "main", "unittest.main", "pytest.main", "test", "benchmark"}


def _is_main_guard(node: cst.If) -> bool:
    test = node.test
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    sides = {dotted(test.left), dotted(test.comparisons[0].comparator)}
    strings = {test.left, test.comparisons[0].comparator}
    return "__name__" in sides and any(
        isinstance(s, cst.SimpleString) and s.evaluated_value == "__main__" for s in strings
    )


class ForbiddenTopLevel(Rule):
    """## What it does
    In a KernelBench file, flags what the house output format forbids at the top level:
    `if __name__ == "__main__":`, `def get_inputs` / `def get_init_inputs` (they belong to the
    reference file), and test code — `test_*` functions, `Test*` classes, `pytest`/`unittest`
    imports, top-level `assert`s and script calls such as `print(...)` or `main()`.

    ## Why is this bad?
    House output format: "Do NOT include: testing code, if __name__, get_inputs,
    get_init_inputs". The harness imports the file; top-level test code runs on import, and
    a second `get_inputs` shadows the reference's.

    ## Example
    ```python
    def get_inputs():
        return [torch.randn(4096, device="cuda")]

    if __name__ == "__main__":
        print(ModelNew()(*get_inputs()))
    ```

    ## Use instead
    Keep only imports, kernels, wrappers and `ModelNew`; put inputs and tests in the
    reference file or a test file.
    """

    code, name, kernelbench = "FL203", "forbidden-top-level", True

    def check_module(self, module):
        for statement in module.module.body:
            if isinstance(statement, cst.If) and _is_main_guard(statement):
                yield self.report(statement, '`if __name__ == "__main__":` block (house output format forbids it)')
            elif isinstance(statement, cst.FunctionDef):
                name = statement.name.value
                if name in _FORBIDDEN_DEFS:
                    yield self.report(statement.name, f"`{name}` belongs to the reference file, not the kernel file (house output format forbids it)")
                elif name.startswith("test_"):
                    yield self.report(statement.name, f"test function `{name}` in the kernel file (house output format forbids it)")
            elif isinstance(statement, cst.ClassDef) and statement.name.value.startswith("Test"):
                yield self.report(statement.name, f"test class `{statement.name.value}` in the kernel file (house output format forbids it)")
            elif isinstance(statement, cst.SimpleStatementLine):
                yield from self._simple(statement)

    def _simple(self, line: cst.SimpleStatementLine):
        for small in line.body:
            if isinstance(small, cst.Assert):
                yield self.report(small, "top-level `assert`: test code in the kernel file (house output format forbids it)")
            elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                name = dotted(small.value.func)
                if name in _SCRIPT_CALLS:
                    yield self.report(small, f"top-level call `{name}(...)` runs on import: test code in the kernel file (house output format forbids it)")
            elif isinstance(small, (cst.Import, cst.ImportFrom)):
                names = [dotted(a.name) for a in small.names] if isinstance(small, cst.Import) else [
                    dotted(small.module) if small.module is not None else None
                ]
                if any(n and n.split(".")[0] in _TEST_MODULES for n in names):
                    yield self.report(small, "test framework import in the kernel file (house output format forbids it)")

    VALID = [
        """import torch
import torch.nn as nn
import triton

class ModelNew(nn.Module):
    def forward(self, x):
        return x
""",
        """import torch
import torch.nn as nn

def _check(x):
    assert x.is_cuda
    print(x)

if True:
    BLOCK = 128

class ModelNew(nn.Module):
    pass
""",
        '''"""Module docstring."""
import torch
import torch.nn as nn

torch.backends.cuda.matmul.allow_tf32 = True

class ModelNew(nn.Module):
    pass
''',
    ]
    INVALID = [
        """import torch
import torch.nn as nn

class ModelNew(nn.Module):
    pass

def get_inputs():  # error
    return [torch.randn(16)]

def get_init_inputs():  # error
    return []
""",
        """import torch
import torch.nn as nn

class ModelNew(nn.Module):
    pass

if __name__ == "__main__":  # error
    print(ModelNew())
""",
        """import torch
import torch.nn as nn
import pytest  # error

class ModelNew(nn.Module):
    pass

def test_model():  # error
    assert ModelNew() is not None

assert ModelNew is not None  # error
print(ModelNew())  # error
""",
    ]
