"""Payloads that travel between tiers (DESIGN §3). Frozen pydantic v2 models; unknown fields ignored.

Reports and heartbeats carry no personal data: only codes, states, times and a salted party hash.
Only an escalation carries the dossier (parties and facts) that the next tier needs to mediate.

Since 2.0 the personal fields travel sealed to the receiving node (`protocol.sealed`): on the wire
an escalation's facts, parties, reason text and history, and a decision's instruction, are empty
and `sealed` holds them as one token only the recipient opens. The models allow both forms (the
plaintext one is what the handlers see once the receiver has opened it), never both at once.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from protocol.areas import Tier, validate_code
from protocol.reference import (
    DISPUTE_TYPES_VERSION,
    EscalationReason,
    ReferralTarget,
)
from protocol.reference import (
    dispute_type as lookup_dispute_type,
)

MAX_TEXT = 20_000  # facts, terms, instructions: a long dossier, but bounded
MAX_SHORT = 200
# Integers a receiver stores must fit SQLite's INTEGER (signed 64-bit); a larger one would make
# the insert raise OverflowError, which the consumer treats as a crash and requeues.
MAX_INT = 2**63 - 1
MAX_PARTIES = 500
MAX_PEOPLE = 100_000

NodeId = Annotated[str, AfterValidator(validate_code)]
ShortText = Annotated[str, Field(max_length=MAX_SHORT)]
LongText = Annotated[str, Field(max_length=MAX_TEXT)]
PartyHash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
# A token of `protocol.seal` ("x1:..."): bounded by the message's own size limit.
T = TypeVar("T")
MAX_SEALED = 2_000_000
SealedToken = Annotated[str, Field(max_length=MAX_SEALED, pattern=r"^x[0-9]{1,3}:")]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


def _none_if_sealed(value: T, info: ValidationInfo) -> T:
    """A personal field of a sealed payload must be empty: it travels inside `sealed` only."""
    if value and info.data.get("sealed") is not None:
        raise ValueError("a sealed payload carries no personal field in the clear")
    return value


class Party(Model):
    """A party as the next tier needs it to mediate. Personal data: only ever inside escalations."""

    role: Literal["applicant", "respondent", "other"]
    name: ShortText
    id_number: ShortText | None = None
    phone: ShortText | None = None
    address: ShortText | None = None
    party_hash: PartyHash


class HistoryEntry(Model):
    """One event of the case at a lower tier, without personal data."""

    seq: int = Field(ge=1, le=MAX_INT)
    node_id: NodeId
    kind: ShortText
    state: ShortText
    at: AwareDatetime
    reason: LongText = ""


class CaseEscalated(Model):
    type: Literal["case_escalated"] = "case_escalated"
    # Since 2.0: facts, parties, reason_text and history sealed to the receiving hub (listed
    # first: the fields after it are checked against it).
    sealed: SealedToken | None = None
    origin_node: NodeId
    from_tier: Tier
    dispute_type: Annotated[str, Field(pattern=r"^[0-9]{2}$")]
    dispute_types_version: ShortText = DISPUTE_TYPES_VERSION
    facts: LongText
    parties: tuple[Party, ...] = Field(max_length=MAX_PARTIES)
    people_involved: int = Field(ge=1, le=MAX_PEOPLE)
    reason: EscalationReason
    reason_text: LongText = ""
    consent: Literal[True]
    red_flag: bool = False
    registered_at: AwareDatetime
    history: tuple[HistoryEntry, ...] = Field(default=(), max_length=1_000)
    # 检举控告 (since 1.1): the accuser's identity must never reach the accused unit, so the tier
    # above must know who that is to keep the case (and hand-downs) away from it.
    accusation: bool = False
    accused_node: NodeId | None = None
    # Since 2.1, optional: the grid (网格) of the origin village the case came from (a code, not
    # personal), and the red flag's note (free text: sealed with the dossier).
    grid_id: Annotated[str, Field(pattern=r"^[0-9]{15}$")] | None = None
    red_flag_note: LongText = ""

    @field_validator("parties")
    @classmethod
    def _a_party_unless_sealed(cls, parties: tuple[Party, ...],
                               info: ValidationInfo) -> tuple[Party, ...]:
        """The opened form names at least one party; the sealed form none in the clear."""
        if not parties and info.data.get("sealed") is None:
            raise ValueError("at least one party is required (or the sealed dossier)")
        return _none_if_sealed(parties, info)

    @field_validator("facts", "reason_text", "history", "red_flag_note")
    @classmethod
    def _clear_only_unsealed(cls, value: Any, info: ValidationInfo) -> Any:
        return _none_if_sealed(value, info)

    @model_validator(mode="after")
    def _known_dispute_type(self) -> CaseEscalated:
        """The next tier files the case under this type: it must exist in the named table."""
        try:
            lookup_dispute_type(self.dispute_type, self.dispute_types_version)
        except KeyError as exc:
            raise ValueError(str(exc.args[0])) from None
        if self.grid_id is not None and self.grid_id[:12] != self.origin_node:
            raise ValueError("grid_id is not a grid of the origin node")
        return self


DecisionKind = Literal["accepted", "resolved", "returned", "referred_out", "escalated", "closed",
                      "rejected", "closed_unresolved", "terminated"]
# Outcomes that settle the case at the tier that decided them: every copy below moves on
# (SETTLED_ABOVE at the tiers that escalated it; a hub that handed it down gets a final
# report-back). "closed" after "resolved" only confirms it.
FINAL_OUTCOMES = frozenset({"resolved", "referred_out", "closed", "rejected", "closed_unresolved"})


class CaseDecision(Model):
    """A higher tier's decision, sent back down the chain towards the origin village."""

    type: Literal["case_decision"] = "case_decision"
    # Since 2.0: the instruction (free text: agreement terms, names) sealed to the receiving node.
    sealed: SealedToken | None = None
    origin_node: NodeId
    deciding_node: NodeId
    deciding_tier: Tier
    decision: DecisionKind
    # The hand-down's instruction, the agreement's terms, a referral's or rejection's reason.
    instruction: LongText = ""
    report_back_by: date | None = None
    referred_to: ReferralTarget | None = None
    decided_at: AwareDatetime
    # Since 2.1: the deciding node's name, and whether the parties were told their other routes
    # (a termination, a case closed unresolved).
    deciding_name: ShortText = ""
    remedies_notified: bool = False

    @field_validator("instruction")
    @classmethod
    def _clear_only_unsealed(cls, value: str, info: ValidationInfo) -> str:
        return _none_if_sealed(value, info)


