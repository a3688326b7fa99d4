"""Scenario 3 (issue 4): a village is cut off, records 5,000 cases (1,000 escalated) with no broker,
and its backlog drains when the link returns.

The village's service (`fengqiao node run`) reaches the broker through a `LinkProxy` the test cuts
and restores, so the node sees a real link failure (reset, then connection refused) while the
broker and the township hub (`fengqiao hub run`) stay up. The mediators' recording goes through
`CaseService` on the village's file while the service keeps retrying in the background, so the
recording time is also the station's local recording rate under those conditions.

Guarantees checked: nothing leaves while the link is down and nothing is lost or reordered when it
returns: every escalation reaches the hub, every lifecycle report the county's queue, and for every
case the sequence numbers arrive strictly increasing (first arrival of each message id, in queue
order). Rates and delays are measured and written to the figures file, never asserted.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from fengqiao.bootstrap import bootstrap
from nodes.config import load_config
from protocol.envelope import decode
from protocol.topology import EXCHANGE_UP, node_queue_name
from tests.fault.harness import (
    SETTLE_AFTER_DECLARE_S,
    Service,
    Taken,
    db_count,
    db_rows,
    declare,
    escalate,
    new_case,
    outbox_depth,
    queue_stats,
    services,
    take_all,
    wait_consumers,
    wait_quiet,
    wait_until,
    write_config,
    write_figures,
)
from tests.fault.linkproxy import LinkProxy
from tests.support.broker import PrivateRabbit

pytestmark = pytest.mark.fault

COUNTY, TOWNSHIP, VILLAGE = "339603000000", "339603101000", "339603101201"
CASES = 5000
ESCALATE_EVERY = 5        # 1,000 escalated
QUIET_DEADLINE_S = 240.0  # up to one 30 s backoff cap before the relay tries again, then the drain


def per_case_order_breaks(taken: list[Taken]) -> tuple[int, int, dict[str, list[int]]]:
    """(messages, duplicates, cases whose seqs did not strictly increase) over first arrivals."""
    seen: set[str] = set()
    seqs: dict[str, list[int]] = defaultdict(list)
    for message in taken:
        if message.message_id in seen:
            continue
        seen.add(message.message_id)
        env = decode(message.body)
        if env.case_id is not None:
            seqs[env.case_id].append(env.seq)
    broken = {c: s for c, s in seqs.items() if any(a >= b for a, b in itertools.pairwise(s))}
    return len(seen), len(taken) - len(seen), broken


def test_offline_village_backlog_drains_completely_and_in_order(
        private_rabbit: PrivateRabbit, tmp_path: Path) -> None:
    url, began = private_rabbit.amqp_url, time.monotonic()
    link = LinkProxy(private_rabbit.amqp_port)
    village_cfg = write_config(tmp_path / VILLAGE, VILLAGE, link.url)
    hub_cfg = write_config(tmp_path / TOWNSHIP, TOWNSHIP, url)
    village_db, hub_db = village_cfg.parent / "fengqiao.db", hub_cfg.parent / "fengqiao.db"
    declare(url, [VILLAGE, TOWNSHIP, COUNTY])
    time.sleep(SETTLE_AFTER_DECLARE_S)
    try:
        link.up()
        with services() as running:
            running.append(Service(hub_cfg, tmp_path / "hub.log").start())
            running.append(Service(village_cfg, tmp_path / "village.log").start())
            wait_consumers(url, [VILLAGE, TOWNSHIP])

            link.down()
            offline_at = time.monotonic()
            node = bootstrap(load_config(village_cfg))
            try:
                recording_began = time.monotonic()
                escalated: list[str] = []
                for i in range(CASES):
                    case_id = new_case(node, f"离线期间登记的纠纷（故障测试 {i}）")
                    if i % ESCALATE_EVERY == 0:
                        escalate(node, case_id)
                        escalated.append(case_id)
                recording_s = time.monotonic() - recording_began
            finally:
                node.close()
            backlog = outbox_depth(village_db)
            sent_while_down = db_count(village_db,
                                       "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL")
            for service in running:
                service.check_alive()

            link.up()
            link_up_at, link_up_wall = time.monotonic(), datetime.now().astimezone()
            hub_done_s = wait_until(
                lambda: db_count(hub_db, "SELECT count(*) FROM cases") == len(escalated)
                and time.monotonic() - link_up_at, "every escalation at the hub", QUIET_DEADLINE_S,
                every=0.1)
            def drained() -> bool:
                for service in running:
                    service.check_alive()
                return outbox_depth(village_db) == 0 and outbox_depth(hub_db) == 0 \
                    and queue_stats(url, node_queue_name(TOWNSHIP))[0] == 0
            wait_quiet(drained, "the backlog draining", QUIET_DEADLINE_S)
            exit_codes = [service.stop() for service in running]
    finally:
        link.close()

    outbox = db_rows(village_db, "SELECT message_id, exchange, sent_at FROM outbox ORDER BY id")
    sent_times = sorted(datetime.fromisoformat(at) for _, _, at in outbox)
    first_sent, last_sent = sent_times[0], sent_times[-1]
    drain_s = max((last_sent - first_sent).total_seconds(), 1e-3)
    up_ids = [m for m, exchange, _ in outbox if exchange == EXCHANGE_UP]
    report_ids = {m for m, exchange, _ in outbox if exchange != EXCHANGE_UP}
    hub_cases = {row[0] for row in db_rows(hub_db, "SELECT case_id FROM cases")}
    # The township also takes its villages' reports (issue 16): its escalations are counted here.
    hub_inbox = [m for (m,) in db_rows(hub_db, "SELECT message_id FROM inbox WHERE schema_name = "
                                               "'case_escalated' ORDER BY rowid")]
    last_applied = max(datetime.fromisoformat(at) for (at,) in db_rows(
        hub_db, "SELECT received_at FROM inbox WHERE schema_name = 'case_escalated'"))
    hub_window_s = max((last_applied - first_sent).total_seconds(), 1e-3)
    at_county = [t for t in take_all(url, node_queue_name(COUNTY)) if t.message_id in report_ids]
    county_messages, county_duplicates, broken = per_case_order_breaks(at_county)
    first_arrivals = list(dict.fromkeys(t.message_id for t in at_county))
    outbox_order = [m for m, exchange, _ in outbox if exchange != EXCHANGE_UP]

    figures = {
        "cases_recorded": CASES, "escalated": len(escalated), "outbox_backlog": backlog,
        "recording_s": round(recording_s, 2),
        "recording_cases_per_s": round(CASES / recording_s),
        "recording_transactions_per_s": round((CASES + len(escalated)) / recording_s),
        "offline_s": round(link_up_at - offline_at, 1),
        "reconnect_after_link_up_s": round((first_sent - link_up_wall).total_seconds(), 2),
        "village_drain_s": round(drain_s, 2),
        "drain_messages_per_s": round(backlog / drain_s),
        "hub_all_escalations_after_link_up_s": round(hub_done_s, 2),
        "hub_escalations_per_s": round(len(escalated) / hub_window_s),
        "hub_received": len(hub_inbox), "lost_escalations": len(set(up_ids) - set(hub_inbox)),
        "reports_sent": len(report_ids), "reports_received_distinct": county_messages,
        "reports_lost": len(report_ids) - county_messages, "duplicated": county_duplicates,
        "cases_out_of_order": len(broken),
        "fifo_at_hub": hub_inbox == up_ids, "fifo_at_county": first_arrivals == outbox_order,
        "total_s": round(time.monotonic() - began, 1),
    }
    write_figures("offline_village", figures)

    assert sent_while_down == 0, "something was marked sent while the link was down"
    assert backlog == CASES + 2 * len(escalated)  # a register report per case; escalate: report + dossier
    assert exit_codes == [0, 0]
    assert hub_cases == set(escalated)
    assert sorted(hub_inbox) == sorted(up_ids)
    assert county_messages == len(report_ids), "a lifecycle report was lost"
    assert not broken, f"per-case order broken for {len(broken)} cases, e.g. {next(iter(broken.items()))}"
