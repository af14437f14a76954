"""Deciding each stage, and the verdict, from evidence (fuselint's own process).

Evidence is what the reference's process computed (trusted), the bytes the candidate's process
wrote (data, read by `common.wire` and compared by `judge`), and this process's own clock. What
the candidate's process says about itself (launch counts, recorded operators, replaced
functions) is reported, and can only make a run fail, never pass.

Verdict: FAIL when a stage fails; INCONCLUSIVE when correctness (or who did the work) could not
be verified; PASS otherwise. Speed that is not measured (no GPU, --no-speed) is said so.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..common import wire
from ..common.trees import leaves
from . import judge

STAGES = ("compile", "correctness", "work", "speed", "integrity")
STAGE_TITLES = {"compile": "1 compile", "correctness": "2 correctness", "work": "3 who did the work",
                "speed": "4 speed", "integrity": "5 integrity"}
# Errors that come from what Triton's interpreter lacks (libdevice, bf16), when raised inside
# Triton's own code: correctness is then inconclusive, never passed.
INTERPRETER_GAPS = ("_semantic` argument must be provided", "libdevice", "get_bf16", "bfloat16",
                    "mask has unsupported dtype", "extern_elementwise")
# Speed checks: the first call on each input set may be this much slower than later calls
# (a replayed answer is far faster); the in-process timer may say this much less than fuselint's
# clock; a kernel may move bytes this much faster than the device copy (a read-only stream
# beats a copy by some percent).
REPLAY_FACTOR, CLOCK_FACTOR, COPY_FACTOR = 1.5, 1.5, 1.25
CLOCK_SLACK_S, CLOCK_ALLOWANCE_MS = 0.005, 0.02


class Evidence:
    """The files of one run: the inputs given, what the candidate returned, what was expected."""

    def __init__(self, exchange: Path, expected_dir: Path):
        self.exchange, self.expected_dir = exchange, expected_dir

    def input(self, name: str):
        return wire.read(str(self.exchange / "inputs" / f"{name}.bin"))[0]

    def expected(self, name: str):
        return wire.read(str(self.expected_dir / f"{name}.bin"))

    def returned(self, name: str, like: str | None = None):
        """(value, descriptions) the candidate wrote, None when it wrote none; WireError when
        the file is not one `wire.write` makes, or far larger than the expected one."""
        path = self.exchange / "out" / f"{name}.bin"
        if not path.exists() and not path.is_symlink():
            return None
        limit = None
        if like is not None:
            limit = 4 * (self.expected_dir / f"{like}.bin").stat().st_size + (1 << 20)
        return wire.read(str(path), max_bytes=limit)


def decide(report: dict, options, ready: dict, children: dict, exchange: Path, expected_dir: Path) -> None:
    evidence = Evidence(exchange, expected_dir)
    stages = report["stages"]
    run = children.get("run")
    stages["compile"] = compile_stage(children.get("compile"), ready, options)
    stages["correctness"] = correctness_stage(run, ready, options, evidence)
    stages["work"] = work_stage(run, ready, evidence, stages["correctness"])
    stages["speed"] = speed_stage(run, ready, options, evidence, stages["correctness"])
    stages["integrity"] = integrity_stage(children)
    hello = run.reader.last("records") if run else None
    if hello and hello.get("sanitize") is not None and options.sanitize:
        report["sanitize"] = _sanitize_section(hello["sanitize"])
    elif options.sanitize:
        report["sanitize"] = {"status": "skip", "violations": [], "launches": 0,
                              "reason": "the candidate's process did not get to a guarded launch"}
    report["stages"] = {name: stages[name] for name in STAGES}
    report["verdict"] = verdict_of(report)


def verdict_of(report: dict) -> str:
    stages = report["stages"]
    if any(s["status"] == "fail" for s in stages.values()) or report.get("sanitize", {}).get("violations"):
        return "fail"
    if stages["correctness"]["status"] != "pass" or stages["work"]["status"] != "pass":
        return "inconclusive"
    return "pass"


def _failure(child) -> str:
    """Why a process gave no result: its error (with where), else how it died, with the step."""
    error = child.reader.last("error")
    phase = child.phase()
    if error is not None:
        where = f" at {error['where']}" if error.get("where") else ""
        return f"{error.get('message', 'an error')}{where} (during {phase})"
    if child.death:
        return f"{child.death} (during {phase})"
    return f"exited with code {child.proc.returncode} before its result (during {phase})"


def compile_stage(child, ready: dict, options) -> dict:
    result = {"status": "pass", "reason": None, "target": options.target, "kernels": [],
              "notes": list(ready.get("compile_notes", []))}
    if child is None:
        return {**result, "status": "skip", "reason": "not asked for"}
    message = child.reader.last("compile")
    if message is None or not isinstance(message.get("kernels"), list):
        return {**result, "status": "fail", "reason": _failure(child)}
    rows = [r for r in message["kernels"] if isinstance(r, dict) and "name" in r]
    result.update(kernels=rows, reached_via=message.get("reached_via"))
    launched = {r["name"] for r in rows if r.get("status") != "not_reached"}
    error = message.get("forward_error")
    if isinstance(error, dict):
        where = f" at {error['where']}" if error.get("where") else ""
        stop = f"ModelNew's forward raised {error.get('message')}{where}"
        if not launched:
            return {**result, "status": "fail", "reason": f"no kernel reached: {stop}"}
        result["notes"].append(f"{stop} after {sum(r.get('launches', 0) for r in rows)} launches (kernels were not "
                               "run here; later launches may need their results)")
    errors = [r for r in rows if r.get("status") == "error"]
    if errors:
        first = errors[0]
        detail = (first.get("errors") or [{"message": "; ".join(first.get("launch_errors", []))}])[0]
        location = f"{detail.get('file', first.get('file'))}:{detail.get('line', first.get('line'))}"
        result.update(status="fail", reason=f"{first['name']}: {detail.get('message')} ({location})")
    elif not launched:
        result.update(status="skip", reason="no Triton launch in ModelNew's forward")
    return result


def _interpreter_gap(error: dict, ready: dict, child) -> bool:
    """An error raised inside Triton's own code, of a kind the interpreter cannot run."""
    if ready.get("mode") != "interpreter":
        return False
    hello = child.reader.last("hello") or {}
    triton_dir = str(hello.get("triton_dir") or "\0")
    inside_triton = str(error.get("raised_in", "")).startswith(triton_dir)
    text = f"{error.get('message', '')} {' '.join(map(str, error.get('frames', [])))}"
    return inside_triton and any(gap in text for gap in INTERPRETER_GAPS)


