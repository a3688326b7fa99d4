"""包案 and 首办责任制 (issue 18 item 3), on the in-memory transport: a case assigned to a leader of
the node holding it (the committee head or the centre's staff assign it; a mediator cannot), shown
on the case page and in `case show`; the leader's own list (/mine, `case list --leader`); the first
handler on every copy; an assignment carried up in a dossier as a bare history entry."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fengqiao.main import main
from hub.store import HubStore
from nodes.cli.case_dossier import arrival_lines
from nodes.cli.case_render import show_json, show_text
from nodes.cli.ownership_render import node_names
from nodes.config import load_config
from nodes.domain import commands as cmd
from nodes.domain.case import DomainError
from nodes.domain.dossier import lower_history
from nodes.domain.ownership import assign, current_leader
from nodes.domain.states import Action, CaseState
from nodes.labels import action_label
from nodes.node import Node
from nodes.service import PartyInput
from nodes.store import users
from nodes.store.leaders import cases_led_by
from nodes.store.sqlite_store import SqliteStore
from nodes.web.accounts import hash_password
from nodes.web.app import create_app
from nodes.web.dossier_view import dossier_view
from protocol.reference import CaseSource, EscalationReason
from tests.support.nodes import write_config
from tests.unit.test_outcomes import COUNTY, TOWNSHIP, VILLAGE, Net, escalated_case
from tests.unit.web_support import PASSWORD, Site

TODAY = date(2026, 3, 2)


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    network = Net(tmp_path)
    yield network
    network.close()


@pytest.fixture
def web(net: Net) -> Iterator[Any]:
    """`web(code, user, roles)`: a logged-in browser on that node's web app (English)."""
    with ExitStack() as stack:
        def open_site(code: str, user: str, roles: str) -> Site:
            node = net.nodes[code]
            if users.user(node.store, user) is None:
                users.add_user(node.store, user, roles, hash_password(PASSWORD), net.clock.now())
            client = stack.enter_context(TestClient(create_app(node), base_url="http://127.0.0.1"))
            site = Site(node, client, net.clock)
            assert site.login(user) == 303
            site.english()
            return site
        yield open_site


def _leaders(node: Node, *names: str) -> None:
    for name in names:
        users.add_user(node.store, name, "leader", hash_password(PASSWORD), node.clock.now())


def _assign_on_page(site: Site, case_id: str, leader: str, note: str = "") -> Any:
    case = site.node.store.load_case(case_id)
    assert case is not None
    return site.post(f"/cases/{case_id}/act/assign",
                     {"seq": str(case.seq), "leader": leader, "note": note}, f"/cases/{case_id}")


def test_hub_staff_assigns_at_the_township_shown_on_page_and_in_case_show(
        net: Net, web: Any) -> None:
    case_id = escalated_case(net, up_to=TOWNSHIP)
    town = net.nodes[TOWNSHIP]
    _leaders(town, "zhang", "li")
    staff = web(TOWNSHIP, "staff", "hub_staff")
    page = staff.client.get(f"/cases/{case_id}").text
    assert 'id="step-assign"' in page  # offered, with this node's leaders to choose from
    assert '<option value="zhang"' in page
    assert '<option value="li"' in page
    assert "first handler: 330681111242" in page  # the village, by code at the township
    answer = _assign_on_page(staff, case_id, "zhang", "重点跟进")
    assert answer.status_code == 303, answer.text
    page = staff.client.get(f"/cases/{case_id}").text
    assert "leader in charge: zhang (since 2026-" in page
    case = town.store.load_case(case_id)
    assert case is not None
    assert case.state is CaseState.REGISTERED
    shown = show_json(case, [], TODAY, "en", names=node_names(town))
    assert shown["leader"]["name"] == "zhang"
    assert shown["leader"]["by"] == "staff"
    assert shown["leader"]["note"] == "重点跟进"
    assert shown["first_handler"] == {"node_id": VILLAGE, "name": None}
    assert "包案领导：zhang（" in show_text(case, [], TODAY, "zh")
    # no lifecycle report: the leader's name is staff data and stays here
    county = net.nodes[COUNTY].store
    assert isinstance(county, HubStore)
    net.pump()
    assert county.cases_with_event("township", "register") == 1  # the reports do arrive
    assert county.cases_with_event("township", "assign") == 0


def test_a_leader_not_of_this_node_or_not_a_leader_is_refused_beside_the_form(
        net: Net, web: Any) -> None:
    case_id = escalated_case(net, up_to=TOWNSHIP)
    town = net.nodes[TOWNSHIP]
    users.add_user(town.store, "wang", "mediator", hash_password(PASSWORD), net.clock.now())
    staff = web(TOWNSHIP, "staff", "hub_staff")
    before = town.store.load_case(case_id).seq  # type: ignore[union-attr]
    for name, sentence in (("nobody", "there is no account nobody at this node"),
                           ("wang", "the account wang does not have the leader role")):
        answer = _assign_on_page(staff, case_id, name)
        assert answer.status_code == 400
        assert sentence in answer.text
    assert town.store.load_case(case_id).seq == before  # type: ignore[union-attr]


