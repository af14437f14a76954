"""`fuselint run` and `fuselint confirm` (fuselint's own process).

Imports nothing heavy at module level: registering these subcommands costs ``fuselint check``
nothing; torch is imported when a run starts (fuselint's judge compares with it), triton only in
the processes it starts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3
EXIT_OF = {"pass": EXIT_PASS, "fail": EXIT_FAIL, "inconclusive": EXIT_INCONCLUSIVE}


def register(subparsers) -> None:
    """Add the `run` and `confirm` subcommands to fuselint's argparse subparsers."""
    run = subparsers.add_parser(
        "run", help="compile, check and time a KernelBench candidate against its reference",
        description="Stages: 1 compile for the target GPU (no GPU needed), 2 correctness (GPU, else the "
                    "Triton interpreter), 3 who did the work (Triton, not torch), 4 speed (GPU only), 5 integrity. "
                    "Exit 0 PASS, 1 FAIL, 2 usage or environment error (a broken reference), 3 INCONCLUSIVE "
                    "(correctness could not be verified).")
    _add_common(run)
    run.add_argument("--batch", metavar="DIR", help="check every *.py in DIR (not _*.py: helpers): one JSON line per "
                     "candidate on stdout and in the results file, progress on stderr (docs/runtime.md, Batch)")
    run.add_argument("--gpus", default="all", metavar="all|N|0,2,5", help="with --batch: the GPUs to use, one candidate "
                     "per GPU at a time (default all; 0: none, the interpreter on the CPU workers)")
    run.add_argument("--jobs", type=int, default=None, metavar="N", help="with --batch: CPU workers (the compile stage; "
                     "the interpreter's stages too where no GPU is used); default one per GPU, at least 1")
    run.add_argument("--ray", metavar="auto|ADDRESS", help="with --batch: run the stages as tasks of a Ray cluster "
                     "(auto: RAY_ADDRESS, or the cluster on this machine, else a new local one); pip install 'fuselint[ray]'")
    run.add_argument("--results", metavar="FILE", help="with --batch: the append-only JSONL of results, read first to "
                     "skip candidates already done (default ./fuselint-results.jsonl)")
    run.add_argument("--no-resume", action="store_true", help="with --batch: run every candidate again (records are appended)")
    run.set_defaults(func=run_command)

    report = subparsers.add_parser(
        "report", help="summarise a batch's results file (a table; a chart of the speeds with --plot)",
        description="Reads the JSONL that `fuselint run --batch` writes: the verdicts, each candidate's row, the "
                    "slowest, and the speed distribution (--plot FILE.png, with matplotlib). Exit 2 when the file "
                    "cannot be read.")
    report.add_argument("results", help="a results file (fuselint-results.jsonl)")
    report.add_argument("--plot", metavar="PNG", help="also draw the speedups over eager as a histogram into PNG")
    report.set_defaults(func=report_command)

    confirm = subparsers.add_parser(
        "confirm", help="lint a kernel, run it, and say whether the lint and the results agree",
        description="`fuselint check` on KERNEL, then `fuselint run`. Exit 0 when the lint has no fatal "
                    "finding and the run passes, 1 when either fails, 2 on a usage or environment error, 3 when "
                    "the run is inconclusive.")
    _add_common(confirm)
    confirm.set_defaults(func=confirm_command)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kernel", nargs="?", help="file defining ModelNew (KernelBench convention)")
    parser.add_argument("--reference", required=True, metavar="REF.py", help="file defining Model, get_inputs(), get_init_inputs()")
    parser.add_argument("--target", default="sm_89", help="GPU to compile for: sm_80, sm_89 (default, RTX 4090), sm_90, ...")
    parser.add_argument("--trials", type=int, default=5, help="correctness trials, other values each, odd ones at other sizes (default 5)")
    parser.add_argument("--seed", type=int, default=None, help="the run's seed (default: a fresh one from the OS, printed)")
    parser.add_argument("--dtype", choices=("float32", "float64"), help="run both sides with floating inputs and weights "
                        "in this dtype (for a bf16 reference on a machine without a GPU)")
    parser.add_argument("--allow-op", action="append", default=[], metavar="NAME",
                        help="a torch operator (aten name, e.g. arange) ModelNew's forward may run besides allocation, views and copies")
    parser.add_argument("--sandbox", choices=("auto", "bwrap", "unshare", "none"), default="auto",
                        help="how the candidate's processes are confined (default: the best that works here)")
    parser.add_argument("--memory-limit", type=float, metavar="GIB", help="address space of the candidate's process "
                        "without a GPU (default: half the machine's memory)")
    parser.add_argument("--file-size-limit", type=float, metavar="MIB", help="largest file the candidate may write (default 4 GiB)")
    parser.add_argument("--pass-env", action="append", default=[], metavar="NAME",
                        help="an environment variable the candidate's process may see (besides the allowed few)")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="S", help="seconds per child process before it is killed (default 600)")
    parser.add_argument("--device", choices=("auto", "gpu", "interpreter"), default="auto",
                        help="where correctness runs: auto (GPU if present, else the interpreter)")
    parser.add_argument("--dims", action="append", default=[], metavar="NAME=INT",
                        help="set a size variable of the reference (batch_size=2); repeatable, or comma-separated")
    parser.add_argument("--max-elements", type=int, default=1 << 17, metavar="N",
                        help="under the interpreter, halve size variables until the inputs hold at most N elements (default 131072)")
    parser.add_argument("--no-speed", action="store_true", help="skip stage 3")
    parser.add_argument("--skip-compile", action="store_true", help="skip stage 1 (one child process less per candidate)")
    parser.add_argument("--compile-only", action="store_true", help="stage 1 alone")
    parser.add_argument("--min-speedup", type=float, metavar="X", help="fail stage 3 below this speedup over eager")
    parser.add_argument("--sanitize", action=argparse.BooleanOptionalAction, default=None,
                        help="guard every tensor a launch gets (out-of-bounds writes) and, under the interpreter, "
                             "check every load/store address (on by default in confirm)")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON (schema: docs/runtime.md)")
    parser.add_argument("--json-out", metavar="FILE", help="also write the full JSON report to FILE")


