"""The `net` fixture shared by the consumer and bundle tests: a township hub node and its county's
queue on the broker, under an invented county code given as the fixture's parameter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.topology import QUEUE_QUARANTINE, node_queue_name
from tests.integration.test_consumer import Net, make_net
from tests.support.amqp import delete_queues, take_ours


@pytest.fixture
def net(amqp_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Net]:
    n = make_net(amqp_url, tmp_path, request.param)
    try:
        yield n
    finally:
        n.close()
        delete_queues(amqp_url, [node_queue_name(x) for x in (n.county, n.township)])
        take_ours(amqp_url, QUEUE_QUARANTINE, node_id=n.township)
