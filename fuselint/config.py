"""Settings: `[tool.fuselint]` in the nearest pyproject.toml, then the command line."""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_BLOCK_SIZES = (16, 32, 64, 128, 256)  # the house rule: "BLOCK sizes MUST be ... 16 ... 256"
DEFAULT_EXCLUDE = (".git", ".hg", ".venv", "venv", "__pycache__", "build", "dist", "node_modules", ".tox", ".eggs")


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ("ALL",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = ()
    block_sizes: tuple[int, ...] = DEFAULT_BLOCK_SIZES
    root: Path = field(default_factory=Path.cwd)
    source: Path | None = None  # the pyproject.toml read, if any

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    # rule selection ---------------------------------------------------------------------------
    def enabled(self, code: str, name: str) -> bool:
        selected = any(_matches(s, code, name) for s in (*self.select, *self.extend_select))
        return selected and not any(_matches(s, code, name) for s in self.ignore)

    def named(self, code: str, name: str) -> bool:
        """Selected by its exact code or name (what an opt-in rule needs: a prefix or ALL is not
        enough, as Ruff's preview rules need more than a prefix)."""
        return any(s.strip().upper() == code or s.strip().lower() == name for s in (*self.select, *self.extend_select))

    def explicitly_selected(self, code: str, name: str) -> bool:
        """Named by a selector narrower than "everything" (for rules that are on by default only
        for KernelBench files)."""
        return any(
            s.upper() not in ("ALL", "FL") and _matches(s, code, name) for s in (*self.select, *self.extend_select)
        )

    def ignored_for(self, path: Path) -> tuple[str, ...]:
        rel = _relative(path, self.root)
        codes: list[str] = []
        for pattern, ignored in self.per_file_ignores:
            if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(path.name, pattern):
                codes.extend(ignored)
        return tuple(codes)

    def excluded(self, path: Path) -> bool:
        """Is a path found while walking a folder excluded? Ruff's rule: a pattern matches the
        entry's own name, or its path relative to the project root; never a folder above the
        root, nor the folder named on the command line (walking prunes excluded folders, so each
        name below it is tried once)."""
        rel = _relative_inside(path, self.root)
        for pattern in (*DEFAULT_EXCLUDE, *self.exclude):
            if fnmatch.fnmatch(path.name, pattern) or (rel is not None and fnmatch.fnmatch(rel, pattern)):
                return True
        return False

    def force_excluded(self, path: Path) -> bool:
        """`--force-exclude`: is a path named on the command line excluded, by any of its own
        folders below the project root?"""
        rel = _relative_inside(path, self.root)
        if rel is None:
            return self.excluded(path)
        parts = Path(rel).parts
        return any(self.excluded(self.root.joinpath(*parts[:i])) for i in range(1, len(parts) + 1))


def _matches(selector: str, code: str, name: str) -> bool:
    selector = selector.strip()
    return selector.upper() == "ALL" or code.startswith(selector.upper()) or selector.lower() == name


def _relative(path: Path, root: Path) -> str:
    return _relative_inside(path, root) or path.as_posix()


def _relative_inside(path: Path, root: Path) -> str | None:
    """`path` relative to `root`, or None when it lies outside."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.fuselint] table, from `start` upward."""
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else [start.parent, *start.parent.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            if "fuselint" in data.get("tool", {}):
                return candidate
    return None


def load_settings(config: Path | None = None, start: Path | None = None) -> Settings:
    """Settings from `config` (a pyproject.toml or fuselint.toml), else the nearest pyproject."""
    path = config if config is not None else find_pyproject(start or Path.cwd())
    if path is None:
        return Settings(root=Path.cwd().resolve())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read configuration: {error}") from None
    table = data.get("tool", {}).get("fuselint", data if path.name != "pyproject.toml" else {})
    return settings_from_table(table, path)


def settings_from_table(table: dict, path: Path) -> Settings:
    def codes(key: str) -> tuple[str, ...] | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: [tool.fuselint] {key} must be a list of strings")
        return tuple(value)

    unknown = set(table) - {"select", "extend-select", "ignore", "per-file-ignores", "exclude", "block-sizes"}
    if unknown:
        raise ConfigError(f"{path}: unknown [tool.fuselint] option(s): {', '.join(sorted(unknown))}")
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict) or not all(isinstance(v, list) for v in per_file.values()):
        raise ConfigError(f"{path}: [tool.fuselint] per-file-ignores must map globs to lists of codes")
    sizes = table.get("block-sizes", list(DEFAULT_BLOCK_SIZES))
    if not isinstance(sizes, list) or not all(isinstance(s, int) and s > 0 for s in sizes):
        raise ConfigError(f"{path}: [tool.fuselint] block-sizes must be a list of positive integers")
    return Settings(
        select=codes("select") or ("ALL",),
        extend_select=codes("extend-select") or (),
        ignore=codes("ignore") or (),
        per_file_ignores=tuple((glob, tuple(c)) for glob, c in per_file.items()),
        exclude=codes("exclude") or (),
        block_sizes=tuple(sizes),
        root=path.parent.resolve(),
        source=path,
    )
