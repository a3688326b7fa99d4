"""Fast tracks (issue 18 item 4; 湖南's 重点办 / 快速办 / 简易办): kinds of case that get their own,
shorter mediation target at the tier that registers them, by rules the node's operator sets
(`[[tracks]]` in the config: say, migrant workers' wage arrears, type 10, on 快速办 with 10
days; group cases of 10 or more people on 重点办). None is set by default: a node without rules
keeps its one target for every case.

The track is decided when a case is registered at a tier (a new case, or an escalation arriving:
each tier applies its own rules) and kept in the opening event; accepting the case starts the
target with the track's days when they are fewer than the tier's own (`Case._target_from`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TrackName = Literal["key", "fast", "simple"]  # 重点办, 快速办, 简易办
TRACK_BASIS = "fast track (重点办/快速办/简易办): this node's shorter target for its kind of case"


class TrackRule(BaseModel):
    """One track and the cases it takes: any of `dispute_types`, or `min_people` or more people
    (either condition; leave one out to use the other alone), and at most `max_people`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    track: TrackName
    target_days: int = Field(ge=1, le=365)
    dispute_types: tuple[str, ...] = ()
    min_people: int | None = Field(default=None, ge=1, le=100_000)
    max_people: int | None = Field(default=None, ge=1, le=100_000)

    def takes(self, dispute_type: str, people: int) -> bool:
        if self.max_people is not None and people > self.max_people:
            return False
        by_type = dispute_type in self.dispute_types
        by_people = self.min_people is not None and people >= self.min_people
        return by_type or by_people or (not self.dispute_types and self.min_people is None)


def track_for(rules: tuple[TrackRule, ...], dispute_type: str, people: int) -> TrackRule | None:
    """The first rule that takes the case (the config's order), or None."""
    return next((r for r in rules if r.takes(dispute_type, people)), None)
