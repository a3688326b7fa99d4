"""Names people read for codes: states, actions, sources and reasons, tiers, dispute types.

Each table maps a code to its English name, the catalogue's message id in a context (`state`,
`action`, ...); the Chinese comes from the catalogue like every other text. Unknown codes are shown
as they are (a newer peer may send a state this node cannot name yet).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from nodes import i18n
from nodes.domain.states import Action, CaseState
from nodes.i18n import N_, NP_, pt, t
from protocol.areas import Tier
from protocol.reference import dispute_type

S, A = CaseState, Action
STATES: Mapping[str, str] = {
    S.REPORTED: NP_("state", "reported"), S.REGISTERED: NP_("state", "registered"),
    S.REJECTED: NP_("state", "rejected"), S.ACCEPTED: NP_("state", "accepted"),
    S.REFERRED_OUT: NP_("state", "referred out"), S.MEDIATING: NP_("state", "mediating"),
    S.AGREED: NP_("state", "agreed"), S.PERFORMING: NP_("state", "performing"),
    S.BREACHED: NP_("state", "breached"), S.CLOSED: NP_("state", "closed"),
    S.TERMINATED: NP_("state", "terminated"),
    S.CLOSED_UNRESOLVED: NP_("state", "closed unresolved"),
    S.ESCALATED: NP_("state", "escalated"), S.RETURNED: NP_("state", "returned from above"),
    S.HANDED_DOWN: NP_("state", "handed down"),
    S.SETTLED_ABOVE: NP_("state", "settled above"),
    S.SETTLED_BELOW: NP_("state", "settled below"),
}
ACTIONS: Mapping[str, str] = {
    A.REPORT: NP_("action", "grid report"), A.REGISTER: NP_("action", "register"),
    A.REJECT: NP_("action", "reject"), A.ACCEPT: NP_("action", "accept"),
    A.MEDIATE: NP_("action", "start mediation"), A.AGREE: NP_("action", "agreement"),
    A.PERFORM: NP_("action", "performance starts"), A.BREACH: NP_("action", "breach"),
    A.CLOSE: NP_("action", "close"), A.TERMINATE: NP_("action", "terminate"),
    A.ESCALATE: NP_("action", "escalate"), A.REFER_OUT: NP_("action", "refer out"),
    A.RETURN: NP_("action", "returned from above"), A.HAND_DOWN: NP_("action", "hand down"),
    A.CONSENT: NP_("action", "consent"), A.EXTEND: NP_("action", "extend"),
    A.JC_APPLY: NP_("action", "apply for judicial confirmation"),
    A.JC_RESULT: NP_("action", "judicial confirmation result"),
    A.FOLLOW_UP: NP_("action", "follow-up visit"), A.RED_FLAG: NP_("action", "red flag"),
    A.DECISION_ABOVE: NP_("action", "decision above"),
    A.SETTLE_ABOVE: NP_("action", "settled above"),
    A.REPORT_BACK: NP_("action", "report-back received"),
    A.REPORT_UP: NP_("action", "interim report sent"),
    A.REPORT_RECEIVED: NP_("action", "interim report received"),
    A.CORRECT: NP_("action", "correction"),
    A.REFUSE: NP_("action", "party refuses mediation"),
    A.CHOICE: NP_("action", "parties' choice"),
    A.CLOCKS: NP_("action", "deadlines updated"),
    A.ASSIGN: NP_("action", "assign to a leader"),
}
# Sources, referral targets and escalation reasons (protocol.reference's values).
REFERENCE: Mapping[str, str] = {
    "application": NP_("ref", "party's application"),
    "own_initiative": NP_("ref", "own initiative"),
    "grid_report": NP_("ref", "grid worker's report"),
    "referral": NP_("ref", "referral by court/police"),
    "escalation": NP_("ref", "escalated from below"),
    "police": NP_("ref", "police"), "court": NP_("ref", "people's court"),
    "arbitration": NP_("ref", "arbitration"), "organ": NP_("ref", "administrative organ"),
    "petition": NP_("ref", "petition track"),
    "no_agreement": NP_("ref", "no agreement, parties want to go on"),
    "target_expired": NP_("ref", "target expired"),
    "cross_area": NP_("ref", "parties from different areas"),
    "group_case": NP_("ref", "group case (5+ people)"),
    "cadre_involved": NP_("ref", "village cadre or committee is a party"),
    "special_type": NP_("ref", "land requisition, wage arrears, medical"),
    "red_flag": NP_("ref", "escalation risk"),
    "department_involved": NP_("ref", "a township department is involved"),
    "court_linkage": NP_("ref", "court linkage needed"),
    "amount_above_threshold": NP_("ref", "amount above threshold"),
    "major_matter": NP_("ref", "major or group matter"),
}
WORDS: Mapping[str, str] = {
    "applicant": NP_("word", "applicant"), "respondent": NP_("word", "respondent"),
    "other": NP_("word", "other party"), "mediator": NP_("word", "mediator"),
    "grid_worker": NP_("word", "grid worker"), "hub": NP_("word", "hub"),
    "station_head": NP_("word", "committee head"), "hub_staff": NP_("word", "centre staff"),
    "public": NP_("word", "public"), "private": NP_("word", "private"),
    "system": NP_("word", "system"), "oral": NP_("word", "oral"),
    "written": NP_("word", "written"), "mediation": NP_("word", "mediation"),
    "escalation": NP_("word", "escalation"), "applied": NP_("word", "applied"),
    "confirmed": NP_("word", "confirmed"), "refused": NP_("word", "refused"),
    "not_applied": NP_("word", "not applied"), "calendar_days": NP_("word", "calendar days"),
    "working_days": NP_("word", "working days"),
}
TIERS: Mapping[str, str] = {
    Tier.VILLAGE: NP_("tier", "village"), Tier.TOWNSHIP: NP_("tier", "township"),
    Tier.COUNTY: NP_("tier", "county"), Tier.CITY: NP_("tier", "city"),
}


TRACKS: Mapping[str, str] = {"key": NP_("track", "priority track (重点办)"),
                              "fast": NP_("track", "fast track (快速办)"),
                              "simple": NP_("track", "simple track (简易办)")}


RISKS: Mapping[str, str] = {"red": NP_("risk", "red"), "yellow": NP_("risk", "yellow"),
                             "green": NP_("risk", "green")}


def risk_label(colour: object, lang: str | None = None) -> str:
    """A risk colour's name (红/黄/绿, `nodes.domain.risk`); "—" for none."""
    return _label(RISKS, "risk", colour, lang) if str(colour) in RISKS else "—"


