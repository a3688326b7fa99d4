"""The flow table as text for people, in the reader's language."""

from __future__ import annotations

from hub.flow import Station, TierFlow
from nodes.cli.table import render
from nodes.i18n import N_, t
from nodes.labels import tier_label

HEAD = (N_("tier"), N_("registered"), N_("settled here"), N_("escalated"), N_("handed down"),
        N_("referred out"), N_("local resolution rate"), N_("mean transit (s)"))


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def render_flow(rows: list[TierFlow], stations: list[Station], lang: str | None = None) -> str:
    body = []
    for r in rows:
        transit = "—" if r.transit_mean_s is None else f"{r.transit_mean_s:.3f}"
        body.append([tier_label(r.tier, lang), str(r.registered), str(r.settled),
                     str(r.escalated), str(r.returned), str(r.referred_out),
                     _pct(r.local_resolution_rate), transit])
    lines = [render([t(h, lang) for h in HEAD], body)]
    silent = [s for s in stations if s.silent]
    waiting = sum(s.outbox_depth for s in stations)
    lines.append(t(N_("{stations} stations, {silent} silent, {waiting} messages waiting"), lang,
                   stations=len(stations), silent=len(silent), waiting=waiting))
    for s in silent:
        lines.append("  " + t(N_("silent: {node} ({tier}), {depth} waiting, last heard {at}"),
                              lang, node=s.node_id, tier=tier_label(s.tier, lang),
                              depth=s.outbox_depth, at=s.last_heartbeat))
    return "\n".join(lines)