def correctness_stage(child, ready: dict, options, evidence: Evidence) -> dict:
    result = {"status": "pass", "reason": None, "mode": ready["mode"], "trials": options.trials,
              "seed": ready["seed"], "inputs": ready.get("inputs", []), "notes": list(ready.get("notes", [])),
              "problems": []}
    if ready.get("sizes", {}).get("variant"):
        result["notes"].append(f"odd trials at other sizes: {ready['sizes']['variant']}")
    if ready.get("inconclusive"):
        return {**result, "status": "inconclusive", "reason": ready["inconclusive"]}
    if child is None:
        return {**result, "status": "skip", "reason": "not asked for"}
    problems = result["problems"]
    for message in child.reader.all("unwritable"):
        problems.append({"check": "output", "detail": f"{message.get('name')}: {message.get('problem')}"})
    read_all = True
    for trial in range(options.trials):
        got = _read(evidence, f"trial_{trial}", f"trial_{trial}", problems, trial)
        if got is None:
            read_all = False
            break
        want, want_header = evidence.expected(f"trial_{trial}")
        problems += _tagged(judge.compare_all(got[0], want) + _devices(got[1], want_header), trial)
        if trial == 0:
            problems += _tagged(_first_trial(evidence, got[0]), 0)
            result["notes"] += _view_notes(child, ready)
    # consistency checks, where every trial was right: a stale or counted answer shows there
    consistent = read_all and not problems
    replay = _read(evidence, "replay", "replay", problems, "replay") if ready.get("replay") and consistent else None
    if replay is not None:
        want, _ = evidence.expected("replay")
        stale = judge.compare_all(replay[0], want)
        if stale:
            problems.append({"trial": "replay", "check": "replay", **{k: v for k, v in stale[0].items() if k == "output"},
                             "detail": f"on the first trial's buffers refilled with {ready['replay']['changed']} other "
                                       f"values, ModelNew returned a stale answer ({stale[0]['check']}: "
                                       f"{stale[0]['detail']})"})
    for trial in sorted({0, options.trials - 1}):
        again = _read(evidence, f"again_{trial}", f"trial_{trial}", problems, f"{trial} again") if consistent else None
        if again is not None:
            want, _ = evidence.expected(f"trial_{trial}")
            late = judge.compare_all(again[0], want)
            if late:
                problems.append({"trial": f"{trial} again", "check": "repeat",
                                 "detail": f"a later call on trial {trial}'s inputs returned another answer than the "
                                           f"first ({late[0]['check']}: {late[0]['detail']})"})
    error = child.reader.last("error")
    if error is not None and _interpreter_gap(error, ready, child) and not problems:
        where = f" at {error['where']}" if error.get("where") else ""
        return {**result, "status": "inconclusive", "reason": f"the Triton interpreter cannot run this kernel "
                f"({error.get('message')}{where}); verify on a GPU"}
    if problems:
        first = judge.first_problem(problems)
        trials = sorted({p["trial"] for p in problems if isinstance(p.get("trial"), int)})
        what = f"output {first['output']} " if "output" in first else f"input {first['input']} " if "input" in first else ""
        result.update(status="fail", reason=f"{first['check']}: {what}{first['detail']}"
                      + (f" (trials failing: {trials})" if trials else ""))
    elif not read_all or child.reader.last("records") is None:
        result.update(status="fail", reason=_failure(child))
    if ready.get("mode") == "interpreter":
        result["notes"].append("ran under the Triton interpreter (numpy on CPU): no bf16, no libdevice, no real memory "
                               "model; races and out-of-bounds reads a GPU would show can pass here")
    records = child.reader.last("records") or {}
    result["notes"] += [str(n) for n in records.get("notes", [])][:10]
    return result


