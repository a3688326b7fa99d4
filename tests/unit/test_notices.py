"""Notices to parties and staff alerts (issue 18 item 6): written with the event that causes them,
once per (event, recipient, kind), never with a phone in the row; texts in Chinese first, each
replaceable in `[notices]`; retries on the backoff schedule, then given up with an alarm; the
file adapter's record; `fengqiao notices list`. The gateway through a real HTTP server:
test_notices_gateway.py."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fengqiao.bootstrap import bootstrap
from nodes.config import ConfigError, load_config
from nodes.domain import commands as cmd
from nodes.domain import paths
from nodes.messaging.memory import MemoryBroker
from nodes.messaging.runtime import NodeRuntime
from nodes.node import Node
from nodes.notices.adapters import (
    FileAdapter,
    HttpSmsAdapter,
    Outgoing,
    Retry,
    Sent,
    mask_phone,
)
from nodes.notices.config import NoticesConfig
from nodes.notices.model import Status
from nodes.notices.notifier import Notifier, RetryPolicy, notifier_for
from nodes.notices.rows import notice_rows_for
from nodes.notices.templates import render
from nodes.service import PartyInput
from nodes.store import supervision as orders
from protocol.reference import CaseSource, EscalationReason
from tests.support.clock import FakeClock
from tests.support.nodes import build_node, node_config, write_config
from tests.support.wait import wait_until
from tests.unit.test_cli import run

VILLAGE = "330681111242"
PHONES = ("13812345678", "13987654321")
PARTIES = [PartyInput("applicant", "张三", phone=PHONES[0]),
           PartyInput("respondent", "李四", phone=PHONES[1]),
           PartyInput("other", "王五")]  # no phone: no notice


class Crash(Exception):
    pass


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    built = build_node(tmp_path, VILLAGE, clock=FakeClock(), name="状元村调委会")
    yield built
    built.close()


def new_case(node: Node) -> str:
    return node.service.new_case(source=CaseSource.APPLICATION, dispute_type="02",
                                 facts="两家因院墙边界发生争执", parties=PARTIES).case_id


def accept(node: Node, case_id: str) -> None:
    def run_it(c: Any, a: Any, t: Any) -> None:
        cmd.consent(c, a, t, scope="mediation", given=True)
        cmd.accept(c, a, t, node.service.rules)
    node.service.act(case_id, run_it)


def table(node: Node) -> list[dict[str, Any]]:
    conn = node.store._db.conn
    cursor = conn.execute("SELECT * FROM notices ORDER BY id")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def kinds(node: Node) -> list[tuple[str, str]]:
    return [(r["kind"], r["recipient"]) for r in table(node)]


def test_acceptance_tells_each_party_with_a_phone_once_and_the_row_holds_no_phone(
        node: Node) -> None:
    case_id = new_case(node)
    assert table(node) == []  # registering tells nobody
    accept(node, case_id)
    rows = table(node)
    assert kinds(node) == [("accepted", "party:1"), ("accepted", "party:2")]
    assert all(r["status"] == "pending" and r["attempts"] == 0 for r in rows)
    assert json.loads(rows[0]["params"]) == {"case": case_id, "node": "状元村调委会",
                                             "date": "2026-03-02"}
    everything = json.dumps(rows, ensure_ascii=False)
    for personal in (*PHONES, "张三", "李四"):
        assert personal not in everything
    assert rows[0]["event"] == f"{case_id}#3"  # register, consent, accept


def test_the_same_event_written_twice_makes_one_notice(node: Node) -> None:
    case_id = new_case(node)
    accept(node, case_id)
    case = node.store.load_case(case_id)
    assert case is not None
    again = notice_rows_for(case, case.events[-1:], VILLAGE, node.store.parties(case_id),
                            name="状元村调委会")
    assert len(again) == 2
    with node.store.atomic():
        assert node.store.add_notices(again) == 0
        assert node.store.add_notices(again + again) == 0
    assert len(table(node)) == 2


def test_a_crash_before_the_commit_leaves_no_notice(node: Node) -> None:
    case_id = new_case(node)
    written: list[int] = []

    def crash() -> None:
        with node.store.atomic():
            accept(node, case_id)  # the event and its notices, in the outer transaction
            written.append(len(table(node)))
            raise Crash

    with pytest.raises(Crash):
        crash()
    assert written == [2]
    assert table(node) == []
    case = node.store.load_case(case_id)
    assert case is not None
    assert case.seq == 1


def test_outcomes_are_told_once_each_and_a_closing_after_a_refusal_is_not_news(
        node: Node) -> None:
    refused = new_case(node)
    node.service.act(refused, lambda c, a, t: paths.refuse(c, a, t, remedies_notified=True))
    assert [json.loads(r["params"])["outcome"] for r in table(node)] == ["terminated"] * 2

    agreed = new_case(node)
    accept(node, agreed)
    rules = node.service.rules

    def agree(c: Any, a: Any, t: Any) -> None:
        cmd.mediate(c, a, t, rules)
        cmd.agree(c, a, t, rules, form="oral", terms="李四赔偿张三800元",
                  effective_date=t.date())
    node.service.act(agreed, agree)
    def close(c: Any, a: Any, t: Any) -> None:
        cmd.follow_up(c, a, t, honoured=True)
        cmd.close(c, a, t)
    node.service.act(agreed, close)
    told = [(r["kind"], json.loads(r["params"]).get("outcome")) for r in table(node)
            if r["case_id"] == agreed and r["recipient"] == "party:1"]
    assert told == [("accepted", None), ("concluded", "agreed"), ("concluded", "closed")]
    assert "800" not in json.dumps(table(node), ensure_ascii=False)  # terms are not a param


def test_texts_are_chinese_first_with_dates_in_words_and_replaceable() -> None:
    params = {"case": "330681111242-2026-00001", "node": "状元村调委会", "date": "2026-03-02",
              "outcome": "terminated"}
    zh = render("concluded", params, "zh")
    assert zh.startswith("您的纠纷")
    assert "2026年3月2日" in zh
    assert "状元村调委会" in zh
    assert "仲裁" in zh
    en = render("concluded", params, "en")
    assert "2026-03-02" in en
    assert "arbitration" in en
    own = {"accepted": "【枫桥】{node}已受理您的纠纷，编号{case}。"}
    assert render("accepted", params, "zh", own) == \
        "【枫桥】状元村调委会已受理您的纠纷，编号330681111242-2026-00001。"
    assert render("accepted", {"case": "X"}, "zh", own) == "【枫桥】已受理您的纠纷，编号X。"


@pytest.mark.parametrize(("notices", "words"), [
    ({"templates": {"accepted": {"text": "{name}您好"}}}, "{name}"),
    ({"templates": {"greeting": {"text": "您好"}}}, "greeting"),
    ({"templates": {"accepted": {"text": "编号{case"}}}, "{{"),
    ({"adapter": "http_sms"}, "url"),
    ({"adapter": "http_sms", "url": "ftp://gateway"}, "https://"),
    ({"adapter": "http_sms", "url": "https://u:p@gateway.example/send"}, "sms_auth"),
    ({"adapter": "sms"}, "adapter"),
    ({"timeout_s": 0}, "timeout_s"),
])
def test_a_bad_notices_section_stops_with_one_sentence_naming_the_field(
        tmp_path: Path, notices: dict[str, Any], words: str) -> None:
    path = with_notices(write_config(tmp_path, VILLAGE), notices)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    sentence = str(caught.value)
    assert "notices" in sentence
    assert words in sentence
    assert "\n" not in sentence


def with_notices(path: Path, notices: dict[str, Any]) -> Path:
    """The config file with its `[notices]` table replaced by `notices`."""
    kept, skipping = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            skipping = line.startswith("[notices")
        if not skipping:
            kept.append(line)
    kept += ["[notices]", *[f"{k} = {json.dumps(v)}" for k, v in notices.items()
                            if k != "templates"]]
    for name, setting in notices.get("templates", {}).items():
        kept += [f"[notices.templates.{name}]", f"text = {json.dumps(setting['text'])}"]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return path


def test_a_good_notices_section_loads(tmp_path: Path) -> None:
    config = NoticesConfig.model_validate({
        "adapter": "http_sms", "url": "https://sms.example.gov.cn/api/send", "timeout_s": 5,
        "templates": {"accepted": {"text": "{node}已受理{case}", "gateway_template": "SMS_1"},
                      "order": {"gateway_template": "SMS_2"}}})
    assert config.texts == {"accepted": "{node}已受理{case}"}
    assert config.gateway_ids == {"accepted": "SMS_1", "order": "SMS_2"}


def test_the_backoff_doubles_from_the_first_delay_to_the_cap() -> None:
    policy = RetryPolicy()
    delays = [policy.delay(n) for n in range(1, policy.max_attempts)]
    assert delays[:8] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert set(delays[7:]) == {3600}
    assert 20 * 3600 < sum(delays) < 24 * 3600  # a gateway away most of a day is waited out


class Flaky:
    """An adapter that never takes a notice (a gateway down), counting the tries."""

    def __init__(self) -> None:
        self.tries: list[str] = []

    def send(self, out: Outgoing) -> Sent:
        self.tries.append(out.notice_id)
        raise Retry("gateway answered HTTP 503")

    def flush(self) -> None:
        return None


def test_a_notice_not_taken_is_retried_on_the_schedule_then_given_up_with_an_alarm(
        node: Node, tmp_path: Path) -> None:
    case_id = new_case(node)
    accept(node, case_id)
    clock = node.clock
    assert isinstance(clock, FakeClock)
    flaky = Flaky()
    policy = RetryPolicy(first_s=10, max_s=40, max_attempts=4)
    notifier = Notifier(node.store, clock, parties=flaky, staff=FileAdapter(tmp_path / "n.jsonl"),
                        setting=notifier_for(node).setting, policy=policy)
    waits = []
    for _ in range(4):
        assert notifier.step() == 2
        assert notifier.step() == 0  # nothing due until the wait has passed
        row = node.store.notices()[0]
        if row.status == Status.FAILED:
            waits.append(round((_when(row.next_attempt_at) - clock.now()).total_seconds()))
            clock.advance(seconds=waits[-1])
    assert waits == [10, 20, 40]
    rows = node.store.notices()
    assert [(r.status, r.attempts) for r in rows] == [("gave_up", 4)] * 2
    assert "not taken after 4 attempts" in (rows[0].last_error or "")
    alarms = node.store.alarms()
    assert sorted(a["subject"] for a in alarms if a["kind"] == "notice_gave_up") == \
        sorted(r.notice_id for r in rows)
    assert len(flaky.tries) == 8


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_file_adapter_records_masked_phones_and_writes_a_notice_once(
        node: Node, tmp_path: Path) -> None:
    case_id = new_case(node)
    accept(node, case_id)
    notifier = notifier_for(node)
    assert notifier.step() == 2
    log = node.config.database.parent / "notices.jsonl"
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [line["phone"] for line in lines] == ["138****5678", "139****4321"]
    assert lines[0]["text"].startswith("您的纠纷")
    assert "受理" in lines[0]["text"]
    assert oct(log.stat().st_mode)[-3:] == "600"
    assert [r.status for r in node.store.notices()] == ["sent", "sent"]
    # A crash after the file was written lost the sent-marks: the notices go again, and a new
    # adapter (a restarted notifier) finds them in the file's end and does not write them twice.
    conn = node.store._db.conn
    conn.execute("UPDATE notices SET status = 'pending', sending_since = '2026-03-02T01:00:00'")
    conn.commit()
    again = notifier_for(node)
    assert again.resume() == 2
    assert again.step() == 2
    assert len(log.read_text(encoding="utf-8").splitlines()) == 2
    assert {r.delivery for r in node.store.notices()} == {"written before"}


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0575-87654321") == "********4321"
    assert mask_phone("123") == "***"


def test_periodic_checks_alert_staff_once_about_orders_and_clocks_due_soon(node: Node) -> None:
    case_id = new_case(node)  # acceptance due in 7 days
    clock = node.clock
    assert isinstance(clock, FakeClock)
    notifier = notifier_for(node)
    assert notifier.check() == 0
    clock.advance(days=5)  # due in 2 days: within due_soon_days (3)
    with node.store.atomic():
        orders.add(node.store, order_id="330681000000-2026-D00001", case_id=case_id,
                   part="held", issuing_node="330681000000", issuing_name="示例县",
                   target_node=VILLAGE, level="listed_supervision", reason="请速办",
                   respond_by=clock.now().date() + timedelta(days=7), issued_at=clock.now(),
                   recorded_at=clock.now())
    assert notifier.check() == 2
    assert notifier.check() == 0  # found again: nothing new
    assert sorted(kinds(node)) == [("due_soon", "staff"), ("order", "staff")]
    assert notifier.step() == 2
    texts = (node.config.database.parent / "notices.jsonl").read_text(encoding="utf-8")
    assert "挂牌督办" in texts
    assert "请速办" not in texts


def test_notices_list_shows_no_phone(tmp_path: Path) -> None:
    path = write_config(tmp_path, VILLAGE)
    config = load_config(path)
    built = bootstrap(config)
    try:
        accept(built, new_case(built))
    finally:
        built.close()
    listed = run(tmp_path, "--config", str(path), "notices", "list")
    assert listed.code == 0, listed.err
    assert "受理告知" in listed.out
    assert "当事人1" in listed.out
    assert "等待发送" in listed.out
    as_json = run(tmp_path, "--config", str(path), "notices", "list", "--status", "pending",
                  "--json")
    data = as_json.json()
    assert isinstance(data, list)
    assert len(data) == 2
    for shown in (listed.out, as_json.out):
        assert PHONES[0] not in shown
        assert "5678" not in shown
    none = run(tmp_path, "--config", str(path), "notices", "list", "--status", "sent")
    assert "没有通知" in none.out


def test_the_runtime_sends_notices_and_stops_cleanly(tmp_path: Path) -> None:

    config = node_config(tmp_path, VILLAGE)
    broker = MemoryBroker()
    staff = bootstrap(config, broker=broker)
    runtime = NodeRuntime(config, lambda: bootstrap(config, broker=broker), notices=True)
    runtime.start()
    try:
        accept(staff, new_case(staff))
        wait_until(lambda: staff.store.notice_counts().get("sent") == 2, "notices sent", 10.0)
    finally:
        runtime.stop(10.0)
        staff.close()
    assert [t.name for t in runtime.threads] == [f"relay-{VILLAGE}", f"consumer-{VILLAGE}",
                                                 f"notifier-{VILLAGE}"]
    assert not any(t.is_alive() for t in runtime.threads)
    conn = sqlite3.connect(config.database)
    try:
        assert conn.execute("SELECT count(*) FROM notices WHERE status = 'sent'").fetchone()[0] == 2
    finally:
        conn.close()


def test_a_hub_alerts_its_staff_on_arrival_and_the_tier_that_acts_tells_the_parties(
        tmp_path: Path) -> None:

    broker, clock = MemoryBroker(), FakeClock()
    village = build_node(tmp_path, VILLAGE, broker=broker, clock=clock, name="状元村调委会")
    town = build_node(tmp_path, "330681111000", broker=broker, clock=clock, name="状元镇调委会")

    def pump() -> None:
        while village.publish() + town.publish() + village.consume() + town.consume():
            pass

    try:
        case_id = new_case(village)
        accept(village, case_id)
        village.service.act(case_id, lambda c, a, t: cmd.escalate(
            c, a, t, reason=EscalationReason.NO_AGREEMENT, consent_given=True))
        pump()
        assert kinds(town) == [("arrival", "staff")]
        assert json.loads(table(town)[0]["params"])["from"] == VILLAGE
        accept(town, case_id)  # the township tells the parties, from the dossier's phones
        town.service.act(case_id, lambda c, a, t: cmd.hand_down(
            c, a, t, town.service.rules, instruction="请就地调处", report_back_days=10))
        pump()
        assert kinds(town) == [("arrival", "staff"), ("accepted", "party:1"),
                               ("accepted", "party:2"), ("handed_down", "party:1"),
                               ("handed_down", "party:2")]
        handed = json.loads(table(town)[-1]["params"])
        assert handed["node"] == "状元镇调委会"
        assert handed["report_by"] == "2026-03-12"
        # The village hears of both decisions: the acceptance above tells nobody again; the
        # hand-down is an alert to its staff.
        assert kinds(village) == [("accepted", "party:1"), ("accepted", "party:2"),
                                  ("arrival", "staff")]
        returned = table(village)[-1]
        assert returned["template"] == "returned"
        assert json.loads(returned["params"])["from"] == "状元镇调委会"
    finally:
        village.close()
        town.close()


def test_the_gateway_adapter_comes_from_the_config_and_its_token_from_the_secrets(
        tmp_path: Path) -> None:
    built = build_node(tmp_path, VILLAGE, sms_auth="Bearer from-secrets", notices={
        "adapter": "http_sms", "url": "http://127.0.0.1:9/send", "timeout_s": 3})
    try:
        notifier = notifier_for(built)
    finally:
        built.close()
    assert isinstance(notifier.parties, HttpSmsAdapter)
    assert (notifier.parties.url, notifier.parties.timeout_s, notifier.parties.auth) == (
        "http://127.0.0.1:9/send", 3, "Bearer from-secrets")
    assert isinstance(notifier.staff, FileAdapter)  # staff alerts stay in the node's file
    path = write_config(tmp_path, VILLAGE)
    path.write_text('sms_auth = "Bearer x"\n' + path.read_text(encoding="utf-8"),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="'sms_auth' is a secret"):
        load_config(path)  # a secret in the config is refused
