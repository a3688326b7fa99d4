"""Issue 15's attacks, with one village's stolen broker password, against a private broker set up
exactly as `fengqiao deploy apply` sets one up (the default, least-privilege permissions).

Each attack of the issue's report is refused by the broker: deleting or re-declaring a shared
exchange (which silently removed every hub's binding), re-typing `fengqiao.up` as a fanout to read
a sibling's dossier, an exchange-to-exchange binding, binding a queue to the quarantine fanout
(the feedback loop), declaring a queue of its own, reading a shared queue, deleting or purging a
queue. And should a binding go missing all the same (an operator's mistake), nothing is lost
silently: the hub's probe alarms, the village's escalation comes back and stays in its outbox,
and both recover once `deploy apply` has run again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nodes.alarms import AlarmKind
from nodes.domain import commands
from nodes.messaging.port import Unroutable
from nodes.service import PartyInput
from protocol.reference import CaseSource, EscalationReason
from protocol.routing import node_key, probe_key
from protocol.topology import (
    EXCHANGE_DOWN,
    EXCHANGE_QUARANTINE,
    EXCHANGE_REPORT,
    EXCHANGE_UP,
    QUEUE_DEAD,
    QUEUE_QUARANTINE,
    node_queue_name,
)
from tests.support.broker import PrivateRabbit
from tests.support.deployed import (
    NODES,
    TOWN,
    VHOST,
    A,
    B,
    Deployed,
    deploy,
    on_channel,
    private_rabbit_for_module,
    publish,
    refused,
)
from tests.support.nodes import build_node

pytestmark = pytest.mark.fault

REPORTS = "test.stolen.reports"  # stands in for a county's report binding (no county here)


@pytest.fixture(scope="module")
def rabbit() -> Iterator[PrivateRabbit]:
    yield from private_rabbit_for_module()


@pytest.fixture
def deployed(rabbit: PrivateRabbit, tmp_path: Path,
             capsys: pytest.CaptureFixture[str]) -> Deployed:
    done = deploy(rabbit, tmp_path)
    capsys.readouterr()
    return done


ATTACKS: dict[str, Callable[[Any], Any]] = {
    "delete the up exchange": lambda ch: ch.exchange_delete(EXCHANGE_UP),
    "re-declare up as a fanout": lambda ch: ch.exchange_declare(EXCHANGE_UP, "fanout",
                                                                durable=True),
    "re-declare up as it is": lambda ch: ch.exchange_declare(EXCHANGE_UP, "topic", durable=True),
    "declare an exchange of its own": lambda ch: ch.exchange_declare("evil", "fanout"),
    "bind up into another exchange": lambda ch: ch.exchange_bind(EXCHANGE_REPORT, EXCHANGE_UP,
                                                                 "#"),
    "bind its queue to the quarantine fanout": lambda ch: ch.queue_bind(
        node_queue_name(A), EXCHANGE_QUARANTINE, ""),
    "bind its queue to a sibling's key": lambda ch: ch.queue_bind(
        node_queue_name(A), EXCHANGE_UP, node_key(B)),
    "declare a queue of its own": lambda ch: ch.queue_declare("evil", durable=True),
    "declare a server-named queue": lambda ch: ch.queue_declare("", exclusive=True),
    "read the quarantine queue": lambda ch: ch.basic_get(QUEUE_QUARANTINE),
    "read the dead-letter queue": lambda ch: ch.basic_get(QUEUE_DEAD),
    "read the township's queue": lambda ch: ch.basic_get(node_queue_name(TOWN)),
    "purge the township's queue": lambda ch: ch.queue_purge(node_queue_name(TOWN)),
    "delete the township's queue": lambda ch: ch.queue_delete(node_queue_name(TOWN)),
    "delete its own queue": lambda ch: ch.queue_delete(node_queue_name(A)),
    "delete the quarantine exchange": lambda ch: ch.exchange_delete(EXCHANGE_QUARANTINE),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_stolen_village_password_cannot_change_the_topology_or_read_others(
        deployed: Deployed, attack: str) -> None:
    code, text = refused(lambda: on_channel(deployed.url(A), ATTACKS[attack]))
    assert code == 403, text
    assert "ACCESS_REFUSED" in text


def test_a_lost_binding_is_alarmed_and_nothing_is_lost(deployed: Deployed,
                                                       tmp_path: Path) -> None:
    """An admin deletes and re-declares `fengqiao.up` (the issue's silent loss, now beyond a node
    user): the township's probe raises binding_missing; the village's escalation comes back,
    stays unsent and alarms; `deploy apply` again restores the bindings, and both alarms clear as
    the probe and the escalation go through."""
    rabbit = deployed.rabbit
    admin = f"amqp://guest:guest@127.0.0.1:{rabbit.amqp_port}/{VHOST}"
    rabbit.ctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")
    on_channel(admin, lambda ch: (ch.queue_declare(REPORTS, auto_delete=False),
                                  ch.queue_bind(REPORTS, EXCHANGE_REPORT, "#")))
    village = build_node(tmp_path, A, tier=NODES[A], broker_url=deployed.url(A),
                         require_user_id=True, declare_topology=None)
    town = build_node(tmp_path, TOWN, tier=NODES[TOWN], broker_url=deployed.url(TOWN),
                      require_user_id=True, declare_topology=None)
    try:
        assert town.probe() == []
        on_channel(admin, lambda ch: (ch.exchange_delete(EXCHANGE_UP),
                                      ch.exchange_declare(EXCHANGE_UP, "topic", durable=True)))

        assert town.probe() == [(EXCHANGE_UP, probe_key(TOWN))]
        alarms = town.store.alarms()
        assert [(a["kind"], a["subject"]) for a in alarms] == [
            (AlarmKind.BINDING_MISSING.value, f"{EXCHANGE_UP} {probe_key(TOWN)}")]
        assert village.probe() == []  # its own down binding is untouched

        case_id = village.service.new_case(
            source=CaseSource.APPLICATION, dispute_type="03", facts="宅基地边界纠纷（测试）",
            parties=[PartyInput("applicant", "王某", phone="13900000001"),
                     PartyInput("respondent", "赵某")]).case_id
        village.service.act(case_id, lambda c, a, t: commands.escalate(
            c, a, t, reason=EscalationReason.CROSS_AREA, consent_given=True))
        with pytest.raises(Unroutable) as returned:
            village.relay.drain()
        assert returned.value.exchange == EXCHANGE_UP
        depth = village.store.outbox_depth()
        assert depth >= 1  # the escalation (and what follows it) is still there, unsent
        village.relay.step(threading.Event())  # the service loop: counted, logged, alarmed
        assert village.relay.unroutable == 1
        assert [a["kind"] for a in village.store.alarms()] == [AlarmKind.UNROUTABLE.value]
        assert village.store.outbox_depth() == depth
        town.transport.drain_queue(node_queue_name(TOWN), town.consumer.handle)
        # No dossier: only probes came, and the village's two reports (register, escalate: a
        # township hears its subtree's since 2.1), which do not go on `up`.
        assert (town.consumer.applied, town.consumer.probes) == (2, 3)

        assert deployed.apply() == 0  # the operator puts the definitions back
        assert town.probe() == []
        assert town.store.alarms() == []
        stop = threading.Event()
        while village.store.outbox_depth():
            village.relay.step(stop)
        assert village.store.alarms() == []
        town.transport.drain_queue(node_queue_name(TOWN), town.consumer.handle)
        assert town.consumer.applied == 2 + 1  # the dossier too now
        assert town.consumer.probes == 5  # each probe that went through came round, dropped
        assert town.consumer.quarantined == 0
        assert town.store.load_case(case_id) is not None
    finally:
        village.close()
        town.close()
        on_channel(admin, lambda ch: ch.queue_delete(REPORTS))
        rabbit.ctl("clear_permissions", "-p", VHOST, "guest")


def test_down_probe_keys_are_the_nodes_own(deployed: Deployed) -> None:
    """The probe permissions open nothing else: a village may probe only its own down key, and a
    hub only its own probe key on up."""
    url_a = deployed.url(A)
    publish(url_a, EXCHANGE_DOWN, node_key(A))  # its own down key: the probe of its binding
    for exchange, key in ((EXCHANGE_UP, probe_key(TOWN)), (EXCHANGE_UP, probe_key(A)),
                          (EXCHANGE_DOWN, node_key(B)), (EXCHANGE_DOWN, node_key(TOWN))):
        code, text = refused(lambda e=exchange, k=key: publish(url_a, e, k))
        assert code == 403, text
