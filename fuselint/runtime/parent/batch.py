"""`fuselint run --batch DIR`: many candidates, one JSON line each (no torch here)."""

from __future__ import annotations

import concurrent.futures
import json
import os
import sys

from .runner import RunError, run_candidate


def candidates_in(directory: str) -> list[str]:
    return sorted(os.path.join(directory, n) for n in os.listdir(directory)
                  if n.endswith(".py") and not n.startswith("_"))


class ProgressBar:
    """On stderr: a redrawn bar on a terminal, one line per candidate otherwise."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.failed, self.stream = total, 0, 0, stream
        self.tty = stream.isatty()

    def advance(self, name: str, verdict: str) -> None:
        self.done += 1
        self.failed += verdict != "pass"
        width = 30
        filled = width * self.done // max(self.total, 1)
        text = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} failed {self.failed}  {os.path.basename(name)} {verdict}"
        if self.tty:
            self.stream.write("\r\033[K" + text + ("\n" if self.done == self.total else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def run_batch(directory: str, reference: str, options, jobs: int = 1) -> int:
    """Exit status: 1 when a candidate fails, else 2 when one could not be judged, else 3 when
    one is inconclusive, else 0."""
    paths = [p for p in candidates_in(directory) if os.path.abspath(p) != os.path.abspath(reference)]
    bar = ProgressBar(len(paths))
    seen = set()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_candidate, path, reference, options): path for path in paths}
        for future in concurrent.futures.as_completed(futures):
            path = futures[future]
            try:
                report = future.result()
            except Exception as error:  # no verdict on this candidate (RunError), or the runner broke: still one line
                report = {"kernel": path, "reference": reference, "verdict": "error",
                          "error": str(error) if isinstance(error, RunError) else f"{type(error).__name__}: {error}"}
            speed = report.get("stages", {}).get("speed", {})
            if jobs > 1 and speed.get("ms"):
                speed.setdefault("notes", []).append(f"timed with --jobs {jobs}: candidates shared the GPU")
            seen.add(report["verdict"])
            print(json.dumps(report, default=str), flush=True)
            bar.advance(path, report["verdict"])
    return next((code for verdict, code in (("fail", 1), ("error", 2), ("inconclusive", 3)) if verdict in seen), 0)
