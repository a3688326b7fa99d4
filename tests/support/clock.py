"""The tests' clock: set to an instant, moved on by hand (weeks at a time if need be)."""

from __future__ import annotations

from datetime import datetime, timedelta

from nodes.domain.case import SHANGHAI

DEFAULT_START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


class FakeClock:
    def __init__(self, at: datetime = DEFAULT_START) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        """Move on by `timedelta(**delta)`; returns the new time."""
        self.at += timedelta(**delta)
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at
