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

from bench.meter import machine_ticks, shares

WAKE_OPS = 300          # operations per loop
WAKE_RATE = 200.0       # paced loop: operations per second (one sleep and wake each)


def cpu_shares_now(seconds: float = 1.0) -> tuple[float, float] | None:
    """How busy the whole machine is right now, and how much of it the hypervisor gives to other
    guests (Linux /proc/stat), before the bench adds to it: on a shared 2-core VM other work
    moves every figure, so the report says how much."""
    try:
        before = machine_ticks()
        time.sleep(seconds)
        return shares(before, machine_ticks())
    except OSError:
        return None


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


def cpu_model() -> str | None:
    """The CPU's model name (Linux): the same 2-vCPU VM size has come on different CPUs."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine() -> dict[str, Any]:
    now = cpu_shares_now()
    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "processor": cpu_model(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "cpu_busy_before_pct": now[0] if now else None,
            "cpu_steal_before_pct": now[1] if now else None,
            "wakeup_cpu_us": wakeup_cpu_us()}