def _tagged(problems: list[dict], trial) -> list[dict]:
    return [{**p, "trial": trial} for p in problems]


def _read(evidence: Evidence, name: str, like: str, problems: list, trial):
    try:
        return evidence.returned(name, like)
    except wire.WireError as error:
        problems.append({"trial": trial, "check": "output", "detail": f"the output file is unreadable: {error}"})
    except (OSError, ValueError) as error:
        problems.append({"trial": trial, "check": "output", "detail": f"the output file is unreadable: {error}"})
    return None


def _devices(got_header: list, want_header: list) -> list[dict]:
    problems = []
    for index, (g, w) in enumerate(zip(got_header, want_header)):
        got_type, want_type = str(g.get("device", "?")).split(":")[0], str(w.get("device", "?")).split(":")[0]
        if got_type != want_type:
            problems.append({"output": index, "check": "device",
                             "detail": f"on {g.get('device')}, the reference's on {w.get('device')}"})
    return problems


def _first_trial(evidence: Evidence, got) -> list[dict]:
    """Unwritten elements (two poisons) and changed inputs, on the first trial."""
    problems = []
    second = evidence.returned("trial_0_poison_1", "trial_0")
    if second is not None and not judge.structure(second[0], got):
        problems += judge.unwritten_elements(leaves(got), leaves(second[0]))
    after = evidence.returned("trial_0_inputs_after", "trial_0_after")
    if after is not None:
        reference_after, _ = evidence.expected("trial_0_after")
        problems += judge.mutation(list(after[0]), list(reference_after), list(evidence.input("trial_0")))
    return problems


def _view_notes(child, ready: dict) -> list[str]:
    wrote = next((m for m in child.reader.all("wrote") if m.get("name") == "trial_0"), None)
    views = wrote.get("views_of_inputs") if wrote else None
    reference = ready.get("outputs", {}).get("views_of_inputs", [])
    notes = []
    for index, source in enumerate(views or []):
        if isinstance(source, int):
            same = index < len(reference) and reference[index] == source
            notes.append(f"output {index} is a view of input {source}" + (
                " (as the reference's is)" if same else ": a later change to that input shows in it (the reference's is not)"))
    return notes


