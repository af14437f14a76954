from __future__ import annotations

from fuselint.rule import Rule


class SyntaxError_(Rule):
    """## What it does
    Reports a file that does not parse as Python (or is not valid UTF-8), with the line and
    column the parser stopped at. The other files are still linted.

    ## Why is this bad?
    Nothing else can be checked in a file that does not parse, and the harness cannot import
    it: "Code MUST compile and run".

    ## Example
    ```python
    def kernel(x_ptr:
        pass
    ```

    ## Use instead
    ```python
    def kernel(x_ptr):
        pass
    ```
    """

    code, name, fatal = "FL999", "syntax-error", True

    VALID = [
        "import triton\n",
        "x = 1\n",
        "def f(a, b):\n    return a + b\n",
    ]
    INVALID = [
        "import triton\ndef kernel(x_ptr:  # error\n    pass\n",
        "import triton\n\nx = (1 +  # error\n",
        "import triton\nfor i in range(3) print(i)  # error\n",
    ]
