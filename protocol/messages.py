"""Payloads that travel between tiers (DESIGN §3). Frozen pydantic v2 models; unknown fields ignored.

Reports and heartbeats carry no personal data: only codes, states, times and a salted party hash.
Only an escalation carries the dossier (parties and facts) that the next tier needs to mediate.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

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


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


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
    origin_node: NodeId
    from_tier: Tier
    dispute_type: Annotated[str, Field(pattern=r"^[0-9]{2}$")]
    dispute_types_version: ShortText = DISPUTE_TYPES_VERSION
    facts: LongText
    parties: tuple[Party, ...] = Field(min_length=1, max_length=MAX_PARTIES)
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

    @model_validator(mode="after")
    def _known_dispute_type(self) -> CaseEscalated:
        """The next tier files the case under this type: it must exist in the named table."""
        try:
            lookup_dispute_type(self.dispute_type, self.dispute_types_version)
        except KeyError as exc:
            raise ValueError(str(exc.args[0])) from None
        return self


class CaseDecision(Model):
    """A higher tier's decision, sent back down the chain towards the origin village."""

    type: Literal["case_decision"] = "case_decision"
    origin_node: NodeId
    deciding_node: NodeId
    deciding_tier: Tier
    decision: Literal["accepted", "resolved", "returned", "referred_out", "escalated", "closed"]
    instruction: LongText = ""
    report_back_by: date | None = None
    referred_to: ReferralTarget | None = None
    decided_at: AwareDatetime


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


class Heartbeat(Model):
    type: Literal["heartbeat"] = "heartbeat"
    node_id: NodeId
    tier: Tier
    outbox_depth: int = Field(ge=0, le=MAX_INT)
    last_sent_at: AwareDatetime | None = None
    at: AwareDatetime


class SupervisionOrder(Model):
    """督办: a higher tier orders a lower one to act on an overdue or mishandled case."""

    type: Literal["supervision_order"] = "supervision_order"
    issuing_node: NodeId
    target_node: NodeId
    level: Literal["supervise", "listed_supervision"] = "supervise"
    reason: LongText
    respond_by: date
    issued_at: AwareDatetime


Payload = Annotated[
    CaseEscalated | CaseDecision | LifecycleReport | Heartbeat | SupervisionOrder,
    Field(discriminator="type"),
]

PAYLOAD_MODELS: tuple[type[Model], ...] = (
    CaseEscalated, CaseDecision, LifecycleReport, Heartbeat, SupervisionOrder,
)
