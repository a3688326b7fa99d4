"""Shared fixtures: a RabbitMQ for broker tests, a killable private one for fault tests.

Which broker ``broker`` gives and why is decided in :mod:`tests.support.broker` (DESIGN §6). When no
broker can be had, tests are skipped with the reason - except under ``CI=true``, where a
missing broker means the run did not test what it claims to, so it fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NoReturn

import pytest

from tests.support.broker import BrokerInfo, PrivateRabbit, find_broker, find_server_script


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"no RabbitMQ broker under CI=true: {reason}", pytrace=False)
    pytest.skip(f"no RabbitMQ broker: {reason}")


@pytest.fixture(scope="session")
def broker() -> Iterator[BrokerInfo]:
    """A broker for the whole session; whatever we started is stopped at the end."""
    reasons: list[str] = []
    info = find_broker(reasons)
    if info is None:
        _unavailable("; ".join(reasons))
    try:
        yield info
    finally:
        info.stop()


@pytest.fixture
def amqp_url(broker: BrokerInfo) -> str:
    return broker.amqp_url


@pytest.fixture
def private_rabbit() -> Iterator[PrivateRabbit]:
    """A fresh private broker this test may kill and restart; always killed afterwards."""
    if find_server_script() is None:
        _unavailable("rabbitmq-server is not installed, and fault tests need their own broker")
    rabbit = PrivateRabbit()
    try:
        rabbit.start()
        yield rabbit
    finally:
        rabbit.close()
