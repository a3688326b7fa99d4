"""Times from the future (issue 15 item 4): what a receiver refuses however well it is signed.

A hub keeps the newest heartbeat of each station and shows a station as silent when that is old;
one dated 2099 kept a village looking alive for ever. Any time a message carries that a receiver
stores or compares (the envelope's `sent_at`; a heartbeat's or report's `at`, a registration, a
decision, an order) may be at most `FUTURE_TOLERANCE_S` ahead of the receiver's clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from nodes.messaging import settings
from protocol.envelope import Envelope

# Payload fields holding a time the receiver keeps or compares (LifecycleReport.sent_at_child is
# the child's send time of an escalation: a transit time is computed from it).
PAYLOAD_TIMES = ("at", "registered_at", "decided_at", "issued_at", "sent_at_child")


def stamped_times(env: Envelope) -> Iterator[tuple[str, datetime]]:
    yield "sent_at", env.sent_at
    for name in PAYLOAD_TIMES:
        value = getattr(env.payload, name, None)
        if isinstance(value, datetime):
            yield f"{env.payload.type}.{name}", value


def too_far_ahead(env: Envelope, now: datetime) -> str | None:
    """The quarantine reason if a time in `env` is beyond the tolerance, else None."""
    limit = now + timedelta(seconds=settings.FUTURE_TOLERANCE_S)
    for name, value in stamped_times(env):
        if value > limit:
            return (f"{name} {value.isoformat()} is more than {settings.FUTURE_TOLERANCE_S:g} s "
                    f"ahead of this node's clock ({now.isoformat()})")
    return None
