"""Finding and fixing cases (issue 16 item 7) on a real store: short case numbers, the search
over sealed parties, and corrections appended as events and sealed party versions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nodes.case_ids import resolve_case_id
from nodes.crypto import DataCipher, new_key
from nodes.domain import commands as cmd
from nodes.domain.case import Case, DomainError, Rules
from nodes.domain.corrections import PartyChange
from nodes.domain.states import Action
from nodes.identity import IdentityHasher
from nodes.messaging.memory import MemoryBroker
from nodes.search import find_parties
from nodes.service import CaseNotFound, CaseService, PartyInput
from nodes.store.party_versions import changes
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import Tier
from protocol.envelope import decode
from protocol.messages import CaseEscalated
from protocol.reference import CaseSource, EscalationReason
from tests.support.clock import FakeClock
from tests.support.nodes import build_node

SH = ZoneInfo("Asia/Shanghai")
VILLAGE = "330681111242"
ZHANG = PartyInput("applicant", "张三", "11010519491231002X", "13800000000", "状元村八组17号")
LI = PartyInput("respondent", "李四", None, "0575-87654321")
WANG = PartyInput("applicant", "王五", None, "+86 139 1234 5678")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "node.db", synchronous="OFF", cipher=DataCipher(new_key()))
    yield s
    s.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 5, 10, 0, tzinfo=SH))


@pytest.fixture
def service(store: SqliteStore, clock: FakeClock) -> CaseService:
    return CaseService(store, clock, node_id=VILLAGE, tier=Tier.VILLAGE, rules=Rules(),
                       hasher=IdentityHasher("unit-test-salt", "test"),
                       seal=None)  # outbox rows in the clear: a test reads the dossier


def record(service: CaseService, *parties: PartyInput, facts: str = "院墙边界争执") -> Case:
    return service.new_case(source=CaseSource.APPLICATION, dispute_type="02", facts=facts,
                            parties=list(parties or (ZHANG, LI)))


# --- short case numbers -------------------------------------------------------------------
def test_short_numbers_resolve_when_exactly_one_case_matches(service: CaseService,
                                                             store: SqliteStore) -> None:
    first, second = record(service).case_id, record(service).case_id
    for typed in ("1", "00001", "2026-00001", "2026-1", "２０２６－００００１", f" {first} "):
        assert resolve_case_id(store, typed) == first
    assert resolve_case_id(store, "2") == second


def test_an_ambiguous_number_names_its_candidates(service: CaseService, store: SqliteStore,
                                                  clock: FakeClock) -> None:
    this_year = record(service).case_id
    clock.at = datetime(2027, 1, 4, 9, 0, tzinfo=SH)
    next_year = record(service).case_id
    with pytest.raises(DomainError) as info:
        resolve_case_id(store, "1")
    assert info.value.code == "case_id_ambiguous"
    assert this_year in str(info.value)
    assert next_year in str(info.value)
    assert resolve_case_id(store, "2027-00001") == next_year


def test_no_match_is_case_not_found_and_other_text_passes_through(service: CaseService,
                                                                  store: SqliteStore) -> None:
    record(service)
    with pytest.raises(CaseNotFound):
        resolve_case_id(store, "7")
    with pytest.raises(CaseNotFound):
        resolve_case_id(store, f"{VILLAGE}-2026-00009")
    assert resolve_case_id(store, "not-a-case") == "not-a-case"
    assert resolve_case_id(store, "0") == "0"


# --- search -------------------------------------------------------------------------------
def test_find_by_name_part_phone_and_id_number(service: CaseService, store: SqliteStore) -> None:
    one = record(service, ZHANG, LI).case_id
    two = record(service, WANG).case_id
    assert [(f.case_id, f.place, f.matched) for f in find_parties(store, "张")] == [
        (one, 1, "name")]
    assert [(f.case_id, f.name) for f in find_parties(store, "李 四")] == [(one, "李四")]
    assert [f.case_id for f in find_parties(store, "+86 139 1234 5678")] == [two]
    assert [f.case_id for f in find_parties(store, "5678")] == [two]  # the last digits
    assert [(f.place, f.matched) for f in find_parties(store, "87654321")] == [(2, "phone")]
    assert [f.matched for f in find_parties(store, "19491231002x")] == ["id_number"]
    assert find_parties(store, "赵") == []
    assert find_parties(store, "123") == []  # too few digits to mean a number, no such name
    with pytest.raises(DomainError):
        find_parties(store, "  ")


# --- corrections --------------------------------------------------------------------------
def test_a_facts_correction_is_an_event_and_replay_gives_the_new_facts(
        service: CaseService, store: SqliteStore) -> None:
    case_id = record(service, facts="院墙边界争执").case_id
    service.correct(case_id, reason="当事人补充", facts="院墙边界争执，涉及排水沟")
    events = store.load_events(case_id)
    assert [e.action for e in events] == [Action.REGISTER, Action.CORRECT]
    assert events[0].data["facts"] == "院墙边界争执"  # what was recorded first stays
    assert (events[1].reason, events[1].data["facts"]) == ("当事人补充", "院墙边界争执，涉及排水沟")
    replayed = store.load_case(case_id)
    assert replayed is not None
    assert replayed.facts["facts"] == "院墙边界争执，涉及排水沟"
    assert store.case_rows()[0]["facts"] == "院墙边界争执，涉及排水沟"  # the projection follows


def test_a_party_correction_is_a_sealed_version_never_in_the_event(
        service: CaseService, store: SqliteStore, tmp_path: Path) -> None:
    case_id = record(service).case_id
    service.correct(case_id, reason="电话记错", party=PartyChange(1, phone="+86 139 0000 0001"))
    event = store.load_events(case_id)[-1]
    assert event.action is Action.CORRECT
    assert dict(event.data) == {"party": 1, "fields": ["phone"]}
    parties = store.parties(case_id)
    assert [(p.name, p.phone) for p in parties] == [("张三", "13900000001"),
                                                    ("李四", "0575-87654321")]
    (seq, (place, before, after)), = changes(store, case_id).items()
    assert (seq, place, before.phone, after.phone) == (2, 1, "13800000000", "13900000001")
    assert find_parties(store, "13800000000") == []  # the search sees the current version
    assert [f.case_id for f in find_parties(store, "13900000001")] == [case_id]
    with sqlite3.connect(tmp_path / "node.db") as raw:
        rows = raw.execute("SELECT phone, replaces, corrected_seq FROM parties ORDER BY id")
        stored = rows.fetchall()
        data = " ".join(r[0] for r in raw.execute("SELECT data || reason FROM case_events"))
    assert len(stored) == 3
    assert stored[2][1:] == (1, 2)
    assert all(p is None or p.startswith("fq1:") for p, _r, _s in stored)  # sealed
    assert "13900000001" not in data
    assert "13800000000" not in data


def test_a_corrected_id_number_changes_the_identity_hash(service: CaseService,
                                                        store: SqliteStore) -> None:
    case_id = record(service).case_id
    before = store.parties(case_id)[0].party_hash
    service.correct(case_id, reason="证件号抄错", party=PartyChange(1, id_number="330681199001011237"))
    after = store.parties(case_id)[0]
    assert after.id_number == "330681199001011237"
    assert after.party_hash != before


def test_the_next_escalation_carries_the_corrected_details(service: CaseService,
                                                            store: SqliteStore) -> None:
    case_id = record(service).case_id  # kept in hand by the service: the correction must renew it
    service.correct(case_id, reason="电话记错", party=PartyChange(1, phone="13900000001"),
                    facts="院墙边界争执（已更正）")
    service.act(case_id, lambda c, a, t: cmd.escalate(c, a, t, reason=EscalationReason.CROSS_AREA,
                                                       consent_given=True))
    message_id = store._all(
        "SELECT message_id FROM outbox WHERE schema_name = 'case_escalated'")[0][0]
    body = store.outbox_body(message_id)
    assert body is not None
    dossier = decode(body).payload
    assert isinstance(dossier, CaseEscalated)
    assert dossier.parties[0].phone == "13900000001"
    assert dossier.facts == "院墙边界争执（已更正）"


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"reason": " ", "facts": "新事实"}, "correct_reason"),
    ({"reason": "r"}, "correct_nothing"),
    ({"reason": "r", "facts": "院墙边界争执"}, "correct_same_facts"),
    ({"reason": "r", "facts": "新\x1b[31m事实"}, "facts_control"),
    ({"reason": "r", "party": PartyChange(3, phone="13900000001")}, "correct_party"),
    ({"reason": "r", "party": PartyChange(1)}, "correct_fields"),
    ({"reason": "r", "party": PartyChange(1, phone="12345")}, "party_phone"),
    ({"reason": "r", "party": PartyChange(1, id_number="110105194912310021")}, "party_id_check"),
    ({"reason": "r", "party": PartyChange(1, name="张\u202e三")}, "party_name_control"),
    ({"reason": "r", "party": PartyChange(1, phone="+86 138 0000 0000")}, "correct_same_party"),
    ({"reason": "r", "party": PartyChange(1, name="")}, "party_name"),  # a name is never cleared
])
def test_a_refused_correction_writes_nothing(service: CaseService, store: SqliteStore,
                                             kwargs: dict[str, object], code: str) -> None:
    case_id = record(service).case_id
    before = (store._all("SELECT * FROM case_events"), store._all("SELECT * FROM parties"))
    with pytest.raises(DomainError) as info:
        service.correct(case_id, **kwargs)  # type: ignore[arg-type]
    assert info.value.code == code
    assert (store._all("SELECT * FROM case_events"), store._all("SELECT * FROM parties")) == before


def test_an_empty_value_clears_a_detail_and_a_second_correction_stacks(
        service: CaseService, store: SqliteStore) -> None:
    case_id = record(service).case_id
    service.correct(case_id, reason="地址不对", party=PartyChange(1, address=""))
    service.correct(case_id, reason="改名", party=PartyChange(1, name="张三丰"))
    current = store.parties(case_id)[0]
    assert (current.name, current.address, current.phone) == ("张三丰", None, "13800000000")
    history = changes(store, case_id)
    assert next((h[1].address, h[2].address) for h in history.values()) == ("状元村八组17号", None)
    assert [(h[1].name, h[2].name) for h in history.values()][1] == ("张三", "张三丰")
    assert len(store.parties(case_id)) == 2  # versions never add parties


def test_clearing_a_wrong_phone_is_an_appended_event_with_its_reason(
        service: CaseService, store: SqliteStore) -> None:
    case_id = record(service).case_id
    service.correct(case_id, reason="号码不是本人的", party=PartyChange(1, phone=""))
    event = store.load_events(case_id)[-1]
    assert (event.action, event.reason) == (Action.CORRECT, "号码不是本人的")
    assert dict(event.data) == {"party": 1, "fields": ["phone"]}
    assert store.parties(case_id)[0].phone is None
    (_seq, (_place, before, after)), = changes(store, case_id).items()
    assert (before.phone, after.phone) == ("13800000000", None)  # the old version stays
    assert find_parties(store, "13800000000") == []


# --- a corrected case coming back up --------------------------------------------------------
def test_a_case_corrected_below_comes_back_up_as_the_same_case(tmp_path: Path) -> None:
    """Corrected facts do not make a returned case "a different case" at the hub: the hub
    registers it again and records the correction with the reason given below."""
    broker, clock = MemoryBroker(), FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=SH))
    for code in (VILLAGE, "330681111000", "330681000000"):
        (tmp_path / code).mkdir()
    nodes = [build_node(tmp_path / code, code, broker=broker, clock=clock)
             for code in (VILLAGE, "330681111000", "330681000000")]  # the county takes reports
    village, township = nodes[0], nodes[1]
    try:
        case_id = record(village.service, ZHANG, facts="邻里纠纷").case_id
        up = lambda c, a, t: cmd.escalate(c, a, t, reason=EscalationReason.NO_AGREEMENT,  # noqa: E731
                                          consent_given=True)
        village.service.act(case_id, up)
        village.publish()
        township.consume()
        township.service.act(case_id, lambda c, a, t: cmd.hand_down(
            c, a, t, Rules(), instruction="请村里继续调解", report_back_days=15))
        township.publish()
        village.consume()
        village.service.correct(case_id, reason="当事人补充", facts="邻里纠纷，涉及院墙")
        village.service.act(case_id, lambda c, a, t: cmd.mediate(c, a, t, Rules()))
        village.service.act(case_id, up)
        village.publish()
        township.consume()
        events = township.store.load_events(case_id)
        assert [e.action.value for e in events][-2:] == ["register", "correct"]
        assert (events[-1].reason, events[-1].data["facts"]) == ("当事人补充", "邻里纠纷，涉及院墙")
        assert township.store.quarantine_count() == 0
        held = township.store.load_case(case_id)
        assert held is not None
        with pytest.raises(DomainError, match="facts"):  # uncorrected, different facts: refused
            cmd.check_comes_back(held, sender=VILLAGE, origin_node=VILLAGE, dispute_type="02",
                                 facts="另一件纠纷", registered_at=events[0].at)
    finally:
        for node in nodes:
            node.close()
