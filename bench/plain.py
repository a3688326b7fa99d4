"""The plain pipeline: the pipeline's durable work and messages in sqlite3 and pika alone.

A yardstick, not a node. It answers "how fast could any pipeline of this shape go here?", so that
the real pipeline's figure can be read against both raw RabbitMQ and the work itself.

- Village (own process, own file, WAL, synchronous=FULL): per case the two transactions of a
  mediator's two acts, (1) the case row and its register report row, (2) the case updated, the
  escalate report row and the dossier row (~1 KiB). A publisher thread with its own file
  connection and broker connection reads unsent rows, sends them as one message per destination
  (newline-joined, like a protocol 1.3 bundle), waits for the broker's confirms, and marks them
  sent every `MARK_EVERY_S` in one transaction; it lingers `RELAY_LINGER_S` after a partial batch.
- Hub (own process): consumes with prefetch `PREFETCH`; what has arrived is applied in one
  transaction (an inbox row to drop duplicates, the case row, its report row), then acked with
  `multiple`; its reports go out through the same kind of publisher.

What it leaves out is what a node must do and the yardstick need not: validating messages, trust
checks, sealing personal data, the hash-chained event log, domain rules, and kombu.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pika

from bench.procs import commands, emit
from nodes.messaging.settings import MARK_EVERY_S, PREFETCH, RELAY_BATCH, RELAY_LINGER_S

FACTS = "x" * 900  # about what a case's facts and parties weigh in a dossier
IDLE_S = 0.05
SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (case_id TEXT PRIMARY KEY, state TEXT NOT NULL, body TEXT);
CREATE TABLE IF NOT EXISTS inbox (message_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, dest TEXT NOT NULL, body BLOB NOT NULL,
                                   sent INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox(id) WHERE sent = 0;
"""
REPORT = "INSERT INTO outbox (dest, body) VALUES (?, ?)"


def open_file(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(SCHEMA)
    return conn


def _report(case_id: str, event: str) -> bytes:
    return json.dumps({"case": case_id, "event": event}).encode()


class Publisher(threading.Thread):
    """Unsent rows of one file to the broker, in order, confirmed, marked sent in batches."""

    def __init__(self, path: Path, url: str) -> None:
        super().__init__(name="relay", daemon=True)
        self.db, self.url = open_file(path), url
        self.wake, self.stop, self.ready = threading.Event(), threading.Event(), threading.Event()
        self.published = 0

    def run(self) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        channel = connection.channel()
        channel.confirm_delivery()  # each basic_publish returns once the broker confirmed it
        persistent = pika.BasicProperties(delivery_mode=2)
        self.ready.set()
        read_after, marks, mark_at = 0, [], time.monotonic() + MARK_EVERY_S
        while True:
            rows = self.db.execute("SELECT id, dest, body FROM outbox WHERE sent = 0 AND id > ? "
                                   "ORDER BY id LIMIT ?", (read_after, RELAY_BATCH)).fetchall()
            by_dest: dict[str, list[bytes]] = {}
            for _, dest, body in rows:
                by_dest.setdefault(dest, []).append(body)
            for dest, bodies in by_dest.items():
                channel.basic_publish("", dest, b"\n".join(bodies), persistent)
            if rows:
                marks.append((rows[0][0], rows[-1][0]))
                read_after = rows[-1][0]
                self.published += len(rows)
            if marks and (time.monotonic() >= mark_at or self.stop.is_set()):
                self.db.execute("BEGIN IMMEDIATE")
                for first, last in marks:
                    self.db.execute("UPDATE outbox SET sent = 1 WHERE id BETWEEN ? AND ?",
                                    (first, last))
                self.db.execute("COMMIT")
                marks, mark_at = [], time.monotonic() + MARK_EVERY_S
            if not rows and self.stop.is_set():
                break
            if not rows:
                self.wake.wait(IDLE_S)
                self.wake.clear()
            elif len(rows) < RELAY_BATCH:
                time.sleep(RELAY_LINGER_S)
        connection.close()

    def finish(self, rows: int) -> None:
        """Return once `rows` rows are published and their marks written; RuntimeError if the
        thread died first (a lost broker: the yardstick does not reconnect), so the child exits
        at once instead of leaving the driver to its phase timeout."""
        while self.published < rows:
            if not self.is_alive():
                raise RuntimeError(f"publisher stopped after {self.published} of {rows} rows")
            time.sleep(0.005)
        self.stop.set()
        self.wake.set()
        self.join()


def village(code: str, workdir: Path, url: str, queue: str, sink: str, count: int) -> None:
    path = workdir / f"{code}-plain.db"
    db, relay = open_file(path), Publisher(path, url)
    relay.start()
    relay.ready.wait()
    emit("ready")
    go = next(commands())
    time.sleep(max(0.0, go["start_at"] - time.monotonic()))
    cpu = time.process_time()
    for k in range(count):
        case_id = f"{code}-{k:05d}"
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO cases (case_id, state, body) VALUES (?, 'open', ?)",
                   (case_id, FACTS))
        db.execute(REPORT, (sink, _report(case_id, "register")))
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE cases SET state = 'escalated' WHERE case_id = ?", (case_id,))
        db.execute(REPORT, (sink, _report(case_id, "escalate")))
        db.execute(REPORT, (queue, json.dumps({"message_id": str(uuid.uuid4()), "case": case_id,
                                               "facts": FACTS}).encode()))
        db.execute("COMMIT")
        relay.wake.set()
    relay.finish(3 * count)
    emit("done", cpu_s=time.process_time() - cpu)


def hub(workdir: Path, url: str, queue: str, sink: str, count: int) -> None:
    path = workdir / "hub-plain.db"
    db, relay = open_file(path), Publisher(path, url)
    relay.start()
    relay.ready.wait()
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=PREFETCH)
    arrived: list[tuple[int, bytes]] = []
    channel.basic_consume(queue, lambda _ch, method, _props, body: arrived.append(
        (method.delivery_tag, body)))
    emit("ready")
    cpu, applied, last = time.process_time(), 0, 0.0
    while applied < count:
        connection.process_data_events(time_limit=IDLE_S)
        if not arrived:
            continue
        db.execute("BEGIN IMMEDIATE")
        for _, body in arrived:
            for part in body.split(b"\n"):
                message: dict[str, Any] = json.loads(part)
                if db.execute("INSERT OR IGNORE INTO inbox VALUES (?)",
                              (message["message_id"],)).rowcount:
                    db.execute("INSERT INTO cases (case_id, state, body) VALUES (?, 'received', ?)",
                               (message["case"], message["facts"]))
                    db.execute(REPORT, (sink, _report(message["case"], "received")))
                    applied += 1
        db.execute("COMMIT")
        last = time.monotonic()
        channel.basic_ack(arrived[-1][0], multiple=True)
        arrived.clear()
        relay.wake.set()
    relay.finish(count)
    connection.close()
    emit("applied", last=last, cpu_s=time.process_time() - cpu)
