"""The web app inside `node run` / `hub run`: uvicorn on a thread of the same process, with a
node of its own (its own SQLite connection, built like the relay's and the consumer's), so a
commit made through a page wakes the relay at once (`NodeRuntime.wake`).

Stopping asks uvicorn to finish the requests in hand, then closes the node. An address that
cannot be listened on (taken, not this machine's) stops the start with one sentence.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable

import anyio.to_thread
import structlog
import uvicorn

from nodes.config import NodeConfig
from nodes.messaging.runtime import NodeBuilder
from nodes.node import Node
from nodes.web.app import create_app
from protocol.text import N_, Translatable

log = structlog.get_logger("fengqiao.web")
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
# Requests take turns on the web node's one connection (nodes/web/core.py), so more threads
# than this only wait, each with its stack and malloc arena (anyio's default is 40).
REQUEST_THREADS = 4


class WebStartFailed(Translatable):
    """The web app could not listen where the config says."""


class WebServer:
    def __init__(self, config: NodeConfig, build: NodeBuilder,
                 on_commit: Callable[[], None] | None = None) -> None:
        address = config.web.host_port
        if address is None:
            raise ValueError("the web app is off for this node ([web] listen = \"\")")
        self.config, self.build, self.on_commit = config, build, on_commit
        self.host, self.port = address
        self.node: Node | None = None
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve on a daemon thread; returns once listening, else WebStartFailed."""
        self.node = self.build()
        app = create_app(self.node, on_commit=self.on_commit)
        # No access log: paths hold no personal data, but the log is the operator's, not ours;
        # uvicorn's own loggers go through the logging setup the service already has.
        config = uvicorn.Config(app, host=self.host, port=self.port, access_log=False,
                                log_config=None, lifespan="off", server_header=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._serve, name=f"web-{self.config.node_id}",
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.server.started:
            self.stop()
            raise WebStartFailed("web_listen_failed", N_(
                "the web app cannot listen on {address} (taken by another program, or not an "
                "address of this machine): change [web] listen in the config, or run with "
                "--no-web"), address=self.config.web.listen)
        log.info("web.started", node_id=self.config.node_id, listen=self.config.web.listen)

    def _serve(self) -> None:
        """uvicorn exits its thread with SystemExit when it cannot listen; `start` reports that
        as one sentence, so the thread ends quietly."""
        assert self.server is not None  # noqa: S101 - start() made it
        with contextlib.suppress(SystemExit):
            asyncio.run(self._serve_async())

    async def _serve_async(self) -> None:
        assert self.server is not None  # noqa: S101 - start() made it
        anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        await self.server.serve()

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(STOP_TIMEOUT_S)
        if self.node is not None:
            self.node.close()
            self.node = None
        log.info("web.stopped", node_id=self.config.node_id)
