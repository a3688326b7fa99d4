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


def configure(level: str | None = None, json: bool | None = None, service: bool = False) -> None:
    """`service=True` for a long-running process (node, hub, bench worker): each logger is built
    once instead of on every call (structlog's `cache_logger_on_first_use`; the relay and the
    consumer log per message, and rebuilding the logger cost more than the rest of a debug
    call). Not for the one-shot CLI, which tests drive in-process and reconfigure."""
    name = (level or os.environ.get("FENGQIAO_LOG_LEVEL", "INFO")).upper()
    as_json = json if json is not None else os.environ.get("FENGQIAO_LOG_JSON") == "1"
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if as_json
        else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso"), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            getattr(logging, name, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=service,
    )
