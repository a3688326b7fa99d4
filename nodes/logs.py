"""structlog set-up: one line per event on stderr, INFO by default, JSON for services if asked.

Log fields are ids, counts and reasons only; personal data never goes into a log call.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog


class _CurrentStderr:
    """Writes to whatever sys.stderr is now (a test runner may swap it after configuration)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


# Libraries that log through the standard library: their lines go through the same processors
# and format as ours (JSON for services), with the node id bound by structlog's contextvars.
LIBRARY_LOGGERS = ("kombu", "amqp", "uvicorn", "uvicorn.error", "uvicorn.access")


class _Bridge(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler this module installs (so configuring again replaces, not adds)."""


def configure(level: str | None = None, json: bool | None = None, service: bool = False) -> None:
    """One line per event on stderr, ours and the standard library's alike.

    `service=True` for a long-running process (node, hub, bench worker): each logger is built
    once instead of on every call (structlog's `cache_logger_on_first_use`; the relay and the
    consumer log per message, and rebuilding the logger cost more than the rest of a debug
    call). Not for the one-shot CLI, which tests drive in-process and reconfigure."""
    name = (level or os.environ.get("FENGQIAO_LOG_LEVEL", "INFO")).upper()
    number = getattr(logging, name, logging.INFO)
    as_json = json if json is not None else os.environ.get("FENGQIAO_LOG_JSON") == "1"
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if as_json
        else structlog.dev.ConsoleRenderer(colors=False))
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso")]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(number),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=service,
    )
    bridge = _Bridge(_CurrentStderr())
    bridge.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Bridge)]:
        root.removeHandler(old)
    root.addHandler(bridge)
    for library in LIBRARY_LOGGERS:
        logging.getLogger(library).setLevel(number)
