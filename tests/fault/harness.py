"""What the fault scenarios share: node configs, the topology, service processes killed by pid,
read-only looks into a node's SQLite file, an independent pika client, bounded waits, figures.

Nothing here touches a shared broker: every URL handed in is a `PrivateRabbit`'s.

Figures. Each scenario writes its measured figures as JSON (`write_figures`). A test run never
writes a tracked file: by default they go to `<temp dir>/fengqiao-figures/` (printed with the
path). The documentation's copies in `docs/reliability-figures/` (quoted in docs/RELIABILITY.md)
are refreshed only on purpose, by naming that folder, from the repository root:

    FENGQIAO_FIGURES_DIR=docs/reliability-figures .venv/bin/python -m pytest tests/fault
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import pika

from nodes.config import without_password
from nodes.domain import commands
from nodes.messaging.amqp import AmqpTransport
from nodes.messaging.probe import PROBE_HEADER
from nodes.node import Node
from nodes.service import PartyInput
from protocol.areas import tier_of
from protocol.reference import CaseSource, EscalationReason
from protocol.topology import QueueSpec, node_queue, node_queue_name
from tests.support import nodes as support_nodes
from tests.support import sql
from tests.support import wait as support_wait
from tests.support.amqp import envelopes_of, single_headers
from tests.support.program import FENGQIAO

T = TypeVar("T")

SALT = "fault-tests-identity-key-0001"
# RabbitMQ 3.10 can lose a quorum queue declared less than ~1 s before a SIGKILL (see
# tests/support/broker.py): declare everything first, then give the broker this long before any
# fault.
SETTLE_AFTER_DECLARE_S = 2.0
FIGURES_ENV = "FENGQIAO_FIGURES_DIR"
FIGURES_DIR = Path(os.environ.get(FIGURES_ENV) or Path(tempfile.gettempdir()) / "fengqiao-figures")
PARTIES = [PartyInput("applicant", "周某", id_number="33068119800202123X", phone="13900000011"),
           PartyInput("respondent", "吴某", phone="0575-81234567")]


class NotQuiet(TimeoutError):
    """A bounded wait ran out (not an AssertionError, so an expected failure cannot hide it)."""


# --------------------------------------------------------------------------- configs, topology

def write_config(folder: Path, code: str, url: str) -> Path:
    """One node's TOML file in its own folder, as `fengqiao node init` writes it (own data key,
    shared salt), its database `fengqiao.db` beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    return support_nodes.write_config(folder, code, broker_url=url, identity_key=SALT,
                                      database=Path("fengqiao.db"))


def set_broker_url(config: Path, url: str) -> None:
    text = re.sub(r'(?m)^broker_url = ".*"$', f'broker_url = "{without_password(url)}"',
                  config.read_text("utf-8"))  # the password is in the secrets file
    config.write_text(text, encoding="utf-8")


def declare(url: str, codes: Iterable[str], extra: Iterable[QueueSpec] = ()) -> None:
    """The whole topology (as deploy/ would load it), before anything publishes."""
    transport = AmqpTransport(url)
    try:
        transport.declare([*(node_queue(code, tier_of(code)) for code in codes), *extra])
    finally:
        transport.close()


# --------------------------------------------------------------------------- service processes

