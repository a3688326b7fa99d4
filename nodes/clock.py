"""Where "now" comes from: the system clock, or one fixed instant (`FENGQIAO_NOW`, tests, training).

Every event is stamped from the node's clock and "today" is its date in Beijing time, so a fixed
or simulated clock drives every deadline exactly as the real one would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from nodes.domain.case import SHANGHAI


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(SHANGHAI)


@dataclass(frozen=True)
class FixedClock:
    """A clock stopped at one instant."""

    at: datetime

    def now(self) -> datetime:
        return self.at
