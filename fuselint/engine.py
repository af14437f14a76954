"""Parse each file once, build its model once, run the enabled rules, turn reports into findings."""

from __future__ import annotations

import ast
import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import libcst as cst

from fuselint.cache import Cache
from fuselint.config import Settings, load_settings
from fuselint.findings import Finding, InputError, Report
from fuselint.fix import ChangedOnDisk, apply_edits, write_atomically
from fuselint.model.module import ModuleModel
from fuselint.positions import Span, positions
from fuselint.rule import Rule
from fuselint.rules import all_rules

# A file that names neither can hold no kernel and no KernelBench model: skip it unparsed.
_MARKERS = (b"triton", b"ModelNew")
_FIRST_LINE = Span(1, 1, 1, 1)
_NOQA = re.compile(r"#\s*noqa(?::[\s]*(?P<codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*))?", re.I)


@dataclass
class LintResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: int = 0
    warnings: list[str] = field(default_factory=list)
    unsafe_fixes: bool = False  # are unsafe fixes enabled (--unsafe-fixes)? For the count of fixes


class _Unlintable(Exception):
    """The path is not a file to lint at all (exit 2)."""


def enabled_rules(settings: Settings) -> list[Rule]:
    return [cls(settings) for cls in all_rules()
            if settings.enabled(cls.code, cls.name) and (not cls.opt_in or settings.named(cls.code, cls.name))]


@dataclass
class _Analysis:
    module: cst.Module | None
    reports: list[tuple[Rule, Report]]
    findings: list[Finding]  # found without a node: syntax and internal errors


def _analyse(raw: bytes, path: Path, settings: Settings, rules: Sequence[Rule]) -> _Analysis:
    ignored_here = settings.ignored_for(path)
    rules = [r for r in rules if not any(r.code.startswith(c.upper()) for c in ignored_here)]
    explicit_kernelbench = [r for r in rules if r.kernelbench and settings.explicitly_selected(r.code, r.name)]
    if not any(marker in raw for marker in _MARKERS) and not explicit_kernelbench:
        return _Analysis(None, [], [])
    try:
        module = cst.parse_module(raw)
    except cst.ParserSyntaxError as error:
        return _Analysis(None, [], _syntax_error(error, raw, path, rules))
    except (UnicodeDecodeError, LookupError) as error:  # bytes that are not the declared encoding
        return _Analysis(None, [], _undecodable(error, path, rules))
    except SyntaxError as error:  # tokenize.detect_encoding: a bad byte or declaration in lines 1-2
        return _Analysis(None, [], _undecodable(_first_bad_byte(raw) or error, path, rules))
    except RecursionError:
        return _Analysis(None, [], _syntax_error(None, raw, path, rules))
    try:
        model = ModuleModel(module, str(path))
    except Exception as error:  # a bug in the model: no rule can run on this file
        return _Analysis(module, [], [_internal_error("the kernel model", error, path)])
    kernelbench = any(c.name.value == "ModelNew" for c in model.classes)
    analysis = _Analysis(module, [], [])
    for rule in rules:
        if rule.code in ("FL998", "FL999"):
            continue
        if rule.kernelbench and not kernelbench and rule not in explicit_kernelbench:
            continue
        try:
            analysis.reports.extend((rule, report) for report in rule.check_module(model))
        except Exception as error:  # one rule's bug must not stop the others
            analysis.findings.append(_internal_error(f"{rule.code} {rule.name}", error, path))
    return analysis


def lint_source(data: bytes | str, path: str | Path, settings: Settings | None = None,
                rules: Sequence[Rule] | None = None) -> list[Finding]:
    """Findings for one file's contents; never executes or imports it."""
    settings = settings or Settings()
    rules = enabled_rules(settings) if rules is None else rules
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    analysis = _analyse(raw, path, settings, rules)
    findings = _to_findings(analysis.reports, analysis.module, raw, path) + analysis.findings
    return _apply_noqa(findings, raw)


def fixed_source(data: bytes, path: str | Path, settings: Settings, rules: Sequence[Rule],
                 unsafe: bool = False) -> tuple[bytes, int]:
    """The file with every safe fix applied, and the unsafe ones too when `unsafe` (findings
    under `# noqa` are left alone), and the number of fixes. Repeats until nothing is left to
    fix, as one fix can uncover another."""
    path, fixes = Path(path), 0
    for _ in range(4):
        analysis = _analyse(data, path, settings, rules)
        fixable = [(rule, report) for rule, report in analysis.reports
                   if report.fix is not None and (report.fix.safe or unsafe)]
        if not fixable:
            break
        kept = set(_apply_noqa(_to_findings(fixable, analysis.module, data, path), data))
        spans = positions(analysis.module, data, [report.node for _, report in fixable])
        edits = []
        for rule, report in fixable:
            span = spans.get(id(report.node), _FIRST_LINE)
            if any(f.code == rule.code and (f.line, f.column) == (span.line, span.column) for f in kept):
                edits.append(report.fix)
        if not edits:
            break
        data = apply_edits(analysis.module, edits)
        fixes += len(edits)
    return data, fixes