class Service:
    """`fengqiao node run` / `fengqiao hub run` as a child process, stopped or killed by its pid;
    its log is JSON lines (`log_events` counts them)."""

    def __init__(self, config: Path, log: Path, level: str = "INFO") -> None:
        self.config, self.log_path, self.level = config, log, level
        self.hub = tier_of(_node_id(config)).value != "village"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Service:
        self._log = self.log_path.open("ab")
        env = {**os.environ, "FENGQIAO_LOG_LEVEL": self.level}
        self.proc = subprocess.Popen(
            [*FENGQIAO, "hub" if self.hub else "node", "run", "--config", str(self.config),
             "--log-json"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        """Raise (with the end of its log) if the service has exited on its own."""
        if self.proc is not None and self.proc.poll() is not None:
            tail = "\n".join(self.log_text().splitlines()[-30:])
            raise RuntimeError(f"{self.config.parent.name} exited with {self.proc.returncode}:\n"
                               f"{tail}")

    def kill(self) -> None:
        """SIGKILL by pid: no clean-up of any kind runs in the service."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._close_log()

    def stop(self, timeout: float = 45.0) -> int:
        """SIGTERM by pid and wait; the exit code (a service that hangs is killed, then -9)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()
        return int(self.proc.returncode)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _node_id(config: Path) -> str:
    match = re.search(r'(?m)^node_id = "(\d{12})"$', config.read_text("utf-8"))
    assert match is not None, f"no node_id in {config}"
    return match.group(1)


@contextmanager
def services() -> Iterator[list[Service]]:
    """Every service started into the yielded list is killed (by pid) on the way out."""
    started: list[Service] = []
    try:
        yield started
    finally:
        for service in started:
            service.kill()


def log_events(*texts: str) -> Counter[str]:
    """How many times each structlog event (`consumer.applied`, ...) appears in services' JSON
    logs (lines that are not a JSON object, such as a traceback, are not events)."""
    counts: Counter[str] = Counter()
    for text in texts:
        for line in text.splitlines():
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("event"), str):
                counts[record["event"]] += 1
    return counts


# --------------------------------------------------------------------------- SQLite, read-only

def db_rows(db: Path, query: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    """A read-only look at a node's file while its service may be writing it (WAL readers)."""
    if not db.exists():
        return []
    try:
        return sql.rows(db, query, tuple(args))
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # the service has not created its tables yet
            return []
        raise


def db_count(db: Path, query: str, args: Iterable[Any] = ()) -> int:
    found = db_rows(db, query, args)
    return int(found[0][0]) if found else 0


def outbox_depth(db: Path) -> int:
    return db_count(db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")


# --------------------------------------------------------------------------- the broker, via pika

def _connect(url: str) -> pika.BlockingConnection:
    params = pika.URLParameters(url)
    params.connection_attempts, params.socket_timeout, params.blocked_connection_timeout = 1, 5, 10
    return pika.BlockingConnection(params)


def queue_stats(url: str, queue: str) -> tuple[int, int]:
    """(messages ready, consumers) of a queue. Right after a broker restart a quorum queue may
    report fewer messages than it holds for a moment, so never use this alone to call a run quiet.
    """
    connection = _connect(url)
    try:
        ok = connection.channel().queue_declare(queue, passive=True).method
        return int(ok.message_count), int(ok.consumer_count)
    finally:
        connection.close()


@dataclass(frozen=True)
class Taken:
    """One message as it sat in a queue: enough to publish it again exactly."""

    exchange: str
    routing_key: str
    body: bytes
    message_id: str
    headers: dict[str, Any]
    content_type: str | None
    user_id: str | None


def take_all(url: str, queue: str, idle_s: float = 1.0, limit_s: float = 120.0) -> list[Taken]:
    """Consume (and ack) everything in `queue`, in queue order, until it has been idle `idle_s`;
    a bundle is taken as its envelopes, each as it would travel alone. Binding probes (which a
    tap bound like a hub's queue also catches) are acked and left out: they carry no envelope."""
    connection = _connect(url)
    taken: list[Taken] = []
    try:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=500)
        deadline = time.monotonic() + limit_s
        for method, props, body in channel.consume(queue, inactivity_timeout=idle_s):
            if method is None or time.monotonic() > deadline:
                break
            if PROBE_HEADER in (props.headers or {}):
                channel.basic_ack(method.delivery_tag)
                continue
            for message_id, part in envelopes_of(body, props.headers, props.message_id):
                taken.append(Taken(method.exchange, method.routing_key, part, message_id,
                                   single_headers(props.headers), "application/json",
                                   props.user_id))
            channel.basic_ack(method.delivery_tag)
        channel.cancel()
    finally:
        connection.close()
    return taken


def purge(url: str, queues: Iterable[str]) -> None:
    connection = _connect(url)
    try:
        channel = connection.channel()
        for queue in queues:
            channel.queue_purge(queue)
    finally:
        connection.close()


def wait_consumers(url: str, codes: Iterable[str], timeout: float = 60.0) -> None:
    """Until every node's queue has its consumer (the services are up and attached)."""
    for code in codes:
        queue = node_queue_name(code)

        def attached(queue: str = queue) -> bool:
            return queue_stats(url, queue)[1] >= 1
        wait_until(attached, f"a consumer on {queue}", timeout)


# --------------------------------------------------------------------------- waiting, recording

def wait_until(check: Callable[[], T], what: str, timeout: float, every: float = 0.2) -> T:
    """`tests.support.wait.wait_until`, polling more gently (each look may open a broker
    connection), and NotQuiet after `timeout` seconds."""
    return support_wait.wait_until(check, what, timeout, every, error=NotQuiet)


def wait_quiet(check: Callable[[], bool], what: str, timeout: float, looks: int = 3,
               every: float = 0.5) -> float:
    """`tests.support.wait.wait_quiet` (until `check` holds on `looks` consecutive looks; the
    seconds it took), NotQuiet after `timeout` seconds."""
    return support_wait.wait_quiet(check, what, timeout, looks, every, error=NotQuiet)


def new_case(node: Node, facts: str) -> str:
    return node.service.new_case(source=CaseSource.APPLICATION, dispute_type="02", facts=facts,
                                 parties=PARTIES).case_id


def escalate(node: Node, case_id: str) -> None:
    node.service.act(case_id, lambda case, actor, at: commands.escalate(
        case, actor, at, reason=EscalationReason.GROUP_CASE, consent_given=True))


def write_figures(name: str, figures: dict[str, Any]) -> Path:
    """The scenario's figures as JSON in FIGURES_DIR (a temporary folder unless
    FENGQIAO_FIGURES_DIR names another; see the module's docstring), and printed."""
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    path = FIGURES_DIR / f"{name}.json"
    stamped = {"scenario": name, "run_at": datetime.now().astimezone().isoformat(timespec="seconds"),
               "cores": os.cpu_count(), **figures}
    path.write_text(json.dumps(stamped, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\n{name} ({path}): {json.dumps(figures, ensure_ascii=False)}")
    return path
