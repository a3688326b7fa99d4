"""What `case list` and `case show` say about a case's clocks (`nodes.domain.clock_book`): which
clock, due when, on what basis (the law, or the setting that set it), whether provisional.

Bases and calendar notes are stored in English with the deadline; they are shown in the reader's
language here (a basis this module does not know is shown as stored).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from nodes.cli.parser import unmask
from nodes.domain.case import Case, CaseEvent, Rules
from nodes.domain.clock_book import (
    ACCEPTANCE_BASIS,
    FOLLOW_UP_BASIS,
    HAND_DOWN_BASIS,
    JC_BASIS,
    MAY_RUN,
    PERFORMANCE_BASIS,
    Clock,
    ClockKind,
)
from nodes.domain.clock_plan import clocks_of
from nodes.domain.commands import TARGET_BASIS
from nodes.domain.tracks import TRACK_BASIS
from nodes.i18n import N_, NP_, pt, t
from nodes.labels import calendar_note, word

KINDS: Mapping[ClockKind, str] = {
    ClockKind.ACCEPTANCE: NP_("clock", "acceptance"),
    ClockKind.MEDIATION: NP_("clock", "mediation"),
    ClockKind.REPORT_BACK: NP_("clock", "report-back"),
    ClockKind.JC_WINDOW: NP_("clock", "judicial confirmation window"),
    ClockKind.PERFORMANCE: NP_("clock", "performance"),
    ClockKind.FOLLOW_UP: NP_("clock", "follow-up visit"),
}
BASES: Mapping[str, str] = {
    ACCEPTANCE_BASIS: N_("people's mediation law sets no acceptance limit: this node's setting "
                         "acceptance_days"),
    FOLLOW_UP_BASIS: N_("no statutory limit for the follow-up visit: this node's setting "
                        "follow_up_days"),
    JC_BASIS: N_("people's mediation law Art. 33: joint application for judicial confirmation "
                 "within 30 days"),
    PERFORMANCE_BASIS: N_("the performance date agreed in the mediation agreement"),
    TARGET_BASIS: N_("target duration per tier (people's mediation, about one month): this "
                     "node's setting target_days"),
    HAND_DOWN_BASIS: N_("report-back date this tier set when handing the case down"),
    TRACK_BASIS: N_("fast track: this node's shorter target for this kind of case (its setting "
                    "[[tracks]])"),
}
_SET_BY = re.compile(r"交办 report-back set by (?P<node>\d+)")


def kind_label(kind: ClockKind, lang: str | None = None) -> str:
    return pt("clock", KINDS[kind], lang)


ANSWER_KIND = "supervision_answer"  # as `nodes.deadline_sweep` reports it


def reported_kind_label(kind: object, lang: str | None = None) -> str:
    """A clock kind as a report names it: a case's clock, the answer to a supervision order, or
    (a kind this version does not know) as it came."""
    if kind == ANSWER_KIND:
        return pt("clock", "answer to a supervision order", lang)
    try:
        return kind_label(ClockKind(str(kind)), lang)
    except ValueError:
        return str(kind or "—")


def basis_text(basis: str, lang: str | None = None) -> str:
    """A stored legal basis in the reader's language."""
    if basis in BASES:
        return t(BASES[basis], lang)
    match = _SET_BY.fullmatch(basis)
    if match:
        return t(N_("report-back date set by {node} when it handed the case down"), lang,
                 node=match["node"])
    return basis


# --- case list ----------------------------------------------------------------------------
MAX_DAYS_AHEAD = 3660


def due_days(value: str) -> int:
    """--due-within N: a whole number of days from 0 (due today or overdue) to about ten years."""
    value = unmask(value).strip()
    if not value.isdigit() or int(value) > MAX_DAYS_AHEAD:
        raise argparse.ArgumentTypeError(t(N_(
            "{value!r} is not a number of days from 0 to {limit}"), value=value,
            limit=MAX_DAYS_AHEAD))
    return int(value)


def running_clocks(load: Callable[[str], Case | None], rows: Iterable[Mapping[str, Any]],
                   rules: Rules | None) -> dict[str, list[Clock]]:
    """The running clocks of each listed case whose state may run one (`load`: case id -> the
    replayed case, e.g. `store.load_case`)."""
    out: dict[str, list[Clock]] = {}
    for row in rows:
        if row.get("state") not in MAY_RUN:
            continue
        case = load(row["case_id"])
        if case is not None:
            out[row["case_id"]] = [c for c in clocks_of(case, rules) if c.running]
    return out


def overdue_ids(index: Mapping[str, Sequence[Clock]], today: date) -> set[str]:
    return {cid for cid, clocks in index.items() if any(c.is_overdue(today) for c in clocks)}


