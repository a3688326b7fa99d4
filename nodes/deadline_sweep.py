"""The deadline sweep (issue 18 item 1): every node looks at its cases' clocks at start and in
each housekeeping round (`Node.housekeep`), and tells the tiers above which cases are overdue or
due soon, so township, county and city each see their whole subtree's overdue list
(`hub.store.HubStore.deadlines_reported`, `fengqiao hub overdue`).

Each case has one headline at a time: its earliest overdue clock, else its earliest clock due
within `due_soon_days` (a judicial-confirmation window counts while it is open; it is never
overdue), else none. The sweep sends it up as a lifecycle report (event "overdue" or "due_soon",
the state unchanged, the clock's kind and due date, no party data) when it differs from what this
node last sent since the case's last transition, and records what it sent in the same
transaction (`nodes.store.deadline_alerts`), so nothing is sent twice, across a restart too.

A transition of the case is reported anyway, and a hub takes that newer report as the end of the
alert; only when a note stopped or moved the clock (a follow-up visit, an extension, an
application for judicial confirmation, recomputed dates) does the sweep send the end itself
(event "deadline_clear"). Candidates come from the `cases` projection's due dates
(`nodes.store.due_index`): only they, and the cases with an alert standing, are replayed, and a
case reported overdue on the same clock with no event since is not replayed at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import structlog

from nodes.cli.clock_render import ANSWER_KIND
from nodes.domain.case import Case, Rules, local_date
from nodes.domain.clock_book import MAY_RUN, Clock
from nodes.domain.clock_plan import clocks_of
from nodes.domain.states import is_note
from nodes.outbound import message_row, report_key
from nodes.store import deadline_alerts as alerts
from nodes.store.deadline_alerts import CLEAR, DUE_SOON, OVERDUE, Alert, Candidate
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import Tier
from protocol.envelope import Envelope, make_envelope
from protocol.messages import LifecycleReport
from protocol.topology import EXCHANGE_REPORT

log = structlog.get_logger("fengqiao.deadlines")
ENDED = "deadline_clear"  # the event of a report that ends an alert a note made stale
SWEEP_EVENTS = frozenset({OVERDUE, DUE_SOON, ENDED})  # the events only this sweep sends


@dataclass(frozen=True)
class DeadlineSetting:
    """What the sweep needs of the node: who sends, its rules (planned clocks), how soon."""

    node_id: str
    tier: Tier
    rules: Rules
    due_soon_days: int


@dataclass(frozen=True)
class DeadlineCounts:
    overdue: int = 0   # cases with a running clock past its due date
    due_soon: int = 0  # cases with none overdue and one due within `due_soon_days`
    reports: int = 0   # reports written to the outbox by this sweep (overdue, due soon, ended)


def _earliest(clocks: list[Clock]) -> Clock | None:
    return min(clocks, key=lambda c: (c.due, c.name)) if clocks else None


def headline(case: Case, rules: Rules | None, today: date, days: int,
             answers: Sequence[date] = ()) -> Alert:
    """The case's overdue or due-soon state now (status CLEAR: neither); a closed or final case
    and a stopped clock have none. `answers`: the answer dates of the supervision orders this
    node holds on the case unanswered, clocks too (kind ANSWER_KIND), whatever the case's state."""
    running = [c for c in clocks_of(case, rules) if c.running] if case.state in MAY_RUN else []
    for status, clock, answer in (
            (OVERDUE, _earliest([c for c in running if c.is_overdue(today)]),
             min((d for d in answers if today > d), default=None)),
            (DUE_SOON, _earliest([c for c in running if c.due_within(today, days)]),
             min((d for d in answers if d <= today + timedelta(days=days)), default=None))):
        if answer is not None and (clock is None or answer < clock.due):
            return Alert(case.case_id, case.seq, status, ANSWER_KIND, answer)
        if clock is not None:
            return Alert(case.case_id, case.seq, status, clock.kind.value, clock.due)
    return Alert(case.case_id, case.seq, CLEAR, None, None)


