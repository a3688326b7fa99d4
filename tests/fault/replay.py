"""Scenario 4's machinery: a clean run of a small network whose hubs' incoming streams are tapped, a
foreign publisher that delivers a stream again, a hub's consumer on a fresh file, and a hub's
final state as plain data that two runs can be compared by.

The clean run: villages V1 and V2 record and escalate every case; township T and county C decide
with the demo's deterministic policy (`demo.policy`: settle, refer out, hand down, escalate by a
hash of case and tier); the city's queue only collects. Every node is a `NodeRuntime` in this
process. A tap queue with the same bindings as T's queue (and one as C's) keeps a copy of every
message each hub received, in arrival order.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pika

from demo.policy import work_open_cases
from fengqiao.bootstrap import bootstrap
from hub.flow import flow_table
from hub.store import HubStore
from nodes.config import NodeConfig, load_config
from nodes.messaging.consumer import Consumer, Handler
from nodes.messaging.runtime import NodeRuntime
from nodes.node import Node
from protocol.areas import tier_of
from protocol.envelope import decode
from protocol.topology import QueueSpec, node_queue, node_queue_name
from tests.fault.harness import (
    SETTLE_AFTER_DECLARE_S,
    NotQuiet,
    Taken,
    declare,
    escalate,
    new_case,
    purge,
    queue_stats,
    take_all,
    wait_quiet,
    wait_until,
    write_config,
)
from tests.support.signed import opened, resigned
from tests.support.sql import rows, scalar

CITY, COUNTY, TOWNSHIP = "339600000000", "339604000000", "339604101000"
VILLAGES = ["339604101201", "339604101202"]
HUBS = [TOWNSHIP, COUNTY]
PER_VILLAGE = 100
TAP = "fault.tap."
SHUFFLE_SEED = 20260104
# Event and payload fields computed from the wall clock of the node that applied the event.
CLOCK_FIELDS = frozenset({"target", "report_back_by", "calendar_note", "effective_date", "jc_due",
                          "jc_calendar", "window_ends", "decided_at", "at", "sent_at",
                          "registered_at", "clocks"})
# A test's change to the handlers a hub's consumer is wired with: the real ones in, the ones to
# use out (a handler that fails on purpose, around the real one).
HandlersPatch = Callable[[Mapping[str, Handler]], dict[str, Handler]]


def tap_queue(code: str) -> QueueSpec:
    spec = node_queue(code, tier_of(code))
    return QueueSpec(TAP + code, {"x-queue-type": "quorum"}, spec.bindings)


@dataclass
class CleanRun:
    configs: dict[str, Path]
    streams: dict[str, list[Taken]]  # hub code -> what its queue received, in arrival order
    states: dict[str, dict[str, Any]]  # hub code -> its final state (see hub_state)
    seconds: float
    replayed: dict[str, dict[str, Any]] = field(default_factory=dict)  # in-order replays, cached


def run_clean(url: str, workdir: Path, deadline_s: float = 150.0) -> CleanRun:
    began = time.monotonic()
    codes = [*VILLAGES, TOWNSHIP, COUNTY]
    configs = {code: write_config(workdir / code, code, url) for code in codes}
    declare(url, [*codes, CITY], [tap_queue(hub) for hub in HUBS])
    time.sleep(SETTLE_AFTER_DECLARE_S)
    loaded = {code: load_config(configs[code]) for code in codes}
    runtimes = [NodeRuntime(loaded[code], partial(bootstrap, loaded[code])) for code in codes]
    staff = {code: bootstrap(loaded[code]) for code in codes}
    try:
        for runtime in runtimes:
            runtime.start()
        for runtime in runtimes:
            if not runtime.ready.wait(30):
                raise NotQuiet(f"{runtime.config.node_id} did not declare its queue")
        for code in VILLAGES:
            for i in range(PER_VILLAGE):
                escalate(staff[code], new_case(staff[code], f"重放测试纠纷 {i}"))

        def quiet() -> bool:
            worked = sum(work_open_cases(node) for node in staff.values())
            return worked == 0 and all(node.store.outbox_depth() == 0 for node in staff.values()) \
                and all(queue_stats(url, node_queue_name(code))[0] == 0 for code in codes)
        wait_quiet(quiet, "the clean run settling", deadline_s, looks=4, every=0.3)
    finally:
        for runtime in runtimes:
            runtime.stop()
    streams = {hub: take_all(url, TAP + hub) for hub in HUBS}
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        for hub in HUBS:  # so that a replay on this broker feeds the hub's queue only
            connection.channel().queue_delete(TAP + hub)
    finally:
        connection.close()
    states = {hub: hub_state(staff[hub]) for hub in HUBS}
    for node in staff.values():
        node.close()
    return CleanRun(configs, streams, states, time.monotonic() - began)


def doubled_and_shuffled(stream: Sequence[Taken], seed: int = SHUFFLE_SEED) -> list[Taken]:
    messages = [*stream, *stream]
    random.Random(seed).shuffle(messages)  # noqa: S311 - not for security (sample data, jitter)
    return messages


def publish_foreign(url: str, messages: Sequence[Taken]) -> None:
    """Another client (pika, its own connection, as guest) publishes the same bodies again, with
    the same message ids, to the exchange and routing key each message first arrived by (a part
    of a bundle signed again by its sender, as it would travel alone)."""
    params = pika.URLParameters(url)
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for m in messages:
            props = pika.BasicProperties(
                delivery_mode=2, content_type=m.content_type or "application/json",
                content_encoding="utf-8", message_id=m.message_id,
                headers=resigned(m.body, m.exchange, m.routing_key, m.headers),
                user_id=params.credentials.username)
            channel.basic_publish(m.exchange, m.routing_key, m.body, properties=props,
                                  mandatory=True)
    finally:
        connection.close()


@dataclass
class Replay:
    node: Node  # the staff's handle on the fresh hub's file (the consumer thread has its own)
    consumer: Consumer

    @property
    def handled(self) -> int:
        """Deliveries settled: a held one is settled when it is held, not again when released."""
        c = self.consumer
        return c.applied + c.duplicates + c.stale + c.quarantined + c.held_back - c.released

    @property
    def written(self) -> int:
        """Rows the consumer has written (inbox or quarantine); duplicates write nothing."""
        c = self.consumer
        return c.applied + c.stale + c.quarantined

    def counts(self) -> dict[str, int]:
        c = self.consumer
        return {"applied": c.applied, "duplicates": c.duplicates, "stale": c.stale,
                "quarantined": c.quarantined}


def replay(url: str, config: NodeConfig, phases: Sequence[Sequence[Taken]],
           staff_after: Callable[[Node], object] = work_open_cases,
           deadline_s: float = 120.0, handlers: HandlersPatch | None = None,
           unhandled: int = 0, until: Callable[[], bool] = lambda: True) -> Replay:
    """A fresh hub (new file) takes `phases` one after another through the runtime's own consumer
    loop (`NodeRuntime._consumer_loop`: batches applied in one transaction, acks after commit);
    its staff work the open cases after each phase has committed. Only the consumer thread runs:
    without the relay the hub's own outgoing reports do not come back into its queue, and what
    it would send stays in its outbox, which is part of its state. `handlers`: what to change in
    the consumer's handlers (none by default). `unhandled`: deliveries of the
    last phase expected never to be settled here (dead-lettered); `until`: a further condition
    to wait for after the last phase, before the consumer stops (stopping closes its channel,
    which gives back, and so counts a delivery of, whatever it still holds)."""
    purge(url, [node_queue_name(config.node_id)])
    made: list[Node] = []

    def build() -> Node:
        """The consumer thread's node, as the composition root wires it (handlers patched)."""
        node = bootstrap(config)
        if handlers is not None:
            node.consumer.handlers = handlers(node.consumer.handlers)
        made.append(node)
        return node

    runtime = NodeRuntime(config, build)
    thread = threading.Thread(target=runtime._consumer_loop, name="replay-consumer", daemon=True)
    thread.start()
    if not runtime.ready.wait(30) or not made:
        raise NotQuiet("the replay hub's consumer did not start")
    run = Replay(bootstrap(config), made[0].consumer)
    deadline = time.monotonic() + deadline_s

    def committed() -> bool:
        written = scalar(config.database,
                         "SELECT (SELECT count(*) FROM inbox) + (SELECT count(*) FROM quarantine)")
        return int(written) == run.written

    try:
        for number, phase in enumerate(phases, 1):
            last = number == len(phases)
            target = run.handled + len(phase) - (unhandled if last else 0)
            publish_foreign(url, phase)

            def settled(target: int = target, last: bool = last) -> bool:
                if not thread.is_alive():
                    raise NotQuiet(f"the replay's consumer thread ended at {run.handled} of "
                                   f"{target} deliveries")
                return run.handled >= target and committed() and (not last or until())
            try:
                wait_until(settled, f"{target} deliveries handled",
                           max(0.0, deadline - time.monotonic()), every=0.05)
            except NotQuiet:
                raise NotQuiet(f"replay handled {run.handled} of {target} deliveries") from None
            staff_after(run.node)
    finally:
        runtime.stop_event.set()
        thread.join(30)
    return run


