"""`fengqiao hub overdue`: the subtree's overdue (or due-soon) cases as the deadline sweeps below
reported them (`nodes.deadline_sweep`, `HubStore.deadlines_reported`), for people to read: case
ids, nodes, clocks and dates only, nothing personal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nodes.cli.clock_render import reported_kind_label
from nodes.cli.table import render
from nodes.i18n import N_, t
from nodes.labels import risk_label, tier_label
from nodes.store.deadline_alerts import OVERDUE
from protocol.areas import TIER_ORDER

SORTS = ("due", "tier", "area")  # the most late first; by tier (village first); by node
HEAD = (N_("case"), N_("node"), N_("tier"), N_("risk"), N_("clock"), N_("due"))
_RANK = {tier.value: i for i, tier in enumerate(TIER_ORDER)}


def split(rows: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(overdue, due soon) of `HubStore.deadlines_reported`'s rows."""
    late = [dict(r) for r in rows if r["status"] == OVERDUE]
    return late, [dict(r) for r in rows if r["status"] != OVERDUE]


def ordered(rows: Sequence[Mapping[str, Any]], sort: str) -> list[Mapping[str, Any]]:
    """`due`: the most late first; `tier`: by tier, then the most late; `area`: by node (area
    codes nest, so a township's villages come together), then the most late."""
    def lateness(r: Mapping[str, Any]) -> tuple[str, str]:
        return str(r["due"]), str(r["case_id"])
    if sort == "tier":
        return sorted(rows, key=lambda r: (_RANK.get(str(r["tier"]), 9), *lateness(r)))
    if sort == "area":
        return sorted(rows, key=lambda r: (str(r["node_id"]), *lateness(r)))
    return sorted(rows, key=lateness)


def clock_label(kind: object, lang: str | None) -> str:
    """A clock kind's name; a kind this version does not know, as it came."""
    return reported_kind_label(kind, lang)


def node_cell(row: Mapping[str, Any]) -> str:
    return f"{row['name']} {row['node_id']}" if row.get("name") else str(row["node_id"])


def render_deadlines(rows: Sequence[Mapping[str, Any]], today: str, lang: str | None, *,
                     soon: bool = False, sort: str = "due") -> str:
    """The overdue list (with days late), or with `soon` the due-soon list (with days left)."""
    if not rows:
        return t(N_("Nothing in the subtree is due soon.") if soon else
                 N_("Nothing in the subtree is overdue."), lang)
    title = (N_("{count} due soon in the subtree (today {today})") if soon else
             N_("{count} overdue in the subtree (today {today})"))
    last = N_("days left") if soon else N_("days late")
    body = []
    for r in ordered(rows, sort):
        days = r["days_left"] if soon else r["days_late"]
        body.append([str(r["case_id"]), node_cell(r), tier_label(str(r["tier"]), lang),
                     risk_label(r.get("risk"), lang), clock_label(r["clock_kind"], lang),
                     str(r["due"]), str(days)])
    return "\n".join([t(title, lang, count=len(rows), today=today),
                      render([t(h, lang) for h in (*HEAD, last)], body)])
