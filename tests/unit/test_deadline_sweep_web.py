"""The hub's today page lists its subtree's overdue cases (issue 18 item 1), as the deadline
sweeps below reported them, and a station's today page says how soon "due soon" is."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient

from nodes.domain.case import SHANGHAI
from nodes.web.app import create_app
from tests.unit.test_deadline_sweep import COUNTY, VILLAGE, accept, network, new_case
from tests.unit.web_support import Site


def section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    return html[start:html.find("</section>", start)]


def test_the_county_s_today_page_shows_the_subtree_s_overdue_cases(tmp_path: Path) -> None:
    net = network(tmp_path, datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))
    try:
        late = new_case(net.nodes[VILLAGE])
        net.clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=SHANGHAI))
        soon = new_case(net.nodes[VILLAGE])
        net.clock.set(datetime(2026, 3, 12, 9, 0, tzinfo=SHANGHAI))
        net.sweep()
        with TestClient(create_app(net.nodes[COUNTY]), base_url="http://127.0.0.1") as client:
            site = Site(net.nodes[COUNTY], client, net.clock)
            site.add_user("staff", "hub_staff")
            assert site.login("staff") == 303
            site.english()
            part = section(client.get("/").text, "subtree-late-h")
            assert "Overdue in the subtree (1)" in part
            assert late in part
            assert soon not in part  # due on 12 Mar: due soon, not late
            assert VILLAGE in part
            assert "acceptance" in part
            assert "<td>3</td>" in part  # days late: due on 9 Mar
            accept(net.nodes[VILLAGE], late)
            net.pump()
            part = section(client.get("/").text, "subtree-late-h")
            assert "Overdue in the subtree (0)" in part
            assert "Nothing in the subtree is overdue." in part
    finally:
        net.close()


def test_a_station_s_today_page_counts_due_soon_with_its_setting(tmp_path: Path) -> None:
    net = network(tmp_path, datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI), due_soon_days=10)
    try:
        new_case(net.nodes[VILLAGE])  # acceptance due on 9 Mar: within ten days
        with TestClient(create_app(net.nodes[VILLAGE]), base_url="http://127.0.0.1") as client:
            site = Site(net.nodes[VILLAGE], client, net.clock)
            site.add_user("wang", "mediator")
            assert site.login("wang") == 303
            site.english()
            assert "Due within 10 days (1)" in client.get("/").text
        assert net.sweep() == 1  # the sweep counts with the same setting
    finally:
        net.close()
