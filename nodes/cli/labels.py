"""Names shown to people: states, actions and reference data in Chinese or English.

Chinese labels come from the domain and protocol modules (one source of truth); the English ones
are kept here, next to the few CLI-only vocabularies (party roles, agreement forms).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from nodes.domain.deadlines import DayUnit
from nodes.domain.states import ACTION_LABELS_ZH, STATE_LABELS_ZH, Action, CaseState
from protocol.areas import TIER_LABELS_ZH, Tier
from protocol.reference import LABELS_ZH, dispute_type

# Keyed by value, so a state or action added to the domain later shows its value until labelled.
STATE_LABELS_EN: Mapping[str, str] = {
    "REPORTED": "reported", "REGISTERED": "registered", "REJECTED": "rejected",
    "ACCEPTED": "accepted", "REFERRED_OUT": "referred out", "MEDIATING": "mediating",
    "AGREED": "agreed", "PERFORMING": "performing", "BREACHED": "breached", "CLOSED": "closed",
    "TERMINATED": "terminated", "CLOSED_UNRESOLVED": "closed unresolved",
    "ESCALATED": "escalated", "RETURNED": "returned from above",
    "HANDED_DOWN": "handed down",
}
ACTION_LABELS_EN: Mapping[str, str] = {
    "report": "grid report", "register": "register", "reject": "reject", "accept": "accept",
    "mediate": "start mediation", "agree": "agreement", "perform": "performance starts",
    "breach": "breach", "close": "close", "terminate": "terminate", "escalate": "escalate",
    "refer_out": "refer out", "return": "returned from above", "hand_down": "hand down",
    "consent": "consent", "extend": "extend", "jc_apply": "apply for judicial confirmation",
    "jc_result": "judicial confirmation result", "follow_up": "follow-up visit",
    "red_flag": "red flag", "decision_above": "decision above",
}
# Sources, referral targets and escalation reasons (the keys of protocol.reference.LABELS_ZH).
LABELS_EN: Mapping[str, str] = {
    "application": "party's application", "own_initiative": "own initiative",
    "grid_report": "grid worker's report", "referral": "referral by court/police",
    "escalation": "escalated from below",
    "police": "police", "court": "people's court", "arbitration": "arbitration",
    "organ": "administrative organ", "petition": "petition track",
    "no_agreement": "no agreement, parties want to go on", "target_expired": "target expired",
    "cross_area": "parties from different areas", "group_case": "group case (5+ people)",
    "cadre_involved": "village cadre or committee is a party",
    "special_type": "land requisition, wage arrears, medical",
    "red_flag": "escalation risk", "department_involved": "a township department is involved",
    "court_linkage": "court linkage needed", "amount_above_threshold": "amount above threshold",
    "major_matter": "major or group matter",
}
_WORDS: Mapping[str, tuple[str, str]] = {
    "applicant": ("申请人", "applicant"), "respondent": ("被申请人", "respondent"),
    "other": ("其他当事人", "other party"),
    "mediator": ("调解员", "mediator"), "grid_worker": ("网格员", "grid worker"),
    "hub": ("上级", "hub"), "system": ("系统", "system"),
    "oral": ("口头协议", "oral"), "written": ("书面协议", "written"),
    "mediation": ("调解", "mediation"), "escalation": ("上报", "escalation"),
    "applied": ("已申请", "applied"), "confirmed": ("已确认", "confirmed"),
    "refused": ("未确认", "refused"), "not_applied": ("未申请", "not applied"),
    DayUnit.CALENDAR.value: ("自然日", "calendar days"),
    DayUnit.WORKING.value: ("工作日", "working days"),
}


def state_label(state: CaseState | str, lang: str) -> str:
    value = str(state)
    if lang == "en":
        return STATE_LABELS_EN.get(value, value.lower().replace("_", " "))
    return next((v for k, v in STATE_LABELS_ZH.items() if k.value == value), value)


def action_label(action: Action | str, lang: str) -> str:
    value = str(action)
    if lang == "en":
        return ACTION_LABELS_EN.get(value, value.replace("_", " "))
    return next((v for k, v in ACTION_LABELS_ZH.items() if k.value == value), value)


def ref_label(key: str, lang: str) -> str:
    """A source, referral target or escalation reason; unknown keys are shown as they are."""
    table = LABELS_EN if lang == "en" else LABELS_ZH
    return table.get(key, key)


def word(key: str, lang: str) -> str:
    pair = _WORDS.get(key)
    return key if pair is None else pair[1 if lang == "en" else 0]


def tier_label(tier: str, lang: str) -> str:
    try:
        return tier if lang == "en" else TIER_LABELS_ZH[Tier(tier)]
    except ValueError:
        return tier


def type_label(code: str, lang: str) -> str:
    try:
        dt = dispute_type(code)
    except KeyError:
        return code
    return dt.en if lang == "en" else dt.zh


_NOTE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"no calendar for (\d{4}): weekends only"),
     r"\1年没有节假日日历，仅把周六、周日当作非工作日（日历补上后应重新计算）"),
    (re.compile(r"calendar (\d{4}) \(SAMPLE, not official; source: (.*)\)"),
     r"\1年节假日日历（示例，非官方；来源：\2）"),
    (re.compile(r"calendar (\d{4}) \(source: (.*)\)"), r"\1年节假日日历（来源：\2）"),
    (re.compile(r"paused (\S+) to (\S+)"), r"\1 至 \2 暂停计时"),
    (re.compile(r"clock paused since (\S+) with no end: no due date yet"),
     r"自 \1 起暂停计时，尚无届满日"),
)


def calendar_note(note: str, lang: str) -> str:
    """Deadline notes are stored in English; show them in Chinese part by part."""
    if lang == "en" or not note:
        return note
    parts = []
    for part in note.split("; "):
        for pattern, repl in _NOTE_RULES:
            if pattern.fullmatch(part):
                part = pattern.sub(repl, part)
                break
        parts.append(part)
    return "；".join(parts)
