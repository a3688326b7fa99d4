"""The bench's meter: which broker process it measures, and how it turns /proc readings into
figures. Pure functions over readings; the end-to-end run is in the bench smoke test."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from bench import meter
from bench.meter import MachineTicks, Meter, Reading


def test_a_broker_on_another_host_is_not_measured() -> None:
    assert meter.local_broker_pid("amqp://guest:guest@10.0.0.5:5672/%2F") is None


def test_two_local_brokers_are_not_guessed_between(monkeypatch: pytest.MonkeyPatch) -> None:
    comms = {"101": "beam.smp", "102": "python3", "103": "beam.smp"}
    monkeypatch.setattr(meter.os, "listdir", lambda path: [*comms, "self"])
    monkeypatch.setattr("builtins.open", _fake_comm_open(comms))
    assert meter.local_broker_pid("amqp://guest:guest@127.0.0.1:5672/%2F") is None
    del comms["103"]
    assert meter.local_broker_pid("amqp://guest:guest@localhost:5672/%2F") == 101


def test_busy_share_and_broker_seconds_come_from_the_phase_readings() -> None:
    m = Meter("amqp://guest:guest@10.0.0.5:5672/%2F")
    m.phases["flat_out"] = (Reading(MachineTicks(1000, 400, 0), 50),
                            Reading(MachineTicks(1200, 430, 0), 150))
    assert m.busy_pct() == {"flat_out": 85.0}  # 200 ticks, 30 of them idle
    assert m.steal_pct() == {"flat_out": 0.0}
    assert m.broker_cpu_s() is None  # no local broker: no broker figure, not a zero
    m.broker_pid = 1
    hz = meter.os.sysconf("SC_CLK_TCK")
    assert m.broker_cpu_s() == {"flat_out": round(100 / hz, 2)}


def _fake_comm_open(comms: dict[str, str]) -> Callable[..., io.StringIO]:
    """`open` for /proc/PID/comm only: a process that is not in `comms` has gone."""
    def fake(path: str, *args: object, **kwargs: object) -> io.StringIO:
        pid = path.split("/")[2]
        if pid not in comms:
            raise OSError("gone")
        return io.StringIO(comms[pid] + "\n")
    return fake


def test_time_the_hypervisor_took_is_neither_busy_nor_idle() -> None:
    m = Meter("amqp://guest:guest@10.0.0.5:5672/%2F")
    m.phases["half_load"] = (Reading(MachineTicks(1000, 400, 10), None),
                             Reading(MachineTicks(1200, 440, 30), None))
    # 200 ticks: 40 idle, 20 stolen, so 140 of this guest's own work
    assert m.busy_pct() == {"half_load": 70.0}
    assert m.steal_pct() == {"half_load": 10.0}


def test_machine_ticks_reads_steal_from_the_eighth_field(monkeypatch: pytest.MonkeyPatch) -> None:
    line = "cpu  100 5 50 800 20 3 2 40 0 0\n"  # user nice system idle iowait irq softirq steal
    monkeypatch.setattr("builtins.open", lambda *a, **k: io.StringIO(line))
    assert meter.machine_ticks() == MachineTicks(total=1020, idle=820, steal=40)
