"""Hostile input to the protocol and the consumer, without a broker (issue 4, item 5).

- `protocol.envelope.decode` on arbitrary bytes, arbitrary JSON and mutated valid envelopes only
  ever returns a valid Envelope or raises DecodeError; a valid envelope round-trips.
- `Consumer.handle` (county hub handlers, a real SQLite file, a fake delivery that records ack and
  requeue) never raises, settles every delivery exactly once, and either acks after the apply has
  committed or quarantines with a reason; a quarantined message leaves every other table as it was.
- The whole corpus of `tests/hostile/corpus.py`, in process, for a county and a township hub: every
  bad message is quarantined with the expected reason, every valid one applied once.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from fengqiao.bootstrap import bootstrap, cipher_for
from hub.store import HubStore
from nodes.clock import FixedClock
from nodes.messaging.consumer import EXPECTED_EXCHANGE, Consumer
from nodes.messaging.delivery import Delivery
from nodes.messaging.memory import MemoryBroker
from nodes.messaging.settings import QUARANTINE_BODY_MAX
from nodes.node import Node
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import Tier, tier_of
from protocol.envelope import PROTOCOL_MAJOR, DecodeError, Envelope, decode, encode, make_envelope
from protocol.messages import (
    MAX_INT,
    CaseDecision,
    CaseEscalated,
    Heartbeat,
    HistoryEntry,
    LifecycleReport,
    Party,
    SupervisionOrder,
)
from protocol.reference import DISPUTE_TYPES, DISPUTE_TYPES_VERSION, EscalationReason
from protocol.routing import node_key
from protocol.topology import EXCHANGE_DOWN, EXCHANGE_REPORT, EXCHANGE_UP, node_queue_name
from tests.hostile.corpus import Net, categories, corpus, dump, interleave, valid_traffic
from tests.support.messages import FakeMessage
from tests.support.nodes import node_config

FUZZ = settings(max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NET = Net("91", "92", Tier.COUNTY)
AT = datetime(2026, 1, 5, 10, 0, tzinfo=timezone(timedelta(hours=8)))


# --------------------------------------------------------------------------- a hub in process

def make_hub(folder: Path, net: Net) -> tuple[Node, Consumer]:
    # Deliveries come as the shared user 'guest', as on a broker with one user for every node.
    config = node_config(folder, net.hub, tier=net.hub_tier, require_user_id=False)
    # synchronous=OFF: these tests check logic, not power cuts, and must stay fast.
    store = HubStore(config.database, synchronous="OFF", cipher=cipher_for(config))
    node = bootstrap(config, clock=FixedClock(AT), store=store, broker=MemoryBroker())
    # No quarantine copies to a broker here: only the consumer's own handling is fuzzed, and
    # the checks after the signature (tests/unit/test_signing.py checks the signature itself).
    consumer = Consumer(node.store, node.consumer.handlers, node.consumer.trust, node.clock.now,
                        verifier=None)
    return node, consumer


def tables(store: SqliteStore) -> list[str]:
    return [r[0] for r in store._db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE '_sqlite%' ORDER BY name")]


def snapshot(store: SqliteStore, skip: frozenset[str] = frozenset({"quarantine"})) \
        -> dict[str, list[tuple[Any, ...]]]:
    return {t: store._db.execute(f"SELECT * FROM [{t}] ORDER BY rowid").fetchall()
            for t in tables(store) if t not in skip}


def count(store: SqliteStore, table: str) -> int:
    return int(store._db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0])


def deliver(consumer: Consumer, body: bytes, exchange: str, key: str,
            on_ack: Callable[[], None] | None = None) -> FakeMessage:
    message = FakeMessage(on_ack)
    consumer.handle(Delivery(body, exchange, key, "guest", {}, message))
    return message


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Consumer]]:
    node, consumer = make_hub(tmp_path_factory.mktemp("fuzz-hub"), NET)
    try:
        yield node, consumer
    finally:
        node.close()


# --------------------------------------------------------------------------- strategies

CODES = sorted({NET.hub, NET.parent, *NET.townships, *NET.villages, NET.outsider,
                NET.stranger_county, NET.stranger_township})
TYPES = sorted(DISPUTE_TYPES[DISPUTE_TYPES_VERSION])
short = st.text(max_size=30)
aware = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31),
                     timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)),
                                                timezone(timedelta(hours=-5, minutes=-30))]))
codes = st.sampled_from(CODES)
hashes = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@st.composite
def parties(draw: st.DrawFn) -> Party:
    return Party(role=draw(st.sampled_from(["applicant", "respondent", "other"])),
                 name=draw(short), id_number=draw(st.none() | short), phone=draw(st.none() | short),
                 address=draw(st.none() | short), party_hash=draw(hashes))


KINDS = ("case_escalated", "lifecycle_report", "heartbeat", "case_decision", "supervision_order")
SUBTREE = (NET.hub, *NET.townships, *NET.villages)


@st.composite
def payloads(draw: st.DrawFn, kind: str, sender: str, origin: str) -> Any:
    if kind == "case_escalated":
        history = draw(st.lists(st.builds(HistoryEntry, seq=st.integers(1, 50), node_id=codes,
                                          kind=short, state=short, at=aware, reason=short),
                                max_size=3))
        return CaseEscalated(origin_node=origin, from_tier=draw(st.sampled_from(list(Tier))),
                             dispute_type=draw(st.sampled_from(TYPES)),
                             facts=draw(st.text(max_size=80)),
                             parties=tuple(draw(st.lists(parties(), min_size=1, max_size=3))),
                             people_involved=draw(st.integers(1, 100_000)),
                             reason=draw(st.sampled_from(list(EscalationReason))), consent=True,
                             red_flag=draw(st.booleans()), registered_at=draw(aware),
                             history=tuple(history))
    if kind == "lifecycle_report":
        return LifecycleReport(origin_node=origin, node_id=sender,
                               tier=draw(st.sampled_from(list(Tier))), event=draw(short),
                               state_from=draw(st.none() | short), state_to=draw(short),
                               at=draw(aware), dispute_type=draw(st.sampled_from(TYPES)),
                               party_hashes=tuple(draw(st.lists(hashes, max_size=2))))
    if kind == "heartbeat":
        return Heartbeat(node_id=sender, tier=tier_of(sender),
                         outbox_depth=draw(st.integers(0, MAX_INT)),
                         last_sent_at=draw(st.none() | aware), at=draw(aware))
    if kind == "case_decision":
        return CaseDecision(origin_node=origin, deciding_node=draw(codes),
                            deciding_tier=draw(st.sampled_from(list(Tier))),
                            decision=draw(st.sampled_from(["accepted", "resolved", "returned",
                                                           "referred_out", "escalated", "closed"])),
                            instruction=draw(short),
                            report_back_by=draw(st.none() | st.dates(date(2000, 1, 1),
                                                                     date(2099, 12, 31))),
                            decided_at=draw(aware))
    return SupervisionOrder(issuing_node=sender, target_node=draw(codes), reason=draw(short),
                            respond_by=draw(st.dates(date(2000, 1, 1), date(2099, 12, 31))),
                            issued_at=draw(aware))


@st.composite
def envelopes(draw: st.DrawFn) -> Envelope:
    """Valid envelopes around this network: half from a sender the hub trusts for that kind (so
    they get applied), half from anyone about anything."""
    kind = draw(st.sampled_from(KINDS))
    if draw(st.booleans()):
        sender = draw(st.sampled_from(
            NET.children if kind == "case_escalated" else
            SUBTREE if kind in ("lifecycle_report", "heartbeat") else (NET.parent,)))
        origin = draw(st.sampled_from([sender, NET.under(sender)] if kind != "case_decision"
                                      else [*NET.children, *NET.villages]))
    else:
        sender, origin = draw(codes), draw(codes)
    payload = draw(payloads(kind, sender, origin))
    case_number = draw(st.integers(1, 30))  # few numbers, so messages meet existing cases
    no_case = kind in ("heartbeat", "supervision_order") or draw(st.integers(0, 3)) == 0
    case_id = None if no_case and draw(st.booleans()) else f"{origin}-2026-{case_number:05d}"
    return make_envelope(payload, sender=sender, case_id=case_id,
                         seq=draw(st.integers(0, 40)), sent_at=draw(aware),
                         message_id=draw(st.uuids()))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20)
hostile_values = st.one_of(
    json_values,
    st.integers(min_value=2**62, max_value=2**80), st.integers(max_value=-1),
    st.builds(lambda n: "x" * n, st.integers(190, 25_000)),
    st.sampled_from(["", "1.0", "2.0", "２０２６-０１-０５", "٠٣", "2026-01-05T10:00:00",
                     "339791101400", "00", str(uuid.UUID(int=0)), "\u3000", "null"]),
    codes,
)


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield (*prefix, i)
            yield from paths(value, (*prefix, i))


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid envelope as JSON with up to three fields dropped, retyped or blown up."""
    data: dict[str, Any] = draw(envelopes()).model_dump(mode="json")
    for _ in range(draw(st.integers(0, 3))):
        top = draw(st.booleans())  # the envelope's own fields, or anywhere at all
        path = draw(st.sampled_from([(k,) for k in data] if top else list(paths(data))))
        target: Any = data
        for step in path[:-1]:
            target = target[step]
        if draw(st.booleans()):
            del target[path[-1]]
        else:
            target[path[-1]] = draw(hostile_values)
    return data


