"""Scenario 4 (issue 4): every message delivered twice and in shuffled order leaves a hub in the state
one in-order delivery leaves it in.

A clean run (see `tests/fault/replay.py`: 2 villages x 100 escalations, township and county
deciding by the demo's policy) is tapped; then a foreign publisher (pika, its own connection, as
guest) delivers each hub's stream to a *fresh* hub (new file): once in arrival order (baseline),
and once with every message twice, shuffled (same bodies, same message ids). The fresh hub is the
consumer the runtime uses; its staff work the open cases after each phase, with the same
deterministic policy as in the clean run.

- County: escalations from the township, every lifecycle report and heartbeat of the subtree. The
  baseline must reproduce the clean county (cases, events, parties, outbox); the shuffled run
  must equal the baseline in every part of the state, flow table included.
- Township: the villages' escalations (phase 1, staff decide, then) the county's decisions (phase
  2). A decision cannot overtake the escalation it answers (the county decides only after the
  township escalated), so the phases keep that causal order; inside each phase the order is
  shuffled and everything doubled. (Flaw F2, fixed: ordered messages name their predecessor,
  `Envelope.prev_seq`, and one that arrives early waits in the `held` table.)
- Township, the production path to reordering: one transient failure on a decision, whose
  successors are already prefetched (flaw F1), and a decision that always fails (dead-lettered;
  its successors wait in `held` until it is put back, then apply in order).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from nodes.config import load_config
from nodes.messaging.consumer import Handler
from nodes.store.errors import StoreBusy
from protocol.envelope import Envelope, decode
from protocol.routing import node_key
from protocol.topology import DELIVERY_LIMIT, EXCHANGE_DOWN, QUEUE_DEAD
from tests.fault.harness import Taken, declare, purge, queue_stats, take_all, write_figures
from tests.fault.replay import (
    CITY,
    COUNTY,
    TOWNSHIP,
    VILLAGES,
    CleanRun,
    HandlersPatch,
    Replay,
    differences,
    doubled_and_shuffled,
    hub_state,
    replay,
    run_clean,
    schema_of,
)
from tests.support.broker import PrivateRabbit
from tests.support.messages import delivery
from tests.support.sql import rows

pytestmark = pytest.mark.fault

FAIL_AFTER_S = 0.3  # an injected failure takes this long, so the successors are prefetched
_CLEAN: dict[str, CleanRun] = {}  # one clean run (the expensive part) serves both tests
CLEAN_PARTS = ("cases", "events", "parties", "outbox")
# The township's first phase: what comes up from below by itself, before any decision. Since 2.1
# a township takes its villages' reports and heartbeats too (red flags); they need no order.
FIRST_PHASE = frozenset({"case_escalated", "lifecycle_report", "heartbeat"})
SECOND_PHASE = frozenset({"case_decision", "case_report_back"})


def clean_run(url: str, factory: pytest.TempPathFactory) -> CleanRun:
    if "run" not in _CLEAN:
        _CLEAN["run"] = run_clean(url, factory.mktemp("clean"))
    else:  # a fresh broker for this test: the topology the replays publish into
        declare(url, [*VILLAGES, TOWNSHIP, COUNTY, CITY])
    return _CLEAN["run"]


def fresh_config(run: CleanRun, code: str, folder: Path, url: str) -> Any:
    """The hub's own config (same id, same key), pointing at a new file and this broker."""
    cfg = load_config(run.configs[code])
    return cfg.model_copy(update={"database": folder / "fengqiao.db", "broker_url": url})


def figures_of(name: str, stream: int, a: Replay, b: Replay, diff: dict[str, str],
               state: dict[str, Any], began: float) -> None:
    write_figures(name, {
        "messages_in_stream": stream, "delivered_in_order": a.handled,
        "delivered_doubled_shuffled": b.handled, "baseline": a.counts(), "shuffled": b.counts(),
        "hub_cases": len(state["cases"]), "hub_events": sum(map(len, state["events"].values())),
        "state_equal": not diff, "differences": diff, "total_s": round(time.monotonic() - began, 1),
    })


def township_baseline(run: CleanRun, url: str, folder: Path) -> dict[str, Any]:
    if TOWNSHIP not in run.replayed:
        stream = run.streams[TOWNSHIP]
        escalations = [m for m in stream if schema_of(m) in FIRST_PHASE]
        decisions = [m for m in stream if schema_of(m) not in FIRST_PHASE]
        base = replay(url, fresh_config(run, TOWNSHIP, folder, url), [escalations, decisions])
        run.replayed[TOWNSHIP] = {"state": hub_state(base.node), "counts": base.counts(),
                                  "handled": base.handled}
        base.node.close()
    return run.replayed[TOWNSHIP]


