"""The station part of `hub flow` as text: every station with its name, code, tier, last contact
and backlog, silent ones first (issue 16 item 8).

A backlog is what the station's last heartbeat said, so its column says "at last contact" and the
row says when that was: a village silent for 12 minutes with 25 messages waiting reads as that,
never as "0 waiting".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hub.stations import Station
from nodes.cli.table import render
from nodes.domain.case import SHANGHAI
from nodes.i18n import N_, t
from nodes.labels import tier_label

HEAD = (N_("station"), N_("code"), N_("tier"), N_("status"), N_("last contact"),
        N_("waiting at last contact"), N_("oldest waited"))


def span(seconds: float, lang: str | None = None) -> str:
    """A duration as people say it: seconds, minutes, hours or days, rounded."""
    s = max(0.0, seconds)
    if s < 90:
        return t(N_("{n} s"), lang, n=round(s))
    if s < 90 * 60:
        return t(N_("{n} min"), lang, n=round(s / 60))
    if s < 36 * 3600:
        return t(N_("{n} h"), lang, n=round(s / 3600))
    return t(N_("{n} d"), lang, n=round(s / 86400))


def _contact(s: Station, lang: str | None) -> str:
    try:
        when = datetime.fromisoformat(s.last_heartbeat).astimezone(SHANGHAI)
    except ValueError:
        return s.last_heartbeat
    return t(N_("{when} ({ago} ago)"), lang, when=when.strftime("%Y-%m-%d %H:%M"),
             ago=span(s.last_heard_s, lang))


def station_rows(stations: Sequence[Station], lang: str | None = None) -> list[list[str]]:
    return [[s.name or "—", s.node_id, tier_label(s.tier, lang),
             t(N_("SILENT") if s.silent else N_("in contact"), lang), _contact(s, lang),
             str(s.outbox_depth),
             "—" if s.oldest_unsent_s is None or not s.outbox_depth
             else span(s.oldest_unsent_s, lang)] for s in stations]


def summary(stations: Sequence[Station], lang: str | None = None) -> str:
    """How many stations, how many silent, how much waits below (as of each last contact)."""
    silent = sum(1 for s in stations if s.silent)
    waiting = sum(s.outbox_depth for s in stations)
    return t(N_("{stations} stations, {silent} silent; {waiting} messages waiting at their last "
                "contact"), lang, stations=len(stations), silent=silent, waiting=waiting)


def render_stations(stations: Sequence[Station], lang: str | None = None, *,
                    all_rows: bool = True) -> str:
    """The summary line, then a table of every station (`all_rows`), or only of those that
    need a look: silent, or with messages waiting (the demo's short form)."""
    lines = [summary(stations, lang)]
    shown = [s for s in stations if all_rows or s.silent or s.outbox_depth]
    if shown:
        lines.append(render([t(h, lang) for h in HEAD], station_rows(shown, lang)))
    return "\n".join(lines)
