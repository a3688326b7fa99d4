"""A network deployed on a private broker exactly as `fengqiao deploy apply` sets one up, and
small pika helpers that act as an independent AMQP client (an operator, or an attacker holding one
node's password)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest

from fengqiao.main import main
from ops.deploy_cmds import read_secrets
from protocol.areas import Tier
from protocol.topology import node_queue_name
from tests.support.broker import PrivateRabbit, find_server_script

VHOST = "fengqiao"
TOWN, TOWN2 = "339751101000", "339751102000"
A, B, C = "339751101201", "339751101202", "339751102201"
NODES = {TOWN: Tier.TOWNSHIP, TOWN2: Tier.TOWNSHIP, A: Tier.VILLAGE, B: Tier.VILLAGE,
         C: Tier.VILLAGE}


def private_rabbit_for_module() -> Iterator[PrivateRabbit]:
    """A private broker with the management plugin (wrap it in a module-scoped fixture)."""
    if find_server_script() is None:
        message = "no RabbitMQ broker: rabbitmq-server is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    broker = PrivateRabbit()
    try:
        broker.start()
        if broker.management_url is None:
            pytest.skip("the rabbitmq_management plugin is not installed")
        yield broker
    finally:
        broker.close()


@dataclass
class Deployed:
    rabbit: PrivateRabbit
    configs: dict[str, Path]
    secrets: Path
    passwords: dict[str, str]

    def url(self, node: str, password: str | None = None, vhost: str = VHOST) -> str:
        return (f"amqp://{node}:{password or self.passwords[node]}@127.0.0.1:"
                f"{self.rabbit.amqp_port}/{vhost}")

    def apply(self, *extra: str) -> int:
        return main(["--lang", "en", "deploy", "apply", "--management-url",
                     str(self.rabbit.management_url), "--secrets", str(self.secrets),
                     "--timeout", "20", *extra, *map(str, self.configs.values())])


def write_configs(folder: Path, port: int, vhost: str = VHOST,
                  nodes: dict[str, Tier] = NODES) -> dict[str, Path]:
    paths = {}
    for node, tier in nodes.items():
        paths[node] = folder / f"{node}.toml"
        paths[node].write_text(
            f'node_id = "{node}"\ntier = "{tier.value}"\ndatabase = "{node}.db"\n'
            f'broker_url = "amqp://{node}@127.0.0.1:{port}/{vhost}"\n'
            f'require_user_id = true\n', encoding="utf-8")
    return paths


def deploy(rabbit: PrivateRabbit, tmp_path: Path, *extra: str) -> Deployed:
    configs = write_configs(tmp_path, rabbit.amqp_port)
    secrets = tmp_path / "secrets.toml"
    assert main(["deploy", "definitions", *map(str, configs.values()),
                 "--secrets-out", str(secrets)]) == 0
    deployed = Deployed(rabbit, configs, secrets, read_secrets(secrets))
    assert deployed.apply(*extra) == 0
    for node in NODES:  # leftovers of an earlier test in this module; as the node itself
        on_channel(deployed.url(node), lambda ch, n=node: ch.queue_purge(node_queue_name(n)))
    return deployed


# --------------------------------------------------------------------------- pika helpers

def connect(url: str) -> pika.BlockingConnection:
    params = pika.URLParameters(url)
    params.connection_attempts, params.socket_timeout, params.blocked_connection_timeout = 1, 5, 5
    return pika.BlockingConnection(params)


def publish(url: str, exchange: str, key: str, user_id: str | None = "self") -> None:
    """Publish with publisher confirms; returns only once the broker confirmed."""
    connection = connect(url)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        user = pika.URLParameters(url).credentials.username if user_id == "self" else user_id
        channel.basic_publish(exchange, key, b'{"probe": true}',
                              pika.BasicProperties(delivery_mode=2, user_id=user))
    finally:
        if connection.is_open:
            connection.close()


def on_channel(url: str, action: Callable[[Any], Any]) -> Any:
    connection = connect(url)
    try:
        return action(connection.channel())
    finally:
        if connection.is_open:
            connection.close()


def refused(action: Callable[[], Any]) -> tuple[int, str]:
    """The broker's reply code and text when it closes the channel on `action`."""
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        action()
    return info.value.reply_code, info.value.reply_text