def test_county_hub_state_is_the_same_after_duplicates_and_shuffling(
        private_rabbit: PrivateRabbit, tmp_path_factory: pytest.TempPathFactory) -> None:
    began, url = time.monotonic(), private_rabbit.amqp_url
    run = clean_run(url, tmp_path_factory)
    stream = run.streams[COUNTY]
    assert {schema_of(m) for m in stream} >= {"case_escalated", "lifecycle_report", "heartbeat"}

    a = replay(url, fresh_config(run, COUNTY, tmp_path_factory.mktemp("county-a"), url), [stream])
    b = replay(url, fresh_config(run, COUNTY, tmp_path_factory.mktemp("county-b"), url),
               [doubled_and_shuffled(stream)])
    state_a, state_b = hub_state(a.node), hub_state(b.node)
    a.node.close()
    b.node.close()
    diff = differences(state_a, state_b)
    figures_of("duplicates_county", len(stream), a, b, diff, state_b, began)
    # The township's in-order replay must reproduce the clean township too (used by the next test).
    township = township_baseline(run, url, tmp_path_factory.mktemp("township-a"))

    county_vs_clean = differences(run.states[COUNTY], state_a, CLEAN_PARTS)
    assert not county_vs_clean, f"in-order replay differs from the clean county: {county_vs_clean}"
    township_vs_clean = differences(run.states[TOWNSHIP], township["state"], CLEAN_PARTS)
    assert not township_vs_clean, \
        f"in-order replay differs from the clean township: {township_vs_clean}"
    assert a.counts() == {"applied": len(stream), "duplicates": 0, "stale": 0, "quarantined": 0}
    assert b.counts() == {"applied": len(stream), "duplicates": len(stream), "stale": 0,
                          "quarantined": 0}
    assert state_a["flow"][2]["registered"] > 0
    assert state_a["reports"]
    assert not diff, f"duplicated + shuffled county differs from in-order: {diff}"


def test_township_hub_state_is_the_same_after_duplicates_and_shuffling(
        private_rabbit: PrivateRabbit, tmp_path_factory: pytest.TempPathFactory) -> None:
    began, url = time.monotonic(), private_rabbit.amqp_url
    run = clean_run(url, tmp_path_factory)
    stream = run.streams[TOWNSHIP]
    escalations = [m for m in stream if schema_of(m) in FIRST_PHASE]
    decisions = [m for m in stream if schema_of(m) not in FIRST_PHASE]
    # Preconditions raise RuntimeError, not AssertionError: the expected failure must not hide them.
    # The second phase: the county's decisions and the villages' report-backs of the township's
    # hand-downs (issue 16), both answers to what the township's staff did after the first.
    if not decisions or {schema_of(m) for m in decisions} != SECOND_PHASE:
        raise RuntimeError(f"the township's stream has no decisions to reorder: {len(decisions)}")
    baseline = township_baseline(run, url, tmp_path_factory.mktemp("township-a"))
    if mismatch := differences(run.states[TOWNSHIP], baseline["state"], CLEAN_PARTS):
        raise RuntimeError(f"the in-order replay does not reproduce the clean township: {mismatch}")

    b = replay(url, fresh_config(run, TOWNSHIP, tmp_path_factory.mktemp("township-b"), url),
               [doubled_and_shuffled(escalations), doubled_and_shuffled(decisions, seed=7)])
    state_b = hub_state(b.node)
    b.node.close()
    diff = differences(baseline["state"], state_b)
    write_figures("duplicates_township", {
        "messages_in_stream": len(stream), "escalations": len(escalations),
        "decisions": len(decisions), "delivered_in_order": baseline["handled"],
        "delivered_doubled_shuffled": b.handled, "baseline": baseline["counts"],
        "shuffled": b.counts(), "hub_cases": len(state_b["cases"]),
        "cases_with_different_events": sum(
            1 for c in baseline["state"]["events"]
            if baseline["state"]["events"][c] != state_b["events"].get(c)),
        "state_equal": not diff, "differences": diff,
        "total_s": round(time.monotonic() - began, 1),
    })
    if b.counts()["quarantined"]:
        raise RuntimeError(f"{b.counts()['quarantined']} messages quarantined in the shuffled run")
    assert not diff, f"duplicated + shuffled township differs from in-order: {diff}"


