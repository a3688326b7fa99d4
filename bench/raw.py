"""The raw baseline: what RabbitMQ and a plain pika client do with no node in between.

Publisher (own process): pika's `SelectConnection`, because its `BlockingConnection` with
`confirm_delivery()` waits for each confirm in turn. 1 KiB persistent messages, at most
`in_flight` unconfirmed at any time (a new one goes out as each confirm comes back), to the
default exchange and a durable quorum queue, as a node's queue is.

Consumer (own process): `BlockingConnection`, prefetch `RAW_PREFETCH`, one `basic_ack` per
message (manual acks, not `multiple`), counting until it has all of them.

The figure is messages / (last consumer ack - first publish): publish, persist, deliver and ack,
end to end, the same span the pipeline's figure covers.
"""

from __future__ import annotations

import time
from typing import Any

import pika
import pika.channel
import pika.frame
import pika.spec

from bench.procs import commands, cpu_seconds, emit, peak_rss_mb
from bench.settings import PHASE_TIMEOUT_S, RAW_PREFETCH


def declare_queue(url: str, name: str) -> None:
    """A durable quorum queue, as `protocol.topology` declares a node's queue."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        connection.channel().queue_declare(name, durable=True,
                                           arguments={"x-queue-type": "quorum"})
    finally:
        connection.close()


def publisher(url: str, queue_name: str, count: int, size: int, in_flight: int) -> None:
    """Child role: wait for `go`, publish `count` messages with pipelined confirms, report."""
    go = next(commands())
    start_at: float = go["start_at"]
    body = b"x" * size
    props = pika.BasicProperties(delivery_mode=2, content_type="application/octet-stream")
    state: dict[str, Any] = {"sent": 0, "outstanding": set(), "nacked": 0, "error": None}
    channel_box: list[pika.channel.Channel] = []

    def pump() -> None:
        channel = channel_box[0]
        outstanding: set[int] = state["outstanding"]
        while len(outstanding) < in_flight and state["sent"] < count:
            channel.basic_publish("", queue_name, body, props)
            state["sent"] += 1
            outstanding.add(state["sent"])  # delivery tags count publishes from 1
        if not outstanding and state["sent"] >= count:
            state["end"] = time.monotonic()
            connection.close()

    def on_confirm(frame: pika.frame.Method) -> None:
        method = frame.method
        tag, multiple = method.delivery_tag, method.multiple
        outstanding: set[int] = state["outstanding"]
        done = {t for t in outstanding if t <= tag} if multiple else {tag}
        outstanding.difference_update(done)
        if isinstance(method, pika.spec.Basic.Nack):
            state["nacked"] += len(done)
        pump()

    def on_confirm_mode(_frame: pika.frame.Method) -> None:
        time.sleep(max(0.0, start_at - time.monotonic()))
        state["start"] = time.monotonic()
        pump()

    def on_channel(channel: pika.channel.Channel) -> None:
        channel_box.append(channel)
        channel.confirm_delivery(on_confirm, callback=on_confirm_mode)

    def on_failed(_connection: Any, error: Any) -> None:
        state["error"] = str(error)
        connection.ioloop.stop()

    def on_closed(_connection: Any, _reason: Any) -> None:
        connection.ioloop.stop()

    def give_up() -> None:
        state["error"] = f"not done in {PHASE_TIMEOUT_S:.0f} s"
        connection.close()

    connection = pika.SelectConnection(
        pika.URLParameters(url), on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
        on_open_error_callback=on_failed, on_close_callback=on_closed)
    connection.ioloop.call_later(PHASE_TIMEOUT_S, give_up)
    connection.ioloop.start()
    if state["error"] or "end" not in state:
        emit("error", error=state["error"] or "connection closed early")
        return
    emit("published", start=state["start"], end=state["end"], nacked=state["nacked"],
         rss_mb=peak_rss_mb(), cpu_s=cpu_seconds())


def consumer(url: str, queue_name: str, count: int) -> None:
    """Child role: consume `count` messages with one manual ack each, report the last ack time."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=RAW_PREFETCH)
    state: dict[str, Any] = {"taken": 0}

    def on_message(ch: Any, method: Any, _props: Any, _body: bytes) -> None:
        ch.basic_ack(method.delivery_tag)
        state["taken"] += 1
        if state["taken"] == 1:
            state["first"] = time.monotonic()
        if state["taken"] >= count:
            state["last"] = time.monotonic()
            ch.stop_consuming()

    channel.basic_consume(queue_name, on_message, auto_ack=False)
    connection.call_later(PHASE_TIMEOUT_S, channel.stop_consuming)
    emit("ready")
    channel.start_consuming()
    connection.close()
    if "last" not in state:
        emit("error", error=f"consumed {state['taken']} of {count}")
        return
    emit("consumed", first=state["first"], last=state["last"], rss_mb=peak_rss_mb(),
         cpu_s=cpu_seconds())
