"""Which payload fields are personal data, and sealing them to the receiving node (protocol 2.0,
issue 15 item 3), so the broker, its queues, its disk and every quarantined or stranded copy hold
none of it in the clear.

The personal fields of a payload travel as ONE token (`protocol.seal`): the JSON object of those
fields, sealed to the recipient node, bound to the sender and to the message id (a token copied
into another message, or moved to another recipient, does not open). On the wire the fields
themselves are empty; `open_payload` puts them back and validates the result as if it had come
in the clear.

- `CaseEscalated`: facts, parties, reason_text, history, red_flag_note (the dossier) - always
  sealed;
- `CaseDecision`: instruction (free text: a hand-down instruction, agreement terms) - sealed when
  it is not empty;
- `CaseReportBack`: text (terms agreed below, an interim report) - sealed when not empty;
- `SupervisionOrder`: reason, and `SupervisionAnswer`: text (free text that may name people) -
  sealed when not empty (since 2.2).

Everything else stays in the clear on purpose: routing and trust checks (origin node, tiers,
case id) and the statistics need it, and none of it names a person.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pydantic import ValidationError

from protocol.keydir import KeyDirectory
from protocol.keys import SealInvalid
from protocol.messages import (
    CaseDecision,
    CaseEscalated,
    CaseReportBack,
    Model,
    SupervisionAnswer,
    SupervisionOrder,
)
from protocol.seal import open_sealed, seal_for

P = TypeVar("P", bound=Model)

PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "case_escalated": ("facts", "parties", "reason_text", "history", "red_flag_note"),
    "case_decision": ("instruction",),
    "case_report_back": ("text",),
    "supervision_order": ("reason",),
    "supervision_answer": ("text",),
}
_EMPTY: dict[str, Any] = {"facts": "", "parties": (), "reason_text": "", "history": (),
                          "instruction": "", "text": "", "red_flag_note": "", "reason": ""}


def must_seal(payload: Model) -> bool:
    """Whether this payload carries personal data to seal: every escalation (its dossier), and
    a decision with an instruction."""
    if isinstance(payload, CaseEscalated):
        return True
    if isinstance(payload, CaseReportBack | SupervisionAnswer):
        return bool(payload.text)
    if isinstance(payload, SupervisionOrder):
        return bool(payload.reason)
    return isinstance(payload, CaseDecision) and bool(payload.instruction)


def in_the_clear(payload: Model) -> str | None:
    """Why a received payload must be refused because its personal data travelled unsealed (the
    sender leaked it to the broker); None if it is sealed or carries none."""
    if getattr(payload, "sealed", None) is None and must_seal(payload):
        kind = str(getattr(payload, "type", "message"))
        return f"{kind} carries personal data in the clear: it must be sealed to this node"
    return None


def seal_payload(payload: P, directory: KeyDirectory, recipient: str, sender: str,
                 context: str, now: datetime | None = None) -> P:
    """A copy of `payload` with its personal fields sealed to `recipient` (`context`: the message
    id); the payload itself if it carries none. UnknownRecipient if the directory lists no
    sealing key for the recipient."""
    fields = PERSONAL_FIELDS.get(str(getattr(payload, "type", "")))
    if fields is None or not must_seal(payload):
        return payload
    # A field left at its default is not sealed: the receiver's copy already holds the default,
    # and a 2.0 receiver, which knows no red_flag_note, still opens a dossier without one.
    clear = payload.model_dump(mode="json", include=set(fields), exclude_defaults=True)
    text = json.dumps(clear, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    token = seal_for(text, directory, recipient, sender, context, now)
    return payload.model_copy(update={**{f: _EMPTY[f] for f in fields}, "sealed": token})


def open_payload(payload: P, keys: Sequence[X25519PrivateKey], recipient: str, sender: str,
                 context: str) -> P:
    """The payload with its sealed fields opened and validated; the payload itself if nothing in
    it is sealed. SealInvalid with the reason if the token does not open or what it holds is not
    what the message needs."""
    token = getattr(payload, "sealed", None)
    if token is None:
        return payload
    fields = PERSONAL_FIELDS.get(str(getattr(payload, "type", "")), ())
    plain = open_sealed(token, keys, recipient, sender, context)
    try:
        opened = json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SealInvalid("the sealed fields are not a JSON object") from None
    if not isinstance(opened, dict) or set(opened) - set(fields):
        raise SealInvalid(f"the sealed fields are not those of {getattr(payload, 'type', '?')}: "
                          f"expected {', '.join(fields)}")
    data = {**payload.model_dump(exclude={"sealed"}), **opened}
    try:
        return type(payload).model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise SealInvalid(f"the sealed fields do not validate: {where}: {first['msg']}") from None
