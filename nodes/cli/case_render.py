"""What `case list` and `case show` print: a table or a dossier in text, or the same as JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from nodes.cli.i18n import t as say
from nodes.cli.table import render
from nodes.domain.case import SHANGHAI, Case, CaseEvent
from nodes.domain.states import Action
from nodes.i18n import N_, t
from nodes.labels import (
    action_label,
    calendar_note,
    ref_label,
    state_label,
    tier_label,
    type_label,
    word,
)
from nodes.records import PartyRow


def local_time(at: datetime | str) -> str:
    value = datetime.fromisoformat(at) if isinstance(at, str) else at
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _date_of(at: str) -> str:
    return datetime.fromisoformat(at).astimezone(SHANGHAI).date().isoformat()


# --- case list ----------------------------------------------------------------------------
def list_json(rows: Iterable[Mapping[str, Any]], overdue: set[str], lang: str) -> list[Any]:
    return [{
        "case_id": r["case_id"], "state": r["state"], "state_label": state_label(r["state"], lang),
        "dispute_type": r["dispute_type"], "dispute_label": type_label(r["dispute_type"], lang),
        "source": r["source"], "opened": _date_of(r["opened_at"]), "target_due": r["target_due"],
        "overdue": r["case_id"] in overdue,
    } for r in rows]


def list_text(rows: Sequence[Mapping[str, Any]], overdue: set[str], lang: str) -> str:
    if not rows:
        return say("no_cases", lang)
    headers = [say(k, lang) for k in ("col_case", "col_state", "col_type", "col_opened", "col_due",
                                    "col_overdue")]
    body = [[r["case_id"], state_label(r["state"], lang), type_label(r["dispute_type"], lang),
             _date_of(r["opened_at"]), r["target_due"] or "—",
             say("overdue_mark", lang) if r["case_id"] in overdue else ""] for r in rows]
    return render(headers, body)


# --- case show ----------------------------------------------------------------------------
def _details(event: CaseEvent, lang: str) -> str:
    """The reason plus what the event's data says, in a few words."""
    d, parts = event.data, [event.reason] if event.reason else []
    if event.action in (Action.REGISTER, Action.REPORT) and "source" in d:
        parts.append(ref_label(str(d["source"]), lang))
    if event.action is Action.CONSENT:
        given = N_("{scope}: given") if d.get("given") else N_("{scope}: refused")
        parts.append(t(given, lang, scope=word(str(d.get("scope", "")), lang)))
    if "target" in d:
        parts.append(t(N_("target due {due}"), lang, due=d["target"]["due"]))
    if event.action is Action.AGREE:
        parts.append(t(N_("{form}: {terms}"), lang, form=word(str(d.get("form")), lang),
                       terms=d.get("terms")))
    if "escalation_reason" in d:
        parts.append(ref_label(str(d["escalation_reason"]), lang))
    if event.action is Action.REFER_OUT:
        parts.append(t(N_("to {target}"), lang,
                       target=ref_label(str(d.get("referred_to", d.get("target"))), lang)))
    if event.action is Action.TERMINATE:
        parts.append(t(N_("other routes notified"), lang))
    if event.action is Action.JC_RESULT:
        parts.append(word("confirmed" if d.get("confirmed") else "refused", lang))
    if event.action is Action.FOLLOW_UP:
        parts.append(t(N_("honoured") if d.get("honoured") else N_("not honoured"), lang))
    if event.action is Action.RED_FLAG:
        parts.append(t(N_("reported to the police"), lang))
    return t(N_("; "), lang).join(p for p in parts if p)


def _event_json(case: Case, e: CaseEvent, lang: str) -> dict[str, Any]:
    after = case.state_after[e.seq]
    return {"seq": e.seq, "at": e.at.astimezone(SHANGHAI).isoformat(), "action": e.action.value,
            "action_label": action_label(e.action, lang), "state_after": after.value,
            "state_label": state_label(after, lang), "node_id": e.node_id,
            "actor_role": e.actor_role, "reason": e.reason, "data": _event_data(e, lang)}


def _event_data(event: CaseEvent, lang: str) -> dict[str, Any]:
    """An event's data as stored, its deadline notes in the reader's language."""
    data = dict(event.data)
    if isinstance(data.get("target"), dict):
        data["target"] = _noted(dict(data["target"]), "calendar_note", lang)
    for key in ("calendar_note", "jc_calendar"):
        if data.get(key):
            data[key] = calendar_note(str(data[key]), lang)
    return data