def work_stage(child, ready: dict, evidence: Evidence, correctness: dict) -> dict:
    """Triton ran, torch did not compute, and the outputs need the Triton launches."""
    result = {"status": "pass", "reason": None, "count": 0, "kernels": {}, "computed": {}, "notes": []}
    if child is None or correctness["status"] in ("skip", "inconclusive"):
        return {**result, "status": "skip", "reason": f"correctness was {correctness['status']}"}
    launches = child.reader.last("launches") or {}
    kernels = {str(k): int(v) for k, v in (launches.get("kernels") or {}).items() if isinstance(v, int)}
    result.update(count=sum(kernels.values()), kernels=kernels)
    records = child.reader.last("records")
    if records is None:
        return {**result, "status": "skip", "reason": "ModelNew did not finish its forwards"}
    computed = {str(k): int(v) for k, v in (records.get("computed") or {}).items() if isinstance(v, int)}
    result["computed"] = computed
    reasons = []
    if not result["count"]:
        reasons.append("no Triton kernel ran in ModelNew's forward")
    if computed:
        ops = ", ".join(f"{name} x{n}" for name, n in sorted(computed.items(), key=lambda kv: -kv[1]))
        reasons.append(f"torch computed the output: {ops} ran in ModelNew's forward (operators other than "
                       "allocation, views and copies; --allow-op NAME allows one)")
    knocked = _knocked_out_but_right(evidence, ready)
    if knocked:
        reasons.append(f"with every Triton launch skipped, ModelNew still returned the right {knocked}: computed "
                       "elsewhere (torch in another thread, numpy, a cache, ...)")
    elif knocked is None:
        result["notes"].append("no knock-out result to read")
    if reasons:
        result.update(status="fail", reason="; ".join(reasons))
    return result


def _knocked_out_but_right(evidence: Evidence, ready: dict):
    """Which outputs were right with every launch skipped ("output 0, output 1"), "" when none,
    None when there is no knock-out result. Outputs the reference returns as views of its inputs,
    copies of an input, or constants need no kernel, and are not counted."""
    import torch

    try:
        knocked = evidence.returned("knockout", "trial_0")
    except (wire.WireError, OSError, ValueError):
        return None
    if knocked is None:
        return None
    want, _ = evidence.expected("trial_0")
    if judge.structure(knocked[0], want):
        return ""
    inputs = [x for x in evidence.input("trial_0") if isinstance(x, torch.Tensor)]
    views = ready.get("outputs", {}).get("views_of_inputs", [])
    right = []
    for index, (g, w) in enumerate(zip(leaves(knocked[0]), leaves(want))):
        if not isinstance(w, torch.Tensor) or w.numel() == 0 or judge.compare_output(g, w):
            continue
        needs_no_kernel = (index < len(views) and views[index] is not None) or bool((w == w.reshape(-1)[0]).all()) \
            or any(x.shape == w.shape and x.dtype == w.dtype and torch.equal(x, w) for x in inputs)
        if not needs_no_kernel:
            right.append(f"output {index}")
    return ", ".join(right)