# --------------------------------------------------------------------------- decode

def assert_decodes_or_refuses(body: bytes) -> Envelope | None:
    try:
        env = decode(body)
    except DecodeError as exc:
        assert str(exc), "a DecodeError must carry the reason"  # noqa: PT017 - many inputs
        return None
    assert isinstance(env, Envelope)
    assert env.schema_name == env.payload.type
    assert int(env.schema_version.split(".")[0]) == PROTOCOL_MAJOR
    assert env.sent_at.tzinfo is not None
    assert decode(encode(env)) == env  # whatever is accepted re-encodes to the same envelope
    return env


@FUZZ
@given(st.binary(max_size=3_000))
def test_decode_arbitrary_bytes(body: bytes) -> None:
    assert_decodes_or_refuses(body)


@FUZZ
@given(json_values)
def test_decode_arbitrary_json(value: Any) -> None:
    assert_decodes_or_refuses(json.dumps(value).encode())


@FUZZ
@given(mutated())
def test_decode_mutated_envelopes(data: dict[str, Any]) -> None:
    note(repr(data)[:2000])
    assert_decodes_or_refuses(json.dumps(data, ensure_ascii=False).encode("utf-8",
                                                                           "surrogatepass"))


@FUZZ
@given(envelopes())
def test_valid_envelope_round_trips(env: Envelope) -> None:
    assert decode(encode(env)) == env
    assert decode(dump(env.model_dump(mode="json"))) == env
    # Unknown fields are tolerated, at the top and in the payload.
    data = env.model_dump(mode="json")
    data["from_the_future"] = {"x": [1]}
    data["payload"]["also_new"] = True
    assert decode(dump(data)) == env


