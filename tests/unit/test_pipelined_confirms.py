"""The bookkeeping behind pipelined publisher confirms and acks-after-commit (issue 5), no broker.

What must hold however the broker's acks arrive: a row counts as confirmed only when the ack for
its own delivery tag has come (singly or under `multiple`), a nack or a missing ack ends the
confirmed prefix, and a batch's deliveries are acked only when `send()` is called after commit.
"""

from __future__ import annotations

from typing import Any

from nodes.messaging.amqp import AmqpTransport
from nodes.messaging.delivery import AcksAfterCommit, Confirms, Delivery
from nodes.records import OutboxRow


def confirms_with(tags: int) -> Confirms:
    confirms = Confirms()
    for tag in range(1, tags + 1):
        confirms.unconfirmed[tag] = float(tag)
    confirms.next_tag = tags + 1
    return confirms


def test_single_and_multiple_acks_settle_exactly_their_tags() -> None:
    confirms = confirms_with(6)
    confirms.on_ack(2, multiple=False)
    assert [confirms.confirmed(t) for t in range(1, 7)] == [False, True, False, False, False, False]
    confirms.on_ack(4, multiple=True)  # settles 1, 3 and 4 (2 already was)
    assert [confirms.confirmed(t) for t in range(1, 7)] == [True, True, True, True, False, False]
    confirms.on_nack(6, multiple=False)
    assert not confirms.confirmed(6)
    assert list(confirms.unconfirmed) == [5]
    confirms.on_ack(9, multiple=False)  # an unknown tag changes nothing
    assert list(confirms.unconfirmed) == [5]


def rows(n: int) -> list[OutboxRow]:
    return [OutboxRow(message_id=f"m{i}", case_id="c", seq=i, exchange="x", routing_key="k",
                      schema_name="lifecycle_report", body=b"{}", created_at="", id=100 + i)
            for i in range(1, n + 1)]


def test_confirmed_prefix_stops_at_the_first_row_without_its_own_ack() -> None:
    transport = AmqpTransport("amqp://guest:guest@127.0.0.1:1/")  # never connected
    transport._confirms = confirms = confirms_with(5)
    confirms.on_ack(2, multiple=True)
    confirms.on_ack(4, multiple=False)  # 4 is acked, but 3 is not: 4 and 5 are not in the prefix
    assert transport._confirmed_prefix([[r] for r in rows(5)], [1, 2, 3, 4, 5]) == [101, 102]
    confirms.on_nack(3, multiple=False)
    assert transport._confirmed_prefix([[r] for r in rows(5)], [1, 2, 3, 4, 5]) == [101, 102]
    # Rows never written (the link failed before them) have no tag and are never confirmed.
    confirms.on_ack(5, multiple=False)
    assert transport._confirmed_prefix([[r] for r in rows(5)], [1, 2]) == [101, 102]


class Message:
    def __init__(self, tag: int, log: list[tuple[str, int, Any]]) -> None:
        self.tag, self.log = tag, log

    def ack(self, multiple: bool = False) -> None:
        self.log.append(("ack", self.tag, multiple))

    def reject(self, requeue: bool) -> None:
        self.log.append(("reject", self.tag, requeue))


def test_acks_wait_for_send_and_go_as_one_multiple_ack_rejects_go_at_once() -> None:
    log: list[tuple[str, int, Any]] = []
    acks = AcksAfterCommit()
    held = [acks.hold(Delivery(b"", "x", "k", None, {}, Message(tag, log))) for tag in (7, 8, 9)]
    held[0].ack()
    held[1].requeue()
    held[2].ack()
    assert log == [("reject", 8, True)]  # nothing acked before the commit
    acks.send()
    assert log == [("reject", 8, True), ("ack", 9, True)]
    acks.send()  # nothing held any more: nothing sent twice
    assert len(log) == 2
