"""A deterministic corpus of bad messages for one hub, each labelled with what is wrong, and the
valid traffic to interleave with it (issue 4, item 5; DESIGN §3, §4 rule 3).

Everything is built from the area codes of a small invented network (`Net`: a county of the
invented city 3397 with two townships and three villages, plus a "stranger" county), with no
randomness: message ids are uuid5 of the item's label and every time is fixed, so two runs give
byte-identical corpora. Each message carries the exchange and routing key to publish it with; a bad
one may also name the extra binding (`bind`) that a misconfigured broker would need to deliver it
to the hub at all. With the broker's topic permissions (one user per node, keys limited to its own
path; built separately) those messages are refused by RabbitMQ before any consumer sees them; the
corpus checks that the consumer catches them anyway.

`expect` is a part of the reason the consumer must record, so a message caught by the wrong check
(or by none) fails the tests.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

from protocol.areas import Tier, tier_of
from protocol.envelope import MAX_MESSAGE_BYTES, make_envelope
from protocol.messages import (
    MAX_SHORT,
    MAX_TEXT,
    CaseDecision,
    CaseEscalated,
    Heartbeat,
    HistoryEntry,
    LifecycleReport,
    Party,
    SupervisionOrder,
)
from protocol.reference import EscalationReason
from protocol.routing import down_key, node_key
from protocol.topology import (
    EXCHANGE_DOWN,
    EXCHANGE_REPORT,
    EXCHANGE_UP,
    MAX_BROKER_MESSAGE_BYTES,
    node_queue_name,
)

NS = uuid.UUID("0d3f7c8e-5b6a-4f4e-9c1d-2a7b8e9f0a11")
BJ = timezone(timedelta(hours=8))
AT = datetime(2026, 1, 5, 10, 0, tzinfo=BJ)
HASH_A, HASH_B = "a1" * 32, "b2" * 32
CITY = "339700000000"

Json = dict[str, Any]


@dataclass(frozen=True)
class Net:
    """The invented network around the hub under test: `code` names its county (3397{code}…)."""

    code: str
    stranger_code: str
    hub_tier: Tier = Tier.COUNTY

    @property
    def county(self) -> str:
        return f"3397{self.code}000000"

    @property
    def townships(self) -> tuple[str, str]:
        return f"3397{self.code}101000", f"3397{self.code}102000"

    @property
    def villages(self) -> tuple[str, str, str]:  # two under the first township, one under the second
        return f"3397{self.code}101201", f"3397{self.code}101202", f"3397{self.code}102201"

    @property
    def stranger_county(self) -> str:
        return f"3397{self.stranger_code}000000"

    @property
    def stranger_township(self) -> str:
        return f"3397{self.stranger_code}101000"

    @property
    def stranger_village(self) -> str:
        return f"3397{self.stranger_code}101201"

    @property
    def hub(self) -> str:
        return self.county if self.hub_tier is Tier.COUNTY else self.townships[0]

    @property
    def parent(self) -> str:
        return CITY if self.hub_tier is Tier.COUNTY else self.county

    @property
    def children(self) -> tuple[str, str]:
        if self.hub_tier is Tier.COUNTY:
            return self.townships
        return self.villages[0], self.villages[1]

    @property
    def sibling(self) -> str:
        """A node of the hub's own tier that is not the hub."""
        return self.stranger_county if self.hub_tier is Tier.COUNTY else self.townships[1]

    @property
    def outsider(self) -> str:
        """A village outside the hub's subtree."""
        return self.stranger_village if self.hub_tier is Tier.COUNTY else self.villages[2]

    @property
    def takes_reports(self) -> bool:
        """Every hub binds its subtree's reports (the township too since 2.1: red flags)."""
        return self.hub_tier in (Tier.TOWNSHIP, Tier.COUNTY, Tier.CITY)

    @property
    def subtree(self) -> tuple[str, ...]:
        """The nodes below the hub and the hub itself: the senders of the reports it takes."""
        if self.hub_tier is Tier.COUNTY:
            return (*self.townships, *self.villages)
        return self.hub, *self.children

    def under(self, child: str) -> str:
        """A village at or below `child` (the child itself when it is a village)."""
        return self.villages[0] if child == self.townships[0] else \
            self.villages[2] if child == self.townships[1] else child


@dataclass(frozen=True)
class Msg:
    category: str
    label: str
    body: bytes
    exchange: str
    routing_key: str
    expect: str = ""  # bad messages: part of the quarantine reason
    bind: tuple[str, str] | None = None  # (exchange, key) the hub queue must also be bound to
    message_id: str = ""  # the AMQP message-id property, to find our messages in shared queues
    valid_id: str | None = field(default=None, compare=False)  # valid ones: the envelope id
    case_id: str | None = field(default=None, compare=False)


def _uuid(label: str) -> uuid.UUID:
    return uuid.uuid5(NS, label)


