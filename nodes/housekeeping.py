"""The periodic sweep of a running node (issue 15, "bounds everywhere"): the age limits of
quarantine and held, and the held_waiting alarms. The caps are kept as rows are inserted (the
store does that); what only time can trigger is done here, every `HOUSEKEEPING_EVERY_S` by the
node runtime's relay thread (`Node.housekeep`), and once as soon as a node starts.

Order matters: held messages past their age move to quarantine first (so they are kept another
`QUARANTINE_MAX_AGE_S` there), then quarantine's old rows go, then each stream still waiting past
`HELD_ALARM_AFTER_S` is alarmed, and the alarm of a stream that no longer waits is cleared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from nodes.alarms import AlarmKind, clear_alarm, raise_alarm
from nodes.deadline_sweep import DeadlineCounts
from nodes.messaging import settings
from nodes.store.bounds import WaitingStream


class SweptStore(Protocol):
    """What the sweep needs of the store (`SqliteStore` has it all)."""

    def move_held_before(self, cutoff: datetime, at: datetime) -> int: ...
    def evict_quarantine_before(self, cutoff: datetime, at: datetime) -> int: ...
    def waiting_streams(self, cutoff: datetime) -> list[WaitingStream]: ...
    def alarms(self, *, open_only: bool = True) -> list[dict[str, object]]: ...
    def raise_alarm(self, kind: str, subject: str, detail: str, at: datetime) -> bool: ...
    def clear_alarm(self, kind: str, subject: str, at: datetime) -> bool: ...


@dataclass(frozen=True)
class SweepResult:
    held_moved: int          # held messages moved to quarantine (past HELD_MAX_AGE_S)
    quarantine_evicted: int  # quarantined rows deleted (past QUARANTINE_MAX_AGE_S)
    waiting_raised: int      # streams newly alarmed as waiting
    waiting_cleared: int     # waiting alarms ended because their stream no longer waits
    # The deadline sweep's counts (`nodes.deadline_sweep`; `Node.housekeep` runs it after).
    deadlines: DeadlineCounts = field(default_factory=DeadlineCounts)


def sweep(store: SweptStore, now: datetime) -> SweepResult:
    """One sweep at `now`; each step commits on its own (a sweep cut short is simply redone)."""
    moved = store.move_held_before(now - timedelta(seconds=settings.HELD_MAX_AGE_S), now)
    evicted = store.evict_quarantine_before(
        now - timedelta(seconds=settings.QUARANTINE_MAX_AGE_S), now)
    waiting = {s.subject: s for s in store.waiting_streams(
        now - timedelta(seconds=settings.HELD_ALARM_AFTER_S))}
    alarmed = {str(a["subject"]) for a in store.alarms(open_only=True)
               if a["kind"] == AlarmKind.HELD_WAITING.value}
    for subject in sorted(waiting.keys() - alarmed):
        raise_alarm(store, AlarmKind.HELD_WAITING, subject, waiting_detail(waiting[subject]), now)
    for subject in sorted(alarmed - waiting.keys()):
        clear_alarm(store, AlarmKind.HELD_WAITING, subject, now)
    return SweepResult(moved, evicted, len(waiting.keys() - alarmed),
                       len(alarmed - waiting.keys()))


def waiting_detail(stream: WaitingStream) -> str:
    """Node, case and kind only: an alarm never carries personal data."""
    return (f"{stream.messages} {stream.schema_name} message(s) from {stream.sender} on case "
            f"{stream.case_id} held since {stream.since}, waiting for seq {stream.waiting_for}; "
            f"after {settings.HELD_MAX_AGE_S / 86400:g} days they move to quarantine")
