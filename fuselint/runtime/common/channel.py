"""Messages between fuselint and the processes it starts: one JSON object a line on a pipe.

A child writes with `Messages`; fuselint reads with `MessageReader`, which keeps at most
`MAX_LINE` bytes a line and `MAX_MESSAGES` messages, and turns what is not a JSON object into
a `{"kind": "unreadable"}` message: the reader never trusts the writer to be well behaved.
"""

from __future__ import annotations

import json
import os
import threading
import time

MAX_LINE = 1 << 20
MAX_MESSAGES = 10000


class Messages:
    """The child's end: ``send(kind, **fields)``."""

    def __init__(self, fd: int):
        self.stream = os.fdopen(fd, "w", buffering=1)

    def send(self, kind: str, **fields) -> None:
        self.stream.write(json.dumps({"kind": kind, **fields}, default=str) + "\n")
        self.stream.flush()


class MessageReader:
    """fuselint's end: a thread reads the pipe; `wait_for` blocks until a message of a kind
    arrives, the pipe closes, or the time is up. Each message gets the monotonic time of its
    arrival (``received``), which is fuselint's own clock."""

    def __init__(self, fd: int):
        self.messages: list[dict] = []
        self.closed = False
        self._condition = threading.Condition()
        self._stream = os.fdopen(fd, "rb", buffering=0)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = self._stream.read(65536)
                if not chunk:
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._add(line)
                if len(buffer) > MAX_LINE:
                    self._add(buffer[:MAX_LINE])
                    buffer = b""
        finally:
            with self._condition:
                self.closed = True
                self._condition.notify_all()
            self._stream.close()

    def _add(self, line: bytes) -> None:
        received = time.monotonic()
        try:
            message = json.loads(line[:MAX_LINE])
        except ValueError:
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("kind"), str):
            message = {"kind": "unreadable", "text": line[:200].decode(errors="replace")}
        message["received"] = received
        with self._condition:
            if len(self.messages) < MAX_MESSAGES:
                self.messages.append(message)
            self._condition.notify_all()

    def wait_for(self, kind: str, timeout: float) -> dict | None:
        """The first message of that kind (waiting for it), or None."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for message in self.messages:
                    if message["kind"] == kind:
                        return message
                remaining = deadline - time.monotonic()
                if self.closed or remaining <= 0:
                    return None
                self._condition.wait(remaining)

    def last(self, kind: str) -> dict | None:
        with self._condition:
            return next((m for m in reversed(self.messages) if m["kind"] == kind), None)

    def all(self, kind: str) -> list[dict]:
        with self._condition:
            return [m for m in self.messages if m["kind"] == kind]

    def finish(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)