def dump(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------- valid envelopes

def party(role: Literal["applicant", "respondent", "other"] = "applicant", name: str = "王某（样例）",
          h: str = HASH_A) -> Party:
    return Party(role=role, name=name, id_number="33068119800101123X", phone="13900000001",
                 address="样例村1号", party_hash=h)


def escalation(sender: str, origin: str, n: int, label: str) -> Json:
    payload = CaseEscalated(
        origin_node=origin, from_tier=tier_of(sender), dispute_type="03",
        facts="两户因宅基地边界发生争执（样例数据）",
        parties=(party(), party("respondent", "赵某（样例）", HASH_B)), people_involved=2,
        reason=EscalationReason.NO_AGREEMENT, consent=True, registered_at=AT,
        history=(HistoryEntry(seq=1, node_id=origin, kind="register", state="REGISTERED", at=AT),))
    return make_envelope(payload, sender=sender, case_id=f"{origin}-2026-{n:05d}", seq=2,
                         sent_at=AT, message_id=_uuid(label)).model_dump(mode="json")


def report(sender: str, origin: str, n: int, label: str, tier: Tier | None = None) -> Json:
    payload = LifecycleReport(origin_node=origin, node_id=sender, tier=tier or tier_of(sender),
                              event="register", state_from=None, state_to="REGISTERED", at=AT,
                              dispute_type="02", party_hashes=(HASH_A,))
    return make_envelope(payload, sender=sender, case_id=f"{origin}-2026-{n:05d}", seq=1,
                         sent_at=AT, message_id=_uuid(label)).model_dump(mode="json")


def heartbeat(sender: str, label: str) -> Json:
    payload = Heartbeat(node_id=sender, tier=tier_of(sender), outbox_depth=3, last_sent_at=AT,
                        at=AT)
    return make_envelope(payload, sender=sender, case_id=None, seq=0, sent_at=AT,
                         message_id=_uuid(label)).model_dump(mode="json")


def decision(sender: str, origin: str, n: int, label: str) -> Json:
    payload = CaseDecision(origin_node=origin, deciding_node=sender, deciding_tier=tier_of(sender),
                           decision="returned", instruction="请继续调解（样例）",
                           report_back_by=date(2026, 1, 20), decided_at=AT)
    return make_envelope(payload, sender=sender, case_id=f"{origin}-2026-{n:05d}", seq=5,
                         sent_at=AT, message_id=_uuid(label)).model_dump(mode="json")


def order(sender: str, target: str, label: str) -> Json:
    payload = SupervisionOrder(issuing_node=sender, target_node=target, reason="逾期未结（样例）",
                               respond_by=date(2026, 1, 12), issued_at=AT)
    return make_envelope(payload, sender=sender, case_id=None, seq=0, sent_at=AT,
                         message_id=_uuid(label)).model_dump(mode="json")


# --------------------------------------------------------------------------- mutations

Path = tuple[str | int, ...]


def with_value(data: Json, path: Path, value: Any) -> Json:
    out = copy.deepcopy(data)
    target: Any = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


def without(data: Json, path: Path) -> Json:
    out = copy.deepcopy(data)
    target: Any = out
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return out


def _where(path: Path, kind: str) -> str:
    """The location pydantic names in the reason (the payload union adds its tag)."""
    if path and path[0] == "payload" and len(path) > 1:
        path = ("payload", kind, *path[1:])
    return "invalid field " + ".".join(str(p) for p in path)


# --------------------------------------------------------------------------- the corpus

class _Corpus:
    def __init__(self, net: Net) -> None:
        self.net = net
        self.items: list[Msg] = []
        self.n = 0

    def next_case(self) -> int:
        self.n += 1
        return 90_000 + self.n

    def add(self, category: str, label: str, body: bytes | Json, expect: str, *,
            exchange: str = EXCHANGE_UP, key: str | None = None,
            bind: tuple[str, str] | None = None) -> None:
        full = f"{self.net.hub}/{category}/{label}"
        raw = body if isinstance(body, bytes) else dump(body)
        self.items.append(Msg(category, label, raw, exchange,
                              node_key(self.net.children[0]) if key is None else key, expect,
                              bind, message_id=f"hostile-{_uuid(full)}"))

    # A valid escalation from the first child, with a fresh id and case number for each use.
    def esc(self, label: str) -> Json:
        child = self.net.children[0]
        return escalation(child, child, self.next_case(), f"bad/{label}")

    def rep(self, label: str, sender: str | None = None) -> Json:
        sender = sender or self.net.children[0]
        return report(sender, sender, self.next_case(), f"bad/{label}")


def corpus(net: Net) -> list[Msg]:
    """Every bad message for the hub of `net`, in a fixed order."""
    c = _Corpus(net)
    for build in (_undecodable, _wrong_types, _missing, _oversize, _numbers, _versions_and_schemas,
                  _datetimes, _area_codes, _trust, _payload_checks, _apply):
        build(c)
    labels = [(m.category, m.label) for m in c.items]
    assert len(set(labels)) == len(labels), "corpus labels must be unique"
    return c.items


def _undecodable(c: _Corpus) -> None:
    valid = dump(c.esc("source"))
    for cut in (1, 2, 10, len(valid) // 4, len(valid) // 2, len(valid) - 1):
        c.add("broken_json", f"truncated at {cut}", valid[:cut], "not valid UTF-8 JSON")
    for label, body in (
        ("lone brace", b"{"), ("dangling key", b'{"message_id": '), ("reversed braces", b"}{"),
        ("two objects", b"{}{}"), ("trailing garbage", valid + b" garbage"),
        ("extra closing brace", valid + b"}"), ("single quotes", b"{'message_id': 'x'}"),
        ("trailing comma", b'{"seq": 1,}'), ("unquoted key", b"{seq: 1}"),
        ("comment", b"/* hi */ {}"), ("raw control character in a string", b'{"facts": "a\x01b"}'),
        ("bad escape", b'{"facts": "\\x41"}'), ("unterminated string", b'{"facts": "abc'),
        ("python literal", b"{'seq': None}"),
    ):
        c.add("broken_json", label, body, "not valid UTF-8 JSON")
    text = valid.decode("utf-8")
    for label, body in (
        ("GBK", text.encode("gbk")), ("GB18030", text.encode("gb18030")),
        ("UTF-16 with BOM", text.encode("utf-16")), ("UTF-16-BE", text.encode("utf-16-be")),
        ("UTF-32", text.encode("utf-32")), ("UTF-8 with BOM", b"\xef\xbb\xbf" + valid),
        ("lone 0xff", valid.replace(b'"03"', b'"0\xff"')),
        ("overlong slash", valid.replace(b'"03"', b'"\xc0\xaf"')),
        ("encoded surrogate", valid.replace(b'"03"', b'"\xed\xa0\x80"')),
        ("cut multibyte character", valid.replace("争".encode(), "争".encode()[:2])),
        ("latin-1 text", b'{"facts": "caf\xe9"}'),
    ):
        c.add("not_utf8", label, body, "not valid UTF-8 JSON")
    for label, body in (("empty body", b""), ("a space", b" "), ("newlines", b"\n\r\n"),
                        ("NUL byte", b"\x00")):
        c.add("empty", label, body, "not valid UTF-8 JSON")
    for label, body in (
        ("null", b"null"), ("empty array", b"[]"), ("array of the envelope", b"[" + valid + b"]"),
        ("number", b"42"), ("negative float", b"-0.5"), ("string", b'"case_escalated"'),
        ("true", b"true"), ("false", b"false"), ("infinity", b"1e999"), ("NaN", b"NaN"),
    ):
        c.add("not_an_object", label, body, "not a JSON object")
    c.add("not_utf8", "a lone surrogate escape in a string", dump(c.esc("surrogate"))
          .replace(b'"03"', b'"\\ud800"'), "invalid field payload.case_escalated.dispute_type")


_TOP_WRONG: dict[str, tuple[Any, ...]] = {
    "message_id": (123, [], "not-a-uuid", None, {}),
    "schema_name": (1, None, ["case_escalated"]),
    "schema_version": (1.0, None, ["1", "0"]),
    "sender": (339787101000, None, ["339787101000"]),
    "case_id": (123, [], {}, "has spaces in it", "../../etc/passwd"),
    "seq": ("one", 1.5, [], {}, None),
    "sent_at": ("yesterday", [], {}, None),
    "payload": ("case_escalated", [], 1, None),
}
_ESC_WRONG: dict[str, tuple[Any, ...]] = {
    "origin_node": (339787101000, None),
    "from_tier": ("mayor", 1),
    "dispute_type": (3, None, "3"),
    "dispute_types_version": (2026.1, []),
    "facts": (1, [], None),
    "parties": ({}, "王某", [1], []),
    "people_involved": ("many", 2.5, None),
    "reason": ("because", 1),
    "reason_text": (5, None),
    "red_flag": ("maybe", [], None),
    "registered_at": ("soon", [], 12.5e20),
    "history": ({}, [1], "none"),
}
_PARTY_WRONG: dict[str, tuple[Any, ...]] = {
    "role": ("judge", 1), "name": (1, None), "party_hash": ("xyz", 1), "id_number": (1, []),
    "phone": ([], 13900000001), "address": ({},),
}


def _wrong_types(c: _Corpus) -> None:
    for name, values in _TOP_WRONG.items():
        for value in values:
            expect = "invalid field " + ("payload" if name == "payload" else name)
            c.add("wrong_type", f"{name}={value!r}", with_value(c.esc(f"t-{name}-{value!r}"),
                                                                 (name,), value), expect)
    for name, values in _ESC_WRONG.items():
        for value in values:
            path: Path = ("payload", name)
            c.add("wrong_type", f"payload.{name}={value!r}", with_value(
                c.esc(f"p-{name}-{value!r}"), path, value), _where(path, "case_escalated"))
    for name, values in _PARTY_WRONG.items():
        for value in values:
            path = ("payload", "parties", 0, name)
            c.add("wrong_type", f"parties[0].{name}={value!r}", with_value(
                c.esc(f"party-{name}-{value!r}"), path, value), _where(path, "case_escalated"))
    path = ("payload", "history", 0, "seq")
    c.add("wrong_type", "history[0].seq='x'", with_value(c.esc("h-seq"), path, "x"),
          _where(path, "case_escalated"))


def _missing(c: _Corpus) -> None:
    for name in ("message_id", "schema_name", "schema_version", "sender", "seq", "sent_at",
                 "payload"):
        c.add("missing_field", name, without(c.esc(f"m-{name}"), (name,)),
              f"invalid field {name}: Field required")
    c.add("missing_field", "payload.type", without(c.esc("m-type"), ("payload", "type")),
          "invalid field payload: Unable to extract tag")
    for name in ("origin_node", "from_tier", "dispute_type", "facts", "parties",
                 "people_involved", "reason", "consent", "registered_at"):
        path: Path = ("payload", name)
        c.add("missing_field", f"payload.{name}", without(c.esc(f"m-p-{name}"), path),
              _where(path, "case_escalated") + ": Field required")
    for name in ("role", "name", "party_hash"):
        path = ("payload", "parties", 0, name)
        c.add("missing_field", f"parties[0].{name}", without(c.esc(f"m-party-{name}"), path),
              _where(path, "case_escalated") + ": Field required")
    for name in ("seq", "node_id", "kind", "state", "at"):
        path = ("payload", "history", 0, name)
        c.add("missing_field", f"history[0].{name}", without(c.esc(f"m-h-{name}"), path),
              _where(path, "case_escalated") + ": Field required")
    net = c.net
    others: list[tuple[str, Json, tuple[str, ...]]] = [
        ("lifecycle_report", c.rep("m-rep"), ("origin_node", "node_id", "tier", "event",
                                             "state_from", "state_to", "at", "dispute_type")),
        ("heartbeat", heartbeat(net.children[0], "bad/m-hb"), ("node_id", "tier", "outbox_depth",
                                                               "at")),
        ("case_decision", decision(net.parent, net.children[0], c.next_case(), "bad/m-dec"),
         ("origin_node", "deciding_node", "deciding_tier", "decision", "decided_at")),
        ("supervision_order", order(net.parent, net.hub, "bad/m-ord"),
         ("issuing_node", "target_node", "reason", "respond_by", "issued_at")),
    ]
    for kind, data, names in others:
        for name in names:
            path = ("payload", name)
            c.add("missing_field", f"{kind}.{name}", without(data, path),
                  _where(path, kind) + ": Field required")
    c.add("missing_field", "case_id of an escalation", without(c.esc("m-case"), ("case_id",)),
          "case_escalated without a case_id", key=node_key(net.children[0]))


def _oversize(c: _Corpus) -> None:
    def big(label: str, path: Path, value: Any, kind: str = "case_escalated",
            data: Json | None = None) -> None:
        c.add("oversize", label, with_value(data or c.esc(f"big-{label}"), path, value),
              _where(path, kind))

    big("facts over the limit", ("payload", "facts"), "纠" * (MAX_TEXT + 1))
    big("reason_text over the limit", ("payload", "reason_text"), "x" * (MAX_TEXT + 1))
    big("party name over the limit", ("payload", "parties", 0, "name"), "名" * (MAX_SHORT + 1))
    big("party address over the limit", ("payload", "parties", 0, "address"), "x" * (MAX_SHORT + 1))
    big("501 parties", ("payload", "parties"), [c.esc("p")["payload"]["parties"][0]] * 501)
    big("1001 history entries", ("payload", "history"),
        [c.esc("h")["payload"]["history"][0]] * 1001)
    big("100,001 people involved", ("payload", "people_involved"), 100_001)
    big("history reason over the limit", ("payload", "history", 0, "reason"), "x" * (MAX_TEXT + 1))
    big("schema_name over the limit", ("schema_name",), "x" * (MAX_SHORT + 1))
    big("case_id of 65 characters", ("case_id",), "1" * 65)
    big("event name over the limit", ("payload", "event"), "e" * (MAX_SHORT + 1),
        "lifecycle_report", c.rep("big-event"))
    big("501 party hashes", ("payload", "party_hashes"), [HASH_A] * 501, "lifecycle_report",
        c.rep("big-hashes"))
    net = c.net
    big("instruction over the limit", ("payload", "instruction"), "x" * (MAX_TEXT + 1),
        "case_decision", decision(net.parent, net.children[0], c.next_case(), "bad/big-instr"))
    limit = f"above the limit of {MAX_MESSAGE_BYTES}"
    # Over the broker's limit too: refused by its length before anything reads it (a broker
    # without max_message_size delivers it; the consumer's own pre-check refuses it).
    broker_limit = f"above the broker limit of {MAX_BROKER_MESSAGE_BYTES}"
    people = [c.esc("tenk")["payload"]["parties"][0]] * 10_000
    c.add("oversize", "10,000 parties", with_value(c.esc("10k"), ("payload", "parties"), people),
          broker_limit)
    c.add("oversize", "2 MB body", with_value(c.esc("2mb"), ("padding",), "x" * 2_000_000),
          broker_limit)
    c.add("oversize", "one byte over the limit", b" " * (MAX_MESSAGE_BYTES + 1), limit)


def _numbers(c: _Corpus) -> None:
    for label, path, value, kind in (
        ("seq of 2**63", ("seq",), 2**63, "case_escalated"),
        ("seq of 2**64", ("seq",), 2**64, "case_escalated"),
        ("seq of 10**30", ("seq",), 10**30, "case_escalated"),
        ("seq Infinity", ("seq",), float("inf"), "case_escalated"),
        ("people_involved of 10**30", ("payload", "people_involved"), 10**30, "case_escalated"),
        ("history seq of 2**63", ("payload", "history", 0, "seq"), 2**63, "case_escalated"),
        ("negative seq", ("seq",), -1, "case_escalated"),
        ("very negative seq", ("seq",), -(2**70), "case_escalated"),
        ("history seq 0", ("payload", "history", 0, "seq"), 0, "case_escalated"),
        ("negative history seq", ("payload", "history", 0, "seq"), -3, "case_escalated"),
        ("no people involved", ("payload", "people_involved"), 0, "case_escalated"),
        ("negative people involved", ("payload", "people_involved"), -5, "case_escalated"),
    ):
        c.add("huge_or_negative_int", label, with_value(c.esc(f"num-{label}"), path, value),
              _where(path, kind))
    data = heartbeat(c.net.children[0], "bad/hb-depth")
    for label, value in (("outbox_depth of 2**63", 2**63), ("negative outbox_depth", -1)):
        c.add("huge_or_negative_int", label, with_value(data, ("payload", "outbox_depth"), value),
              _where(("payload", "outbox_depth"), "heartbeat"))
    c.add("huge_or_negative_int", "seq 1e400", dump(c.esc("1e400")).replace(b'"seq": 2', b'"seq": 1e400'),
          "invalid field seq")
    c.add("huge_or_negative_int", "seq of 5000 digits",
          dump(c.esc("5000")).replace(b'"seq": 2', b'"seq": ' + b"9" * 5000),
          "not valid UTF-8 JSON")
    deep_list = b"[" * 100_000 + b"]" * 100_000
    c.add("deep_nesting", "100,000 nested arrays", deep_list, "nested too deeply")
    c.add("deep_nesting", "50,000 nested objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
          "nested too deeply")
    c.add("deep_nesting", "deeply nested unknown field",
          dump(c.esc("deep-extra"))[:-1] + b', "extra": ' + deep_list + b"}", "nested too deeply")
    nested: Any = "x"
    for _ in range(60):
        nested = [nested]
    c.add("deep_nesting", "facts as a nested list", with_value(c.esc("deep-facts"),
                                                               ("payload", "facts"), nested),
          _where(("payload", "facts"), "case_escalated"))


def _versions_and_schemas(c: _Corpus) -> None:
    for version in ("3.0", "1.3", "0.9", "99.1", "1", "1.0.0", "", "١.٠", "v1.0", "10000.0",
                    "1.0 "):
        expect = "unsupported major version" if version in ("3.0", "1.3", "0.9", "99.1") else \
            "invalid field schema_version"
        c.add("unknown_version", f"schema_version={version!r}",
              with_value(c.esc(f"v-{version}"), ("schema_version",), version), expect)
    net = c.net
    mismatch = "does not match payload type"
    for label, data, schema in (
        ("escalation named a decision", c.esc("s1"), "case_decision"),
        ("escalation named a report", c.esc("s2"), "lifecycle_report"),
        ("escalation with an unknown schema name", c.esc("s3"), "case_deleted"),
        ("escalation named in capitals", c.esc("s4"), "CASE_ESCALATED"),
        ("report named a heartbeat", c.rep("s5"), "heartbeat"),
        ("heartbeat named a report", heartbeat(net.children[0], "bad/s6"), "lifecycle_report"),
        ("decision named an escalation", decision(net.parent, net.children[0], c.next_case(),
                                                  "bad/s7"), "case_escalated"),
        ("order named a decision", order(net.parent, net.hub, "bad/s8"), "case_decision"),
    ):
        c.add("schema_mismatch", label, with_value(data, ("schema_name",), schema), mismatch)
    for label, tag in (("unknown payload type", "case_deleted"), ("payload type null", None),
                       ("payload type number", 3)):
        c.add("schema_mismatch", label, with_value(c.esc(f"tag-{label}"), ("payload", "type"), tag),
              "invalid field payload")


def _datetimes(c: _Corpus) -> None:
    net = c.net
    naive = "2026-01-05T10:00:00"
    cases: list[tuple[str, Json, Path, str]] = [
        ("sent_at", c.esc("n1"), ("sent_at",), "case_escalated"),
        ("registered_at", c.esc("n2"), ("payload", "registered_at"), "case_escalated"),
        ("history at", c.esc("n3"), ("payload", "history", 0, "at"), "case_escalated"),
        ("report at", c.rep("n4"), ("payload", "at"), "lifecycle_report"),
        ("report sent_at_child", c.rep("n5"), ("payload", "sent_at_child"), "lifecycle_report"),
        ("heartbeat at", heartbeat(net.children[0], "bad/n6"), ("payload", "at"), "heartbeat"),
        ("heartbeat last_sent_at", heartbeat(net.children[1], "bad/n7"),
         ("payload", "last_sent_at"), "heartbeat"),
        ("decided_at", decision(net.parent, net.children[0], c.next_case(), "bad/n8"),
         ("payload", "decided_at"), "case_decision"),
        ("issued_at", order(net.parent, net.hub, "bad/n9"), ("payload", "issued_at"),
         "supervision_order"),
    ]
    for label, data, path, kind in cases:
        expect = "sent_at must carry a time zone" if path == ("sent_at",) else _where(path, kind)
        c.add("naive_datetime", f"naive {label}", with_value(data, path, naive), expect)
    for label, value in (("30 February", "2026-02-30T10:00:00+08:00"),
                         ("month 13", "2026-13-01T10:00:00+08:00"),
                         ("offset +25:00", "2026-01-05T10:00:00+25:00"),
                         ("hour 24:30", "2026-01-05T24:30:00+08:00"),
                         ("date only", "2026-01-05"),
                         ("year 0", "0000-01-05T10:00:00+08:00")):
        path = ("payload", "registered_at")
        c.add("bad_datetime", f"registered_at {label}", with_value(c.esc(f"d-{label}"), path, value),
              _where(path, "case_escalated"))
    # Times far in the future (issue 15): well formed, refused against the receiver's clock.
    for label, path, where in (("sent_at in 2099", ("sent_at",), "sent_at"),
                               ("registered_at in 2099", ("payload", "registered_at"),
                                "case_escalated.registered_at")):
        c.add("future_time", label, with_value(c.esc(f"f-{where}"), path,
                                               "2099-01-01T00:00:00+08:00"),
              f"{where} 2099-01-01T00:00:00+08:00 is more than")
    path = ("payload", "respond_by")
    c.add("bad_datetime", "respond_by 31 April", with_value(order(net.parent, net.hub, "bad/d-ord"),
                                                             path, "2026-04-31"),
          _where(path, "supervision_order"))


_BAD_CODES = (
    ("11 digits", "33978710100"), ("13 digits", "3397871010000"), ("letters", "33978710100A"),
    ("all zeros", "000000000000"), ("province 00", "003387101000"), ("city 00", "330000000000"),
    ("village 400", "339787101400"), ("township 400", "339787400000"),
    ("village without township", "339787000201"), ("full-width digits", "３３９７８７１０１０００"),
    ("Arabic-Indic digits", "٣٣٩٧٨٧١٠١٠٠٠"), ("padded", " 339787101000"), ("signed", "+33978710100"),
    ("empty", ""),
)


def _area_codes(c: _Corpus) -> None:
    for label, code in _BAD_CODES:
        c.add("bad_area_code", f"sender {label}", with_value(c.esc(f"a-{label}"), ("sender",), code),
              "invalid field sender")
    net = c.net
    for label, code in _BAD_CODES[:4]:
        path: Path = ("payload", "origin_node")
        c.add("bad_area_code", f"origin_node {label}",
              with_value(c.esc(f"o-{label}"), path, code), _where(path, "case_escalated"))
    for label, data, path, kind in (
        ("history node_id", c.esc("a1"), ("payload", "history", 0, "node_id"), "case_escalated"),
        ("report node_id", c.rep("a2"), ("payload", "node_id"), "lifecycle_report"),
        ("report escalated_from", c.rep("a3"), ("payload", "escalated_from"), "lifecycle_report"),
        ("heartbeat node_id", heartbeat(net.children[0], "bad/a4"), ("payload", "node_id"),
         "heartbeat"),
        ("decision deciding_node", decision(net.parent, net.children[0], c.next_case(), "bad/a5"),
         ("payload", "deciding_node"), "case_decision"),
        ("order target_node", order(net.parent, net.hub, "bad/a6"), ("payload", "target_node"),
         "supervision_order"),
    ):
        c.add("bad_area_code", label, with_value(data, path, "339787101400"), _where(path, kind))
    for label, value in (("party hash not hex", "zz" * 32), ("party hash in capitals", "AB" * 32),
                         ("party hash too short", "ab"), ("party role mediator", "mediator")):
        name = "role" if "role" in label else "party_hash"
        path = ("payload", "parties", 0, name)
        c.add("bad_party", label, with_value(c.esc(f"ph-{label}"), path, value),
              _where(path, "case_escalated"))


def _trust(c: _Corpus) -> None:
    """Valid envelopes that arrive where, or from whom, they may not."""
    net = c.net
    hub_key, child, other_child = node_key(net.hub), net.children[0], net.children[1]

    def esc_from(sender: str, label: str) -> Json:
        return escalation(sender, net.under(sender) if sender in net.children else sender,
                          c.next_case(), f"bad/{label}")

    # A forged sender: the publisher owns the routing key, the envelope names someone else.
    for label, sender in (("sibling child", other_child), ("outsider village", net.outsider),
                          ("the hub's parent", net.parent), ("the hub itself", net.hub)):
        c.add("forged_sender", f"envelope names the {label}", esc_from(sender, f"f-{label}"),
              f"routing key {node_key(child)} does not belong to sender {sender}")
    # A key that belongs to another node: a valid message from the child under someone's key.
    for label, key, bind in (
        ("sibling child", node_key(other_child), None),
        ("outsider village", node_key(net.outsider), (EXCHANGE_UP, node_key(net.outsider))),
        ("stranger township", node_key(net.stranger_township),
         (EXCHANGE_UP, node_key(net.stranger_township))),
        ("hub's parent", node_key(net.parent), (EXCHANGE_UP, node_key(net.parent))),
        ("hub itself", hub_key, (EXCHANGE_UP, hub_key)),
    ):
        c.add("foreign_key", f"published under the {label}'s key", esc_from(child, f"k-{label}"),
              f"routing key {key} does not belong to sender {child}", key=key, bind=bind)
    c.add("foreign_key", "straight into the queue via the default exchange",
          esc_from(child, "k-default"), f"routing key {node_queue_name(net.hub)} does not belong",
          exchange="", key=node_queue_name(net.hub))
    # Escalations from nodes that are not this hub's children, each under its own key.
    senders = [("outsider village", net.outsider), ("sibling", net.sibling),
               ("hub's parent", net.parent), ("stranger township", net.stranger_township)]
    if net.hub_tier is Tier.COUNTY:
        senders.append(("grandchild village", net.villages[0]))
    for label, sender in senders:
        key = node_key(sender)
        c.add("not_a_child", f"escalation from the {label}", esc_from(sender, f"nc-{label}"),
              f"{sender} is not a child of {net.hub}", key=key, bind=(EXCHANGE_UP, key))
    c.add("not_a_child", "escalation from the hub to itself", esc_from(net.hub, "nc-self"),
          f"{net.hub} is not a child of {net.hub}", key=hub_key, bind=(EXCHANGE_UP, hub_key))
    # Decisions and orders from anyone but the parent (all under this hub's own down key).
    for label, sender in (("child", child), ("sibling", net.sibling), ("outsider", net.outsider),
                          ("hub itself", net.hub), ("stranger county", net.stranger_county)):
        data = decision(sender, child, c.next_case(), f"bad/np-{label}")
        c.add("not_parent", f"decision from the {label}", data,
              f"{sender} is not the parent of {net.hub}", exchange=EXCHANGE_DOWN,
              key=down_key(net.hub))
    for label, sender in (("child", child), ("sibling", net.sibling)):
        c.add("not_parent", f"supervision order from the {label}",
              order(sender, net.hub, f"bad/npo-{label}"), f"{sender} is not the parent of {net.hub}",
              exchange=EXCHANGE_DOWN, key=down_key(net.hub))
    # Messages on the wrong exchange (keys the hub really binds, or binds by mistake).
    report_bind = None if net.takes_reports else (EXCHANGE_REPORT, node_key(child))
    for label, data, exchange, key, bind, expect in (
        ("escalation on down", esc_from(child, "x1"), EXCHANGE_DOWN, down_key(net.hub), None,
         "case_escalated arrived on fengqiao.down, expected fengqiao.up"),
        ("escalation on report", esc_from(child, "x2"), EXCHANGE_REPORT, node_key(child),
         report_bind, "case_escalated arrived on fengqiao.report, expected fengqiao.up"),
        ("report on up", c.rep("x3"), EXCHANGE_UP, node_key(child), None,
         "lifecycle_report arrived on fengqiao.up, expected fengqiao.report"),
        ("heartbeat on up", heartbeat(child, "bad/x4"), EXCHANGE_UP, node_key(child), None,
         "heartbeat arrived on fengqiao.up, expected fengqiao.report"),
        ("decision on up", decision(net.parent, child, c.next_case(), "bad/x5"), EXCHANGE_UP,
         node_key(child), None, "case_decision arrived on fengqiao.up, expected fengqiao.down"),
        ("heartbeat on down", heartbeat(net.parent, "bad/x6"), EXCHANGE_DOWN, down_key(net.hub),
         None, "heartbeat arrived on fengqiao.down, expected fengqiao.report"),
    ):
        c.add("wrong_exchange", label, data, expect, exchange=exchange, key=key, bind=bind)
    # Reports and heartbeats from outside the subtree (bound by mistake under their own keys).
    for label, data in (
        ("report from an outsider village", c.rep("o1", net.outsider)),
        ("report from the stranger township", c.rep("o2", net.stranger_township)),
        ("report from the hub's parent", c.rep("o3", net.parent)),
        ("heartbeat from an outsider village", heartbeat(net.outsider, "bad/o4")),
        ("heartbeat from the hub's parent", heartbeat(net.parent, "bad/o5")),
    ):
        key = node_key(data["sender"])
        c.add("outside_subtree", label, data, f"{data['sender']} is not in the subtree of {net.hub}",
              exchange=EXCHANGE_REPORT, key=key, bind=(EXCHANGE_REPORT, key))
    if not net.takes_reports:  # a township takes neither reports nor heartbeats
        for label, data in (("lifecycle report", c.rep("na1")),
                            ("heartbeat", heartbeat(child, "bad/na2"))):
            c.add("not_accepted", f"{label} from a child", data,
                  f"this node does not accept {data['schema_name']}", exchange=EXCHANGE_REPORT,
                  key=node_key(child), bind=(EXCHANGE_REPORT, node_key(child)))
    # Escalation without consent.
    for label, value in (("consent false", False), ("consent null", None), ("consent 'no'", "no")):
        path: Path = ("payload", "consent")
        c.add("no_consent", label, with_value(esc_from(child, f"nc-{label}"), path, value),
              _where(path, "case_escalated"))
    c.add("no_consent", "consent missing", without(esc_from(child, "nc-missing"),
                                                   ("payload", "consent")),
          _where(("payload", "consent"), "case_escalated"))


def _payload_checks(c: _Corpus) -> None:
    """Valid envelopes from the right sender whose payload speaks for someone else."""
    net = c.net
    child, other = net.children

    def add_report(label: str, data: Json, expect: str) -> None:
        key = node_key(child)
        c.add("payload_mismatch", label, data, expect, exchange=EXCHANGE_REPORT, key=key,
              bind=None if net.takes_reports else (EXCHANGE_REPORT, key))

    add_report("report about another node", with_value(c.rep("pm1"), ("payload", "node_id"), other),
               f"lifecycle_report is about {other} but was sent by {child}")
    add_report("heartbeat for another station",
               with_value(heartbeat(child, "bad/pm2"), ("payload", "node_id"), other),
               f"heartbeat is about {other} but was sent by {child}")
    foreign_case = f"{net.outsider}-2026-00001"
    add_report("report on a case of an outsider", report(child, net.outsider, 1, "bad/pm3"),
               f"origin node {net.outsider} is not in the subtree of {child}")
    c.add("payload_mismatch", "escalation of an outsider's case",
          escalation(child, net.outsider, 2, "bad/pm4"),
          f"origin node {net.outsider} is not in the subtree of {child}")
    c.add("payload_mismatch", "escalation whose case id names another origin",
          with_value(c.esc("pm5"), ("case_id",), foreign_case),
          f"case {foreign_case} was not opened at its origin node {child}")
    c.add("payload_mismatch", "escalation of a sibling's case", escalation(child, other, 3, "bad/pm6"),
          f"origin node {other} is not in the subtree of {child}")
    for label, data, expect in (
        ("decision on an outsider's case", decision(net.parent, net.outsider, 4, "bad/pm7"),
         f"origin node {net.outsider} is not in the subtree of {net.hub}"),
        ("decision whose case id names another origin",
         with_value(decision(net.parent, child, 5, "bad/pm8"), ("case_id",), foreign_case),
         f"case {foreign_case} was not opened at its origin node {child}"),
        ("decision without a case id",
         with_value(decision(net.parent, child, 6, "bad/pm9"), ("case_id",), None),
         "case_decision without a case_id"),
    ):
        c.add("payload_mismatch", label, data, expect, exchange=EXCHANGE_DOWN,
              key=down_key(net.hub))
    if net.takes_reports:
        c.add("payload_mismatch", "report without a case id",
              with_value(c.rep("pm10"), ("case_id",), None), "lifecycle_report without a case_id",
              exchange=EXCHANGE_REPORT, key=node_key(child))


def _apply(c: _Corpus) -> None:
    """Valid and trusted, but the case cannot take it: the domain refuses, nothing is written."""
    net = c.net
    for label, facts in (("blank facts", "   "), ("ideographic spaces as facts", "\u3000\u3000")):
        c.add("cannot_apply", label, with_value(c.esc(f"ap-{label}"), ("payload", "facts"), facts),
              "cannot apply: the facts of the dispute are required")
    for n in (1, 2):
        case = f"{net.children[0]}-2026-{80_000 + n:05d}"
        c.add("cannot_apply", f"decision for unknown case {n}",
              decision(net.parent, net.children[0], 80_000 + n, f"bad/ap-dec-{n}"),
              f"cannot apply: no case {case}", exchange=EXCHANGE_DOWN, key=down_key(net.hub))


# --------------------------------------------------------------------------- valid traffic

def valid_traffic(net: Net, escalations: int = 50) -> list[Msg]:
    """What the hub must apply exactly once: escalations from its children (some from a village
    below a township, some with unknown fields and a newer minor version), and reports and
    heartbeats from the subtree."""
    out: list[Msg] = []

    def add(kind: str, label: str, data: Json, exchange: str) -> None:
        out.append(Msg(kind, label, dump(data), exchange, node_key(data["sender"]),
                       message_id=f"valid-{data['message_id']}", valid_id=data["message_id"],
                       case_id=data["case_id"]))

    for i in range(escalations):
        child = net.children[i % 2]
        origin = net.under(child) if i % 5 == 4 else child
        data = escalation(child, origin, i + 1, f"{net.hub}/valid/esc/{i}")
        if i % 10 == 3:  # a newer minor version may add fields: tolerated
            data = with_value(data, ("schema_version",), "2.7")
            data = with_value(data, ("added_in_2_7",), {"nested": [1, 2, 3]})
            data = with_value(data, ("payload", "added_in_2_7"), "ignored")
        add("escalation", f"escalation {i}", data, EXCHANGE_UP)
    if net.takes_reports:
        senders = list(net.subtree)
        for i in range(10):
            sender = senders[i % len(senders)]
            add("report", f"report {i}", report(sender, sender, 500 + i,
                                                f"{net.hub}/valid/rep/{i}"), EXCHANGE_REPORT)
        for i, sender in enumerate(senders[:4]):
            add("heartbeat", f"heartbeat {i}", heartbeat(sender, f"{net.hub}/valid/hb/{i}"),
                EXCHANGE_REPORT)
    return out


def interleave(bad: list[Msg], valid: list[Msg]) -> Iterator[Msg]:
    """Bad and valid messages mixed evenly, in a fixed order."""
    every = max(1, len(bad) // max(1, len(valid)))
    pending = list(valid)
    for i, msg in enumerate(bad):
        if i % every == 0 and pending:
            yield pending.pop(0)
        yield msg
    yield from pending


def bindings(items: list[Msg]) -> list[tuple[str, str]]:
    """The extra bindings the corpus needs on the hub's queue, each once, in first-use order."""
    return list(dict.fromkeys(m.bind for m in items if m.bind is not None))


def categories(items: list[Msg]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in items:
        counts[m.category] = counts.get(m.category, 0) + 1
    return counts

