"""Binding probes: a node checks that the broker still routes to its queue (issue 15 item 1).

AMQP cannot check a binding passively, and a deleted and re-declared exchange loses every binding
silently. So a node publishes, mandatory, a tiny probe along the bindings it depends on: its own
`down` key (every node: decisions reach it there) and, for a hub, its `probe_key` on `up` (matched
by its children pattern, as its children's escalations are). A probe the broker returns means the
binding is gone: the node raises `binding_missing` (shown by `node status`, logged once) and
clears it when a later probe goes through. The probe arrives in the node's own queue, where the
consumer acks and drops it (`is_own_probe`) before anything else is read.

Probes run at start and every `PROBE_EVERY_S`; the node user's topic permissions allow exactly
these keys (`ops.definitions`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import structlog

from nodes.alarms import AlarmKind, AlarmStore, clear_alarm, raise_alarm
from nodes.messaging.delivery import Delivery
from nodes.messaging.port import Transport, Unroutable
from protocol.areas import Tier
from protocol.routing import down_key, probe_key
from protocol.topology import EXCHANGE_DOWN, EXCHANGE_UP

log = structlog.get_logger("fengqiao.probe")

PROBES_PASSED = "probes_passed"  # counter: rounds in which every probe went through


class ProbeStore(AlarmStore, Protocol):
    def count(self, name: str, by: int, at: datetime) -> int: ...

PROBE_HEADER = "x-fengqiao-probe"
PROBE_BODY = b"binding probe"


def probe_routes(node_id: str, tier: Tier) -> list[tuple[str, str]]:
    """(exchange, routing key) of every binding this node's queue needs and a probe can test."""
    routes = [(EXCHANGE_DOWN, down_key(node_id))]
    if tier is not Tier.VILLAGE:
        routes.append((EXCHANGE_UP, probe_key(node_id)))
    return routes


def probe_bindings(transport: Transport, store: ProbeStore, node_id: str, tier: Tier,
                   at: datetime) -> list[tuple[str, str]]:
    """Publish one probe per route; alarm for each returned one, clear the alarm of each that
    went through. Returns the missing routes. A broken link raises TransportError (the caller
    backs off as for any publish)."""
    missing: list[tuple[str, str]] = []
    for exchange, key in probe_routes(node_id, tier):
        subject = f"{exchange} {key}"
        try:
            transport.publish_raw(exchange, key, PROBE_BODY, headers={PROBE_HEADER: node_id},
                                  persistent=False)
        except Unroutable:
            missing.append((exchange, key))
            raise_alarm(store, AlarmKind.BINDING_MISSING, subject,
                        f"the broker routes nothing for {key} on {exchange}: this node's queue "
                        "lost that binding (run deploy apply again)", at)
            continue
        clear_alarm(store, AlarmKind.BINDING_MISSING, subject, at)
    if missing:
        log.warning("probe.not_ready", missing=[f"{e} {k}" for e, k in missing])
    else:  # `node status` says ready only once a whole round went through
        store.count(PROBES_PASSED, 1, at)
    return missing


def is_own_probe(delivery: Delivery, node_id: str, tier: Tier, require_user_id: bool) -> bool:
    """A probe this node sent to itself: nothing to apply. A probe header on anything else (another
    user, another key) is not trusted and goes the normal way (and is quarantined there)."""
    if delivery.headers.get(PROBE_HEADER) != node_id:
        return False
    if (delivery.exchange, delivery.routing_key) not in probe_routes(node_id, tier):
        return False
    return delivery.user_id == node_id or not require_user_id
