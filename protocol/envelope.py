"""The envelope every message travels in, its versioning rule, and decoding with a reason.

Unknown fields are tolerated (a newer minor version may add some); an unknown major version is
not, because its meaning may have changed. Decoding never raises anything but `DecodeError`, whose
message is the quarantine reason.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import Field, ValidationError, field_validator, model_validator

from protocol.messages import MAX_INT, MAX_SHORT, Model, NodeId, Payload

P = TypeVar("P", bound=Model)
PROTOCOL_MAJOR = 2
PROTOCOL_MINOR = 2  # 1.1: CaseEscalated.accusation, accused_node; 1.2: Envelope.prev_seq;
# 1.3: bundles of envelopes in one broker message (protocol/bundle.py);
# 2.0: every broker message signed (`protocol.seal` headers) and personal fields sealed to the
# receiving node (`sealed`, `protocol.sealed`). Major, because a 1.x reader would apply a sealed
# decision without its instruction: it must refuse 2.0 instead.
# 2.1: CaseReportBack (反馈 of a hand-down); CaseDecision.deciding_name, remedies_notified and the
# decisions rejected, closed_unresolved, terminated; fields added by issue 16 to CaseEscalated and
# Heartbeat (optional, a 2.0 reader ignores them).
# 2.2: SupervisionAnswer; SupervisionOrder.order_id, issuing_name, raised_from and its reason
# sealed; LifecycleReport.clock_kind and due (a deadline sweep's overdue and due-soon reports).
# A 2.1 node quarantines a supervision answer (an unknown payload type): upgrade hubs first.
PROTOCOL_VERSION = f"{PROTOCOL_MAJOR}.{PROTOCOL_MINOR}"
MAX_MESSAGE_BYTES = 1_000_000  # far above any real dossier; bounds what a hostile sender can cost


class Envelope(Model):
    message_id: uuid.UUID
    schema_name: Annotated[str, Field(max_length=MAX_SHORT)]
    schema_version: Annotated[str, Field(pattern=r"^[0-9]{1,4}\.[0-9]{1,4}$")]
    sender: NodeId
    case_id: Annotated[str, Field(max_length=64, pattern=r"^[0-9A-Za-z-]+$")] | None = None
    seq: int = Field(ge=0, le=MAX_INT)
    # The seq of the previous message of the same stream (sender, case, schema), 0 for the first:
    # a receiver applies a stream in order by holding a message back until its predecessor is
    # applied, instead of guessing from gaps (seq also counts events that send nothing).
    prev_seq: int | None = Field(default=None, ge=0, le=MAX_INT)
    sent_at: datetime
    payload: Payload

    @field_validator("schema_version")
    @classmethod
    def _known_major(cls, value: str) -> str:
        major = int(value.split(".")[0])
        if major != PROTOCOL_MAJOR:
            raise ValueError(f"unsupported major version {major} (this node speaks {PROTOCOL_MAJOR})")
        return value

    @field_validator("sent_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("sent_at must carry a time zone")
        return value

    def payload_as(self, kind: type[P]) -> P:
        """The payload as the kind a handler was registered for; TypeError if it is another."""
        if not isinstance(self.payload, kind):
            raise TypeError(f"{self.schema_name} is not a {kind.__name__}")
        return self.payload

    @property
    def case(self) -> str:
        """The case id of a message about a case; TypeError if it has none."""
        if self.case_id is None:
            raise TypeError(f"{self.schema_name} has no case_id")
        return self.case_id

    @model_validator(mode="after")
    def _schema_matches_payload(self) -> Envelope:
        if self.schema_name != self.payload.type:
            raise ValueError(
                f"schema_name {self.schema_name!r} does not match payload type {self.payload.type!r}"
            )
        return self


class DecodeError(ValueError):
    """The message cannot be accepted; str(error) is the reason recorded in quarantine."""


def make_envelope(
    payload: Any, *, sender: str, case_id: str | None, seq: int, sent_at: datetime,
    message_id: uuid.UUID | None = None, prev_seq: int | None = None,
) -> Envelope:
    return Envelope(
        message_id=message_id or uuid.uuid4(),
        schema_name=payload.type,
        schema_version=PROTOCOL_VERSION,
        sender=sender,
        case_id=case_id,
        seq=seq,
        prev_seq=prev_seq,
        sent_at=sent_at,
        payload=payload,
    )


def encode(envelope: Envelope) -> bytes:
    return envelope.model_dump_json().encode("utf-8")


def decode(body: bytes | str) -> Envelope:
    """Parse and validate; every failure becomes one DecodeError with a short reason."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if len(raw) > MAX_MESSAGE_BYTES:
        raise DecodeError(f"message is {len(raw)} bytes, above the limit of {MAX_MESSAGE_BYTES}")
    try:
        # Decode as UTF-8 ourselves: json.loads(bytes) would also take UTF-16/32 and a BOM.
        data = json.loads(raw.decode("utf-8"))
    except ValueError as exc:  # bad UTF-8 or JSON, or an integer too long to convert
        raise DecodeError(f"not valid UTF-8 JSON: {exc}") from None
    except RecursionError:
        raise DecodeError("message nested too deeply") from None
    if not isinstance(data, dict):
        raise DecodeError("message is not a JSON object")
    try:
        return Envelope.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise DecodeError(f"invalid field {where}: {first['msg']} ({exc.error_count()} error(s))")\
            from None
    except RecursionError:
        raise DecodeError("message nested too deeply") from None