def test_a_mediator_cannot_assign_one_sentence_nothing_written(net: Net, web: Any) -> None:
    case_id = escalated_case(net, up_to=TOWNSHIP)
    town = net.nodes[TOWNSHIP]
    _leaders(town, "zhang")
    before = town.store.load_case(case_id).seq  # type: ignore[union-attr]
    with pytest.raises(DomainError) as info:
        town.service.act(case_id, lambda c, a, t: assign(c, a, t, leader="zhang"),
                         role="mediator", user="wang")
    assert str(info.value) == ("only the committee head or the centre's staff may assign a "
                               "case to a leader")
    mediator = web(TOWNSHIP, "wang", "mediator")
    assert 'id="step-assign"' not in mediator.client.get(f"/cases/{case_id}").text
    answer = _assign_on_page(mediator, case_id, "zhang")
    assert answer.status_code == 403
    assert "Your role may not record this step on a case." in answer.text
    assert town.store.load_case(case_id).seq == before  # type: ignore[union-attr]
    assert cases_led_by(town.store, "zhang") == set()


def test_the_leader_sees_the_case_in_mine_another_does_not_and_reassigning_replaces(
        net: Net, web: Any) -> None:
    case_id = escalated_case(net, up_to=TOWNSHIP)
    town = net.nodes[TOWNSHIP]
    _leaders(town, "zhang", "li")
    staff = web(TOWNSHIP, "staff", "hub_staff")
    assert _assign_on_page(staff, case_id, "zhang").status_code == 303
    zhang, li = web(TOWNSHIP, "zhang", "leader"), web(TOWNSHIP, "li", "leader")
    mine = zhang.client.get("/mine").text
    assert 'href="/mine"' in mine
    assert f'href="/cases/{case_id}"' in mine
    assert "registered" in mine  # its state, and the acceptance deadline next
    assert case_id not in li.client.get("/mine").text
    assert 'href="/mine"' not in staff.client.get("/").text  # the link is a leader's
    # a later assignment replaces the earlier one; the log keeps both
    assert _assign_on_page(staff, case_id, "li").status_code == 303
    assert case_id not in zhang.client.get("/mine").text
    assert case_id in li.client.get("/mine").text
    case = town.store.load_case(case_id)
    assert case is not None
    assert [e.data["leader"] for e in case.events if e.action is Action.ASSIGN] == ["zhang", "li"]
    assert current_leader(case).leader == "li"  # type: ignore[union-attr]
    again = _assign_on_page(staff, case_id, "li")
    assert again.status_code == 400
    assert "the case is already assigned to li" in again.text


def test_first_handler_on_every_copy_after_escalation(net: Net) -> None:
    case_id = escalated_case(net, up_to=COUNTY)
    for code, shown in ((VILLAGE, "首办单位：状元村（330681111242）"),  # its own name
                        (TOWNSHIP, "首办单位：330681111242 村"),
                        (COUNTY, "首办单位：330681111242 村")):
        node = net.nodes[code]
        case = node.store.load_case(case_id)
        assert case is not None
        assert shown in show_text(case, [], TODAY, "zh", names=node_names(node)), code
        assert show_json(case, [], TODAY, "zh", names=node_names(node))["first_handler"][
            "node_id"] == VILLAGE
    # a case that starts at a hub: that hub is its first handler
    own = net.nodes[TOWNSHIP].service.new_case(
        source=CaseSource.APPLICATION, dispute_type="02", facts="来访反映邻里纠纷",
        parties=[party("张三")])
    opened = show_json(own, [], TODAY, "zh", names=node_names(net.nodes[TOWNSHIP]))
    assert opened["first_handler"] == {"node_id": TOWNSHIP, "name": "状元镇"}


def party(name: str) -> PartyInput:
    return PartyInput("applicant", name)