def test_township_transient_failure_does_not_lose_a_decision(
        private_rabbit: PrivateRabbit, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The production path to reordering: no duplicates, no shuffle, just one transient error
    (SQLite busy past its timeout, a full disk) on the first of a case's three decisions while the
    other two sit in the same prefetch window. The consumer requeues it (DESIGN §4 rule 3); the
    hub's state must end as if nothing had happened. (Failed before the fix of flaw F1.)"""
    began, url = time.monotonic(), private_rabbit.amqp_url
    run = clean_run(url, tmp_path_factory)
    escalations, decisions, victim = victim_of(run)
    baseline = township_baseline(run, url, tmp_path_factory.mktemp("township-a"))
    failures: list[str] = []
    b = replay(url, fresh_config(run, TOWNSHIP, tmp_path_factory.mktemp("township-c"), url),
               [escalations, decisions], handlers=failing(victim, failures, times=1))
    state_b = hub_state(b.node)
    b.node.close()
    if failures != [victim.message_id]:
        raise RuntimeError(f"the injected failure happened {len(failures)} times, not once")
    diff = differences(baseline["state"], state_b)
    write_figures("transient_failure_township", {
        "decisions": len(decisions), "failed_once": 1, "counts": b.counts(),
        "held_back": b.consumer.held_back, "state_equal": not diff, "differences": diff,
        "total_s": round(time.monotonic() - began, 1),
    })
    assert not diff, f"one transient failure changed the township's final state: {diff}"
    assert b.counts() == baseline["counts"]
    assert b.consumer.held_back >= 1


def test_township_poison_decision_is_dead_lettered_and_its_stream_waits_for_it(
        private_rabbit: PrivateRabbit, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The other side of applying a stream in order: a decision that fails every time is still
    dead-lettered by the delivery limit (DESIGN §4 rule 3), and the decisions after it in its
    stream wait, acked, in the `held` table instead of being applied out of order; every other
    stream goes on. When an operator puts the dead letter back (the fault fixed), it is applied
    and releases its successors in order."""
    began, url = time.monotonic(), private_rabbit.amqp_url
    run = clean_run(url, tmp_path_factory)
    escalations, decisions, victim = victim_of(run)
    purge(url, [QUEUE_DEAD])
    failures: list[str] = []
    b = replay(url, fresh_config(run, TOWNSHIP, tmp_path_factory.mktemp("township-p"), url),
               [escalations, decisions], handlers=failing(victim, failures, times=None),
               unhandled=1, until=lambda: queue_stats(url, QUEUE_DEAD)[0] >= 1)
    store, path = b.node.store, b.node.config.database
    inbox = {m for (m,) in rows(path, "SELECT message_id FROM inbox")}
    held = {m for (m,) in rows(path, "SELECT message_id FROM held")}
    dead = take_all(url, QUEUE_DEAD)
    case_id = decode(victim.body).case_id
    successors = [str(decode(m.body).message_id) for m in decisions
                  if decode(m.body).case_id == case_id and m is not victim]
    assert [t.message_id for t in dead] == [victim.message_id]
    # First delivery + DELIVERY_LIMIT redeliveries, less any attempt charged by a consume-slice
    # boundary while the message was on its way (flaw F3, test_delivery_accounting.py).
    assert 1 < len(failures) <= DELIVERY_LIMIT + 1
    assert victim.message_id not in inbox
    assert held == set(successors)
    assert not held & inbox
    assert b.counts() == {"applied": len(escalations) + len(decisions) - 1 - len(successors),
                          "duplicates": 0, "stale": 0, "quarantined": 0}

    # The operator re-delivers the dead letter once the fault is gone.
    settled: list[str] = []
    message = SimpleNamespace(ack=lambda: settled.append("ack"),
                              reject=lambda requeue: settled.append(f"reject {requeue}"))
    consumer = b.node.consumer  # the staff's handle on the file, wired as the hub is
    consumer.handle(delivery(dead[0].body, exchange=EXCHANGE_DOWN, routing_key=node_key(TOWNSHIP),
                             message=message, headers=dead[0].headers))  # signed as it came
    released = [m for (m,) in rows(
        path, "SELECT message_id FROM inbox WHERE case_id = ? AND schema_name = 'case_decision' "
        "ORDER BY seq", (case_id,))]
    assert settled == ["ack"]
    assert store.held_count() == 0
    assert released == [str(decode(victim.body).message_id), *successors]
    write_figures("poison_decision_township", {
        "decisions": len(decisions), "attempts_on_poison": len(failures),
        "counts": b.counts(), "held_back": b.consumer.held_back, "dead_lettered": len(dead),
        "held_until_redelivered": len(successors), "released_on_redelivery": consumer.applied,
        "total_s": round(time.monotonic() - began, 1),
    })
    b.node.close()


def victim_of(run: CleanRun) -> tuple[list[Taken], list[Taken], Taken]:
    """The township's escalations, its decisions (with the report-backs that arrive with them),
    and the first decision of a case that has at least three (accepted, resolved, closed: one
    county transaction, back to back)."""
    stream = run.streams[TOWNSHIP]
    escalations = [m for m in stream if schema_of(m) in FIRST_PHASE]
    decisions = [m for m in stream if schema_of(m) in SECOND_PHASE]  # and report-backs
    per_case: dict[str, list[Taken]] = {}
    for m in decisions:
        if schema_of(m) != "case_decision":
            continue
        per_case.setdefault(decode(m.body).case_id or "", []).append(m)
    victim = next((ms[0] for ms in per_case.values() if len(ms) >= 3), None)
    if victim is None:
        raise RuntimeError("no case with three decisions from the county in the clean run")
    return escalations, decisions, victim


def failing(victim: Taken, failures: list[str], times: int | None) -> HandlersPatch:
    """The hub's handlers, except that applying `victim` raises a transient-looking error the
    first `times` times (every time if None)."""
    def handlers(real: Mapping[str, Handler]) -> dict[str, Handler]:
        apply = real["case_decision"]

        def flaky(env: Envelope) -> None:
            if str(env.message_id) == victim.message_id and (times is None or len(failures) < times):
                failures.append(victim.message_id)
                time.sleep(FAIL_AFTER_S)  # as SQLite's busy timeout would; the rest keeps arriving
                raise StoreBusy("OperationalError: database is locked")
            apply(env)
        return {**real, "case_decision": flaky}
    return handlers