def show_json(case: Case, parties: Sequence[PartyRow], today: date, lang: str) -> dict[str, Any]:
    f = case.facts
    assert case.state is not None  # noqa: S101 - a recorded case has a state
    return {
        "case_id": case.case_id, "state": case.state.value,
        "state_label": state_label(case.state, lang), "tier": f.get("tier"),
        "source": f.get("source"), "dispute_type": f.get("dispute_type"),
        "dispute_label": type_label(str(f.get("dispute_type")), lang), "facts": f.get("facts"),
        "people_involved": f.get("people_involved"), "grid_id": f.get("grid_id"),
        "opened_at": case.events[0].at.astimezone(SHANGHAI).isoformat(),
        "overdue": case.is_overdue(today), "red_flag": case.red_flag,
        "jc_status": case.jc_status,
        "parties": [{"role": p.role, "role_label": word(p.role, lang), "name": p.name,
                     "id_number": p.id_number, "phone": p.phone, "address": p.address}
                    for p in parties],
        "target": _noted(case.target.to_dict(), "calendar_note", lang) if case.target else None,
        "agreement": _noted(dict(case.agreement), "jc_calendar", lang) if case.agreement
        else None,
        "events": [_event_json(case, e, lang) for e in case.events],
    }


def _noted(data: dict[str, Any], key: str, lang: str) -> dict[str, Any]:
    """A stored English deadline note shown in the reader's language."""
    if data.get(key):
        data[key] = calendar_note(str(data[key]), lang)
    return data


def _party_line(p: PartyRow, lang: str) -> str:
    extra = [x for x in (p.id_number, p.phone, p.address) if x]
    return "  " + " ".join([word(p.role, lang), p.name, *extra])


def _deadline_lines(case: Case, today: date, lang: str) -> list[str]:
    target = case.target
    if target is None:
        return [say("show_no_target", lang)]
    ext = say("show_ext", lang, days=target.extension_days) if target.extension_days else ""
    overdue = say("show_overdue", lang) if case.is_overdue(today) else ""
    lines = [say("show_target", lang, amount=target.amount + target.extension_days,
               unit=word(target.unit.value, lang), start=target.start, due=target.due, ext=ext,
               overdue=overdue)]
    if target.calendar_note:
        lines.append(say("show_calendar", lang, note=calendar_note(target.calendar_note, lang)))
    return lines


def _agreement_lines(case: Case, lang: str) -> list[str]:
    a = case.agreement
    if a is None:
        return []
    lines = [say("show_agreement", lang, form=word(str(a.get("form")), lang),
               date=a.get("effective_date"), terms=a.get("terms"))]
    lines += [say("show_perform", lang, what=p.get("what"), due=p.get("due"))
              for p in a.get("performance", [])]
    lines.append(say("show_jc", lang, due=a.get("jc_due"),
                   status=word(case.jc_status or "not_applied", lang)))
    if a.get("jc_calendar"):
        lines.append(say("show_calendar", lang, note=calendar_note(str(a["jc_calendar"]), lang)))
    return lines


def show_text(case: Case, parties: Sequence[PartyRow], today: date, lang: str) -> str:
    f = case.facts
    assert case.state is not None  # noqa: S101 - a recorded case has a state
    code = str(f.get("dispute_type"))
    lines = [
        say("show_head", lang, case_id=case.case_id, state=state_label(case.state, lang)),
        say("show_line1", lang, tier=tier_label(str(f.get("tier")), lang),
          source=ref_label(str(f.get("source")), lang), type=f"{code} {type_label(code, lang)}",
          people=f.get("people_involved")),
        say("show_opened", lang, at=local_time(case.events[0].at), grid=f.get("grid_id") or "—"),
        say("show_facts", lang, facts=f.get("facts")),
        say("show_parties", lang),
        *(_party_line(p, lang) for p in parties),
        *_deadline_lines(case, today, lang),
        *_agreement_lines(case, lang),
    ]
    if case.red_flag:
        lines.append(say("show_red_flag", lang))
    headers = [say(k, lang) for k in ("col_seq", "col_time", "col_action", "col_after",
                                    "col_actor", "col_reason")]
    rows = [[str(e.seq), local_time(e.at), action_label(e.action, lang),
             state_label(case.state_after[e.seq], lang), f"{e.node_id} {word(e.actor_role, lang)}",
             _details(e, lang)] for e in case.events]
    lines += [say("show_events", lang), render(headers, rows)]
    return "\n".join(lines)
