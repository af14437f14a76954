"""The human report: a short table per stage (no torch here)."""

from __future__ import annotations

import os

from .verdict import STAGE_TITLES


def _rel(path: str | None) -> str:
    if not path:
        return "?"
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if not rel.startswith("..") else path


def _table(rows: list[list[str]], indent: str = "  ", left: int = 1) -> list[str]:
    """Columns before ``left`` are left-aligned, the rest (numbers) right-aligned."""
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
            for r in rows]


def _heading(name: str, stage: dict, detail: str = "") -> str:
    title = f"{STAGE_TITLES[name]}{(' ' + detail) if detail else ''}"
    status = stage["status"].upper()
    line = f"{title.ljust(40)} {status}"
    if stage.get("reason"):
        line += f"  {stage['reason']}"
    return line


def render(report: dict) -> str:
    env = report.get("environment", {})
    stages = report["stages"]
    box = report.get("sandbox", {})
    lines = [f"{_rel(report['kernel'])} vs {_rel(report['reference'])}",
             f"device: {env.get('device', '?')} · torch {env.get('torch', '?')} · triton {env.get('triton', '?')}",
             f"seed: {report.get('seed')} (--seed {report.get('seed')} reproduces these inputs)",
             f"sandbox: {box.get('tool', '?')} (network: {box.get('network', '?')}; file system: "
             f"{box.get('file_system', '?')})", ""]
    lines += _compile(stages["compile"])
    lines += _correctness(stages["correctness"])
    lines += _work(stages["work"])
    lines += _speed(stages["speed"])
    lines.append(_heading("integrity", stages["integrity"], "(harness functions left alone)"))
    if "sanitize" in report:
        lines += _sanitize(report["sanitize"])
    lines += ["", verdict_line(report)]
    return "\n".join(lines)


def verdict_line(report: dict) -> str:
    stages = report["stages"]
    verdict = report["verdict"]
    if verdict == "inconclusive":
        why = next((s["reason"] for n, s in stages.items() if n in ("correctness", "work") and s["status"] != "pass"), "")
        return f"verdict: INCONCLUSIVE (correctness not verified: {why})"
    unmeasured = [f"{n}: {s['reason']}" for n, s in stages.items() if s["status"] == "skip"]
    return f"verdict: {verdict.upper()}" + (f" ({'; '.join(unmeasured)})" if unmeasured and verdict == "pass" else "")


def _work(stage: dict) -> list[str]:
    counts = ", ".join(f"{k} x{v}" for k, v in stage.get("kernels", {}).items())
    n = stage.get("count", 0)
    lines = [_heading("work", stage, f"({n} launch{'es' if n != 1 else ''}{': ' + counts if counts else ''})")]
    return lines + [f"  note: {n}" for n in stage.get("notes", [])] + [""]


def _compile(stage: dict) -> list[str]:
    lines = [_heading("compile", stage, f"({stage.get('target', '?')})")]
    rows = [["kernel", "launches", "warps", "stages", "shared B", "regs", "spills", "grid", "status"]]
    for k in stage.get("kernels", []):
        where = f"{k['name']} ({os.path.basename(k['file'])}:{k['line']})"
        variants = k.get("variants") or [{}]
        for i, v in enumerate(variants):
            spills = f"{v['spill_stores']}/{v['spill_loads']}" if "spill_stores" in v else "-"
            rows.append([where if i == 0 else "", str(k["launches"]) if i == 0 else "",
                         str(v.get("num_warps", "-")), str(v.get("num_stages", "-")), str(v.get("shared_bytes", "-")),
                         str(v.get("registers", "-")), spills, "x".join(map(str, v.get("grid", []))) or "-",
                         k["status"] if i == 0 else ""])
        for e in k.get("errors", []):
            rows.append([f"  error: {e['message']} ({os.path.basename(e['file'])}:{e['line']})"] + [""] * 8)
        for e in k.get("launch_errors", []):
            rows.append([f"  launch: {e}"] + [""] * 8)
    if len(rows) > 1:
        lines += _table(rows)
    lines += [f"  note: {n}" for n in stage.get("notes", [])]
    return lines + [""]


def _correctness(stage: dict) -> list[str]:
    detail = f"({stage.get('mode', '?')}, {stage.get('trials', '?')} trials)" if "mode" in stage else ""
    lines = [_heading("correctness", stage, detail)]
    if stage.get("inputs"):
        lines.append("  inputs: " + ", ".join(
            f"{i['dtype']}{i['shape']}" if "shape" in i else i.get("value", "?") for i in stage["inputs"]))
    problems = stage.get("problems", [])
    rows = [["trial", "where", "check", "detail"]]
    for p in problems[:12]:
        where = f"output {p['output']}" if "output" in p else f"input {p['input']}" if "input" in p else ""
        rows.append([str(p.get("trial", "")), where, p["check"], p["detail"]])
    if len(rows) > 1:
        lines += _table(rows, left=4)
    if len(problems) > 12:
        lines.append(f"  ... {len(problems) - 12} more (--json)")
    lines += [f"  note: {n}" for n in stage.get("notes", [])]
    return lines + [""]


_NAMES = {"model_new": "ModelNew", "reference_eager": "reference (eager)", "reference_compiled": "torch.compile(reference)"}


def _speed(stage: dict) -> list[str]:
    lines = [_heading("speed", stage)]
    if stage.get("ms"):
        rows = [["", "ms", "GB/s", "of copy", "ModelNew speedup"]]
        for name, ms in stage["ms"].items():
            speedup = stage.get("speedup", {}).get(f"vs_{name.removeprefix('reference_')}")
            rows.append([_NAMES.get(name, name), f"{ms:.4f}", f"{stage['gbps'][name]:.0f}",
                         f"{100 * stage['fraction_of_copy'][name]:.0f}%", f"{speedup:.2f}x" if speedup else ""])
        lines += _table(rows)
        lines.append(f"  minimal bytes {stage['min_bytes'] / 2**20:.1f} MiB; device copy {stage['copy_gbps']:.0f} GB/s; "
                     f"{stage.get('timing', '')}; timed outputs: {stage.get('timed_outputs', '?')}")
        checks = stage.get("checks", {})
        if checks:
            lines.append(f"  {checks['calls']} calls over {checks['sets']} input sets: first call on a set "
                         f"{checks['first_call_ms']:.4f} ms, later calls {checks['later_calls_ms']:.4f} ms; "
                         f"fuselint's clock {checks['wall_clock_ms']:.4f} ms a call (timer {checks['mean_ms']:.4f})")
    lines += [f"  note: {n}" for n in stage.get("notes", [])]
    return lines + [""]


def _sanitize(section: dict) -> list[str]:
    violations = section.get("violations", [])
    status = section.get("status", "fail" if violations else "pass")
    head = f"sanitize: {status.upper()} ({section.get('launches', 0)} guarded launch(es), {section.get('lanes_checked', 0)} lanes checked)"
    return [head] + [f"  {v['detail']}" for v in violations]
