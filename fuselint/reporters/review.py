"""The one line a reviewer reads on a pull request (GitHub annotations, code scanning): what is
wrong (the rule's message), whether Triton rejects it, and the house rule it breaks, quoted from
the rule's own "Why is this bad?" section so that the two never drift apart."""

from __future__ import annotations

import re
from functools import lru_cache

from fuselint.findings import Finding
from fuselint.rules import rule_by_code

_WHY = re.compile(r"## Why is this bad\?\s+(?P<text>.+?)(?:\n\s*\n|\n## |$)", re.S)
# `House rule: "A" and "B".` or `House output format, item 4: "A".`
_HOUSE = re.compile(r'^(?P<kind>House rule|House output format)(?:, item \d+)?: (?P<quotes>"[^"]+"(?:\s+and\s+"[^"]+")*)')


@lru_cache(maxsize=None)
def house_rule(code: str) -> str | None:
    """`house rule: "..."` for a rule whose documentation quotes the house rule it enforces."""
    rule = rule_by_code(code)
    why = _WHY.search(rule.docs()) if rule is not None else None
    match = _HOUSE.match(" ".join(why.group("text").split())) if why else None
    return f"{match['kind'].lower()}: {match['quotes']}" if match else None


def review_text(finding: Finding) -> str:
    """The finding's message on one line, with `(will not compile)` and the house rule."""
    text = " ".join(finding.message.split())
    if finding.fatal:
        text += " (will not compile)"
    rule = house_rule(finding.code)
    return f"{text}; {rule}" if rule else text


def help_footer(code: str) -> str:
    return (f"\n\n`fuselint rule {code}` prints this page. `# noqa: {code}` at the end of a line silences it "
            f"there; `fuselint check --write-baseline FILE` records the findings a codebase already has, so "
            f"that `--baseline FILE` reports only new ones.")
