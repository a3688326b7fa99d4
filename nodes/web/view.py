"""What templates call: the labels the command line uses (`nodes.labels`, the clock and outcome
renderers), masking of personal fields, and times in Beijing time. Each reads the request's
language (`nodes.i18n.current`), so a template never passes one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from nodes.cli.clock_render import basis_text, kind_label
from nodes.domain.case import SHANGHAI
from nodes.domain.roles import manages_users, records
from nodes.labels import (
    action_label,
    calendar_note,
    ref_label,
    state_label,
    tier_label,
    track_label,
    type_label,
)
from nodes.labels import word as word_label
from nodes.web.accounts import role_label
from nodes.web.order_view import nav_link
from nodes.web.risk_view import risk_text

SHOWN_DIGITS = 4  # a masked ID number or phone shows its last four characters


def mask(value: str | None) -> str:
    """An ID number or phone as `••••1234`; nothing shown of an address (`mask_all`)."""
    if not value:
        return ""
    return "••••" + value[-SHOWN_DIGITS:] if len(value) > SHOWN_DIGITS * 2 else "••••"


def mask_all(value: str | None) -> str:
    return "••••" if value else ""


def local_time(at: datetime | str | None) -> str:
    """A stored time as Beijing time to the minute ("2026-03-05 14:30")."""
    if at is None or at == "":
        return ""
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def helpers() -> dict[str, Callable[..., Any]]:
    return {"state_label": state_label, "action_label": action_label, "type_label": type_label,
            "ref_label": ref_label, "tier_label": tier_label, "word": word_label,
            "role_label": role_label, "kind_label": kind_label, "basis_text": basis_text,
            "calendar_note": calendar_note, "mask": mask, "mask_all": mask_all,
            "local_time": local_time, "records": records, "risk_text": risk_text,
            "track_label": track_label,
            "manages_users": manages_users, "orders_link": nav_link}
