"""Envelope, message models, versioning, committed JSON Schemas (DESIGN §3, DOMAIN §3.3, §7)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pydantic
import pytest

from nodes.labels import type_label
from protocol.envelope import (
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    DecodeError,
    Envelope,
    decode,
    encode,
    make_envelope,
)
from protocol.messages import (
    PAYLOAD_MODELS,
    CaseDecision,
    CaseEscalated,
    Heartbeat,
    HistoryEntry,
    LifecycleReport,
    Party,
    SupervisionOrder,
)
from protocol.reference import DISPUTE_TYPES, DISPUTE_TYPES_VERSION, dispute_type
from protocol.schema_export import SCHEMA_DIR, render_schemas

BJ = timezone(timedelta(hours=8))
AT = datetime(2026, 3, 2, 9, 30, tzinfo=BJ)
VILLAGE = "330681111242"
TOWNSHIP = "330681111000"
HASH = "ab" * 32


def _report(**overrides: Any) -> LifecycleReport:
    fields: dict[str, Any] = dict(
        origin_node=VILLAGE, node_id=VILLAGE, tier="village", event="accept",
        state_from="REGISTERED", state_to="ACCEPTED", at=AT, dispute_type="02",
        party_hashes=(HASH,),
    )
    fields.update(overrides)
    return LifecycleReport(**fields)


def _escalation() -> CaseEscalated:
    return CaseEscalated(
        origin_node=VILLAGE, from_tier="village", dispute_type="03", facts="宅基地边界争议",
        parties=(Party(role="applicant", name="张三", id_number="330681199001011234",
                       phone="13800000000", address="状元村1号", party_hash=HASH),),
        people_involved=2, reason="no_agreement", consent=True, registered_at=AT,
        history=(HistoryEntry(seq=1, node_id=VILLAGE, kind="register", state="REGISTERED",
                              at=AT),),
    )


def _all_payloads() -> list[Any]:
    return [
        _report(),
        _escalation(),
        CaseDecision(origin_node=VILLAGE, deciding_node=TOWNSHIP, deciding_tier="township",
                     decision="returned", instruction="请继续调解",
                     report_back_by=date(2026, 3, 20), decided_at=AT),
        Heartbeat(node_id=VILLAGE, tier="village", outbox_depth=3, last_sent_at=AT, at=AT),
        SupervisionOrder(issuing_node=TOWNSHIP, target_node=VILLAGE, reason="逾期未结",
                         respond_by=date(2026, 3, 9), issued_at=AT),
    ]


def _envelope(payload: Any = None, **kw: Any) -> Envelope:
    return make_envelope(payload or _report(), sender=VILLAGE,
                         case_id=kw.get("case_id", f"{VILLAGE}-2026-00001"), seq=kw.get("seq", 2),
                         sent_at=kw.get("sent_at", AT))


def _raw(env: Envelope | None = None) -> dict[str, Any]:
    return json.loads(encode(env or _envelope()))


def _decode_dict(data: Any) -> Envelope:
    return decode(json.dumps(data, ensure_ascii=False).encode("utf-8"))


# --- round trip and tolerance -------------------------------------------------------------------
@pytest.mark.parametrize("payload", _all_payloads(), ids=lambda p: p.type)
def test_round_trip_is_equal(payload: Any) -> None:
    env = _envelope(payload)
    assert env.schema_name == payload.type
    assert env.schema_version == PROTOCOL_VERSION
    back = decode(encode(env))
    assert back == env
    assert type(back.payload) is type(payload)
    assert back.payload == payload


def test_decode_accepts_str_as_well_as_bytes() -> None:
    env = _envelope()
    assert decode(encode(env).decode("utf-8")) == env


def test_unknown_fields_are_tolerated_at_top_level_and_in_payload() -> None:
    env = _envelope()
    data = _raw(env)
    data["trace_id"] = "abc"
    data["payload"]["new_minor_field"] = {"nested": [1, 2, 3]}
    back = _decode_dict(data)
    assert back == env
    assert "new_minor_field" not in back.payload.model_dump()


def test_newer_minor_version_is_accepted() -> None:
    data = _raw()
    data["schema_version"] = "2.7"
    assert _decode_dict(data).schema_version == "2.7"


@pytest.mark.parametrize("version", ["1.3", "3.0", "0.9", "12.1"])  # 1.x: unsigned, unsealed
def test_unknown_major_version_is_rejected_naming_it(version: str) -> None:
    data = _raw()
    data["schema_version"] = version
    with pytest.raises(DecodeError) as info:
        _decode_dict(data)
    message = str(info.value)
    assert "schema_version" in message
    assert f"major version {version.split('.')[0]}" in message


def test_malformed_version_is_rejected() -> None:
    data = _raw()
    data["schema_version"] = "one"
    with pytest.raises(DecodeError, match="schema_version"):
        _decode_dict(data)


def test_schema_name_payload_mismatch_is_rejected() -> None:
    data = _raw()
    data["schema_name"] = "heartbeat"
    with pytest.raises(DecodeError, match="does not match payload type"):
        _decode_dict(data)


def test_unknown_payload_type_is_rejected() -> None:
    data = _raw()
    data["schema_name"] = data["payload"]["type"] = "wire_transfer"
    with pytest.raises(DecodeError, match="payload"):
        _decode_dict(data)


# --- every failure is a DecodeError -------------------------------------------------------------
def _mutated(path: tuple[str, ...], value: Any) -> bytes:
    data = _raw()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(data).encode()


def _without(key: str) -> bytes:
    data = _raw()
    del data[key]
    return json.dumps(data).encode()


BAD_BODIES: dict[str, bytes] = {
    "broken json": b'{"message_id": ',
    "empty": b"",
    "not utf-8": b"\xff\xfe\x00{",
    "json array": b"[1, 2]",
    "json string": b'"hello"',
    "json null": b"null",
    "json number": b"42",
    "nested too deep": b"[" * 100_000 + b"]" * 100_000,
    "huge integer": b'{"seq": ' + b"9" * 5_000 + b"}",
    "oversize": b'{"pad": "' + b"x" * MAX_MESSAGE_BYTES + b'"}',
    "naive sent_at": _mutated(("sent_at",), "2026-03-02T09:30:00"),
    "naive payload time": _mutated(("payload", "at"), "2026-03-02T09:30:00"),
    "bad sender code": _mutated(("sender",), "330681000242"),
    "short sender": _mutated(("sender",), "3306"),
    "bad payload node": _mutated(("payload", "node_id"), "000681111242"),
    "bad message id": _mutated(("message_id",), "not-a-uuid"),
    "negative seq": _mutated(("seq",), -1),
    "bad case id": _mutated(("case_id",), "a b;c"),
    "payload not object": _mutated(("payload",), [1, 2]),
    "bad party hash": _mutated(("payload", "party_hashes"), ["xyz"]),
    "missing payload": _without("payload"),
    "missing sender": _without("sender"),
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_messages_raise_only_decode_error(body: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        decode(body)
    assert type(info.value) is DecodeError
    assert str(info.value)  # the quarantine reason is never empty


def test_oversize_reason_names_the_limit() -> None:
    with pytest.raises(DecodeError, match=str(MAX_MESSAGE_BYTES)):
        decode(BAD_BODIES["oversize"])


def test_naive_sent_at_reason_names_the_field() -> None:
    with pytest.raises(DecodeError, match="sent_at"):
        decode(BAD_BODIES["naive sent_at"])


def test_bad_sender_reason_names_field_and_code() -> None:
    with pytest.raises(DecodeError) as info:
        decode(BAD_BODIES["bad sender code"])
    assert "sender" in str(info.value)
    assert "330681000242" in str(info.value)


def test_make_envelope_refuses_naive_sent_at() -> None:
    with pytest.raises(pydantic.ValidationError, match="time zone"):
        _envelope(sent_at=datetime(2026, 3, 2, 9, 30))


def test_times_keep_their_instant_across_zones() -> None:
    env = _envelope(_report(at=AT.astimezone(UTC)))
    back = decode(encode(env))
    assert back.payload.at == AT  # type: ignore[union-attr]


# --- models -------------------------------------------------------------------------------------
def test_models_are_frozen() -> None:
    env = _envelope()
    with pytest.raises(pydantic.ValidationError):
        env.seq = 99  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        env.payload.state_to = "CLOSED"  # type: ignore[misc,union-attr]
    party = _escalation().parties[0]
    with pytest.raises(pydantic.ValidationError):
        party.name = "李四"  # type: ignore[misc]


def test_escalation_requires_consent_true() -> None:
    data = _escalation().model_dump()
    data["consent"] = False
    with pytest.raises(pydantic.ValidationError, match="consent"):
        CaseEscalated.model_validate(data)


PERSONAL_WORDS = ("name", "id_number", "idnumber", "id_card", "identity", "phone", "mobile",
                  "tel", "address", "addr", "birth", "party", "parties", "facts", "person")


def test_lifecycle_report_has_no_field_for_personal_data() -> None:
    fields = set(LifecycleReport.model_fields)
    allowed_party_field = {"party_hashes"}  # salted hashes only (DOMAIN §7)
    for field in fields - allowed_party_field:
        for word in PERSONAL_WORDS:
            assert word not in field.lower(), f"LifecycleReport.{field} looks like personal data"
    # No nested object model either (a Party could hide inside one); enums like Tier are fine.
    defs = LifecycleReport.model_json_schema().get("$defs", {})
    assert all("properties" not in d for d in defs.values()), sorted(defs)
    # Unknown fields are dropped, so a sender cannot smuggle a name through a report.
    smuggled = LifecycleReport.model_validate({**_report().model_dump(), "name": "张三",
                                               "phone": "13800000000"})
    assert "张三" not in smuggled.model_dump_json()
    assert "13800000000" not in smuggled.model_dump_json()


def test_party_hashes_must_be_hashes_not_identities() -> None:
    with pytest.raises(pydantic.ValidationError):
        _report(party_hashes=("330681199001011234",))


def test_heartbeat_has_no_personal_data_fields() -> None:
    for field in Heartbeat.model_fields:
        for word in PERSONAL_WORDS:
            assert word not in field.lower()


# --- committed schemas --------------------------------------------------------------------------
def test_committed_schemas_match_the_models() -> None:
    rendered = render_schemas()
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.json")}
    hint = "protocol schemas are out of date: run `fengqiao protocol schema` and commit the result"
    assert set(rendered) == set(committed), hint
    stale = sorted(name for name in rendered if rendered[name] != committed[name])
    assert not stale, f"{hint} (differs: {', '.join(stale)})"


def test_every_payload_model_has_a_schema_file() -> None:
    names = {m.model_fields["type"].default for m in PAYLOAD_MODELS}
    assert {f"{n}.schema.json" for n in names} | {"envelope.schema.json"} == set(render_schemas())


# --- reference data -----------------------------------------------------------------------------
EXPECTED_TYPES = {
    "01": "婚姻家庭", "02": "邻里", "03": "房屋宅基地", "04": "合同", "05": "生产经营",
    "06": "损害赔偿", "07": "山林土地", "08": "征地拆迁", "09": "环境污染", "10": "劳动争议",
    "11": "旅游", "12": "消费", "13": "医疗", "14": "道路交通事故", "15": "物业管理",
    "16": "知识产权", "17": "互联网", "99": "其他",
}


def test_dispute_types_of_domain_3_3() -> None:
    table = DISPUTE_TYPES[DISPUTE_TYPES_VERSION]
    assert set(table) == {f"{i:02d}" for i in range(1, 18)} | {"99"}
    for code, zh in EXPECTED_TYPES.items():
        assert type_label(code, "zh") == zh  # the official Chinese name, from the catalogue
        assert table[code].code == code
        assert table[code].name
        assert dispute_type(code) is table[code]


@pytest.mark.parametrize(("code", "version", "needle"),
                         [("18", DISPUTE_TYPES_VERSION, "18"), ("01", "1999.1", "1999.1")])
def test_unknown_dispute_type_or_version_names_it(code: str, version: str, needle: str) -> None:
    with pytest.raises(KeyError, match=needle):
        dispute_type(code, version)


def test_message_ids_are_unique() -> None:
    ids = {_envelope().message_id for _ in range(50)}
    assert len(ids) == 50
    fixed = uuid.uuid4()
    assert make_envelope(_report(), sender=VILLAGE, case_id=None, seq=0, sent_at=AT,
                         message_id=fixed).message_id == fixed
