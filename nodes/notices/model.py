"""What a notice is, as its rows hold it: kinds, recipients, statuses (`nodes.notices`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class NoticeKind(StrEnum):
    ACCEPTED = "accepted"          # 受理告知
    HANDED_DOWN = "handed_down"    # 交办告知
    REFERRED_OUT = "referred_out"  # 转办告知
    CONCLUDED = "concluded"        # 办结告知, with the outcome
    FOLLOW_UP = "follow_up"        # 回访 reminder
    ARRIVAL = "arrival"            # staff: a case arrived (from below, or handed down)
    ORDER = "order"                # staff: a supervision order to answer
    DUE_SOON = "due_soon"          # staff: a clock falls due soon


class Status(StrEnum):
    PENDING = "pending"   # not tried yet
    SENT = "sent"
    FAILED = "failed"     # tried, the gateway did not take it: tried again later
    GAVE_UP = "gave_up"   # refused by the gateway, or out of attempts (alarm notice_gave_up)


STAFF = "staff"  # the recipient of a staff alert: the node's staff (the notices file, the lists)
PARTY = "party:"  # a party notice's recipient: "party:N", the party's place in the case (1-based)
NAMESPACE = uuid.UUID("5b1f8d3e-6c1a-4c1e-9a7e-2f3f6b0e8a11")  # notice ids (uuid5)


def party(place: int) -> str:
    return f"{PARTY}{place}"


def party_place(recipient: str) -> int | None:
    """The party's place of a party notice's recipient; None for staff."""
    if not recipient.startswith(PARTY):
        return None
    return int(recipient.removeprefix(PARTY))


def notice_id(node_id: str, event: str, recipient: str, kind: str) -> str:
    """The same notice has the same id wherever and however often it is made: the gateway's
    idempotency key."""
    return uuid.uuid5(NAMESPACE, f"{node_id}|{event}|{recipient}|{kind}").hex


def stamp(at: datetime) -> str:
    """Times in the notices table: UTC ISO text, so that text order is time order."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class NoticeRow:
    """A notice as made: unique on (event, recipient, kind). `event` names what caused it:
    "CASE#SEQ" for a case's event, "order:ID", "due:CASE:CLOCK:DATE", "follow_up:CASE:DATE".
    `params` are the template's, codes and dates only (no personal data)."""

    notice_id: str
    event: str
    case_id: str | None
    kind: NoticeKind
    recipient: str
    template: str
    params: Mapping[str, str]
    created_at: datetime


@dataclass(frozen=True)
class StoredNotice:
    """A notice as the table holds it."""

    id: int
    notice_id: str
    event: str
    case_id: str | None
    kind: str
    recipient: str
    template: str
    params: Mapping[str, str]
    status: str
    attempts: int
    next_attempt_at: str
    created_at: str
    updated_at: str
    sent_at: str | None = None
    gateway_id: str | None = None
    delivery: str | None = None
    last_error: str | None = None
    sending_since: str | None = None


@dataclass(frozen=True)
class Finished:
    """How one send went: sent (`gateway_id`, `detail` the delivery status), failed (`retry_at`,
    `detail` the error) or gave up (`detail` the reason)."""

    id: int
    status: Status
    detail: str | None = None
    gateway_id: str | None = None
    retry_at: datetime | None = None
