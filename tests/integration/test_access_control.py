"""Broker access control on a real RabbitMQ (issue 4): the definitions `fengqiao deploy apply`
puts on a broker make RabbitMQ itself refuse what `Trust` must never see.

A small tree (two townships, villages A and B under the first, C under the second) is applied
through the CLI (`deploy definitions --secrets-out`, then `deploy apply --secrets`); each node then
connects as its own user. What the broker must refuse: a routing key that is not the node's own
(403 ACCESS_REFUSED from topic authorisation, which 3.10 enforces for the internal backend with
nothing to enable), a `user_id` that is not the connection's user (406 PRECONDITION_FAILED), guest
on the vhost, another node's queue. And a real village relay and township consumer
(`require_user_id=True`) work end to end under exactly these permissions.

One private broker for the module (each start takes seconds); users and node queues are
re-applied and purged per test, so the tests do not depend on their order. Users are only ever
created on that private broker, never on a shared one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest

from fengqiao.main import main
from nodes.domain import commands
from nodes.messaging.amqp import AmqpTransport
from nodes.messaging.port import TransportError
from nodes.node import Node
from nodes.service import PartyInput
from protocol.areas import Tier
from protocol.reference import CaseSource, EscalationReason
from protocol.routing import node_key
from protocol.topology import (
    EXCHANGE_DOWN,
    EXCHANGE_QUARANTINE,
    EXCHANGE_REPORT,
    EXCHANGE_UP,
    QUEUE_QUARANTINE,
    node_queue,
    node_queue_name,
)
from tests.support.amqp import pump
from tests.support.broker import PrivateRabbit
from tests.support.deployed import (
    NODES,
    TOWN,
    TOWN2,
    VHOST,
    A,
    B,
    C,
    Deployed,
    connect,
    deploy,
    on_channel,
    private_rabbit_for_module,
    publish,
    refused,
    write_configs,
)
from tests.support.nodes import build_node

pytestmark = pytest.mark.fault

REPORTS = "test.reports"  # stands in for a county's report binding


@pytest.fixture(scope="module")
def rabbit() -> Iterator[PrivateRabbit]:
    """A private broker for this module (each start takes seconds)."""
    yield from private_rabbit_for_module()


@pytest.fixture
def deployed(rabbit: PrivateRabbit, tmp_path: Path,
             capsys: pytest.CaptureFixture[str]) -> Deployed:
    """The tree applied with the default, least-privilege permissions (nodes only check)."""
    done = deploy(rabbit, tmp_path)
    capsys.readouterr()
    return done


# --------------------------------------------------------------------------- the tests

def test_broker_refuses_keys_user_ids_and_queues_that_are_not_the_nodes(deployed: Deployed) -> None:
    url_a, url_t = deployed.url(A), deployed.url(TOWN)

    publish(url_a, EXCHANGE_UP, node_key(A))  # confirmed: its own key
    got = on_channel(url_t, lambda ch: ch.basic_get(node_queue_name(TOWN), auto_ack=True))
    assert got[0] is not None
    assert got[1].user_id == A

    for exchange, key in ((EXCHANGE_UP, node_key(B)), (EXCHANGE_UP, node_key(A) + ".1"),
                          (EXCHANGE_UP, node_key(TOWN)), (EXCHANGE_REPORT, node_key(C))):
        code, text = refused(lambda e=exchange, k=key: publish(url_a, e, k))
        assert code == 403, text
        assert f"access to topic '{key}' in exchange '{exchange}'" in text, text
    code, text = refused(lambda: publish(url_a, EXCHANGE_UP, node_key(A), user_id=B))
    assert code == 406, text
    assert "user_id property set to '339751101202'" in text, text
    code, _ = refused(lambda: publish(url_a, EXCHANGE_DOWN, node_key(B)))  # only its own probe
    assert code == 403
    code, _ = refused(lambda: publish(url_a, "", node_queue_name(TOWN)))  # default exchange
    assert code == 403
    code, _ = refused(lambda: on_channel(url_a, lambda ch: ch.basic_get(node_queue_name(B))))
    assert code == 403
    code, text = refused(lambda: on_channel(url_a, lambda ch: ch.queue_bind(
        node_queue_name(A), EXCHANGE_UP, "#")))  # no eavesdropping binding
    assert code == 403, text  # no write on its own queue (and topic read would refuse '#')
    publish(url_a, EXCHANGE_QUARANTINE, "")  # fanout: allowed, no topic check

    publish(url_t, EXCHANGE_DOWN, node_key(A))  # its own village
    code, _ = refused(lambda: publish(url_t, EXCHANGE_DOWN, node_key(C)))  # the other township's
    assert code == 403
    publish(url_t, EXCHANGE_DOWN, node_key(TOWN))  # its own key: the probe of its binding
    code, _ = refused(lambda: publish(url_t, EXCHANGE_DOWN, node_key(TOWN2)))
    assert code == 403

    with pytest.raises(pika.exceptions.ProbableAccessDeniedError) as guest:  # 530 NOT_ALLOWED
        connect(f"amqp://guest:guest@127.0.0.1:{deployed.rabbit.amqp_port}/{VHOST}")
    assert "access to vhost 'fengqiao' refused for user 'guest'" in str(guest.value)
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        connect(deployed.url(A, password=deployed.passwords[B]))
    topics = deployed.rabbit.ctl("list_topic_permissions", "-p", VHOST, "--silent")
    assert len(topics.strip().splitlines()) == 3 * len(NODES)


def test_apply_is_idempotent_and_checks_what_it_made(deployed: Deployed,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert deployed.apply() == 0
    out = capsys.readouterr().out
    assert "vhost fengqiao:" in out
    assert "(created)" not in out
    assert "read back and checked" in out
    publish(deployed.url(A), EXCHANGE_UP, node_key(A))  # the re-salted hash: same password
    # Without --secrets users are left alone (a user entry without a hash would clear passwords).
    assert main(["--lang", "en", "deploy", "apply", "--management-url",
                 str(deployed.rabbit.management_url), *map(str, deployed.configs.values())]) == 0
    publish(deployed.url(A), EXCHANGE_UP, node_key(A))
    bad_admin = str(deployed.rabbit.management_url).replace("guest:guest", "guest:Wr0ngPw")
    assert main(["--lang", "en", "deploy", "apply", "--management-url", bad_admin,
                 *map(str, deployed.configs.values())]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "refused user 'guest'" in err
    assert "Wr0ngPw" not in err


def test_apply_refuses_missing_users_and_reports_drift(rabbit: PrivateRabbit, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    vhost, village = "fengqiao-drift", "339752101201"  # users of their own: none exist yet
    configs = write_configs(tmp_path, rabbit.amqp_port, vhost,
                            {"339752101000": Tier.TOWNSHIP, village: Tier.VILLAGE})
    argv = ["--lang", "en", "deploy", "apply", "--vhost", vhost, "--management-url",
            str(rabbit.management_url), *map(str, configs.values())]
    assert main(argv) == 2  # no --secrets and the users do not exist: nothing is written
    assert "does not exist" in capsys.readouterr().err
    assert vhost not in rabbit.ctl("list_vhosts")
    # An operator made a node queue by hand, as a classic queue: the import keeps it silently.
    rabbit.ctl("add_vhost", vhost)
    rabbit.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    on_channel(f"amqp://guest:guest@127.0.0.1:{rabbit.amqp_port}/{vhost}",
               lambda ch: ch.queue_declare(node_queue_name(village), durable=True))
    secrets = tmp_path / "s.toml"
    assert main(["deploy", "definitions", "--vhost", vhost, *map(str, configs.values()),
                 "--secrets-out", str(secrets)]) == 0
    capsys.readouterr()
    assert main([*argv, "--secrets", str(secrets)]) == 2
    err = capsys.readouterr().err
    assert f"queue {node_queue_name(village)} has arguments {{}}, not" in err
    assert "RabbitMQ keeps an existing object" in err
    assert len(err.strip().splitlines()) == 1


def escalate(case: Any, actor: Any, at: Any) -> None:
    commands.escalate(case, actor, at, reason=EscalationReason.CROSS_AREA, consent_given=True)


def test_real_nodes_work_under_their_own_users(deployed: Deployed, tmp_path: Path) -> None:
    """A village's relay escalates as its own user; the township (require_user_id) applies it and
    its decision comes back down to the village, also checked by user id. Both nodes first run
    the runtime's start under their users, as deployed: a passive check of the topology and the
    binding probes, which find every binding there."""
    def node(code: str) -> tuple[Node, AmqpTransport]:
        built = build_node(tmp_path, code, tier=NODES[code], broker_url=deployed.url(code),
                           require_user_id=True, declare_topology=None)  # as `node init` writes
        assert not built.config.declares_topology
        assert isinstance(built.transport, AmqpTransport)
        assert built.probe() == []
        assert built.store.alarms() == []
        return built, built.transport

    # The tree has no county: a queue stands in for its report binding, since publishes are
    # mandatory and a report no queue takes would come back and stay in the outbox.
    rabbit = deployed.rabbit
    admin = f"amqp://guest:guest@127.0.0.1:{rabbit.amqp_port}/{VHOST}"
    rabbit.ctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")
    on_channel(admin, lambda ch: (ch.queue_declare(REPORTS, auto_delete=False),
                                  ch.queue_bind(REPORTS, EXCHANGE_REPORT, "#")))
    (village, v_link), (town, t_link) = node(A), node(TOWN)
    try:
        case_id = village.service.new_case(
            source=CaseSource.APPLICATION, dispute_type="03", facts="宅基地边界纠纷（测试）",
            parties=[PartyInput("applicant", "王某", phone="13900000001"),
                     PartyInput("respondent", "赵某")]).case_id
        village.service.act(case_id, escalate)
        assert village.publish() >= 2
        at_town = town.consumer
        assert at_town.trust.require_user_id
        # The dossier, and the village's two reports (a township hears its subtree's, 2.1).
        pump(t_link, node_queue_name(TOWN), at_town, lambda: at_town.applied == 3)
        assert at_town.quarantined == 0
        assert town.store.load_case(case_id) is not None

        rules = town.service.rules
        town.service.act(case_id, lambda k, a, t: commands.consent(k, a, t))
        town.service.act(case_id, lambda k, a, t: commands.accept(k, a, t, rules))
        assert town.publish() >= 1
        at_village = village.consumer
        assert at_village.trust.require_user_id
        pump(v_link, node_queue_name(A), at_village, lambda: at_village.applied >= 1)
        assert at_village.quarantined == 0
        assert village.store.outbox_depth() == 0
        assert town.store.outbox_depth() == 0
    finally:
        village.close()
        town.close()
        on_channel(admin, lambda ch: ch.queue_delete(REPORTS))
        rabbit.ctl("clear_permissions", "-p", VHOST, "guest")


def test_default_permissions_need_no_configure_and_hide_shared_queues(
        rabbit: PrivateRabbit, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The default, least-privilege set: publishing and consuming the own queue work; the shared
    quarantine queue is out of reach; declaring (as a node with `declare_topology = true` does)
    is refused."""
    deployed = deploy(rabbit, tmp_path)
    capsys.readouterr()
    url_a = deployed.url(A)
    publish(url_a, EXCHANGE_UP, node_key(A))
    assert on_channel(deployed.url(TOWN),
                      lambda ch: ch.basic_get(node_queue_name(TOWN), auto_ack=True))[0] is not None
    code, _ = refused(lambda: on_channel(url_a, lambda ch: ch.basic_get(QUEUE_QUARANTINE)))
    assert code == 403
    code, _ = refused(lambda: publish(url_a, EXCHANGE_UP, node_key(B)))
    assert code == 403
    link = AmqpTransport(url_a)
    try:
        with pytest.raises(TransportError, match="ACCESS_REFUSED"):
            link.declare([node_queue(A, Tier.VILLAGE)])
    finally:
        link.close()