def schema_of(message: Taken) -> str:
    return decode(message.body).schema_name


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items()) if k not in CLOCK_FIELDS}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def hub_state(node: Node) -> dict[str, Any]:
    """A hub's final state minus wall-clock times and row ids: cases, every case's events in
    order, parties (opened), what waits in the outbox (decoded), the inbox, reports, heartbeats,
    the flow table and how much was quarantined."""
    store, path = node.store, node.config.database
    assert isinstance(store, HubStore)
    cases = {row["case_id"]: {k: v for k, v in row.items()
                              if k not in ("opened_at", "updated_at", "target_due")}
             for row in store.case_rows()}
    events = {case_id: [(e.seq, e.action.value, e.node_id, e.actor_role, e.reason, _plain(e.data))
                        for e in store.load_events(case_id)] for case_id in cases}
    parties = {case_id: [asdict(p) for p in store.parties(case_id)] for case_id in cases}
    outbox: Counter[str] = Counter()
    for (message_id, case_id, seq, exchange, key, schema) in rows(
            path, "SELECT message_id, case_id, seq, exchange, routing_key, schema_name FROM outbox"):
        body = store.outbox_body(message_id)
        # Sealed fields opened (their tokens are random): the state is what the recipient reads.
        payload = _plain(opened(body, exchange, key, node.config.parent_id).payload.model_dump(
            mode="json", exclude={"sealed"})) if body else None
        outbox[repr((case_id, seq, exchange, key, schema, payload))] += 1
    inbox = sorted(rows(path, "SELECT message_id, sender, case_id, seq, schema_name FROM inbox"))
    reports = sorted(rows(path, "SELECT * FROM reports"))
    heartbeats = sorted(rows(path, "SELECT * FROM heartbeats"))
    return {
        "cases": cases, "events": events, "parties": parties, "outbox": dict(outbox),
        "inbox": inbox, "reports": reports, "heartbeats": heartbeats,
        "flow": [asdict(row) for row in flow_table(store)],
        "quarantined": store.quarantine_count(),
    }


def differences(left: dict[str, Any], right: dict[str, Any],
                keys: Sequence[str] | None = None) -> dict[str, str]:
    """Per part of the state that differs, a short description (for figures and messages)."""
    found: dict[str, str] = {}
    for key in keys or sorted(left):
        a, b = left[key], right[key]
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            differing = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
            example = differing[0]
            found[key] = (f"{len(differing)} of {len(a.keys() | b.keys())} differ; e.g. {example}: "
                          f"{a.get(example)!r} != {b.get(example)!r}")[:1500]
        else:
            found[key] = f"{a!r:.300} != {b!r:.300}"
    return found
