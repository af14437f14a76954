"""The rules: one module per rule, named after its code (fl003_block_not_power_of_two.py)."""

from __future__ import annotations

import importlib
import pkgutil

from fuselint.rule import Rule


def all_rules() -> list[type[Rule]]:
    """Every rule class, ordered by code."""
    found: dict[str, type[Rule]] = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("fl"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value is not Rule and value.__module__ == module.__name__:
                found[value.code] = value
    return [found[code] for code in sorted(found)]


def rule_by_code(code: str) -> type[Rule] | None:
    code = code.upper()
    return next((rule for rule in all_rules() if rule.code == code or rule.name == code.lower()), None)