def track_label(track: str, lang: str | None = None) -> str:
    """A fast track's name (`nodes.domain.tracks`)."""
    return _label(TRACKS, "track", track, lang)


def _label(table: Mapping[str, str], context: str, code: object, lang: str | None) -> str:
    value = str(code)
    name = table.get(value)
    return value if name is None else pt(context, name, lang)


def state_label(state: CaseState | str, lang: str | None = None) -> str:
    return _label(STATES, "state", state, lang)


def action_label(action: Action | str, lang: str | None = None) -> str:
    return _label(ACTIONS, "action", action, lang)


def ref_label(key: str, lang: str | None = None) -> str:
    """A source, referral target or escalation reason."""
    return _label(REFERENCE, "ref", key, lang)


def word(key: str, lang: str | None = None) -> str:
    return _label(WORDS, "word", key, lang)


def tier_label(tier: Tier | str, lang: str | None = None) -> str:
    return _label(TIERS, "tier", tier, lang)


def type_label(code: str, lang: str | None = None) -> str:
    """A dispute type's name (its English name is the message id)."""
    try:
        return t(dispute_type(code).name, lang)
    except KeyError:
        return code


i18n.LABELLERS.update(state=state_label, action=action_label, ref=ref_label, word=word,
                      tier=tier_label, type=type_label)


# Deadline notes are stored in English (they are part of the event); shown part by part.
_NOTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"no calendar for (?P<year>\d{4}): weekends only"),
     NP_("note", "no calendar for {year}: weekends only")),
    (re.compile(r"calendar (?P<year>\d{4}) \(SAMPLE, not official; source: (?P<source>.*)\)"),
     NP_("note", "calendar {year} (SAMPLE, not official; source: {source})")),
    (re.compile(r"calendar (?P<year>\d{4}) \(source: (?P<source>.*)\)"),
     NP_("note", "calendar {year} (source: {source})")),
    (re.compile(r"paused (?P<start>\S+) to (?P<end>\S+)"),
     NP_("note", "paused {start} to {end}")),
    (re.compile(r"clock paused since (?P<start>\S+) with no end: no due date yet"),
     NP_("note", "clock paused since {start} with no end: no due date yet")),
    (re.compile(r"set by the tier above"), NP_("note", "set by the tier above")),
    (re.compile(r"no calendar for (?P<year>\d{4}): weekends and statutory holidays only, "
                r"provisional"),
     NP_("note", "no calendar for {year}: weekends and statutory holidays only, provisional")),
    (re.compile(r"no calendar for (?P<year>\d{4}): weekends and fixed-date statutory holidays "
                r"only, provisional"),
     NP_("note", "no calendar for {year}: weekends and fixed-date statutory holidays only, "
                 "provisional")),
    (re.compile(r"agreed by the parties"), NP_("note", "agreed by the parties")),
)


def calendar_note(note: str, lang: str | None = None) -> str:
    """A stored deadline note in the reader's language, part by part."""
    if not note:
        return note
    parts = []
    for part in note.split("; "):
        for pattern, msgid in _NOTES:
            match = pattern.fullmatch(part)
            if match:
                part = pt("note", msgid, lang, **match.groupdict())
                break
        parts.append(part)
    return t(N_("; "), lang).join(parts)
