"""The notices a periodic look finds (the notifier runs it at start and every CHECK_EVERY_S):

- a supervision order this node holds and has not answered: an alert to the staff (`order`);
- a running clock due within the node's `due_soon_days` and not yet past: an alert to the staff
  (`due_soon`), once per clock and due date (an extension that moves the date alerts again);
  a follow-up visit (回访) so due is also a reminder to each party with a phone.

Each is keyed like the notices of events ("order:ID", "due:CASE:CLOCK:DATE",
"follow_up:CASE:DATE"), so a second look, or a restart, adds nothing. Candidate cases come from
the projection's due dates (`nodes.store.due_index`); only they are replayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from nodes.domain.case import Case, Rules, local_date
from nodes.domain.clock_book import MAY_RUN, Clock, ClockKind
from nodes.domain.clock_plan import clocks_of
from nodes.notices.model import STAFF, NoticeKind, NoticeRow, party
from nodes.notices.rows import make
from nodes.store.sqlite_store import SqliteStore


@dataclass(frozen=True)
class CheckSetting:
    node_id: str
    name: str  # the node's name, which the parties read ("": none)
    rules: Rules
    due_soon_days: int


def order_alerts(store: SqliteStore, now: datetime, s: CheckSetting) -> list[NoticeRow]:
    return [make(s.node_id, f"order:{order}", case_id, NoticeKind.ORDER, STAFF,
                 {"order": order, "case": case_id, "level": level, "due": due}, now)
            for order, case_id, level, due in store.held_orders()]


def clock_notices(store: SqliteStore, case: Case, clock: Clock, now: datetime,
                  s: CheckSetting) -> list[NoticeRow]:
    """A due-soon alert; for a follow-up visit, a reminder to the parties too."""
    due = clock.due.isoformat()
    rows = [make(s.node_id, f"due:{case.case_id}:{clock.name}:{due}", case.case_id,
                 NoticeKind.DUE_SOON, STAFF,
                 {"case": case.case_id, "clock": clock.kind.value, "due": due}, now)]
    if clock.kind is ClockKind.FOLLOW_UP:
        # Who has a phone, not the phone: the notifier opens it again when it sends.
        places = [i for i, p in enumerate(store.parties(case.case_id), start=1) if p.phone]
        params = {"case": case.case_id, "node": s.name, "due": due}
        rows += [make(s.node_id, f"follow_up:{case.case_id}:{due}", case.case_id,
                      NoticeKind.FOLLOW_UP, party(place), params, now) for place in places]
    return rows


def due_notices(store: SqliteStore, now: datetime, s: CheckSetting) -> list[NoticeRow]:
    today = local_date(now)
    rows: list[NoticeRow] = []
    for case_id in store.cases_due_by(today + timedelta(days=s.due_soon_days)):
        case = store.load_case(case_id)
        if case is None or case.state not in MAY_RUN:
            continue
        for clock in clocks_of(case, s.rules):
            # Not yet past: a clock long overdue when notices began is not announced now.
            if not clock.is_window and today <= clock.due and clock.due_within(
                    today, s.due_soon_days):
                rows += clock_notices(store, case, clock, now, s)
    return rows


def check(store: SqliteStore, now: datetime, s: CheckSetting) -> int:
    """One look: the notices found are written (those already there are skipped); returns how
    many were new."""
    rows = order_alerts(store, now, s) + due_notices(store, now, s)
    with store.atomic():
        return store.add_notices(rows)
