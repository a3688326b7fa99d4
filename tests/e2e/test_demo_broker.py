"""`fengqiao demo --broker`: the sample city as four tier processes on RabbitMQ reaches exactly
the figures of the embedded run (decisions are a function of case and tier, not of timing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.broker import run_broker
from demo.embedded import run_embedded

pytestmark = pytest.mark.broker


def test_broker_run_matches_embedded_run(tmp_path: Path, amqp_url: str) -> None:
    embedded = run_embedded(tmp_path / "embedded", cases_per_village=5, seed=11)
    over_mq = run_broker(amqp_url, cases_per_village=5, seed=11, workdir=tmp_path / "mq")
    assert over_mq["exit_codes"] == [0, 0, 0, 0]
    assert over_mq["tiers"] != []
    assert over_mq["tiers"] is not None
    strip = ("transit_mean_s", "transit_max_s")
    assert [{k: v for k, v in t.items() if k not in strip} for t in over_mq["tiers"]] == \
        [{k: v for k, v in t.items() if k not in strip} for t in embedded["tiers"]]
    assert len(over_mq["stations"]) == 18  # the city does not list itself
