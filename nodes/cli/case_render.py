"""What `case list` and `case show` print: a table or a dossier in text, or the same as JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from nodes.cli.case_dossier import (
    RED_FLAG_HEAD,
    arrival_lines,
    dossier_json,
    flag_cell,
    risk_lines,
    state_cell,
)
from nodes.cli.clock_render import (
    clock_json,
    clock_lines,
    clocks_detail,
    due_cell,
    list_clock_json,
)
from nodes.cli.correction_render import (
    Changes,
    correction_detail,
    correction_lines,
    corrections_json,
)
from nodes.cli.i18n import t as say
from nodes.cli.outcome_render import event_line, outcome_lines
from nodes.cli.ownership_render import assignment_detail, ownership_json, ownership_lines
from nodes.cli.path_render import actor_cell, path_detail, path_json, path_lines
from nodes.cli.sending import UnsentMessage, state_text, unsent_json, unsent_line
from nodes.cli.table import render
from nodes.domain.case import SHANGHAI, Case, CaseEvent
from nodes.domain.clock_book import Clock
from nodes.domain.states import Action
from nodes.i18n import N_, t
from nodes.labels import (
    action_label,
    calendar_note,
    ref_label,
    state_label,
    tier_label,
    track_label,
    type_label,
    word,
)
from nodes.records import PartyRow
from nodes.text_input import printable, printable_tree


def local_time(at: datetime | str) -> str:
    value = datetime.fromisoformat(at) if isinstance(at, str) else at
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _clean(rows: Sequence[Sequence[str]]) -> list[list[str]]:
    """Table cells without control or text-direction characters (`nodes.text_input`: an ANSI
    escape in the facts turned a terminal red), cleaned before their widths are measured."""
    return [[printable(str(cell)) for cell in row] for row in rows]


def _date_of(at: str) -> str:
    return datetime.fromisoformat(at).astimezone(SHANGHAI).date().isoformat()


# --- case list ----------------------------------------------------------------------------
def list_json(rows: Iterable[Mapping[str, Any]], overdue: set[str], lang: str,
              flagged: set[str] | None = None,
              unsent: Mapping[str, UnsentMessage] | None = None, *,
              clocks: Mapping[str, Sequence[Clock]] | None = None,
              today: date | None = None) -> list[Any]:
    """`clocks`: each case's running clocks (`nodes.cli.clock_render.running_clocks`)."""
    flagged, unsent, clocks = flagged or set(), unsent or {}, clocks or {}
    today = today or date.today()
    return printable_tree([{
        "case_id": r["case_id"], "state": r["state"],
        "state_label": state_text(r["state"], unsent.get(r["case_id"]), lang),
        "unsent": r["case_id"] in unsent,  # a message of it waits in the outbox
        "dispute_type": r["dispute_type"], "dispute_label": type_label(r["dispute_type"], lang),
        "source": r["source"], "opened": _date_of(r["opened_at"]), "target_due": r["target_due"],
        "overdue": r["case_id"] in overdue,
        "red_flag": r["case_id"] in flagged or bool(r.get("held_at")),
        "held_at": r.get("held_at"),  # a red-flag case reported from below, not held here
        **list_clock_json(clocks.get(r["case_id"], ()), today, lang),
    } for r in rows])


def list_text(rows: Sequence[Mapping[str, Any]], overdue: set[str], lang: str,
              flagged: set[str] | None = None,
              unsent: Mapping[str, UnsentMessage] | None = None, *,
              clocks: Mapping[str, Sequence[Clock]] | None = None,
              today: date | None = None) -> str:
    if not rows:
        return say("no_cases", lang)
    flagged, unsent = flagged or set(), unsent or {}
    today = today or date.today()

    def due(r: Mapping[str, Any]) -> str:  # the clock shown: kind, due date, provisional
        return str(r["target_due"] or "—") if clocks is None else due_cell(
            clocks.get(r["case_id"], ()), today, lang)

    headers = [say(k, lang) for k in ("col_case", "col_state", "col_type", "col_opened", "col_due",
                                    "col_overdue")] + [t(RED_FLAG_HEAD, lang)]
    body = [[r["case_id"], state_text(r["state"], unsent[r["case_id"]], lang)
             if r["case_id"] in unsent else state_cell(r, lang), type_label(r["dispute_type"], lang),
             _date_of(r["opened_at"]), due(r),
             say("overdue_mark", lang) if r["case_id"] in overdue else "",
             flag_cell(r["case_id"] in flagged or bool(r.get("held_at")), lang)] for r in rows]
    return render(headers, _clean(body))


