"""Logs: the libraries' lines (kombu, py-amqp, the web server) go through structlog's processors
and format, and carry the node id bound once with contextvars (issue 14, point 8)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from nodes.logs import configure


@pytest.fixture
def restored() -> Iterator[None]:
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        structlog.configure(**saved)
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.contextvars.clear_contextvars()


def test_a_library_line_is_json_with_the_bound_node_id(
        restored: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure(level="INFO", json=True)
    with structlog.contextvars.bound_contextvars(node_id="330681111242"):
        logging.getLogger("kombu").warning("connection lost: %s", "reset")
        structlog.get_logger("fengqiao.relay").info("relay.sent", count=3)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    library, ours = lines
    assert library["event"] == "connection lost: reset"
    assert library["logger"] == "kombu"
    assert library["level"] == "warning"
    assert library["node_id"] == "330681111242"
    assert ours["event"] == "relay.sent"
    assert ours["node_id"] == "330681111242"


def test_configuring_twice_installs_one_bridge(restored: None,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    configure(json=True)
    configure(json=True)
    logging.getLogger("amqp").error("once")
    assert capsys.readouterr().err.count('"once"') == 1