def due_within_ids(index: Mapping[str, Sequence[Clock]], today: date, days: int) -> set[str]:
    return {cid for cid, clocks in index.items() if any(c.due_within(today, days) for c in clocks)}


def shown_clock(clocks: Sequence[Clock], today: date) -> Clock | None:
    """The clock a list row shows: the earliest overdue one, else the next one due."""
    late = [c for c in clocks if c.is_overdue(today)]
    ordered = late or sorted(clocks, key=lambda c: (c.due, c.name))
    return ordered[0] if ordered else None


def due_cell(clocks: Sequence[Clock], today: date, lang: str) -> str:
    clock = shown_clock(clocks, today)
    if clock is None:
        return "—"
    mark = t(N_(" (provisional)"), lang) if clock.deadline.provisional else ""
    return f"{clock.due.isoformat()} {kind_label(clock.kind, lang)}{mark}"


def clock_json(clock: Clock, today: date, lang: str) -> dict[str, Any]:
    d = clock.deadline
    return {"name": clock.name, "kind": clock.kind.value, "kind_label": kind_label(clock.kind, lang),
            "due": d.due.isoformat(), "running": clock.running,
            "overdue": clock.is_overdue(today), "provisional": d.provisional,
            "basis": d.legal_basis, "basis_label": basis_text(d.legal_basis, lang),
            "calendar_note": calendar_note(d.calendar_note, lang), "detail": clock.detail,
            "recorded": not clock.derived}


def list_clock_json(clocks: Sequence[Clock], today: date, lang: str) -> dict[str, Any]:
    """The keys a `case list --json` row gets: its running clocks and the one shown."""
    shown = shown_clock(clocks, today)
    return {"clocks": [clock_json(c, today, lang) for c in clocks],
            "next_due": shown.due.isoformat() if shown else None,
            "next_clock": shown.kind.value if shown else None}


# --- case show ----------------------------------------------------------------------------
def clock_lines(clocks: Sequence[Clock], today: date, lang: str) -> list[str]:
    """One line per clock (kind, count, due, state) with its basis and calendar underneath."""
    if not clocks:
        return [t(N_("deadlines: none running"), lang)]
    lines = [t(N_("deadlines:"), lang)]
    for c in clocks:
        d = c.deadline
        state = (t(N_(" [OVERDUE]"), lang) if c.is_overdue(today)
                 else t(N_(" (stopped)"), lang) if not c.running else "")
        ext = t(N_(" (extended by {days} days)"), lang, days=d.extension_days) \
            if d.extension_days else ""
        mark = t(N_(" (provisional: the year's holiday arrangement is not installed)"), lang) \
            if d.provisional else ""
        what = f" {c.detail}" if c.detail else ""
        lines.append(t(N_("  {kind}{what}: due {due}{ext}{mark}{state}"), lang,
                       kind=kind_label(c.kind, lang), what=what, due=d.due.isoformat(), ext=ext,
                       mark=mark, state=state))
        lines.append(t(N_("    counted: {amount} {unit} from {start} (start day not counted)"),
                       lang, amount=d.amount + d.extension_days, unit=word(d.unit.value, lang),
                       start=d.start.isoformat()))
        lines.append(t(N_("    basis: {basis}"), lang, basis=basis_text(d.legal_basis, lang)))
        if d.calendar_note:
            lines.append(t(N_("    calendar: {note}"), lang,
                           note=calendar_note(d.calendar_note, lang)))
    return lines


def clocks_detail(event: CaseEvent, lang: str) -> str:
    """What a `clocks` event did, in the reader's language: which deadlines it recomputed with
    which calendar, and which it set from the node's settings."""
    d = event.data
    clocks = d.get("clocks") or {}

    def listed(names: Sequence[str]) -> str:
        return t(N_(", "), lang).join(f"{_name_label(n, lang)} {clocks[n]['due']}"
                                      for n in names if n in clocks)

    parts = []
    if d.get("recomputed"):
        parts.append(t(N_("deadlines recomputed with {calendar}: {clocks}"), lang,
                       calendar=calendar_note(str(d.get("calendar", "")), lang),
                       clocks=listed(d["recomputed"])))
    if d.get("set"):
        parts.append(t(N_("deadlines set from this node's settings: {clocks}"), lang,
                       clocks=listed(d["set"])))
    return t(N_("; "), lang).join(parts)


def _name_label(name: str, lang: str) -> str:
    if name == "target":
        return t(N_("target"), lang)
    if name.startswith("perform."):
        return kind_label(ClockKind.PERFORMANCE, lang) + name.removeprefix("perform.")
    return kind_label(ClockKind(name) if name != "jc" else ClockKind.JC_WINDOW, lang)
