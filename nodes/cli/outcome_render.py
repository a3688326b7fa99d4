"""What came back to a copy of a case, as lines people read (件件有回音): each decision from above
and each report-back from below with who decided (name, tier, code), the outcome, the terms,
instruction or report, and the date."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from nodes.domain.case import SHANGHAI, Case, CaseEvent
from nodes.domain.states import Action
from nodes.i18n import N_, NP_, pt, t
from nodes.labels import ref_label, tier_label

OUTCOMES: Mapping[str, str] = {
    "accepted": NP_("outcome", "accepted"),
    "resolved": NP_("outcome", "resolved by agreement"),
    "returned": NP_("outcome", "handed down"),
    "referred_out": NP_("outcome", "referred out"),
    "escalated": NP_("outcome", "escalated further"),
    "closed": NP_("outcome", "closed"),
    "rejected": NP_("outcome", "rejected"),
    "closed_unresolved": NP_("outcome", "closed unresolved"),
    "terminated": NP_("outcome", "mediation terminated"),
    "interim": NP_("outcome", "interim report"),
}
FROM_ABOVE = frozenset({Action.DECISION_ABOVE, Action.SETTLE_ABOVE, Action.RETURN})
FROM_BELOW = frozenset({Action.REPORT_BACK, Action.REPORT_RECEIVED})


def outcome_label(kind: str, lang: str | None = None) -> str:
    return pt("outcome", OUTCOMES[kind], lang) if kind in OUTCOMES else kind


def _date(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).astimezone(SHANGHAI).date().isoformat()
    except ValueError:
        return str(value or "")


def _line(who: str, node: str, tier: str, kind: str, text: str, data: Mapping[str, Any],
          when: Any, lang: str | None) -> str:
    parts = [text] if text else []
    if data.get("referred_to"):
        parts.append(t(N_("to {target}"), lang, target=ref_label(str(data["referred_to"]), lang)))
    if data.get("report_back_by"):
        parts.append(t(N_("report back by {date}"), lang, date=data["report_back_by"]))
    if data.get("remedies_notified"):
        parts.append(t(N_("other routes notified"), lang))
    return t(N_("{name} ({tier} {node}): {outcome}{detail}, {date}"), lang,
             name=who or node, tier=tier_label(tier, lang) if tier else "", node=node,
             outcome=outcome_label(kind, lang),
             detail=t(N_(": {text}"), lang, text=t(N_("; "), lang).join(parts)) if parts else "",
             date=_date(when))


def decision_line(d: Mapping[str, Any], lang: str | None = None) -> str:
    """A decision from above (`CaseDecision` as stored in the event)."""
    return _line(str(d.get("deciding_name") or ""), str(d.get("deciding_node", "")),
                 str(d.get("deciding_tier", "")), str(d.get("decision", "")),
                 str(d.get("instruction") or ""), d, d.get("decided_at"), lang)


def report_line(r: Mapping[str, Any], lang: str | None = None) -> str:
    """A report-back from below (`CaseReportBack` as stored in the event)."""
    return _line(str(r.get("reporting_name") or ""), str(r.get("reporting_node", "")),
                 str(r.get("reporting_tier", "")), str(r.get("outcome", "")),
                 str(r.get("text") or ""), r, r.get("decided_at"), lang)


def event_line(event: CaseEvent, lang: str | None = None) -> str | None:
    """The readable line of an event that records what came back, else None."""
    if event.action in FROM_ABOVE and isinstance(event.data.get("decision"), Mapping):
        return decision_line(event.data["decision"], lang)
    if event.action in FROM_BELOW and isinstance(event.data.get("report"), Mapping):
        return report_line(event.data["report"], lang)
    return None


def outcome_lines(case: Case, lang: str | None = None) -> list[tuple[str, str]]:
    """("above" or "below", line) for everything that came back, oldest first."""
    out = []
    for event in case.events:
        line = event_line(event, lang)
        if line is not None:
            out.append(("above" if event.action in FROM_ABOVE else "below", line))
    return out
