"""Scenario 1 (issue 4): the broker is SIGKILLed and restarted while 1,000 escalations flow from four
villages to their township hub.

The villages and the hub run as real services (`fengqiao node run` x4, `fengqiao hub run`), each its
own process with its own broker connections, exactly as deployed; the test plays the mediators,
recording and escalating cases through `CaseService` on the villages' files while those services
run (as `fengqiao case ...` would). Mid-flow the private broker is SIGKILLed by pid, stays down a
few seconds while the villages keep recording, and comes back on the same ports and data.

Guarantees checked: every escalation reaches the hub exactly once (one case, one `register`, one
inbox row per escalation); every message the relay saw confirmed before the kill survived it;
nothing is quarantined; every lifecycle report also reaches the county's queue (at least once).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from fengqiao.bootstrap import bootstrap
from nodes.config import load_config
from protocol.topology import EXCHANGE_REPORT, EXCHANGE_UP, node_queue_name
from tests.fault.harness import (
    SETTLE_AFTER_DECLARE_S,
    Service,
    db_count,
    db_rows,
    declare,
    escalate,
    log_events,
    new_case,
    outbox_depth,
    queue_stats,
    services,
    take_all,
    wait_consumers,
    wait_quiet,
    write_config,
    write_figures,
)
from tests.support.broker import PrivateRabbit

pytestmark = pytest.mark.fault

COUNTY, TOWNSHIP = "339601000000", "339601101000"
VILLAGES = [f"339601101{v}" for v in ("201", "202", "203", "204")]
PER_VILLAGE = 250
RECORD_OVER_S = 16.0      # each village records its cases spread over this long
KILL_AFTER_S = 4.0        # into the flow
SURGE = 40                # cases each village records at once just before the kill
SURGE_LEAD_S = 0.25       # so that the relays are mid-batch, with confirms outstanding, at the kill
DOWN_S = 4.0              # broker dead this long before the restart begins
QUIET_DEADLINE_S = 180.0  # relay/consumer backoff is capped at 30 s; this is several caps


class Recorder(threading.Thread):
    """A village's mediators: record and escalate cases at a steady pace, whatever the broker does."""

    def __init__(self, config: Path, count: int, pace_s: float, surge: threading.Event) -> None:
        super().__init__(name=f"recorder-{config.parent.name}", daemon=True)
        self.config, self.count, self.pace_s, self.surge = config, count, pace_s, surge
        self.recorded: list[tuple[float, str]] = []  # (monotonic time, case id)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            node = bootstrap(load_config(self.config))
            try:
                surged = 0
                for i in range(self.count):
                    case_id = new_case(node, f"排水沟堵塞引发邻里纠纷（故障测试 {i}）")
                    escalate(node, case_id)
                    self.recorded.append((time.monotonic(), case_id))
                    if self.surge.is_set() and surged < SURGE:
                        surged += 1
                    else:
                        time.sleep(self.pace_s)
            finally:
                node.close()
        except BaseException as exc:  # surfaced by the test after join
            self.error = exc


