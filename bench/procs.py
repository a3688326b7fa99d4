"""Child processes of the bench and the line protocol between them and the driver.

Every node of the pipeline runs in its own process (as it would in production), so the figures
include the cost of separate interpreters, separate SQLite files and separate broker connections,
and no GIL is shared between a village and the hub. The driver talks to a child over its stdin and
stdout, one JSON object per line; the child's stderr (its log) goes to a file in the work folder.

Time stamps cross process boundaries as `time.monotonic()` values: on Linux that is
CLOCK_MONOTONIC, one clock for every process of the machine, immune to wall-clock steps.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import bench


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def cpu_seconds() -> float:
    """CPU time (user + system) this process has used so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 2)


def stat_ticks(path: str) -> int | None:
    """User + system CPU clock ticks from a /proc `stat` file (a process's or a thread's); None
    if it is gone or unreadable."""
    try:
        with open(path, encoding="ascii") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


def thread_cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) of each live thread of this process, by thread name, from
    /proc (Linux): where a node's time goes (recording, relay, consumer). Empty elsewhere."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for thread in threading.enumerate():
        if thread.native_id is None or (used := stat_ticks(
                f"/proc/self/task/{thread.native_id}/stat")) is None:
            continue
        name = thread.name.split("-")[0]  # "relay-3398..." -> "relay"
        out[name] = round(out.get(name, 0.0) + used / ticks, 2)
    return out


def emit(event: str, **data: Any) -> None:
    """A child's answer to the driver: one JSON line on stdout."""
    sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


def commands(stream: IO[str] = sys.stdin) -> Any:
    """A child's view of the driver: the JSON commands it sends, one per line, until EOF."""
    for line in stream:
        if line.strip():
            yield json.loads(line)


class ChildError(RuntimeError):
    """A child exited, answered with an error, or did not answer in time."""


class Child:
    """One child process (`python -m bench.worker ROLE ...`) and its answers."""

    def __init__(self, name: str, args: list[str], workdir: Path) -> None:
        self.name = name
        project = str(Path(bench.__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (project, os.environ.get("PYTHONPATH", "")) if p),
            "FENGQIAO_LOG_LEVEL": os.environ.get("FENGQIAO_LOG_LEVEL", "WARNING")}
        self.log_path = workdir / f"{name}.log"
        self._log = self.log_path.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(  # noqa: S603 - our own module with a fixed argument list
            [sys.executable, "-m", "bench.worker", *args], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._log, text=True, encoding="utf-8", env=env)
        self._answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, name=f"read-{name}", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None  # noqa: S101 - Popen was given PIPE
        for line in self.proc.stdout:
            if line.strip():
                self._answers.put(json.loads(line))
        self._answers.put(None)  # EOF: the child has gone

    def send(self, cmd: str, **data: Any) -> None:
        assert self.proc.stdin is not None  # noqa: S101 - Popen was given PIPE
        try:
            self.proc.stdin.write(json.dumps({"cmd": cmd, **data}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise ChildError(f"{self.name} is gone ({exc}); see {self.log_path}") from exc

    def expect(self, event: str, timeout: float) -> dict[str, Any]:
        """Wait (bounded) for the child's next answer, which must be `event`."""
        deadline = time.monotonic() + timeout
        try:
            answer = self._answers.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise ChildError(f"{self.name}: no '{event}' within {timeout:.0f} s; "
                             f"see {self.log_path}") from None
        if answer is None:
            raise ChildError(f"{self.name} exited ({self.proc.poll()}) before '{event}'; "
                             f"see {self.log_path}")
        if answer.get("event") != event:
            raise ChildError(f"{self.name}: expected '{event}', got {answer}; "
                             f"see {self.log_path}")
        return answer

    def close(self, timeout: float) -> None:
        """Make sure the child is gone: EOF on stdin first, then SIGTERM, then SIGKILL (by pid)."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):  # a child that died took the pipe with it
                self.proc.stdin.close()
        for stop in (None, self.proc.terminate, self.proc.kill):
            if stop is not None and self.proc.poll() is None:
                stop()
            try:
                self.proc.wait(timeout=timeout if stop is None else 5.0)
                break
            except subprocess.TimeoutExpired:
                continue
        self._log.close()
