"""The mediation state machine of DOMAIN §3.1 as data: states, actions and allowed transitions."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class CaseState(StrEnum):
    REPORTED = "REPORTED"
    REGISTERED = "REGISTERED"
    REJECTED = "REJECTED"
    ACCEPTED = "ACCEPTED"
    REFERRED_OUT = "REFERRED_OUT"
    MEDIATING = "MEDIATING"
    AGREED = "AGREED"
    PERFORMING = "PERFORMING"
    BREACHED = "BREACHED"
    CLOSED = "CLOSED"
    TERMINATED = "TERMINATED"
    CLOSED_UNRESOLVED = "CLOSED_UNRESOLVED"
    ESCALATED = "ESCALATED"
    RETURNED = "RETURNED"
    HANDED_DOWN = "HANDED_DOWN"  # at a hub: returned to the tier below with an instruction (交办)
    # A copy below the tier that settled the case (resolved, referred out, rejected or closed
    # there): the station's follow-up visit (回访) and its own closing remain.
    SETTLED_ABOVE = "SETTLED_ABOVE"
    # At a hub: the tier it handed the case down to reported a final outcome (反馈).
    SETTLED_BELOW = "SETTLED_BELOW"


class Action(StrEnum):
    """Every event kind. State-changing actions appear in TRANSITIONS; notes do not."""

    REPORT = "report"
    REGISTER = "register"
    REJECT = "reject"
    ACCEPT = "accept"
    MEDIATE = "mediate"
    AGREE = "agree"
    PERFORM = "perform"
    BREACH = "breach"
    CLOSE = "close"
    TERMINATE = "terminate"
    ESCALATE = "escalate"
    REFER_OUT = "refer_out"
    RETURN = "return"
    HAND_DOWN = "hand_down"
    SETTLE_ABOVE = "settle_above"  # a final decision from above reached this copy
    REPORT_BACK = "report_back"  # at a hub: the final report-back of a hand-down arrived
    # A party refuses mediation or ends it (人民调解法 Arts. 3, 23, 26): no mediation takes place,
    # the parties are told their other routes (`nodes.domain.paths.refuse`).
    REFUSE = "refuse"
    # notes: recorded facts that do not move the case
    CONSENT = "consent"
    EXTEND = "extend"
    JC_APPLY = "jc_apply"
    JC_RESULT = "jc_result"
    FOLLOW_UP = "follow_up"
    RED_FLAG = "red_flag"
    DECISION_ABOVE = "decision_above"
    REPORT_UP = "report_up"  # an interim report-back sent by hand to the tier that handed down
    REPORT_RECEIVED = "report_received"  # at a hub: an interim (or late) report-back arrived
    CORRECT = "correct"  # a correction of facts or party details, with its reason
    CLOCKS = "clocks"  # deadlines set or recomputed (a new calendar): nodes.domain.clock_plan
    CHOICE = "choice"  # the parties' choice of mediator and of a public or private session
    ASSIGN = "assign"  # 包案: a named leader owns the case here (nodes.domain.ownership)


S = CaseState
OPENING: Mapping[Action, CaseState] = {Action.REPORT: S.REPORTED, Action.REGISTER: S.REGISTERED}

TRANSITIONS: Mapping[Action, Mapping[CaseState, CaseState]] = {
    Action.REGISTER: {S.REPORTED: S.REGISTERED, S.HANDED_DOWN: S.REGISTERED},
    Action.REJECT: {S.REPORTED: S.REJECTED, S.REGISTERED: S.REJECTED},
    Action.ACCEPT: {S.REGISTERED: S.ACCEPTED},
    # From AGREED or PERFORMING only once the court refused judicial confirmation (Art. 33:
    # change the agreement or reach a new one; guarded in `nodes.domain.path_rules`).
    Action.MEDIATE: {S.ACCEPTED: S.MEDIATING, S.RETURNED: S.MEDIATING, S.BREACHED: S.MEDIATING,
                     S.AGREED: S.MEDIATING, S.PERFORMING: S.MEDIATING},
    Action.AGREE: {S.MEDIATING: S.AGREED},
    Action.PERFORM: {S.AGREED: S.PERFORMING},
    Action.BREACH: {S.AGREED: S.BREACHED, S.PERFORMING: S.BREACHED},
    Action.CLOSE: {
        S.AGREED: S.CLOSED, S.PERFORMING: S.CLOSED, S.SETTLED_ABOVE: S.CLOSED,
        S.TERMINATED: S.CLOSED_UNRESOLVED, S.BREACHED: S.CLOSED_UNRESOLVED,
    },
    Action.TERMINATE: {S.ACCEPTED: S.TERMINATED, S.MEDIATING: S.TERMINATED,
                       S.RETURNED: S.TERMINATED},
    Action.ESCALATE: {
        S.REGISTERED: S.ESCALATED, S.ACCEPTED: S.ESCALATED,
        S.MEDIATING: S.ESCALATED, S.TERMINATED: S.ESCALATED, S.RETURNED: S.ESCALATED,
    },
    Action.REFER_OUT: {  # from AGREED or PERFORMING to the court only (Art. 32)
        S.REGISTERED: S.REFERRED_OUT, S.ACCEPTED: S.REFERRED_OUT, S.MEDIATING: S.REFERRED_OUT,
        S.TERMINATED: S.REFERRED_OUT, S.BREACHED: S.REFERRED_OUT, S.RETURNED: S.REFERRED_OUT,
        S.AGREED: S.REFERRED_OUT, S.PERFORMING: S.REFERRED_OUT,
    },
    Action.REFUSE: {S.REPORTED: S.TERMINATED, S.REGISTERED: S.TERMINATED,
                    S.ACCEPTED: S.TERMINATED, S.MEDIATING: S.TERMINATED,
                    S.RETURNED: S.TERMINATED},
    Action.RETURN: {S.ESCALATED: S.RETURNED},
    Action.HAND_DOWN: {S.REGISTERED: S.HANDED_DOWN, S.ACCEPTED: S.HANDED_DOWN,
                       S.MEDIATING: S.HANDED_DOWN, S.TERMINATED: S.HANDED_DOWN},
    Action.SETTLE_ABOVE: {S.ESCALATED: S.SETTLED_ABOVE},
    Action.REPORT_BACK: {S.HANDED_DOWN: S.SETTLED_BELOW},
}

OPEN_STATES = frozenset(
    {S.REPORTED, S.REGISTERED, S.ACCEPTED, S.MEDIATING, S.AGREED, S.PERFORMING, S.BREACHED,
     S.TERMINATED, S.RETURNED}
)
FINAL_STATES = frozenset({S.REJECTED, S.REFERRED_OUT, S.CLOSED, S.CLOSED_UNRESOLVED,
                          S.SETTLED_BELOW})
# States in which the case's current clock runs: this tier's target duration (it is this tier's
# job to settle the case), or, at a hub that handed the case down, the report-back date it set.
CLOCK_RUNNING = frozenset({S.ACCEPTED, S.MEDIATING, S.RETURNED, S.HANDED_DOWN})
# Every state a case can be in once recorded (for notes allowed "whenever").
ALL_STATES = frozenset(CaseState)

# Where each note may be recorded.
NOTE_ALLOWED: Mapping[Action, frozenset[CaseState]] = {
    Action.CONSENT: frozenset({S.REPORTED, S.REGISTERED, S.ACCEPTED, S.MEDIATING, S.TERMINATED,
                               S.RETURNED}),
    Action.EXTEND: frozenset({S.ACCEPTED, S.MEDIATING}),
    Action.JC_APPLY: frozenset({S.AGREED, S.PERFORMING, S.CLOSED, S.BREACHED}),
    Action.JC_RESULT: frozenset({S.AGREED, S.PERFORMING, S.CLOSED, S.BREACHED}),
    Action.FOLLOW_UP: frozenset({S.AGREED, S.PERFORMING, S.CLOSED, S.BREACHED,
                                 S.SETTLED_ABOVE}),
    Action.RED_FLAG: frozenset(OPEN_STATES | {S.ESCALATED, S.HANDED_DOWN}),
    # What happened above is recorded whatever this copy did meanwhile: a message from the parent
    # must never be refused for the state the case reached here.
    Action.DECISION_ABOVE: ALL_STATES,
    Action.REPORT_UP: frozenset(OPEN_STATES - {S.REPORTED}),
    Action.REPORT_RECEIVED: ALL_STATES,
    Action.CORRECT: frozenset(OPEN_STATES | {S.ESCALATED, S.HANDED_DOWN, S.SETTLED_ABOVE}),
    Action.CLOCKS: ALL_STATES,
    Action.CHOICE: frozenset({S.REGISTERED, S.ACCEPTED, S.MEDIATING, S.RETURNED}),
    # Only on the copy this node holds and still handles (not one gone up, down or finished).
    Action.ASSIGN: OPEN_STATES,
}

def is_note(action: Action) -> bool:
    return action in NOTE_ALLOWED
