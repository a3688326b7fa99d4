"""What `case list` and `case show` say of a case whose message has not left yet (issue 16 item 8).

An escalation recorded while the broker was away read 已上报上级 ("escalated") while it still sat in
the outbox. Until the broker confirms its message (the relay then marks the row sent), such a case
reads 已记录、待发送 ("recorded, not yet sent") with the step that waits to go; its state's label
comes once the message has left. Only messages that carry the case to another tier count
(escalations, decisions, report-backs): a lifecycle report is statistics, and a case closed at the
village is closed whether or not the county has heard of it yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from nodes.domain.case import SHANGHAI
from nodes.i18n import N_, t
from nodes.labels import action_label, state_label
from nodes.store.outbox import UnsentMessage

__all__ = ["UnsentMessage", "latest_by_case", "state_text", "unsent_json", "unsent_line"]


def latest_by_case(messages: Iterable[UnsentMessage]) -> dict[str, UnsentMessage]:
    """Each case's latest unsent message (the store gives them oldest first)."""
    return {m.case_id: m for m in messages}


def _pending(state: str, latest: UnsentMessage | None) -> bool:
    """The case's state came from (or has not moved since) an event whose message waits."""
    return latest is not None and latest.state_after == str(state)


def state_text(state: str, latest: UnsentMessage | None, lang: str | None = None) -> str:
    """The state's label, or "<step> (recorded, not yet sent)" while that step's message waits."""
    if _pending(state, latest):
        assert latest is not None  # noqa: S101 - _pending checked it
        return t(N_("{action} (recorded, not yet sent)"), lang,
                 action=action_label(latest.action, lang))
    return state_label(state, lang)


def _local(at: str) -> str:
    try:
        return datetime.fromisoformat(at).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return at


def unsent_line(messages: Sequence[UnsentMessage], lang: str | None = None) -> str | None:
    """One line for `case show`: how many of its messages wait, since when; None if none."""
    if not messages:
        return None
    return t(N_("not yet sent: {n} message(s) of this case, the first recorded {at}, wait in the "
                "outbox; they go by themselves when the network is back"), lang,
             n=len(messages), at=_local(messages[0].created_at))


def unsent_json(messages: Sequence[UnsentMessage], lang: str | None = None) -> list[Any]:
    return [{"seq": m.seq, "action": m.action, "action_label": action_label(m.action, lang),
             "recorded_at": m.created_at} for m in messages]
