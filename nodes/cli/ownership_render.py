"""包案 and 首办 as `case show` and the case page say them (`nodes.domain.ownership`): the leader
in charge here and since when, and the first handler by name where known, else by code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodes.cli.case_dossier import node_label
from nodes.domain.case import Case, CaseEvent, local_date
from nodes.domain.ownership import current_leader, first_handler, first_handler_name
from nodes.domain.states import Action
from nodes.i18n import N_, t
from nodes.node import Node


def node_names(node: Node) -> dict[str, str]:
    """The node names this node knows: its own, and at a hub its subtree's stations' from their
    heartbeats (`hub.store.HubStore.heartbeats`: a place's name, never a person's)."""
    names: dict[str, str] = {}
    beats = getattr(node.store, "heartbeats", None)
    if callable(beats):
        names.update({b.node_id: b.name for b in beats() if b.name})
    if node.config.name:
        names[node.node_id] = node.config.name
    return names


def first_handler_text(case: Case, lang: str, names: Mapping[str, str] | None = None) -> str:
    code = first_handler(case)
    name = first_handler_name(case, names)
    return t(N_("{name} ({code})"), lang, name=name, code=code) if name \
        else node_label(code, lang)


def ownership_lines(case: Case, lang: str, names: Mapping[str, str] | None = None) -> list[str]:
    """"leader in charge: X (since date)" when assigned here, then "first handler: ..."."""
    lines = []
    now = current_leader(case)
    if now is not None:
        lines.append(t(N_("leader in charge: {leader} (since {date})"), lang, leader=now.leader,
                       date=local_date(now.since).isoformat()))
    lines.append(t(N_("first handler: {node}"), lang,
                   node=first_handler_text(case, lang, names)))
    return lines


def ownership_json(case: Case, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`leader` (None: not assigned here) and `first_handler`, as codes and names."""
    now = current_leader(case)
    return {
        "leader": None if now is None else {
            "name": now.leader, "since": local_date(now.since).isoformat(), "by": now.by,
            "note": now.note},
        "first_handler": {"node_id": first_handler(case),
                          "name": first_handler_name(case, names)},
    }


def assignment_detail(event: CaseEvent, lang: str) -> str:
    """An assignment's line in the timeline: the leader and the note."""
    if event.action is not Action.ASSIGN:
        return ""
    parts = [t(N_("leader: {leader}"), lang, leader=event.data.get("leader", "")),
             str(event.data.get("note") or "")]
    return t(N_("; "), lang).join(p for p in parts if p)