def _syntax_error(error: cst.ParserSyntaxError | None, raw: bytes, path: Path, rules: Sequence[Rule]) -> list[Finding]:
    if not any(r.code == "FL999" for r in rules):
        return []
    # Python's own parser names the cause better ("'(' was never closed") and where it starts;
    # it only parses, never runs. libcst's location is kept when Python accepts the file.
    if error is None:  # libcst's parser recursed too deep
        line, column, message = 1, 1, "too deeply nested for the parser"
    else:
        line, column = error.raw_line, error.raw_column + 1
        message = " ".join((error.message or "invalid syntax").split())
    try:
        ast.parse(raw)
    except SyntaxError as python_error:
        message = python_error.msg
        line, column = python_error.lineno or line, python_error.offset or column
    except (ValueError, RecursionError, MemoryError):
        pass
    return [Finding(str(path), line, column, "FL999", "syntax-error", f"syntax error: {message}", line, column, True)]


def _undecodable(error: Exception, path: Path, rules: Sequence[Rule]) -> list[Finding]:
    if not any(r.code == "FL999" for r in rules):
        return []
    line = 1
    if isinstance(error, UnicodeDecodeError):
        detail = f"byte {error.object[error.start]:#04x} at offset {error.start}"
        line = error.object.count(b"\n", 0, error.start) + 1
    else:
        detail = str(error)
    message = f"syntax error: the file is not valid UTF-8 or its declared encoding ({detail})"
    return [Finding(str(path), line, 1, "FL999", "syntax-error", message, line, 1, True)]


def _first_bad_byte(raw: bytes) -> UnicodeDecodeError | None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return error
    return None


def _internal_error(where: str, error: Exception, path: Path) -> Finding:
    first = (str(error).splitlines() or [""])[0]
    message = f"internal error in {where}: {type(error).__name__}: {first}"
    return Finding(str(path), 1, 1, "FL998", "internal-error", message, 1, 1, False)


def _to_findings(reports: list[tuple[Rule, Report]], module: cst.Module | None, raw: bytes, path: Path) -> list[Finding]:
    if not reports:
        return []
    spans = positions(module, raw, [report.node for _, report in reports])
    findings = []
    for rule, report in reports:
        span = spans.get(id(report.node), _FIRST_LINE)
        fatal = rule.fatal if report.fatal is None else report.fatal
        fix = None if report.fix is None else "safe" if report.fix.safe else "unsafe"
        findings.append(Finding(str(path), span.line, span.column, rule.code, rule.name, report.message,
                                span.end_line, span.end_column, fatal, fix, report.witness))
    return sorted(set(findings))


def _apply_noqa(findings: list[Finding], raw: bytes) -> list[Finding]:
    if not findings or b"noqa" not in raw.lower():
        return findings
    # Python's line ends only: str.splitlines() would also split at form feeds and shift lines.
    lines = re.split(r"\r\n|\r|\n", raw.decode("utf-8", errors="replace"))
    kept = []
    for finding in findings:
        text = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
        match = _NOQA.search(text)
        if match is None:
            kept.append(finding)
            continue
        codes = match.group("codes")
        if codes is not None and finding.code not in {c.upper() for c in re.split(r"[\s,]+", codes) if c}:
            kept.append(finding)
    return kept


# --- files -------------------------------------------------------------------------------------

def read_source(path: Path) -> bytes:
    """The file's bytes, or _Unlintable with a message that names what is wrong."""
    try:
        if not path.is_file():  # a FIFO or device named .py would block or never end
            raise _Unlintable("is a directory" if path.is_dir() else "is not a regular file")
        data = path.read_bytes()
    except PermissionError:
        raise _Unlintable("cannot be read: permission denied") from None
    except OSError as error:
        raise _Unlintable(f"cannot be read: {error.strerror or error}") from None
    if b"\0" in data:
        raise _Unlintable("is not a Python source file: it holds binary data (NUL bytes)")
    return data


