"""The guarded run's out-of-bounds reports beside the lint's FL4xx findings (`fuselint confirm`)."""

from __future__ import annotations

import os


def memory_agreement(lint_findings: list[dict], section: dict | None, kernel_path: str) -> dict:
    """Per access (per line of the kernel file), the static FL4xx verdict beside the guarded
    run's: a flagged line the run shows out of bounds is a confirmed bug; a flagged line the run
    shows clean was not reached by these sizes (or is a false alarm); a line only the run shows
    is a miss of the static rules."""
    static = {f["line"]: f["code"] for f in lint_findings
              if f["code"].startswith("FL4") and os.path.realpath(f["path"]) == os.path.realpath(kernel_path)}
    dynamic: dict = {}
    for v in (section or {}).get("violations", []):
        if v.get("line") is not None:
            dynamic.setdefault(v["line"], v["detail"])
    rows = []
    for line in sorted(set(static) | set(dynamic)):
        if line in static and line in dynamic:
            verdict = "confirmed"
        elif line in static:
            verdict = "flagged, not shown by this run"
        else:
            verdict = "shown only by the run (a static miss)"
        rows.append({"line": line, "static": static.get(line), "dynamic": dynamic.get(line), "verdict": verdict})
    unlocated = [v["detail"] for v in (section or {}).get("violations", []) if v.get("line") is None]
    return {"rows": rows, "guard_only": unlocated}
