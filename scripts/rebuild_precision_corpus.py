"""The precision corpus: public Triton kernel files from repositories no fuselint rule was built on,
pinned in benchmarks/precision/corpus.json (repository, commit, path, sha256). Third-party code is
never committed; this script rebuilds the files from local git snapshots (the `fetch` tool's
/work/.mirror/OWNER+NAME/repo, or plain clones) into an ignored folder.

    python scripts/rebuild_precision_corpus.py [--mirror /work/.mirror] [--into .corpus/precision]
    python scripts/rebuild_precision_corpus.py --select   # rewrite the manifest from the snapshots' HEAD

Rebuilt files land at INTO/OWNER+NAME/PATH. Exit 0 when every file was rebuilt with its recorded
sha256, 1 when some could not be (each is named with the reason), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "benchmarks" / "precision" / "corpus.json"
DEFAULT_INTO = ROOT / ".corpus" / "precision"
SHARED_INTO = Path("/work/corpora/precision")  # a copy others on this machine can read
DEFAULT_MIRROR = Path("/work/.mirror")

# Issue #16 measured its false alarms on these; the rules' authors read that description.
SEEN_IN_ISSUE = (
    "fla-org/flash-linear-attention", "Dao-AILab/flash-attention", "unslothai/unsloth",
    "pytorch-labs/tritonbench", "openai/triton", "pytorch/ao", "pytorch-labs/applied-ai",
)
# The rules were built on these wheels: never part of an unseen corpus.
BUILT_ON = ("linkedin/Liger-Kernel", "FlagOpen/FlagGems")

# What --select takes from each snapshot: every Python file under these folders ("" = all) that
# defines a Triton kernel. Triton's own repository: its tutorials and tests only, not the library.
SELECTED = {
    "fla-org/flash-linear-attention": ("",),
    "Dao-AILab/flash-attention": ("",),
    "unslothai/unsloth": ("",),
    "pytorch-labs/tritonbench": ("",),
    "openai/triton": ("python/tutorials/", "python/test/"),
    "pytorch/ao": ("",),
    "pytorch-labs/applied-ai": ("",),
    "state-spaces/mamba": ("",),
    "BobMcDear/attorch": ("",),
    "ELS-RD/kernl": ("",),
    "InternLM/lmdeploy": ("",),
    "ModelTC/lightllm": ("",),
    "OpenNLPLab/lightning-attention": ("",),
    "bitsandbytes-foundation/bitsandbytes": ("",),
    "facebookresearch/xformers": ("",),
    "flashinfer-ai/flashinfer": ("",),
    "kakaobrain/trident": ("",),
    "microsoft/MInference": ("",),
    "thu-ml/SageAttention": ("",),
    "triton-lang/kernels": ("",),
}
# A kernel definition: `@triton.jit`, `@triton.autotune(...)`, `@triton.heuristics(...)`, `@jit`,
# or the call form `name = triton.jit(name)`.
KERNEL = re.compile(rb"^\s*@(?:triton\.)?(?:jit|autotune|heuristics)\b|\btriton\.jit\(\s*\w+\s*\)", re.M)
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Entry:
    repository: str
    commit: str
    path: str
    sha256: str

    @property
    def local(self) -> str:
        """Where the rebuilt file lives under the corpus folder."""
        return f"{self.repository.replace('/', '+')}/{self.path}"


def load_manifest(path: Path = MANIFEST) -> list[Entry]:
    data = json.loads(path.read_text())
    return [Entry(f["repository"], f["commit"], f["path"], f["sha256"]) for f in data["files"]]


def write_manifest(entries: list[Entry], path: Path = MANIFEST) -> None:
    """One file a line, sorted: a change to the corpus reads as a small diff."""
    lines = [json.dumps({"repository": e.repository, "commit": e.commit, "path": e.path, "sha256": e.sha256})
             for e in sorted(entries, key=lambda e: (e.repository.lower(), e.path))]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"files": [\n' + ",\n".join(lines) + "\n]}\n")


def git_dir(mirror: Path, repository: str) -> Path | None:
    """The git directory of `repository` under `mirror`: a fetch snapshot (OWNER+NAME/repo, bare
    or with .git) or a clone named OWNER+NAME or NAME."""
    owner_name, name = repository.replace("/", "+"), repository.split("/")[1]
    for folder in (mirror / owner_name / "repo", mirror / owner_name, mirror / name):
        for candidate in (folder / ".git", folder):
            if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
                return candidate
    return None


def _git(git: Path, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["git", f"--git-dir={git}", *args], input=stdin, capture_output=True, check=True).stdout


def read_blobs(git: Path, commit: str, paths: list[str]) -> dict[str, bytes | None]:
    """The contents of `paths` at `commit` (None where absent), through one `git cat-file --batch`."""
    request = "".join(f"{commit}:{p}\n" for p in paths).encode()
    out = subprocess.run(["git", f"--git-dir={git}", "cat-file", "--batch"], input=request,
                         capture_output=True, check=True).stdout
    blobs: dict[str, bytes | None] = {}
    at = 0
    for path in paths:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        if header[-1] == b"missing" or header[1] != b"blob":
            blobs[path], at = None, end + 1
            continue
        size = int(header[2])
        blobs[path], at = out[end + 1:end + 1 + size], end + 2 + size
    return blobs


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def select(mirror: Path) -> tuple[list[Entry], list[str]]:
    """Every kernel file of SELECTED at each snapshot's HEAD; a file whose bytes are already in
    the corpus (a copy vendored by another repository) is kept once, where it was seen first."""
    entries: list[Entry] = []
    problems: list[str] = []
    seen: set[str] = set()
    for repository, folders in SELECTED.items():
        git = git_dir(mirror, repository)
        if git is None:
            problems.append(f"{repository}: no snapshot under {mirror}")
            continue
        commit = _git(git, "rev-parse", "HEAD").decode().strip()
        paths = [p for p in _git(git, "ls-tree", "-r", "--name-only", commit).decode().splitlines()
                 if p.endswith(".py") and any(p.startswith(f) for f in folders)]
        for path, data in read_blobs(git, commit, paths).items():
            if data is None or not KERNEL.search(data):
                continue
            digest = sha256(data)
            if digest not in seen:
                seen.add(digest)
                entries.append(Entry(repository, commit, path, digest))
    return entries, problems


def rebuild(entries: list[Entry], mirror: Path, into: Path) -> list[str]:
    """Write each entry's file under `into`; the reasons the ones that could not be rebuilt were not."""
    problems: list[str] = []
    by_source: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        by_source.setdefault((entry.repository, entry.commit), []).append(entry)
    for (repository, commit), group in sorted(by_source.items()):
        git = git_dir(mirror, repository)
        if git is None:
            problems.extend(f"{e.repository} {e.path}: no snapshot or clone of {repository} under {mirror}"
                            for e in group)
            continue
        try:
            blobs = read_blobs(git, commit, [e.path for e in group])
        except subprocess.CalledProcessError as error:
            problems.extend(f"{e.repository} {e.path}: git failed: {error.stderr.decode().strip()}" for e in group)
            continue
        for entry in group:
            data = blobs[entry.path]
            if data is None:
                problems.append(f"{entry.repository} {entry.path}: not in the local copy at {commit[:12]} "
                                f"(fetch a snapshot that holds this commit)")
            elif sha256(data) != entry.sha256:
                problems.append(f"{entry.repository} {entry.path}: sha256 {sha256(data)[:12]}… is not the "
                                f"recorded {entry.sha256[:12]}…")
            else:
                target = into / entry.local
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
    return problems