def speed_stage(child, ready: dict, options, evidence: Evidence, correctness: dict) -> dict:
    trusted = ready.get("timing")
    if ready.get("mode") != "gpu":
        return {"status": "skip", "reason": "not measured: no GPU (speed is measured on a GPU only)"}
    if not options.speed:
        return {"status": "skip", "reason": "not measured: --no-speed"}
    if child is None or correctness["status"] != "pass" or not trusted:
        return {"status": "skip", "reason": f"not measured: correctness was {correctness['status']}"}
    result = {"status": "pass", "reason": None, "ms": {}, "gbps": {}, "notes": list(trusted.get("notes", [])),
              "timing": "median device time of calls each after an L2 clear, every stream synchronised; input sets "
                        "rotated", "min_bytes": trusted["min_bytes"], "copy_gbps": trusted["copy_gbps"]}
    start, end = child.reader.last("timing-start"), child.reader.last("timing-end")
    sets = trusted["sets"]
    times = end.get("ms") if end else None
    if not (start and end and isinstance(times, list) and len(times) >= 2 * sets
            and all(isinstance(t, (int, float)) and math.isfinite(t) and t >= 0 for t in times)):
        return {**result, "status": "fail", "reason": f"no timed calls to read: {_failure(child)}"}
    from ..common.timing import median

    net = [max(t - trusted["event_delay_ms"], 1e-6) for t in times]
    model_ms = median(net)
    result["ms"] = {"model_new": model_ms, **trusted["reference_ms"]}
    fresh, repeat = median(net[:sets]), median(net[sets:])
    wall = end["received"] - start["received"]
    implied = ((wall - trusted["kept_s"] - CLOCK_SLACK_S) / len(net) - trusted["iteration_s"]) * 1e3
    mean = sum(net) / len(net)
    result["checks"] = {"calls": len(net), "sets": sets, "first_call_ms": fresh, "later_calls_ms": repeat,
                        "mean_ms": mean, "wall_clock_ms": max(implied, 0.0)}
    for name, ms in result["ms"].items():
        result["gbps"][name] = trusted["min_bytes"] / ms / 1e6
    result["fraction_of_copy"] = {name: g / trusted["copy_gbps"] for name, g in result["gbps"].items()}
    result["speedup"] = {f"vs_{name.removeprefix('reference_')}": ms / model_ms
                         for name, ms in result["ms"].items() if name != "model_new"}
    reasons = []
    if fresh > REPLAY_FACTOR * repeat + 0.01:
        reasons.append(f"replay: the first call on each input set took {fresh:.4f} ms, later calls on the same inputs "
                       f"{repeat:.4f} ms ({fresh / repeat:.1f}x faster: answers reused, not computed?)")
    if implied > CLOCK_FACTOR * mean + CLOCK_ALLOWANCE_MS:
        reasons.append(f"timing disagrees with fuselint's clock: the in-process timer says {mean:.4f} ms a call, "
                       f"fuselint's clock at least {implied:.4f} ms (a patched timer, or work outside the timed calls)")
    if result["gbps"]["model_new"] > COPY_FACTOR * trusted["copy_gbps"]:
        reasons.append(f"impossible speed: {result['gbps']['model_new']:.0f} GB/s, "
                       f"{result['fraction_of_copy']['model_new']:.1f}x the device copy measured in this run")
    timed = _timed_outputs(evidence, sets, correctness)
    result["timed_outputs"] = timed
    if timed not in ("match the reference",) and not timed.startswith("not comparable"):
        reasons.append(f"output of a timed call: {timed}")
    floor = options.min_speedup
    if floor is not None and result["speedup"]["vs_eager"] < floor:
        reasons.append(f"speedup over eager {result['speedup']['vs_eager']:.2f}x < --min-speedup {floor}")
    if reasons:
        result.update(status="fail", reason="; ".join(reasons))
    return result


def _timed_outputs(evidence: Evidence, sets: int, correctness: dict) -> str:
    if any(p["check"] == "mutation" for p in correctness.get("problems", [])):
        return "not comparable: ModelNew changes its inputs, so each timed call saw other inputs"
    for k in range(sets):
        want, _ = evidence.expected(f"timing_{k}")
        for which in ("first", "last"):
            try:
                got = evidence.returned(f"timing_{k}_{which}", f"timing_{k}")
            except (wire.WireError, OSError, ValueError) as error:
                return f"set {k}, {which} call: unreadable ({error})"
            if got is None:
                return f"set {k}, {which} call: not written"
            problems = judge.compare_all(got[0], want)
            if problems:
                return f"set {k}, {which} call: {problems[0]['check']}: {problems[0]['detail']}"
    return "match the reference"


def integrity_stage(children: dict) -> dict:
    """What the candidate's processes show of tampering: replaced harness functions, messages
    that are not ours."""
    if not children:
        return {"status": "skip", "reason": "no candidate process ran", "replaced": []}
    replaced, unreadable = [], 0
    for child in children.values():
        for message in child.reader.all("tampered"):
            replaced += [str(name) for name in message.get("replaced", []) if str(name) not in replaced]
        unreadable += len(child.reader.all("unreadable"))
    reasons = []
    if replaced:
        reasons.append(f"ModelNew's code replaced {', '.join(replaced[:8])}{' ...' if len(replaced) > 8 else ''}")
    if unreadable:
        reasons.append(f"the candidate's process wrote {unreadable} message(s) that are not fuselint's")
    return {"status": "fail" if reasons else "pass", "reason": "; ".join(reasons) or None, "replaced": replaced}


def _sanitize_section(section) -> dict:
    if not isinstance(section, dict):
        return {"status": "skip", "violations": [], "launches": 0, "reason": "no guarded launch"}
    violations = [v for v in section.get("violations", []) if isinstance(v, dict)]
    return {**section, "violations": violations, "status": "fail" if violations else section.get("status", "pass")}
