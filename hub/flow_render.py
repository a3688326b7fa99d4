"""The flow table as text for people: Chinese first, English with lang="en"."""

from __future__ import annotations

from hub.flow import Station, TierFlow
from nodes.cli.table import render
from protocol.areas import TIER_LABELS_ZH, Tier

HEAD = {
    "zh": ("层级", "登记", "本级化解", "上报", "交办下级", "移交", "就地化解率", "平均在途(秒)"),
    "en": ("tier", "registered", "settled", "escalated", "returned", "referred",
           "local rate", "transit s"),
}


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def render_flow(rows: list[TierFlow], stations: list[Station], lang: str = "zh") -> str:
    body = []
    for r in rows:
        name = TIER_LABELS_ZH[Tier(r.tier)] if lang == "zh" else r.tier
        transit = "—" if r.transit_mean_s is None else f"{r.transit_mean_s:.3f}"
        body.append([name, str(r.registered), str(r.settled), str(r.escalated), str(r.returned),
                     str(r.referred_out), _pct(r.local_resolution_rate), transit])
    lines = [render(HEAD[lang], body)]
    silent = [s for s in stations if s.silent]
    waiting = sum(s.outbox_depth for s in stations)
    if lang == "zh":
        lines.append(f"站点 {len(stations)} 个，失联 {len(silent)} 个，待发消息 {waiting} 条")
    else:
        lines.append(f"{len(stations)} stations, {len(silent)} silent, {waiting} messages waiting")
    for s in silent:
        lines.append(("  失联：" if lang == "zh" else "  silent: ") +
                     f"{s.node_id} ({s.tier}) outbox={s.outbox_depth} last={s.last_heartbeat}")
    return "\n".join(lines)
