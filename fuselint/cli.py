"""The command line: `fuselint check`, `fuselint rule`, and the runtime's `run` / `confirm`.
Exit codes as Ruff's: 0 clean, 1 findings, 2 usage or input error."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import textwrap
from collections import Counter
from pathlib import Path

from fuselint import __version__, gate
from fuselint.cache import DEFAULT_FOLDER, Cache
from fuselint.config import ConfigError, load_settings
from fuselint.engine import fix_paths, lint_paths
from fuselint.reporters import REPORTERS
from fuselint.rules import all_rules, rule_by_code

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _codes(value: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in value.split(",") if c.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fuselint", description="A static linter for Triton kernels.")
    parser.add_argument("--version", action="version", version=f"fuselint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser("check", help="lint files and folders")
    check.add_argument("paths", nargs="*", default=["."], help="files or folders (default: .)")
    check.add_argument("--select", type=_codes, help="rule codes or prefixes to enable (replaces the configured set); "
                       "an opt-in rule (FL407) only by its exact code or name")
    check.add_argument("--extend-select", type=_codes, help="rule codes or prefixes to enable in addition")
    check.add_argument("--ignore", type=_codes, help="rule codes or prefixes to disable")
    check.add_argument("--output-format", choices=sorted(REPORTERS), default="text")
    check.add_argument("--statistics", action="store_true", help="print the count of findings per rule")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    check.add_argument("--quiet", "-q", action="store_true", help="print findings only, no summary")
    check.add_argument("--config", type=Path, help="a pyproject.toml to read [tool.fuselint] from")
    check.add_argument("--force-exclude", action="store_true",
                       help="apply the exclusions to the paths named here too (pre-commit passes every changed file)")
    check.add_argument("--fix", action="store_true", help="apply the safe fixes, then report what is left")
    check.add_argument("--unsafe-fixes", action="store_true",
                       help="also apply (with --fix, --diff) and count the unsafe fixes, which may change what the code does")
    check.add_argument("--diff", action="store_true", help="show the fixes as a diff and write nothing (exit 1 when there are any)")
    check.add_argument("--no-cache", action="store_true", help="neither read nor write the cache of results")
    check.add_argument("--cache-dir", type=Path, help=f"where the cache lives (default: {DEFAULT_FOLDER} beside the configuration)")
    check.add_argument("--jobs", "-j", type=_positive, default=os.cpu_count() or 1,
                       help="lint files in N processes (default: the CPU count); output order does not change")
    check.add_argument("--explain", metavar="FILE:LINE", help="print what the model knows about the loads/stores on one line "
                       "(offsets, range per axis, mask, verdict) and exit")
    gate.add_arguments(check)
    check.set_defaults(func=run_check)

    rule = commands.add_parser("rule", help="show a rule's documentation")
    rule.add_argument("code", nargs="?", help="a rule code (FL003) or name (block-not-power-of-two)")
    rule.add_argument("--all", action="store_true", help="list every rule")
    rule.set_defaults(func=run_rule)

    from fuselint.runtime import cli as runtime_cli  # light: torch/triton load only when run

    runtime_cli.register(commands)
    return parser


def run_check(args: argparse.Namespace) -> int:
    if getattr(args, "explain", None):
        return _explain(args.explain)
    try:
        settings = load_settings(args.config).with_overrides(
            select=args.select, extend_select=args.extend_select,
        )
    except ConfigError as error:
        print(f"fuselint: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    if args.ignore:
        settings = settings.with_overrides(ignore=settings.ignore + args.ignore)
    if args.diff:
        fixed = fix_paths(args.paths, settings, write=False, force_exclude=args.force_exclude, unsafe=args.unsafe_fixes)
        sys.stdout.write("".join(fixed.diffs))
        for error in fixed.errors:
            print(f"fuselint: error: {error.path}: {error.message}", file=sys.stderr)
        hidden = f" ({fixed.hidden} additional fix{'es' if fixed.hidden != 1 else ''} available with `--unsafe-fixes`)" \
            if fixed.hidden else ""
        print(f"Would fix {fixed.fixes} error{'s' if fixed.fixes != 1 else ''}{hidden}.", file=sys.stderr)
        return EXIT_ERROR if fixed.errors else (EXIT_FINDINGS if fixed.diffs else EXIT_CLEAN)
    fix_errors = []
    if args.fix:
        fixed = fix_paths(args.paths, settings, write=True, force_exclude=args.force_exclude, unsafe=args.unsafe_fixes)
        fix_errors = [e for e in fixed.errors if e.message.startswith("not fixed")]
        if fixed.fixes:
            print(f"Fixed {fixed.fixes} error{'s' if fixed.fixes != 1 else ''}.", file=sys.stderr)
    cache = None if args.no_cache else Cache(args.cache_dir or settings.root / DEFAULT_FOLDER, settings)
    result = lint_paths(args.paths, settings, jobs=args.jobs, cache=cache, force_exclude=args.force_exclude)
    result.errors.extend(fix_errors)
    result.unsafe_fixes = args.unsafe_fixes
    try:
        result = gate.apply(args, result)
    except gate.GateError as error:
        print(f"fuselint: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    for warning in result.warnings:
        print(f"fuselint: warning: {warning}", file=sys.stderr)
    for error in result.errors:
        print(f"fuselint: error: {error.path}: {error.message}", file=sys.stderr)
    out = sys.stdout
    if args.statistics and args.output_format == "text":
        counts = Counter((f.code, f.name) for f in result.findings)
        for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            out.write(f"{count:>5}  {code}  {name}\n")
    elif args.quiet and args.output_format == "text":
        for f in sorted(result.findings):
            out.write(f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}\n")
    else:
        REPORTERS[args.output_format](result, out)
    if result.files == 0 and not result.errors:
        # A gate that looked at nothing must not pass: say so, and exit as for bad input.
        print(f"fuselint: error: no Python file to lint under {' '.join(args.paths)} (after the exclusions); "
              "nothing was checked", file=sys.stderr)
        return EXIT_ERROR
    if result.errors:
        return EXIT_ERROR
    if result.findings and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _explain(where: str) -> int:
    from fuselint.model.ranges import explain

    path, _, line = where.rpartition(":")
    if not path or not line.isdigit():
        print(f"fuselint: error: --explain wants FILE:LINE, got {where!r}", file=sys.stderr)
        return EXIT_ERROR
    try:
        source = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"fuselint: error: {path}: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(explain(source, int(line)))
    return 0


def run_rule(args: argparse.Namespace) -> int:
    if args.all:
        width = max(60, shutil.get_terminal_size((100, 24)).columns - 1)
        for rule in all_rules():
            head = f"{rule.code}  {rule.name:<28} {'fatal' if rule.fatal else '':<5} {'fix' if rule.fix else '':<3}  "
            print(textwrap.fill(rule.summary(), width, initial_indent=head, subsequent_indent=" " * len(head)))
        return EXIT_CLEAN
    if not args.code:
        print("fuselint: error: give a rule code, or --all", file=sys.stderr)
        return EXIT_ERROR
    rule = rule_by_code(args.code)
    if rule is None:
        print(f"fuselint: error: no rule {args.code!r}; `fuselint rule --all` lists them", file=sys.stderr)
        return EXIT_ERROR
    print(f"# {rule.code} {rule.name}\n")
    print(f"Fatal (Triton's compiler rejects it): {'yes' if rule.fatal else 'no'}")
    print(f"Fix: {'sometimes available (`--fix`)' if rule.fix else 'none: the change needs a person'}\n")
    print(rule.docs())
    return EXIT_CLEAN


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # argparse: 0 for --help/--version, 2 for usage errors
        return int(exit.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_ERROR
    return args.func(args)


def entry() -> None:
    """The `fuselint` command: main(), then exit without tearing the interpreter down. Freeing
    every parsed tree and module one by one takes a sixth of a small file's whole run."""
    try:
        code = main()
    except BrokenPipeError:  # the reader went away (`fuselint rule --all | head`): no traceback
        code = EXIT_ERROR
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # the reader went away, or the stream is closed
        code = code or EXIT_ERROR
    os._exit(code)