class CaseReportBack(Model):
    """反馈: the tier a case was handed down to reports to the hub that handed it down: its final
    outcome (sent when it decides) or an interim report (sent by hand). Since 2.1."""

    type: Literal["case_report_back"] = "case_report_back"
    sealed: SealedToken | None = None  # `text` sealed to the receiving hub
    origin_node: NodeId
    reporting_node: NodeId
    reporting_name: ShortText = ""
    reporting_tier: Tier
    outcome: Literal["interim", "resolved", "referred_out", "closed", "closed_unresolved",
                     "terminated", "rejected"]
    text: LongText = ""  # the terms agreed, the referral's reason, or the interim report
    referred_to: ReferralTarget | None = None
    remedies_notified: bool = False
    decided_at: AwareDatetime

    @field_validator("text")
    @classmethod
    def _clear_only_unsealed(cls, value: str, info: ValidationInfo) -> str:
        return _none_if_sealed(value, info)


class LifecycleReport(Model):
    """One transition of one case, for statistics: no names, ID numbers, phones or addresses."""

    type: Literal["lifecycle_report"] = "lifecycle_report"
    origin_node: NodeId
    node_id: NodeId
    tier: Tier
    event: ShortText
    state_from: ShortText | None
    state_to: ShortText
    at: AwareDatetime
    dispute_type: Annotated[str, Field(pattern=r"^[0-9]{2}$")]
    escalated_from: NodeId | None = None
    sent_at_child: AwareDatetime | None = None
    party_hashes: tuple[PartyHash, ...] = Field(default=(), max_length=500)
    # Since 2.2: a deadline sweep's report (event "overdue" or "due_soon", the state unchanged)
    # names the clock and its due date, so every tier above lists its subtree's overdue cases.
    clock_kind: ShortText | None = None
    due: date | None = None
    # Since 2.2: a listed supervision order (挂牌督办) issued at `node_id` (event "order_listed",
    # `due` its answer date) or answered there ("order_listed_ended"), so every tier above it
    # lists the listed orders of its subtree (`nodes.supervision`).
    order_id: Annotated[str, Field(max_length=64, pattern=r"^[0-9A-Za-z-]*$")] | None = None
    # Since 2.2: the case's risk colour at the reporting node when it reported (its red flag,
    # people involved and how late its clocks were, by that node's `[risk]` rules).
    risk: Literal["red", "yellow", "green"] | None = None