# --- case show ----------------------------------------------------------------------------
def _details(event: CaseEvent, lang: str) -> str:
    """The reason plus what the event's data says, in a few words."""
    came_back = event_line(event, lang)  # a decision from above, a report-back from below
    if came_back is not None:
        return came_back
    if event.action is Action.CLOCKS:  # deadlines recomputed or set (nodes.domain.clock_plan)
        return clocks_detail(event, lang)
    d, parts = event.data, [event.reason] if event.reason else []
    parts.append(correction_detail(event, lang) or "")
    if event.action in (Action.REGISTER, Action.REPORT) and "source" in d:
        parts.append(ref_label(str(d["source"]), lang))
    parts.append(path_detail(event, lang))  # consent, refusal, the parties' choice
    parts.append(assignment_detail(event, lang))  # 包案: the leader
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
            "actor_role": e.actor_role, "actor_user": e.actor_user, "reason": e.reason,
            "data": _event_data(e, lang)}


def _event_data(event: CaseEvent, lang: str) -> dict[str, Any]:
    """An event's data as stored, its deadline notes in the reader's language."""
    data = dict(event.data)
    if isinstance(data.get("target"), dict):
        data["target"] = _noted(dict(data["target"]), "calendar_note", lang)
    if isinstance(data.get("clocks"), dict):  # deadlines an event started or recomputed
        data["clocks"] = {name: _noted(dict(clock), "calendar_note", lang)
                          if isinstance(clock, dict) else clock
                          for name, clock in data["clocks"].items()}
    for key in ("calendar_note", "jc_calendar"):
        if data.get(key):
            data[key] = calendar_note(str(data[key]), lang)
    return data


