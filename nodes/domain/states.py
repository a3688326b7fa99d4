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
    # notes: recorded facts that do not move the case
    CONSENT = "consent"
    EXTEND = "extend"
    JC_APPLY = "jc_apply"
    JC_RESULT = "jc_result"
    FOLLOW_UP = "follow_up"
    RED_FLAG = "red_flag"
    DECISION_ABOVE = "decision_above"


S = CaseState
OPENING: Mapping[Action, CaseState] = {Action.REPORT: S.REPORTED, Action.REGISTER: S.REGISTERED}

TRANSITIONS: Mapping[Action, Mapping[CaseState, CaseState]] = {
    Action.REGISTER: {S.REPORTED: S.REGISTERED, S.HANDED_DOWN: S.REGISTERED},
    Action.REJECT: {S.REPORTED: S.REJECTED, S.REGISTERED: S.REJECTED},
    Action.ACCEPT: {S.REGISTERED: S.ACCEPTED},
    Action.MEDIATE: {S.ACCEPTED: S.MEDIATING, S.RETURNED: S.MEDIATING, S.BREACHED: S.MEDIATING},
    Action.AGREE: {S.MEDIATING: S.AGREED},
    Action.PERFORM: {S.AGREED: S.PERFORMING},
    Action.BREACH: {S.PERFORMING: S.BREACHED},
    Action.CLOSE: {
        S.AGREED: S.CLOSED, S.PERFORMING: S.CLOSED,
        S.TERMINATED: S.CLOSED_UNRESOLVED, S.BREACHED: S.CLOSED_UNRESOLVED,
    },
    Action.TERMINATE: {S.ACCEPTED: S.TERMINATED, S.MEDIATING: S.TERMINATED,
                       S.RETURNED: S.TERMINATED},
    Action.ESCALATE: {
        S.REGISTERED: S.ESCALATED, S.ACCEPTED: S.ESCALATED,
        S.MEDIATING: S.ESCALATED, S.TERMINATED: S.ESCALATED, S.RETURNED: S.ESCALATED,
    },
    Action.REFER_OUT: {
        S.REGISTERED: S.REFERRED_OUT, S.ACCEPTED: S.REFERRED_OUT, S.MEDIATING: S.REFERRED_OUT,
        S.TERMINATED: S.REFERRED_OUT, S.BREACHED: S.REFERRED_OUT, S.RETURNED: S.REFERRED_OUT,
    },
    Action.RETURN: {S.ESCALATED: S.RETURNED},
    Action.HAND_DOWN: {S.REGISTERED: S.HANDED_DOWN, S.ACCEPTED: S.HANDED_DOWN,
                       S.MEDIATING: S.HANDED_DOWN, S.TERMINATED: S.HANDED_DOWN},
}

OPEN_STATES = frozenset(
    {S.REPORTED, S.REGISTERED, S.ACCEPTED, S.MEDIATING, S.AGREED, S.PERFORMING, S.BREACHED,
     S.TERMINATED, S.RETURNED}
)
FINAL_STATES = frozenset({S.REJECTED, S.REFERRED_OUT, S.CLOSED, S.CLOSED_UNRESOLVED})
# States in which the tier's target duration runs (it is this tier's job to settle the case).
CLOCK_RUNNING = frozenset({S.ACCEPTED, S.MEDIATING, S.RETURNED})

# Where each note may be recorded.
NOTE_ALLOWED: Mapping[Action, frozenset[CaseState]] = {
    Action.CONSENT: frozenset({S.REPORTED, S.REGISTERED, S.ACCEPTED, S.MEDIATING, S.TERMINATED,
                               S.RETURNED}),
    Action.EXTEND: frozenset({S.ACCEPTED, S.MEDIATING}),
    Action.JC_APPLY: frozenset({S.AGREED, S.PERFORMING, S.CLOSED}),
    Action.JC_RESULT: frozenset({S.AGREED, S.PERFORMING, S.CLOSED, S.BREACHED}),
    Action.FOLLOW_UP: frozenset({S.PERFORMING, S.CLOSED, S.BREACHED}),
    Action.RED_FLAG: frozenset(OPEN_STATES | {S.ESCALATED}),
    Action.DECISION_ABOVE: frozenset({S.ESCALATED, S.RETURNED, S.MEDIATING, S.HANDED_DOWN}),
}

def is_note(action: Action) -> bool:
    return action in NOTE_ALLOWED