def test_broker_killed_mid_flow_loses_nothing_and_applies_nothing_twice(
        private_rabbit: PrivateRabbit, tmp_path: Path) -> None:
    url, began = private_rabbit.amqp_url, time.monotonic()
    configs = {code: write_config(tmp_path / code, code, url) for code in [*VILLAGES, TOWNSHIP]}
    dbs = {code: path.parent / "fengqiao.db" for code, path in configs.items()}
    declare(url, [*VILLAGES, TOWNSHIP, COUNTY])  # the county's queue collects the reports
    time.sleep(SETTLE_AFTER_DECLARE_S)

    with services() as running:
        hub = Service(configs[TOWNSHIP], tmp_path / "hub.log", level="DEBUG").start()
        running.append(hub)
        for code in VILLAGES:
            running.append(Service(configs[code], tmp_path / f"{code}.log").start())
        wait_consumers(url, [*VILLAGES, TOWNSHIP])

        surge = threading.Event()
        recorders = [Recorder(configs[code], PER_VILLAGE, RECORD_OVER_S / PER_VILLAGE, surge)
                     for code in VILLAGES]
        for recorder in recorders:
            recorder.start()
        time.sleep(KILL_AFTER_S)
        surge.set()
        time.sleep(SURGE_LEAD_S)
        at_hub_before_kill = db_count(dbs[TOWNSHIP], "SELECT count(*) FROM cases")
        private_rabbit.kill()
        killed_at = time.monotonic()
        # No confirm can arrive after the kill: every row marked sent now was confirmed before it.
        confirmed_before_kill = {row[0] for code in VILLAGES for row in db_rows(
            dbs[code], "SELECT message_id FROM outbox WHERE sent_at IS NOT NULL AND exchange = ?",
            [EXCHANGE_UP])}
        time.sleep(DOWN_S)
        private_rabbit.start()
        back_at = time.monotonic()
        for recorder in recorders:
            recorder.join(RECORD_OVER_S * 4)
        for recorder in recorders:
            assert recorder.error is None, f"{recorder.name}: {recorder.error!r}"
            assert not recorder.is_alive(), f"{recorder.name} did not finish"
        escalated = {case_id for r in recorders for _, case_id in r.recorded}
        during_outage = sum(1 for r in recorders for t, _ in r.recorded if killed_at <= t <= back_at)

        def quiet() -> bool:
            for service in running:
                service.check_alive()
            return (db_count(dbs[TOWNSHIP], "SELECT count(*) FROM cases") == len(escalated)
                    and all(outbox_depth(dbs[code]) == 0 for code in [*VILLAGES, TOWNSHIP])
                    and queue_stats(url, node_queue_name(TOWNSHIP))[0] == 0)
        settle_s = wait_quiet(quiet, "hub short of escalations or outboxes not empty",
                              QUIET_DEADLINE_S)
        quiet_at = time.monotonic()
        exit_codes = {s.config.parent.name: s.stop() for s in running}
        hub_log = hub.log_text()
        village_logs = [s.log_text() for s in running if s is not hub]

    # The county's queue: every report of every node, at least once.
    reports_sent = {row[0] for code in [*VILLAGES, TOWNSHIP] for row in db_rows(
        dbs[code], "SELECT message_id FROM outbox WHERE exchange = ?", [EXCHANGE_REPORT])}
    at_county = [t.message_id for t in take_all(url, node_queue_name(COUNTY))]
    reports_received = [m for m in at_county if m in reports_sent]  # the rest are heartbeats

    hub_db = dbs[TOWNSHIP]
    case_ids = {row[0] for row in db_rows(hub_db, "SELECT case_id FROM cases")}
    registers = dict(db_rows(hub_db, "SELECT case_id, count(*) FROM case_events "
                                     "WHERE action = 'register' GROUP BY case_id"))
    events = dict(db_rows(hub_db, "SELECT case_id, count(*) FROM case_events GROUP BY case_id"))
    inbox = db_rows(hub_db, "SELECT message_id, sender, case_id, seq FROM inbox "
                            "WHERE schema_name = 'case_escalated'")
    sent_up = {row[0]: row[1] for code in VILLAGES for row in db_rows(
        dbs[code], "SELECT message_id, case_id FROM outbox WHERE exchange = ?", [EXCHANGE_UP])}
    quarantined = db_count(hub_db, "SELECT count(*) FROM quarantine")
    counts = log_events(hub_log)
    retries = sum(log_events(text)["relay.broker_unavailable"] for text in village_logs)

    figures = {
        "villages": len(VILLAGES), "escalations_sent": len(escalated),
        "recorded_while_broker_down": during_outage,
        "hub_cases_before_kill": at_hub_before_kill,
        "confirmed_before_kill": len(confirmed_before_kill),
        "hub_deliveries": sum(counts[k] for k in ("consumer.applied", "consumer.duplicate",
                                                  "consumer.stale", "consumer.quarantined",
                                                  "consumer.held")),
        # Held (a retried predecessor came later: publishes are mandatory, so a message the
        # restarting broker returned goes again) and applied when its predecessor arrived.
        "hub_held": counts["consumer.held"],
        "hub_applied": counts["consumer.applied"], "hub_duplicates": counts["consumer.duplicate"],
        "hub_stale": counts["consumer.stale"], "quarantined": quarantined,
        "received_cases": len(case_ids), "lost": len(escalated - case_ids),
        "reports_sent": len(reports_sent), "reports_received_distinct": len(set(reports_received)),
        "reports_lost": len(reports_sent - set(reports_received)),
        "reports_duplicated": len(reports_received) - len(set(reports_received)),
        "relay_retries_logged": retries,
        "broker_down_s": round(back_at - killed_at, 1),
        "quiet_after_restart_s": round(quiet_at - back_at, 1),
        "settle_wait_s": round(settle_s, 1), "total_s": round(time.monotonic() - began, 1),
    }
    write_figures("broker_kill", figures)

    assert during_outage > 0, "no case was recorded while the broker was down"
    assert exit_codes == dict.fromkeys(exit_codes, 0), exit_codes
    assert len(escalated) == len(VILLAGES) * PER_VILLAGE
    assert case_ids == escalated, f"lost: {sorted(escalated - case_ids)[:5]}"
    assert registers == dict.fromkeys(escalated, 1), "a case was registered twice"
    assert events == dict.fromkeys(escalated, 1), "something besides one register was applied"
    assert len(inbox) == len(escalated), "two inbox rows for one escalation"
    assert {(sender, case_id, seq) for _, sender, case_id, seq in inbox} == \
        {(code, case_id, 2) for code in VILLAGES for case_id in escalated
         if case_id.startswith(code)}
    assert {m for m, _, _, _ in inbox} == set(sent_up), "inbox and the villages' dossiers differ"
    assert confirmed_before_kill, "nothing was confirmed before the kill: it came too early"
    assert confirmed_before_kill <= {m for m, _, _, _ in inbox}, "a confirmed message was lost"
    assert quarantined == 0
    # Exactly once is proven above from the hub's file (one register, one inbox row each); the
    # log's counts are figures only: a batch logs its applies before its commit, and a batch
    # whose commit or ack the kill interrupted is applied again on redelivery.
    assert set(reports_received) == reports_sent, \
        f"{len(reports_sent - set(reports_received))} reports lost"
