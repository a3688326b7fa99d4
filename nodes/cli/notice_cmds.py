"""`fengqiao notices list [--status pending|sent|failed|gave_up] [--json]`: the notices to the
parties and the alerts to the staff, newest first, and how each went (`nodes.notices`).

No phone is shown: a party is named by its place in the case (the row never holds the phone).
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from nodes.cli.context import Ctx, open_node
from nodes.cli.parser import group, leaf
from nodes.cli.table import render
from nodes.domain.case import SHANGHAI
from nodes.i18n import N_, NP_, _, pt, t
from nodes.notices.model import Status, StoredNotice, party_place

LIMIT = 500  # the newest this many
KIND_NAMES = {"accepted": NP_("notice", "acceptance notice"),
              "handed_down": NP_("notice", "hand-down notice"),
              "referred_out": NP_("notice", "referral notice"),
              "concluded": NP_("notice", "conclusion notice"),
              "follow_up": NP_("notice", "follow-up reminder"),
              "arrival": NP_("notice", "arrival alert"),
              "order": NP_("notice", "supervision order alert"),
              "due_soon": NP_("notice", "due-soon alert")}
# What the file adapter and a gateway that says nothing more answer (a gateway's own words are
# shown as it said them).
DELIVERY_NAMES = {"written": NP_("delivery", "written to the notices file"),
                  "written before": NP_("delivery", "found in the notices file"),
                  "accepted": NP_("delivery", "taken by the gateway")}
STATUS_NAMES = {Status.PENDING: NP_("notice status", "waiting"),
                Status.SENT: NP_("notice status", "sent"),
                Status.FAILED: NP_("notice status", "failed, to be tried again"),
                Status.GAVE_UP: NP_("notice status", "given up")}


def register(subparsers: Any) -> None:
    g = group(subparsers, "notices", _("notices to parties and alerts to staff"))
    p = leaf(g, "list", _("the notices, newest first, and how each went (no phone numbers)"),
             json=True)
    p.add_argument("--status", choices=[s.value for s in Status],
                   help=_("only the notices in this state"))
    p.set_defaults(handler=list_notices)


def recipient_label(recipient: str, lang: str) -> str:
    place = party_place(recipient)
    if place is None:
        return t(N_("staff"), lang)
    return t(N_("party {number}"), lang, number=place)


def notice_json(n: StoredNotice) -> dict[str, Any]:
    return {"notice_id": n.notice_id, "case_id": n.case_id, "kind": n.kind,
            "recipient": n.recipient, "template": n.template, "params": dict(n.params),
            "status": n.status, "attempts": n.attempts, "next_attempt_at": n.next_attempt_at,
            "created_at": n.created_at, "sent_at": n.sent_at, "gateway_id": n.gateway_id,
            "delivery": n.delivery, "last_error": n.last_error}


def _when(n: StoredNotice) -> str:
    """When it was sent, is to be tried again, or was made: Beijing time, to the minute."""
    at = n.sent_at if n.status == Status.SENT else n.next_attempt_at \
        if n.status == Status.FAILED else n.created_at
    if not at:
        return ""
    return datetime.fromisoformat(at).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _answer(n: StoredNotice, lang: str) -> str:
    """The gateway's message id and delivery status, or why it was not sent."""
    if n.last_error:
        return n.last_error
    said = pt("delivery", DELIVERY_NAMES[n.delivery], lang) if n.delivery in DELIVERY_NAMES \
        else n.delivery or ""
    return " ".join(x for x in (n.gateway_id, said) if x)


def list_notices(args: argparse.Namespace, ctx: Ctx) -> int:
    with open_node(ctx) as node:
        rows = node.store.notices(args.status, LIMIT)
    if args.json:
        ctx.emit_json([notice_json(n) for n in rows])
        return 0
    if not rows:
        ctx.say(t(N_("no notices"), ctx.lang))
        return 0
    head = [t(h, ctx.lang) for h in (N_("notice"), N_("case"), N_("kind"), N_("to"),
                                       N_("status"), N_("attempts"), N_("time"),
                                       N_("gateway's answer"))]
    ctx.say(render(head, [[n.notice_id[:8], n.case_id or "", pt("notice", KIND_NAMES.get(
        n.kind, n.kind), ctx.lang), recipient_label(n.recipient, ctx.lang),
        pt("notice status", STATUS_NAMES[Status(n.status)], ctx.lang), str(n.attempts),
        _when(n), _answer(n, ctx.lang)] for n in rows]))
    return 0
