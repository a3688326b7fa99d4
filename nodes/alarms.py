"""What a node alarms about, and how an alarm is raised: a row in the node's file (so `node status`
and `hub flow` show it after a restart) and one WARNING log line when it is new.

Alarms never carry personal data: subjects are node ids, case ids, message ids or table names.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

import structlog

log = structlog.get_logger("fengqiao.alarms")


class AlarmKind(StrEnum):
    BINDING_MISSING = "binding_missing"        # a hub's queue lost a binding it needs
    UNROUTABLE = "unroutable"                  # the broker returned a publish: no queue for it
    QUARANTINE_FULL = "quarantine_full"        # quarantine rows evicted at its cap or age limit
    HELD_FULL = "held_full"                    # held rows evicted at their cap or age limit
    HELD_WAITING = "held_waiting"              # a held stream waited past its limit
    ESCALATION_RATE = "escalation_rate"        # a child sent more escalations per hour than allowed
    OVERSIZED = "oversized"                    # a message over the size limit arrived
    FUTURE_TIME = "future_time"                # a message dated too far in the future arrived
    STORE_INTEGRITY = "store_integrity"        # the database failed its check: writes refused
    NUMBERING = "numbering"                    # case numbering would go backwards
    BROKER_AUTH = "broker_auth"                # the broker refused this node's login
    NOTICE_GAVE_UP = "notice_gave_up"          # a notice refused by the gateway, or out of attempts


class AlarmStore(Protocol):
    def raise_alarm(self, kind: str, subject: str, detail: str, at: datetime) -> bool: ...
    def clear_alarm(self, kind: str, subject: str, at: datetime) -> bool: ...


def raise_alarm(store: AlarmStore, kind: AlarmKind, subject: str, detail: str,
                at: datetime) -> None:
    """Record the alarm; log it when it is new (a repeat only counts, so logs stay readable)."""
    if store.raise_alarm(kind.value, subject, detail, at):
        log.warning("alarm", kind=kind.value, subject=subject, detail=detail)


def clear_alarm(store: AlarmStore, kind: AlarmKind, subject: str, at: datetime) -> None:
    if store.clear_alarm(kind.value, subject, at):
        log.info("alarm_cleared", kind=kind.value, subject=subject)
