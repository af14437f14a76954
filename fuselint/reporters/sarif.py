"""SARIF 2.1.0, the format GitHub code scanning uploads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

from fuselint import __version__
from fuselint.engine import LintResult
from fuselint.reporters.review import help_footer, house_rule, review_text
from fuselint.rules import all_rules

_HELP_URI = "https://github.com/fuselint/fuselint/blob/main/rules/{module}.py"


def _rule_entry(rule) -> dict:
    module = rule.__module__.rsplit(".", 1)[-1]
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": "; ".join(filter(None, (rule.summary(), house_rule(rule.code))))},
        "help": {"text": rule.docs() + help_footer(rule.code), "markdown": rule.docs() + help_footer(rule.code)},
        "helpUri": _HELP_URI.format(module=module),
        "defaultConfiguration": {"level": "error" if rule.fatal else "warning"},
        "properties": {"tags": ["triton", "fatal" if rule.fatal else "house-rule"]},
    }


def _artifact_location(path: str) -> dict:
    """A URI as SARIF wants it: percent-encoded (a space, `%` or `#` in a path is not a valid
    URI), relative to the source root where the path is relative, a file URI where absolute."""
    location = Path(path)
    if location.is_absolute():
        return {"uri": location.as_uri()}
    return {"uri": quote(location.as_posix(), safe="/"), "uriBaseId": "%SRCROOT%"}


def write(result: LintResult, out: TextIO) -> None:
    rules = all_rules()
    index = {rule.code: i for i, rule in enumerate(rules)}
    results = []
    for f in sorted(result.findings):
        extra = {"properties": {"witness": f.witness.to_dict()}} if f.witness is not None else {}
        results.append({
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": "error" if f.fatal else "warning",
            "message": {"text": review_text(f)},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": _artifact_location(f.path),
                    "region": {"startLine": f.line, "startColumn": f.column,
                               "endLine": f.end_line, "endColumn": f.end_column},
                }
            }],
            **extra,
        })
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "fuselint", "version": __version__,
                                "informationUri": "https://github.com/fuselint/fuselint",
                                "rules": [_rule_entry(rule) for rule in rules]}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
            "results": results,
        }],
    }
    json.dump(document, out, indent=2)
    out.write("\n")
