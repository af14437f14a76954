"""Rebuild the files of the real out-of-bounds benchmark (benchmarks/oob_real/manifest.json) from
local git snapshots, and check each against its sha256.

    python benchmarks/rebuild_oob_real.py [--mirror DIR ...] [--into DIR]

A repository `owner/name` is looked for under each --mirror folder (default: /work/.mirror, where
the `fetch` tool puts snapshots) as `owner+name/repo`, `owner+name`, `owner/name` or `name`: a bare
git directory or a clone. Files go to DIR/<pair id>/before.py and after.py (default
.corpus/oob_real, which git ignores); third-party code is never committed.

Exit status: 0 every pair rebuilt and verified; 1 a file's sha256 differs from the manifest (or
its commit or path is not in the snapshot); 3 some pairs skipped because no snapshot of their
repository was found (all the others verified); 2 the manifest is malformed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import oob_real_manifest as manifest_io

DEFAULT_MIRROR = Path("/work/.mirror")
EXIT_OK, EXIT_MISMATCH, EXIT_BAD_MANIFEST, EXIT_INCOMPLETE = 0, 1, 2, 3


def git_dir(mirrors: list[Path], repository: str) -> Path | None:
    owner, name = repository.split("/")
    for mirror in mirrors:
        for candidate in (mirror / f"{owner}+{name}" / "repo", mirror / f"{owner}+{name}", mirror / owner / name, mirror / name):
            if candidate.is_dir() and _is_git(candidate):
                return candidate
    return None


def _is_git(path: Path) -> bool:
    probe = subprocess.run(["git", "-C", str(path), "rev-parse", "--git-dir"], capture_output=True, text=True)
    return probe.returncode == 0


def blob(git: Path, commit: str, path: str) -> bytes | None:
    shown = subprocess.run(["git", "-C", str(git), "cat-file", "blob", f"{commit}:{path}"], capture_output=True)
    return shown.stdout if shown.returncode == 0 else None


def rebuild(pair: dict, git: Path, into: Path) -> list[str]:
    """Write the pair's two files; the problems found (empty when both match their sha256)."""
    found = []
    for side, target in zip(("before", "after"), manifest_io.pair_files(into, pair)):
        record = pair[side]
        data = blob(git, record["commit"], record["path"])
        if data is None:
            found.append(f"{side}: {record['path']} at {record['commit'][:12]} is not in the snapshot {git}")
            continue
        if manifest_io.sha256(data) != record["sha256"]:
            found.append(f"{side}: sha256 {manifest_io.sha256(data)[:16]}… differs from the manifest's {record['sha256'][:16]}…")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirror", type=Path, action="append", help="folder of git snapshots or clones (repeatable)")
    parser.add_argument("--into", type=Path, default=manifest_io.DEFAULT_CORPUS, help="where the files go")
    parser.add_argument("--manifest", type=Path, default=manifest_io.MANIFEST)
    args = parser.parse_args(argv)
    manifest = manifest_io.load_checked(args.manifest)
    if manifest is None:
        return EXIT_BAD_MANIFEST
    mirrors = args.mirror or [DEFAULT_MIRROR]
    verified, mismatched, skipped = [], {}, {}
    for pair in manifest["pairs"]:
        git = git_dir(mirrors, pair["repository"])
        if git is None:
            skipped[pair["id"]] = f"no snapshot of {pair['repository']} under {', '.join(map(str, mirrors))}"
            continue
        found = rebuild(pair, git, args.into)
        if found:
            mismatched[pair["id"]] = "; ".join(found)
        else:
            verified.append(pair["id"])
    for pair_id, why in mismatched.items():
        print(f"NOT REBUILT {pair_id}: {why}")
    for pair_id, why in skipped.items():
        print(f"SKIPPED {pair_id}: {why}")
    total = len(manifest["pairs"])
    print(f"{len(verified)} of {total} pairs rebuilt into {args.into} and verified by sha256; "
          f"{len(mismatched)} failed verification; {len(skipped)} skipped (no snapshot)")
    if mismatched:
        return EXIT_MISMATCH
    return EXIT_INCOMPLETE if skipped else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
