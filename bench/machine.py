"""What the bench records about the machine it ran on: enough to compare runs honestly.

Besides the obvious (cores, Python, load), `wakeup_cpu_us` measures what a thread pays in CPU each
time it sleeps and wakes (a paced loop against the same loop flat out). On the Firecracker VMs
this project is measured on it is about 100-200 us per wake, where bare metal pays a few: every
blocking wait (a paced recording, an fsync, a confirm, a delivery) costs that much CPU again. It
is why the pipeline at half its maximum rate still keeps 2 cores ~90 % busy (BENCHMARKS.md).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from typing import Any

from bench.meter import machine_ticks

WAKE_OPS = 300          # operations per loop
WAKE_RATE = 200.0       # paced loop: operations per second (one sleep and wake each)


def cpu_busy_pct(seconds: float = 1.0) -> float | None:
    """How busy the whole machine is right now (Linux /proc/stat), before the bench adds to it:
    on a shared 2-core machine other work moves every figure, so the report says how much."""
    try:
        total0, idle0 = machine_ticks()
        time.sleep(seconds)
        total1, idle1 = machine_ticks()
    except OSError:
        return None
    return round(100 * (1 - (idle1 - idle0) / max(1, total1 - total0)), 1)


def _op() -> None:
    """About 0.2 ms of ordinary Python work."""
    total = 0
    for i in range(3000):
        total += i * i
    json.dumps({"n": total, "items": list(range(50))})


def _thread_cpu_per_op(rate: float | None) -> float:
    began = resource.getrusage(resource.RUSAGE_THREAD)
    start = time.monotonic()
    for k in range(WAKE_OPS):
        if rate:
            time.sleep(max(0.0, start + k / rate - time.monotonic()))
        _op()
    ended = resource.getrusage(resource.RUSAGE_THREAD)
    used = (ended.ru_utime - began.ru_utime) + (ended.ru_stime - began.ru_stime)
    return used / WAKE_OPS


def wakeup_cpu_us() -> float | None:
    """Extra CPU (us) one operation costs when the thread sleeps before it, vs back to back."""
    try:
        flat = min(_thread_cpu_per_op(None) for _ in range(2))
        paced = _thread_cpu_per_op(WAKE_RATE)
    except (AttributeError, OSError):  # RUSAGE_THREAD is Linux-only
        return None
    return round(max(0.0, paced - flat) * 1e6, 1)


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "processor": platform.processor() or None,
            "load_avg_1m": round(os.getloadavg()[0], 2), "cpu_busy_before_pct": cpu_busy_pct(),
            "wakeup_cpu_us": wakeup_cpu_us()}