@pytest.mark.parametrize(("body", "reason"), [
    ('{}'.encode("utf-16"), "not valid UTF-8 JSON"),
    (b"\xef\xbb\xbf{}", "not valid UTF-8 JSON"),
    (b"[" * 100_000, "nested too deeply"),
    (b'{"seq": ' + b"9" * 5000 + b"}", "not valid UTF-8 JSON"),
])
def test_decode_refuses_what_json_loads_would_take_or_choke_on(body: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode(body)


# --------------------------------------------------------------------------- the consumer

@dataclass
class Sent:
    body: bytes
    exchange: str
    key: str


@st.composite
def deliveries(draw: st.DrawFn) -> Sent:
    """Mostly well-formed envelopes on their own exchange and key, else anything at all."""
    kind = draw(st.sampled_from(["valid", "valid", "valid", "mutated", "mutated", "bytes"]))
    if kind == "bytes":
        body = draw(st.binary(max_size=500))
        return Sent(body, draw(st.sampled_from([EXCHANGE_UP, EXCHANGE_REPORT, ""])),
                    node_key(NET.children[0]))
    data = draw(envelopes()).model_dump(mode="json") if kind == "valid" else draw(mutated())
    schema = data.get("schema_name")
    sender = data.get("sender")
    right_exchange = EXCHANGE_UP
    if isinstance(schema, str) and schema in EXPECTED_EXCHANGE:
        right_exchange = EXPECTED_EXCHANGE[schema]
    exchange = draw(st.sampled_from([right_exchange] * 12 + [EXCHANGE_UP, EXCHANGE_DOWN,
                                                             EXCHANGE_REPORT, ""]))
    own_key = node_key(NET.hub) if exchange == EXCHANGE_DOWN else \
        node_key(sender) if isinstance(sender, str) and sender in CODES else node_key(NET.hub)
    key = draw(st.sampled_from([own_key] * 12 + [node_key(c) for c in CODES[:3]]
                               + [node_queue_name(NET.hub)]))
    body = json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return Sent(body, exchange, key)


@FUZZ
@given(deliveries())
def test_consumer_acks_after_apply_or_quarantines(hub: tuple[Node, Consumer], sent: Sent) -> None:
    node, consumer = hub
    store = node.store
    before = snapshot(store)
    quarantined_before = count(store, "quarantine")
    counters = (consumer.applied, consumer.duplicates, consumer.stale, consumer.quarantined,
                consumer.held_back)
    at_ack: list[tuple[bool, int]] = []
    try:
        env: Envelope | None = decode(sent.body)
    except DecodeError:
        env = None

    def on_ack() -> None:  # what was committed when the ack went out
        seen = env is not None and store.seen(str(env.message_id))
        at_ack.append((seen and not store._db.conn.in_transaction, count(store, "quarantine")))

    message = deliver(consumer, sent.body, sent.exchange, sent.key, on_ack)

    assert message.calls == ["ack"], f"settled {message.calls}: only a crash may requeue"
    applied, duplicates, stale, quarantined, held = (
        now - then for now, then in zip((consumer.applied, consumer.duplicates, consumer.stale,
                                         consumer.quarantined, consumer.held_back), counters,
                                        strict=True))
    assert applied + duplicates + stale + quarantined + held == 1
    event("applied" if applied else "duplicate" if duplicates else "stale" if stale else
          "held" if held else "quarantined")
    if quarantined:
        last = store.quarantined()[-1]  # its body opened: sealed at rest
        assert last["reason"]
        assert last["body"] == sent.body
        assert at_ack == [(False, quarantined_before + 1)] or (env is not None and \
            at_ack[0][1] == quarantined_before + 1)
        # Refused while applying, it is still recorded in the inbox (its stream moves on and a
        # redelivery is ignored); a bound it broke (a time far ahead) may raise its alarm;
        # nothing else may change.
        skip = frozenset({"quarantine", "inbox", "alarms"})
        assert snapshot(store, skip) == {t: v for t, v in before.items()
                                         if t not in ("inbox", "alarms")}, \
            "a refused message changed the database"
        assert count(store, "inbox") - len(before["inbox"]) in (0, 1)
    elif held:
        assert count(store, "held") == len(before["held"]) + 1
    else:
        assert env is not None
        assert at_ack == [(True, quarantined_before)], "acked before the apply committed"
        if duplicates:
            assert snapshot(store) == before
        else:
            assert count(store, "inbox") == len(before["inbox"]) + 1


def test_consumer_refuses_a_forged_broker_user(hub: tuple[Node, Consumer]) -> None:
    """The one forgery a guest-only broker cannot produce: a node user publishing as another."""
    node, consumer = hub
    child, other = NET.children
    env = decode(valid_traffic(NET, 1)[0].body)
    before = snapshot(node.store)
    message = FakeMessage()
    consumer.handle(Delivery(encode(env), EXCHANGE_UP, node_key(child), other, {}, message))
    assert message.calls == ["ack"]
    assert snapshot(node.store) == before
    reason = node.store._db.execute("SELECT reason FROM quarantine ORDER BY id DESC").fetchone()[0]
    assert reason == f"forged sender: broker user '{other}' published as {child}"


# --------------------------------------------------------------------------- the corpus

def test_corpus_is_deterministic_and_large() -> None:
    for net in (Net("87", "88", Tier.COUNTY), Net("85", "86", Tier.TOWNSHIP)):
        items = corpus(net)
        assert [(m.label, m.body) for m in items] == [(m.label, m.body) for m in corpus(net)]
        assert len(items) >= 200
        assert all(m.expect for m in items)
        assert len({m.message_id for m in items}) == len(items)
        assert len(categories(items)) >= 20


@pytest.mark.parametrize("net", [Net("93", "94", Tier.COUNTY), Net("95", "96", Tier.TOWNSHIP)],
                         ids=["county", "township"])
def test_corpus_in_process(net: Net, tmp_path: Path) -> None:
    node, consumer = make_hub(tmp_path, net)
    try:
        bad, valid = corpus(net), valid_traffic(net)
        order = list(interleave(bad, valid))
        assert sorted(m.message_id for m in order) == sorted(m.message_id for m in bad + valid)
        for msg in order:
            # Refused while applying, a message is still recorded in the inbox (its stream moves
            # on, a redelivery is ignored); nothing else may change.
            skip = frozenset({"quarantine", "inbox"} if msg.category == "cannot_apply"
                             else {"quarantine"})
            if msg.category in ("oversize", "future_time"):  # a bound broken: its alarm
                skip |= {"alarms"}
            before = snapshot(node.store, skip) if msg.valid_id is None else None
            message = deliver(consumer, msg.body, msg.exchange, msg.routing_key)
            assert message.calls == ["ack"], (msg.category, msg.label, message.calls)
            if before is not None:
                assert snapshot(node.store, skip) == before, (msg.category, msg.label)
        rows = node.store.quarantined()  # bodies opened: they are sealed at rest
        assert len(rows) == len(bad) == consumer.quarantined
        for msg, row in zip(bad, rows, strict=True):
            # A body over the limit is kept as its prefix, with the whole body's length and hash.
            assert row["body"] == msg.body[:QUARANTINE_BODY_MAX]
            assert (row["length"], row["sha256"]) == (len(msg.body),
                                                      hashlib.sha256(msg.body).hexdigest())
            assert msg.expect in row["reason"], f"{msg.category}/{msg.label}: {row['reason']!r}"
        assert consumer.applied == len(valid)
        assert consumer.duplicates == consumer.stale == 0
        escalated = {m.case_id for m in valid if m.category == "escalation"}
        assert {r["case_id"] for r in node.store.case_rows()} == escalated
        inbox = {r[0] for r in node.store._db.execute("SELECT message_id FROM inbox")}
        refused_on_apply = {str(decode(m.body).message_id) for m in bad if m.category == "cannot_apply"}
        assert inbox == {m.valid_id for m in valid} | refused_on_apply
    finally:
        node.close()