def verify(entries: list[Entry], into: Path) -> list[str]:
    """The entries whose rebuilt file under `into` is missing or not the recorded bytes."""
    problems = []
    for entry in entries:
        target = into / entry.local
        if not target.is_file():
            problems.append(f"{entry.local}: missing")
        elif sha256(target.read_bytes()) != entry.sha256:
            problems.append(f"{entry.local}: sha256 differs from the manifest")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR,
                        help="folder of snapshots (OWNER+NAME/repo) or clones (OWNER+NAME or NAME)")
    parser.add_argument("--into", type=Path, default=None,
                        help=f"where to rebuild (default: {DEFAULT_INTO.relative_to(ROOT)}, and {SHARED_INTO} "
                             "where /work/corpora exists)")
    parser.add_argument("--select", action="store_true",
                        help="rewrite the manifest from the snapshots' HEAD instead of rebuilding")
    args = parser.parse_args(argv)
    if not args.mirror.is_dir():
        print(f"error: {args.mirror} is not a folder of snapshots or clones", file=sys.stderr)
        return 2
    if args.select:
        entries, problems = select(args.mirror)
        write_manifest(entries)
        for problem in problems:
            print(f"skipped: {problem}", file=sys.stderr)
        print(f"{MANIFEST.relative_to(ROOT)}: {len(entries)} files from {len({e.repository for e in entries})} "
              "repositories")
        return 1 if problems else 0
    entries = load_manifest()
    targets = [args.into] if args.into else [DEFAULT_INTO] + ([SHARED_INTO] if SHARED_INTO.parent.is_dir() else [])
    status = 0
    for into in targets:
        problems = rebuild(entries, args.mirror, into)
        for problem in problems:
            print(f"not rebuilt: {problem}", file=sys.stderr)
        print(f"{into}: {len(entries) - len(problems)} of {len(entries)} files rebuilt"
              + (f", {len(problems)} not (see above)" if problems else ""))
        status = status or (1 if problems else 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