def last_transition(case: Case) -> int:
    """Seq of the case's last transition: its report ended at the hubs any alert sent before."""
    return max((e.seq for e in case.events if not is_note(e.action)), default=0)


def _unchanged(row: Candidate, alert: Alert | None, today: date) -> bool:
    """Reported overdue on the clock the projection still names first, with no event since: the
    headline is the same (the earliest overdue clock cannot change while nothing happens)."""
    return (alert is not None and alert.status == OVERDUE and alert.seq == row.last_seq
            and alert.due is not None and alert.due < today
            and row.due_next == alert.due.isoformat() and row.due_kind == alert.clock_kind)


def sweep_deadlines(store: SqliteStore, now: datetime, setting: DeadlineSetting) -> DeadlineCounts:
    """One sweep at `now`; each case's report and its record commit together (a sweep cut
    short is simply done again by the next)."""
    if store.damage is not None:  # a damaged file is only read
        return DeadlineCounts()
    today = local_date(now)
    until = today + timedelta(days=setting.due_soon_days)
    rows = alerts.candidates(store, today, until)
    known = alerts.alerts_of(store, [r.case_id for r in rows])
    answers = alerts.answer_dates(store, until)
    overdue = soon = sent = 0
    for row in rows:
        alert = known.get(row.case_id)
        if row.case_id not in answers and _unchanged(row, alert, today):
            overdue += 1
            continue
        case = store.load_case(row.case_id)
        if case is None:
            continue
        head = headline(case, setting.rules, today, setting.due_soon_days,
                        answers.get(row.case_id, ()))
        overdue += head.status == OVERDUE
        soon += head.status == DUE_SOON
        sent += settle(store, case, alert, head, now, setting)
    (log.info if sent else log.debug)("deadlines.swept", overdue=overdue, due_soon=soon,
                                      reports=sent, candidates=len(rows))
    return DeadlineCounts(overdue, soon, sent)


def settle(store: SqliteStore, case: Case, alert: Alert | None, head: Alert, now: datetime,
           setting: DeadlineSetting) -> int:
    """Send `head` if the hubs do not show it yet (or the end of an alert they still show);
    returns how many reports were written (0 or 1)."""
    standing = (alert if alert is not None and alert.status != CLEAR
                and alert.seq >= last_transition(case) else None)
    if head.status == CLEAR and standing is None:
        if alert is not None and alert.status != CLEAR:  # a transition ended it: note that
            with store.atomic():
                alerts.put_alert(store, head, None, now)
        return 0
    if standing is not None and (standing.status, standing.clock_kind, standing.due) == (
            head.status, head.clock_kind, head.due):
        return 0
    env = report(case, head, now, setting)
    with store.atomic():
        store.add_outbox([message_row(EXCHANGE_REPORT, report_key(setting.node_id), env)])
        alerts.put_alert(store, head, str(env.message_id), now)
    log.info("deadlines.reported", case_id=case.case_id, alert=env.payload_as(LifecycleReport).event,
             clock=head.clock_kind, due=head.due.isoformat() if head.due else None)
    return 1


def report(case: Case, head: Alert, now: datetime, setting: DeadlineSetting) -> Envelope:
    """The lifecycle report of `head`: the case's state unchanged, its clock and due date, no
    party hashes; seq is the case's current one (reports are not an ordered stream)."""
    state = case.state.value if case.state is not None else ""
    payload = LifecycleReport(
        origin_node=case.facts["origin_node"], node_id=setting.node_id, tier=setting.tier,
        event=ENDED if head.status == CLEAR else head.status, state_from=state,
        state_to=state, at=now, dispute_type=case.facts["dispute_type"],
        clock_kind=head.clock_kind, due=head.due,
        risk=case.risk(local_date(now), setting.rules.risk))
    return make_envelope(payload, sender=setting.node_id, case_id=case.case_id, seq=case.seq,
                         sent_at=now)
