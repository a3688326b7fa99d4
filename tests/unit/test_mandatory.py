"""Publishes are mandatory: a message no queue takes comes back and stays unsent (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodes.messaging.memory import MemoryBroker
from nodes.messaging.port import Unroutable
from nodes.service import PartyInput
from protocol.areas import Tier
from protocol.reference import CaseSource
from protocol.topology import node_queue
from tests.support.nodes import build_node

VILLAGE, COUNTY = "330681111201", "330681000000"


def test_a_report_no_queue_takes_stays_in_the_outbox(tmp_path: Path) -> None:
    broker = MemoryBroker()
    village = build_node(tmp_path, VILLAGE, broker=broker)
    try:
        village.service.new_case(source=CaseSource.APPLICATION, dispute_type="03", facts="院墙",
                                 parties=[PartyInput("applicant", "张某")])
        depth = village.store.outbox_depth()
        assert depth > 0
        with pytest.raises(Unroutable) as info:
            village.publish()
        assert info.value.routing_key.startswith("33.06.81")
        assert village.store.outbox_depth() == depth  # never marked sent
        assert broker.unroutable  # it came back
        broker.connect().declare([node_queue(COUNTY, Tier.COUNTY)])  # the binding appears
        assert village.publish() == depth
        assert village.store.outbox_depth() == 0
    finally:
        village.close()