def test_an_assignment_goes_up_as_a_bare_history_entry_and_replays_at_every_hub(
        net: Net) -> None:
    """The village's head assigns, then the case goes up two tiers: each hub's dossier lists
    the assignment (kind, state, time), never the leader's name or the note; each hub's copy
    replays and renders it, and has no leader of its own until it assigns one."""
    village = net.nodes[VILLAGE]
    case = village.service.new_case(source=CaseSource.APPLICATION, dispute_type="02",
                                    facts="两家因院墙边界发生争执", parties=[party("张三")])
    case_id = case.case_id
    village.service.act(case_id, lambda c, a, t: assign(c, a, t, leader="赵主任",
                                                        note="村书记亲自跟进"),
                        role="station_head", user="head")
    net.act(VILLAGE, case_id, lambda c, a, t: cmd.escalate(
        c, a, t, reason=EscalationReason.NO_AGREEMENT, consent_given=True))
    net.act(TOWNSHIP, case_id, lambda c, a, t: cmd.escalate(
        c, a, t, reason=EscalationReason.MAJOR_MATTER, consent_given=True))
    for code, state in ((TOWNSHIP, CaseState.ESCALATED), (COUNTY, CaseState.REGISTERED)):
        node = net.nodes[code]
        copy = node.store.load_case(case_id)  # replayed from the file
        assert copy is not None
        assert copy.state is state
        entries = [h for h in lower_history(copy) if h["kind"] == "assign"]
        assert len(entries) == 1
        assert entries[0]["node_id"] == VILLAGE
        assert entries[0]["reason"] == ""
        stored = json.dumps([dict(e.data) for e in copy.events], ensure_ascii=False)
        assert "赵主任" not in stored
        assert "村书记亲自跟进" not in stored
        assert current_leader(copy) is None
        assert action_label("assign", "zh") in "\n".join(arrival_lines(copy, "zh"))
        view = dossier_view(copy, "en")
        assert view is not None
        assert "assign to a leader" in [row["action"] for row in view["history"]]
        show_text(copy, [], TODAY, "zh")  # renders whole
    # an entry of a kind this node cannot name (a newer peer's) is shown by its code
    assert action_label("some_newer_note", "zh") == "some_newer_note"
    # the village keeps its leader on its own copy
    mine = village.store.load_case(case_id)
    assert mine is not None
    assert current_leader(mine).leader == "赵主任"  # type: ignore[union-attr]


# --- the command line ---------------------------------------------------------------------
def fengqiao(monkeypatch: pytest.MonkeyPatch, config: Path, *args: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.setenv("FENGQIAO_NOW", "2026-03-02T10:00:00+08:00")
    return main(["--config", str(config), "--lang", "en", *args])


def _store(config: Path) -> SqliteStore:
    return SqliteStore(load_config(config).database)


def _events(config: Path) -> int:
    store = _store(config)
    try:
        return len(store.load_events(f"{VILLAGE}-2026-00001"))
    finally:
        store.close()


def test_cli_assign_list_and_show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, VILLAGE, name="状元村")
    assert fengqiao(monkeypatch, config, "case", "new", "--type", "02", "--applicant", "张三",
                    "--respondent", "李四", "--facts", "两家因院墙边界发生争执") == 0
    case_id = f"{VILLAGE}-2026-00001"
    store = _store(config)
    try:
        for name, roles in (("zhang", "leader"), ("li", "leader"), ("wang", "mediator")):
            users.add_user(store, name, roles, hash_password(PASSWORD),
                           datetime(2026, 3, 2, 2, tzinfo=UTC))
    finally:
        store.close()
    capsys.readouterr()
    before = _events(config)
    refused = [
        ("case", "assign", "1", "--leader", "zhang"),  # the default role: a mediator
        ("case", "assign", "1", "--leader", "nobody", "--role", "station_head"),
        ("case", "assign", "1", "--leader", "wang", "--role", "station_head"),
    ]
    for args in refused:
        assert fengqiao(monkeypatch, config, *args) == 2, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert "Traceback" not in err
    assert _events(config) == before  # nothing written
    assert fengqiao(monkeypatch, config, "case", "assign", "1", "--leader", "zhang",
                    "--note", "书记包案", "--role", "station_head", "--user", "head") == 0
    capsys.readouterr()
    assert fengqiao(monkeypatch, config, "case", "show", "1", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["leader"] == {"name": "zhang", "since": "2026-03-02", "by": "head",
                               "note": "书记包案"}
    assert shown["first_handler"] == {"node_id": VILLAGE, "name": "状元村"}
    assert fengqiao(monkeypatch, config, "case", "show", "1") == 0
    text = capsys.readouterr().out
    assert "leader in charge: zhang (since 2026-03-02)" in text
    assert "first handler: 状元村 (330681111242)" in text
    assert fengqiao(monkeypatch, config, "case", "list", "--leader", "zhang", "--json") == 0
    assert [r["case_id"] for r in json.loads(capsys.readouterr().out)] == [case_id]
    assert fengqiao(monkeypatch, config, "case", "list", "--leader", "li", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_cli_without_accounts_takes_the_name_as_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, VILLAGE)
    assert fengqiao(monkeypatch, config, "case", "new", "--type", "02", "--applicant", "张三",
                    "--facts", "两家因院墙边界发生争执") == 0
    assert fengqiao(monkeypatch, config, "case", "assign", "1", "--leader", "赵主任",
                    "--role", "hub_staff") == 0
    capsys.readouterr()
    assert fengqiao(monkeypatch, config, "case", "list", "--leader", "赵主任", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