def collect_files(paths: Iterable[str | Path], settings: Settings,
                  force_exclude: bool = False) -> tuple[list[Path], list[InputError]]:
    """Python files under `paths` (folders recursively, excluded entries pruned), in a stable
    order. As in Ruff, a path named here is linted even when the exclusions match it, unless
    `force_exclude`; they apply to what is found below it."""
    files: list[Path] = []
    errors: list[InputError] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if not path.exists() and not path.is_symlink():
            errors.append(InputError(str(path), "no such file or directory"))
        elif force_exclude and settings.force_excluded(path):
            continue
        elif path.is_dir():
            for folder, dirs, names in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not settings.excluded(Path(folder) / d))
                for name in sorted(names):
                    candidate = Path(folder) / name
                    if name.endswith((".py", ".pyi")) and not settings.excluded(candidate):
                        _add(candidate, files, seen)
        elif path.suffix not in (".py", ".pyi"):
            errors.append(InputError(str(path), "is not a Python file (expected a .py or .pyi file)"))
        else:
            _add(path, files, seen)
    return files, errors


def _add(path: Path, files: list[Path], seen: set[Path]) -> None:
    key = path.resolve() if path.exists() else path
    if key not in seen:
        seen.add(key)
        files.append(path)


def lint_file(path: str | Path, settings: Settings | None = None, rules: Sequence[Rule] | None = None) -> list[Finding]:
    """Findings for one file, with the configuration found for it. Raises ValueError when the
    path is not a file that can be linted."""
    path = Path(path)
    settings = settings or load_settings(start=path.parent)
    try:
        data = read_source(path)
    except _Unlintable as problem:
        raise ValueError(f"{path}: {problem}") from None
    return lint_source(data, path, settings, rules)


def _lint_one(path: Path, settings: Settings, rules: Sequence[Rule],
              cache: Cache | None) -> tuple[list[Finding], InputError | None]:
    try:
        data = read_source(path)
    except _Unlintable as problem:
        return [], InputError(str(path), str(problem))
    cached = cache.get(path, data) if cache is not None else None
    if cached is not None:
        return cached, None
    findings = lint_source(data, path, settings, rules)
    if cache is not None:
        cache.put(path, data, findings)
    return findings, None


def _lint_chunk(paths: list[Path], settings: Settings, cache: Cache | None):
    rules = enabled_rules(settings)
    outcomes = [_lint_one(path, settings, rules, cache) for path in paths]
    return outcomes, sorted(cache.problems) if cache is not None else []


def lint_paths(paths: Iterable[str | Path], settings: Settings, jobs: int = 1, cache: Cache | None = None,
               force_exclude: bool = False) -> LintResult:
    """Lint every file under `paths`; with jobs > 1 in that many processes. The result is in
    file order whatever the number of jobs."""
    files, errors = collect_files(paths, settings, force_exclude)
    result = LintResult(errors=errors)
    if jobs > 1 and len(files) > 1:
        from concurrent.futures import ProcessPoolExecutor

        size = max(1, min(64, len(files) // (jobs * 4)))  # small chunks: big files don't straggle
        chunks = [files[i:i + size] for i in range(0, len(files), size)]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            done = list(pool.map(_lint_chunk, chunks, [settings] * len(chunks), [cache] * len(chunks)))
    else:
        done = [_lint_chunk(files, settings, cache)]
    outcomes = [outcome for chunk, _ in done for outcome in chunk]
    result.warnings = sorted({problem for _, problems in done for problem in problems})
    for findings, error in outcomes:
        if error is not None:
            result.errors.append(error)
        else:
            result.files += 1
            result.findings.extend(findings)
    return result


@dataclass
class FixResult:
    fixes: int = 0
    hidden: int = 0  # unsafe fixes left unapplied (without --unsafe-fixes)
    diffs: list[str] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)


def fix_paths(paths: Iterable[str | Path], settings: Settings, write: bool, force_exclude: bool = False,
              unsafe: bool = False) -> FixResult:
    """Apply every safe fix under `paths` (and every unsafe one when `unsafe`): written
    atomically when `write`, else only shown as unified diffs."""
    files, errors = collect_files(paths, settings, force_exclude)
    rules = enabled_rules(settings)
    result = FixResult(errors=errors)
    for path in files:
        try:
            data = read_source(path)
        except _Unlintable as problem:
            result.errors.append(InputError(str(path), str(problem)))
            continue
        new, fixes = fixed_source(data, path, settings, rules, unsafe)
        if not unsafe and not write:  # --diff says how many fixes --unsafe-fixes would add
            result.hidden += sum(f.fix == "unsafe" for f in lint_source(new, path, settings, rules))
        if new == data:
            continue
        result.fixes += fixes
        if not write:
            old_text, new_text = data.decode("utf-8", "replace"), new.decode("utf-8", "replace")
            result.diffs.append("".join(difflib.unified_diff(
                old_text.splitlines(keepends=True), new_text.splitlines(keepends=True), str(path), str(path))))
            continue
        try:
            write_atomically(path, data, new)
        except (ChangedOnDisk, OSError) as error:
            result.errors.append(InputError(str(path), f"not fixed: {error}"))
    return result