def _options(args):
    from .parent.runner import Options

    dims = {}
    for item in args.dims:
        for part in filter(None, item.split(",")):
            name, _, value = part.partition("=")
            dims[name.strip()] = int(value)
    if not re.fullmatch(r"(?:sm_?)?\d+a?", args.target.strip()):
        raise ValueError(f"--target {args.target!r} is not of the form sm_89")
    return Options(target=args.target, trials=args.trials, seed=args.seed, timeout=args.timeout, device=args.device,
                   dims=dims, max_elements=args.max_elements, speed=not args.no_speed, min_speedup=args.min_speedup,
                   children=_children(args), dtype=args.dtype, allow_ops=tuple(args.allow_op), sandbox=args.sandbox,
                   memory_limit_gib=args.memory_limit, file_size_limit_mib=args.file_size_limit,
                   pass_env=tuple(args.pass_env),
                   sanitize=args.sanitize if args.sanitize is not None else getattr(args, "func", None) is confirm_command)


def _children(args) -> tuple:
    if args.skip_compile and args.compile_only:
        raise ValueError("--skip-compile and --compile-only exclude each other")
    return ("compile",) if args.compile_only else ("run",) if args.skip_compile else ("compile", "run")


def _usage_error(message: str) -> int:
    print(f"fuselint: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _validated(args) -> tuple[object, str | None]:
    try:
        options = _options(args)
    except ValueError as error:
        return None, str(error)
    if args.trials < 1:
        return None, "--trials must be at least 1"
    if not os.path.isfile(args.reference):
        return None, f"reference {args.reference} not found"
    return options, None


def run_command(args) -> int:
    options, problem = _validated(args)
    if problem:
        return _usage_error(problem)
    if getattr(args, "batch", None):
        if args.kernel:
            return _usage_error("give either KERNEL or --batch DIR, not both")
        if not os.path.isdir(args.batch):
            return _usage_error(f"--batch {args.batch} is not a directory")
        if args.jobs is not None and args.jobs < 1:
            return _usage_error("--jobs must be at least 1")
        from .parent.batch import run_batch

        try:
            return run_batch(args.batch, args.reference, options, jobs=args.jobs, gpus=args.gpus, ray=args.ray,
                             results=args.results, resume=not args.no_resume)
        except ValueError as error:
            return _usage_error(str(error))
    batch_only = [flag for flag, given in (("--ray", args.ray), ("--results", args.results), ("--jobs", args.jobs),
                                           ("--no-resume", args.no_resume), ("--gpus", args.gpus != "all")) if given]
    if batch_only:
        return _usage_error(f"{', '.join(batch_only)} go(es) with --batch DIR")
    if not args.kernel:
        return _usage_error("give a KERNEL file or --batch DIR")
    if not os.path.isfile(args.kernel):
        return _usage_error(f"kernel {args.kernel} not found")
    report = _run(args, options)
    if report is None:
        return EXIT_USAGE
    _print_report(report, args)
    return EXIT_OF[report["verdict"]]


def _run(args, options) -> dict | None:
    """The report, or None after saying why no verdict on the candidate is possible."""
    from .parent.runner import RunError, run_candidate

    try:
        return run_candidate(args.kernel, args.reference, options)
    except RunError as error:
        print(f"fuselint: error: {error}", file=sys.stderr)
        return None


def _print_report(report: dict, args, lint_lines: list[str] | None = None) -> None:
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(report, f, indent=2, default=str)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return
    from .parent.text import render

    if lint_lines:
        print("\n".join(lint_lines) + "\n")
    print(render(report))


def report_command(args) -> int:
    from .parent.report import report_main

    return report_main(args.results, args.plot)


def confirm_command(args) -> int:
    options, problem = _validated(args)
    if problem:
        return _usage_error(problem)
    if not args.kernel or not os.path.isfile(args.kernel):
        return _usage_error(f"kernel {args.kernel} not found" if args.kernel else "give a KERNEL file")
    try:
        from fuselint.engine import lint_file
    except ImportError as error:
        return _usage_error(f"confirm needs the static checker (fuselint.engine.lint_file): {error}")
    try:
        findings = lint_file(args.kernel)
    except ValueError as error:  # not a file the linter can read
        return _usage_error(str(error))
    report = _run(args, options)
    if report is None:
        return EXIT_USAGE
    report["lint"] = lint_summary(findings)
    report["agreement"] = agreement(report["lint"], report)
    if "sanitize" in report:
        from .parent.memory import memory_agreement

        report["memory"] = memory_agreement(report["lint"]["findings"], report["sanitize"], args.kernel)
    lint_lines = [f"lint: {len(findings)} finding(s), {report['lint']['fatal']} fatal"] + [
        f"  {f['path']}:{f['line']}:{f['column']}: {f['code']} {f['name']}{' (fatal)' if f['fatal'] else ''}: {f['message']}"
        for f in report["lint"]["findings"]]
    _print_report(report, args, lint_lines)
    if not args.json:
        agree = report["agreement"]["agree"]
        verdict = "INCONCLUSIVE" if report["verdict"] == "inconclusive" else "not comparable" if agree is None \
            else "agree" if agree else "DISAGREE"
        print(f"lint and run {verdict}: {report['agreement']['detail']}")
        for row in report.get("memory", {}).get("rows", []):
            print(f"memory safety, line {row['line']}: {row['verdict']} (static: {row['static'] or '-'}; "
                  f"run: {row['dynamic'] or '-'})")
    if report["lint"]["fatal"] or report["verdict"] == "fail":
        return EXIT_FAIL
    return EXIT_OF[report["verdict"]]


def lint_summary(findings) -> dict:
    rows = [{"code": f.code, "name": f.name, "message": f.message, "path": str(f.path), "line": f.line,
             "column": f.column, "fatal": bool(f.fatal)} for f in findings]
    return {"findings": rows, "fatal": sum(r["fatal"] for r in rows)}


# House-rule and memory findings (not fatal: they compile) predict that some checks of the run
# fail: FL302 stores-into-input the mutation check; an FL4xx access out of bounds the guarded
# run (sanitize) and the values it may corrupt.
PREDICTED_CHECKS = {"FL302": {"mutation"}, "FL4": {"sanitize", "values", "unwritten", "magnitude", "finite"}}


def _predicted(codes: set[str]) -> set[str]:
    return {check for prefix, checks in PREDICTED_CHECKS.items()
            if any(code.startswith(prefix) for code in codes) for check in checks}


def agreement(lint: dict, report: dict) -> dict:
    """The lint predicts failure iff it has a fatal finding, or findings that predict the very
    checks that failed; the run (its stages and the guarded run) decides. agree is None where
    the run tests no prediction: it is inconclusive, or it failed only where no rule looks."""
    if report.get("verdict") == "inconclusive":
        why = next((s.get("reason") for n, s in report["stages"].items()
                    if n in ("correctness", "work") and s["status"] != "pass"), "")
        return {"agree": None, "detail": f"the run is inconclusive, the lint's prediction untested ({why})"}
    failed = [name for name, s in report["stages"].items() if s["status"] == "fail"]
    if report.get("sanitize", {}).get("violations"):
        failed.append("sanitize")
    codes = sorted({f["code"] for f in lint["findings"] if f["fatal"]})
    if lint["fatal"] and failed:
        return {"agree": True, "detail": f"the lint predicted failure ({', '.join(codes)}) and {', '.join(failed)} failed"}
    if lint["fatal"]:
        return {"agree": False, "detail": f"the lint predicted failure ({', '.join(codes)}) but every stage passed: a false positive?"}
    if failed and set(failed) <= {"correctness", "sanitize"}:
        found = {f["code"] for f in lint["findings"]}
        checks = {p["check"] for p in report["stages"]["correctness"].get("problems", [])} if "correctness" in failed else set()
        checks |= {"sanitize"} if "sanitize" in failed else set()
        predictors = sorted(code for code in found if _predicted({code}) & checks)
        if checks and checks <= _predicted(found):
            return {"agree": True, "detail": f"the lint predicted the failing check(s) {', '.join(sorted(checks))} "
                                             f"({', '.join(predictors)}) and {', '.join(failed)} failed"}
    judged = [name for name in failed if name in LINT_JUDGES]
    if judged:
        return {"agree": False, "detail": f"the lint found nothing fatal but {', '.join(judged)} failed: a miss of the linter?"}
    if failed:  # who did the work, speed, integrity: no lint rule speaks of them
        return {"agree": None, "detail": f"the lint found nothing fatal; {', '.join(failed)} failed, which no lint "
                                         "rule judges"}
    return {"agree": True, "detail": "the lint found nothing fatal and every stage passed"}


# The stages whose failures a lint rule could have predicted.
LINT_JUDGES = ("compile", "correctness", "sanitize")