def show_json(case: Case, parties: Sequence[PartyRow], today: date, lang: str,
              unsent: Sequence[UnsentMessage] = (), *,
              changes: Changes | None = None,
              clocks: Sequence[Clock] | None = None,
              names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`changes`: the parties' corrections (`nodes.store.party_versions.changes`); `clocks`:
    every clock of the case (`nodes.domain.clock_plan.clocks_of`, default: those recorded);
    `names`: node names known (code to name) for the first handler."""
    clocks = case.clocks() if clocks is None else clocks
    f = case.facts
    assert case.state is not None  # noqa: S101 - a recorded case has a state
    return printable_tree({
        "case_id": case.case_id, "state": case.state.value,
        "state_label": state_text(case.state, unsent[-1] if unsent else None, lang),
        "unsent": unsent_json(unsent, lang), "tier": f.get("tier"),
        "source": f.get("source"), "dispute_type": f.get("dispute_type"),
        "dispute_label": type_label(str(f.get("dispute_type")), lang), "facts": f.get("facts"),
        "people_involved": f.get("people_involved"), "grid_id": f.get("grid_id"),
        "track": f.get("track"), "opened_at": case.events[0].at.astimezone(SHANGHAI).isoformat(),
        "overdue": any(c.is_overdue(today) for c in clocks), "red_flag": case.red_flag,
        "jc_status": case.jc_status, "clocks": [clock_json(c, today, lang) for c in clocks],
        "parties": [{"number": n, "role": p.role, "role_label": word(p.role, lang),
                     "name": p.name, "id_number": p.id_number, "phone": p.phone,
                     "address": p.address} for n, p in enumerate(parties, 1)],
        "corrections": corrections_json(case, changes or {}, lang),
        "target": _noted(case.target.to_dict(), "calendar_note", lang) if case.target else None,
        "agreement": _noted(dict(case.agreement), "jc_calendar", lang) if case.agreement
        else None,
        "outcomes": [{"from": side, "line": line} for side, line in outcome_lines(case, lang)],
        **path_json(case),
        **ownership_json(case, names),  # 包案 leader, 首办 first handler
        **dossier_json(case),
        "events": [_event_json(case, e, lang) for e in case.events],
    })


def _noted(data: dict[str, Any], key: str, lang: str) -> dict[str, Any]:
    """A stored English deadline note shown in the reader's language."""
    if data.get(key):
        data[key] = calendar_note(str(data[key]), lang)
    return data


def _party_line(p: PartyRow, lang: str, number: int) -> str:
    """Numbered as `case correct --party N` takes them."""
    extra = [x for x in (p.id_number, p.phone, p.address) if x]
    return f"  {number}. " + " ".join([word(p.role, lang), p.name, *extra])


def _deadline_lines(case: Case, today: date, lang: str,
                    clocks: Sequence[Clock] | None = None) -> list[str]:
    """Every clock of the case, with its basis (`nodes.cli.clock_render`)."""
    return clock_lines(case.clocks() if clocks is None else clocks, today, lang)


def _agreement_lines(case: Case, lang: str) -> list[str]:
    a = case.agreement
    if a is None:
        return []
    lines = [say("show_agreement", lang, form=word(str(a.get("form")), lang),
               date=a.get("effective_date"), terms=a.get("terms"))]
    lines += [say("show_perform", lang, what=p.get("what"), due=p.get("due"))
              for p in a.get("performance", [])]
    window = case.book.deadlines.get("jc")  # as recomputed if a calendar came since
    lines.append(say("show_jc", lang, due=window.due if window else a.get("jc_due"),
                   status=word(case.jc_status or "not_applied", lang)))
    if a.get("jc_calendar"):
        lines.append(say("show_calendar", lang, note=calendar_note(str(a["jc_calendar"]), lang)))
    return lines


def show_text(case: Case, parties: Sequence[PartyRow], today: date, lang: str,
              unsent: Sequence[UnsentMessage] = (), *,
              changes: Changes | None = None, clocks: Sequence[Clock] | None = None,
              names: Mapping[str, str] | None = None) -> str:
    f = case.facts
    assert case.state is not None  # noqa: S101 - a recorded case has a state
    code = str(f.get("dispute_type"))
    waiting = {m.seq: m for m in unsent}  # events whose message has not left yet
    lines = [
        say("show_head", lang, case_id=case.case_id,
            state=state_text(case.state, unsent[-1] if unsent else None, lang)),
        *([line] if (line := unsent_line(unsent, lang)) else []),
        say("show_line1", lang, tier=tier_label(str(f.get("tier")), lang),
          source=ref_label(str(f.get("source")), lang), type=f"{code} {type_label(code, lang)}",
          people=f.get("people_involved")),
        say("show_opened", lang, at=local_time(case.events[0].at), grid=f.get("grid_id") or "—"),
        *([t(N_("fast track: {track}, {days} days to mediate at this tier"), lang,
             track=track_label(str(f["track"]), lang), days=f.get("track_days"))]
          if f.get("track") else []),
        *ownership_lines(case, lang, names),
        say("show_facts", lang, facts=f.get("facts")),
        say("show_parties", lang),
        *(_party_line(p, lang, n) for n, p in enumerate(parties, 1)),
        *correction_lines(case, changes or {}, lang),
        *_deadline_lines(case, today, lang, clocks),
        *_agreement_lines(case, lang),
        *path_lines(case, parties, lang),
        *(t(N_("decided above: {line}") if side == "above" else N_("reported back: {line}"),
            lang, line=line) for side, line in outcome_lines(case, lang)),
    ]
    lines += [*risk_lines(case, lang), *arrival_lines(case, lang)]
    headers = [say(k, lang) for k in ("col_seq", "col_time", "col_action", "col_after",
                                    "col_actor", "col_reason")]
    rows = [[str(e.seq), local_time(e.at), action_label(e.action, lang),
             state_text(case.state_after[e.seq], waiting.get(e.seq), lang),
             actor_cell(e, lang), _details(e, lang)] for e in case.events]
    lines += [say("show_events", lang), render(headers, _clean(rows))]
    return printable("\n".join(lines))
