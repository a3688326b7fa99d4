"""Where the machine's time went in each phase: how busy both cores were, and how much CPU the
broker itself used when it runs on this machine.

The nodes report their own threads' CPU (`threads_cpu_s`); these two readings add what they cannot
see: the broker's share of a case, and whether a phase had spare cores at all (the half-load
latency phase on a machine that is 85 % busy is not at half load in any useful sense). Both come
from /proc and are in clock ticks (1/100 s here): good for phases of seconds, not milliseconds.
Elsewhere than Linux, or with the broker on another machine, the figures are None.
"""

from __future__ import annotations

import os
import time
import urllib.parse
from dataclasses import dataclass
from typing import NamedTuple

from bench.procs import stat_ticks

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
BROKER_PROCESS = "beam.smp"  # the Erlang VM that RabbitMQ runs in


class MachineTicks(NamedTuple):
    """All cores' clock ticks since boot."""

    total: int
    idle: int   # idle + iowait
    steal: int  # the hypervisor ran another guest while this one wanted to run


@dataclass(frozen=True)
class Reading:
    machine: MachineTicks
    broker_ticks: int | None


def machine_ticks() -> MachineTicks:
    """From /proc/stat (user nice system idle iowait irq softirq steal); OSError off Linux."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(x) for x in stat.readline().split()[1:9]]
    return MachineTicks(sum(fields), fields[3] + fields[4], fields[7])


def shares(before: MachineTicks, after: MachineTicks) -> tuple[float, float]:
    """(busy %, stolen %) of the machine between two readings. Stolen time is not ours and not
    spare: on a shared VM it was up to 12 % with nothing running (BENCHMARKS.md), and counting
    it as busy made a phase look busier than its own work made it."""
    total = max(1, after.total - before.total)
    steal = after.steal - before.steal
    busy = total - (after.idle - before.idle) - steal
    return round(100 * busy / total, 1), round(100 * steal / total, 1)


def local_broker_pid(url: str) -> int | None:
    """The broker's process if the URL points at this machine and exactly one RabbitMQ runs here
    (with two, say a test's private broker beside the shared one, we cannot tell which)."""
    if urllib.parse.urlsplit(url).hostname not in LOCAL_HOSTS:
        return None
    found = []
    try:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/comm", encoding="utf-8") as comm:
                        if comm.read().strip() == BROKER_PROCESS:
                            found.append(int(entry))
                except OSError:
                    continue
    except OSError:
        return None
    return found[0] if len(found) == 1 else None


class Meter:
    def __init__(self, broker_url: str) -> None:
        self.broker_pid = local_broker_pid(broker_url)
        self.started: dict[str, Reading] = {}
        self.phases: dict[str, tuple[Reading, Reading]] = {}

    def read(self) -> Reading | None:
        try:
            machine = machine_ticks()
        except OSError:
            return None
        broker = stat_ticks(f"/proc/{self.broker_pid}/stat") if self.broker_pid else None
        return Reading(machine, broker)

    def start(self, phase: str, at: float | None = None) -> None:
        """Begin a phase, at the monotonic time `at` if given (the children's common start)."""
        if at is not None:
            time.sleep(max(0.0, at - time.monotonic()))
        if (reading := self.read()) is not None:
            self.started[phase] = reading

    def stop(self, phase: str) -> None:
        if phase in self.started and (reading := self.read()) is not None:
            self.phases[phase] = (self.started.pop(phase), reading)

    def busy_pct(self) -> dict[str, float]:
        """Both cores' busy share in each phase, in per cent of the whole machine (stolen time
        excluded)."""
        return {phase: shares(a.machine, b.machine)[0] for phase, (a, b) in self.phases.items()}

    def steal_pct(self) -> dict[str, float]:
        """The share of each phase the hypervisor gave to other guests."""
        return {phase: shares(a.machine, b.machine)[1] for phase, (a, b) in self.phases.items()}

    def broker_cpu_s(self) -> dict[str, float] | None:
        """The broker's CPU seconds in each phase; None if it is not on this machine."""
        if self.broker_pid is None:
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        return {phase: round((b.broker_ticks - a.broker_ticks) / ticks, 2)
                for phase, (a, b) in self.phases.items()
                if a.broker_ticks is not None and b.broker_ticks is not None}
