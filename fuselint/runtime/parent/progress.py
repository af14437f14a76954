"""A batch's progress on stderr: on a terminal a summary redrawn in place (done / running /
queued, the verdicts so far, each worker's occupancy, the slowest candidates); otherwise one
plain line per finished candidate, and the summary at the end."""

from __future__ import annotations

import os
import sys
import time

VERDICTS = ("pass", "fail", "inconclusive", "error")
REDRAW_S = 0.5


def elapsed_of(record: dict) -> float:
    """Seconds the candidate's stages took, on their workers."""
    return sum(s.get("elapsed_s", 0.0) for s in record.get("batch", {}).get("stages", {}).values())


class Progress:
    def __init__(self, total: int, runner: str, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.total, self.runner = total, runner
        self.counts = dict.fromkeys(VERDICTS, 0)
        self.resumed = 0
        self.slowest: list[tuple[float, str]] = []
        self.status = {"running": 0, "queued": 0, "workers": []}
        self.queued = total
        self.started = time.monotonic()
        self._drawn, self._last = 0, 0.0

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def skipped(self, record: dict) -> None:
        """A candidate already in the results file."""
        self.counts[record.get("verdict", "error")] += 1
        self.resumed += 1
        self.queued -= 1

    def finished(self, record: dict) -> None:
        self.counts[record.get("verdict", "error")] += 1
        seconds = elapsed_of(record)
        name = os.path.basename(str(record.get("kernel")))
        self.slowest = sorted(self.slowest + [(seconds, name)], reverse=True)[:3]
        if not self.tty:
            where = ", ".join(s.get("where", "?") for s in record.get("batch", {}).get("stages", {}).values())
            self._write([f"[{self.done}/{self.total}] {record.get('verdict', 'error'):<12} {name}  {seconds:.1f} s"
                         f"{'  (' + where + ')' if where else ''}"])

    def update(self, status: dict, queued: int) -> None:
        self.status, self.queued = status, queued
        if self.tty and time.monotonic() - self._last >= REDRAW_S:
            self.redraw()

    def summary(self) -> list[str]:
        counts = "  ".join(f"{v} {self.counts[v]}" for v in VERDICTS)
        queued = self.queued + self.status.get("queued", 0)
        lines = [f"fuselint batch: {self.done}/{self.total} done ({self.resumed} from the results file), "
                 f"{self.status.get('running', 0)} running, {queued} queued; {counts}; "
                 f"{time.monotonic() - self.started:.0f} s", f"  {self.runner}"]
        lines += [f"  {line}" for line in self.status.get("workers", [])]
        if self.slowest:
            lines.append("  slowest: " + ", ".join(f"{name} {seconds:.1f} s" for seconds, name in self.slowest))
        return lines

    def clear(self) -> None:
        """Take the redrawn summary off the terminal (before a line is printed under it)."""
        if self.tty and self._drawn:
            self.stream.write(f"\033[{self._drawn}F\033[J")
            self.stream.flush()
            self._drawn = 0

    def redraw(self) -> None:
        self.clear()
        lines = self.summary()
        self._write(lines)
        self._drawn, self._last = len(lines), time.monotonic()

    def close(self, last: str | None = None) -> None:
        if self.tty:
            self.redraw()
        else:
            self._write(self.summary())
        if last:
            self._write([last])
        self._drawn = 0

    def _write(self, lines: list[str]) -> None:
        self.stream.write("".join(line + "\n" for line in lines))
        self.stream.flush()