class Heartbeat(Model):
    type: Literal["heartbeat"] = "heartbeat"
    node_id: NodeId
    tier: Tier
    outbox_depth: int = Field(ge=0, le=MAX_INT)
    last_sent_at: AwareDatetime | None = None
    at: AwareDatetime
    # Since 2.1: the node's own name as people know it (状元村: a place, never a person's), so
    # `hub flow` can show it, and how many seconds its oldest unsent outbox row had waited at
    # `at` (None: none waited), so a backlog says how old it is, not only how long.
    label: ShortText = ""
    oldest_unsent_s: int | None = Field(default=None, ge=0, le=MAX_INT)


class SupervisionOrder(Model):
    """督办: a county or city orders the tier holding a case in its subtree to act on it and
    answer by `respond_by`. It travels down hop by hop (each node passes it to its child toward
    the case's origin) until it reaches the node that holds the case (`nodes.supervision`)."""

    type: Literal["supervision_order"] = "supervision_order"
    # Since 2.2: the reason (free text: it may name people) sealed to the receiving node.
    sealed: SealedToken | None = None
    issuing_node: NodeId
    target_node: NodeId  # the holder as the issuer knew it; the order follows the case
    level: Literal["supervise", "listed_supervision"] = "supervise"
    reason: LongText
    respond_by: date
    issued_at: AwareDatetime
    # Since 2.2: the order's id (unique: the issuer's code and its number), the issuing node's
    # name, and the order this one raised the level of (a second one left unanswered).
    order_id: Annotated[str, Field(max_length=64, pattern=r"^[0-9A-Za-z-]*$")] = ""
    issuing_name: ShortText = ""
    raised_from: Annotated[str, Field(max_length=64, pattern=r"^[0-9A-Za-z-]*$")] = ""

    @field_validator("reason")
    @classmethod
    def _clear_only_unsealed(cls, value: str, info: ValidationInfo) -> str:
        return _none_if_sealed(value, info)


class SupervisionAnswer(Model):
    """办理情况反馈: the holder's answer to a supervision order, sent up hop by hop to the issuing
    node. Since 2.2."""

    type: Literal["supervision_answer"] = "supervision_answer"
    sealed: SealedToken | None = None  # `text` sealed to the receiving node
    order_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z-]+$")]
    issuing_node: NodeId
    answering_node: NodeId
    answering_name: ShortText = ""
    case_state: ShortText  # the state of the case at the answering node
    text: LongText = ""  # what was done
    automatic: bool = False  # said by the node itself: the case had gone up from there
    answered_at: AwareDatetime

    @field_validator("text")
    @classmethod
    def _clear_only_unsealed(cls, value: str, info: ValidationInfo) -> str:
        return _none_if_sealed(value, info)


Payload = Annotated[
    CaseEscalated | CaseDecision | CaseReportBack | LifecycleReport | Heartbeat
    | SupervisionOrder | SupervisionAnswer, Field(discriminator="type"),
]

PAYLOAD_MODELS: tuple[type[Model], ...] = (
    CaseEscalated, CaseDecision, CaseReportBack, LifecycleReport, Heartbeat, SupervisionOrder,
    SupervisionAnswer,
)
