"""The flow table as text for people, in the reader's language."""

from __future__ import annotations

from hub.flow import Station, TierFlow
from hub.station_render import render_stations
from nodes.cli.table import render
from nodes.i18n import N_, t
from nodes.labels import tier_label

HEAD = (N_("tier"), N_("registered"), N_("settled here"), N_("escalated"), N_("handed down"),
        N_("referred out"), N_("red flags"), N_("local resolution rate"),
        N_("mean transit (s)"))


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def flow_rows(rows: list[TierFlow], lang: str | None = None) -> list[list[str]]:
    """The table's cells under `HEAD`, one row per tier (the command line and the web page)."""
    body = []
    for r in rows:
        transit = "—" if r.transit_mean_s is None else f"{r.transit_mean_s:.3f}"
        body.append([tier_label(r.tier, lang), str(r.registered), str(r.settled),
                     str(r.escalated), str(r.returned), str(r.referred_out),
                     str(r.red_flags), _pct(r.local_resolution_rate), transit])
    return body


def render_flow(rows: list[TierFlow], stations: list[Station], lang: str | None = None, *,
                all_stations: bool = True) -> str:
    """The flow table, then the stations (`hub.station_render`); `all_stations=False` lists only
    the stations that need a look (the demo)."""
    lines = [render([t(h, lang) for h in HEAD], flow_rows(rows, lang))]
    lines.append(render_stations(stations, lang, all_rows=all_stations))
    return "\n".join(lines)
