"""The notifier against a real HTTP server on 127.0.0.1 standing in for the SMS gateway (issue 18
item 6; Python's http.server in a thread, not a mock object): the gateway fails (503) for a
while, hangs past the timeout once, then recovers; every notice arrives exactly once (the server
counts deliveries by idempotency key), none is lost; a 400 gives up with the gateway's reason
stored (its echo of the number masked) and an alarm; a crash between the gateway's answer and
the sent-mark sends again with the same key, which the gateway takes once. No phone in the app's
log lines."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from nodes.node import Node
from nodes.notices.adapters import FileAdapter, HttpSmsAdapter
from nodes.notices.notifier import Notifier, RetryPolicy, Texts, notifier_for
from nodes.service import PartyInput
from protocol.reference import CaseSource
from tests.support.clock import FakeClock
from tests.support.nodes import build_node
from tests.unit.test_notices import accept

VILLAGE = "330681111242"
REFUSED = "13900000000"  # the gateway refuses this number (HTTP 400, echoing it)
TOKEN = "Bearer test-gateway-token"  # noqa: S105 - a test value


@dataclass
class Gateway:
    """What the stand-in gateway saw and does: fail the next `failing` posts with 503, hang
    `hang_s` on the next one, refuse REFUSED; deliver each idempotency key once."""

    failing: int = 0
    hang_s: float = 0.0
    posts: Counter[str] = field(default_factory=Counter)
    delivered: dict[str, str] = field(default_factory=dict)
    deliveries: Counter[str] = field(default_factory=Counter)
    requests: list[dict[str, Any]] = field(default_factory=list)
    codes: list[tuple[str, int]] = field(default_factory=list)  # (key, HTTP status) in order
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        code, said = self._answer(body, headers)
        self.codes.append((str(body["idempotency_key"]), code))
        return code, said

    def _answer(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            key = str(body["idempotency_key"])
            self.posts[key] += 1
            self.requests.append({"body": body, "headers": headers})
            if self.failing > 0:
                self.failing -= 1
                return 503, {"error": "service unavailable"}
            if body["phone"] == REFUSED:
                return 400, {"message": f"invalid number {body['phone']}"}
            if key not in self.delivered:  # a key seen before is answered, not sent again
                self.delivered[key] = f"gw-{len(self.delivered) + 1}"
                self.deliveries[key] += 1
            return 200, {"message_id": self.delivered[key], "status": "queued"}


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_POST(self) -> None:
        gateway = self.server.gateway
        if gateway.hang_s:
            hang, gateway.hang_s = gateway.hang_s, 0.0
            time.sleep(hang)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        code, answer = gateway.answer(body, {k.lower(): v for k, v in self.headers.items()})
        data = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client timed out
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class Server(ThreadingHTTPServer):
    gateway: Gateway


@pytest.fixture
def gateway() -> Iterator[tuple[Gateway, str]]:
    server = Server(("127.0.0.1", 0), Handler)
    server.gateway = Gateway()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield server.gateway, f"http://127.0.0.1:{server.server_address[1]}/send"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    built = build_node(tmp_path, VILLAGE, clock=FakeClock(), name="状元村调委会")
    yield built
    built.close()


def cases(node: Node, phones: list[tuple[str, str]]) -> None:
    for first, second in phones:
        case_id = node.service.new_case(
            source=CaseSource.APPLICATION, dispute_type="02", facts="两家因院墙边界发生争执",
            parties=[PartyInput("applicant", "张三", phone=first),
                     PartyInput("respondent", "李四", phone=second)]).case_id
        accept(node, case_id)


def notifier(node: Node, tmp_path: Path, url: str) -> Notifier:
    return Notifier(node.store, node.clock,
                    parties=HttpSmsAdapter(url, 0.5, auth=TOKEN),
                    staff=FileAdapter(tmp_path / "staff.jsonl"),
                    setting=notifier_for(node).setting, texts=Texts("zh"),
                    policy=RetryPolicy(first_s=1, max_s=4, max_attempts=12))


def drain(node: Node, sender: Notifier, rounds: int = 30) -> None:
    """Send, move the clock past the longest wait, until nothing waits."""
    clock = node.clock
    assert isinstance(clock, FakeClock)
    for _ in range(rounds):
        sender.step()
        counts = node.store.notice_counts()
        if not counts.get("pending") and not counts.get("failed"):
            return
        clock.advance(seconds=4)
    raise AssertionError(f"notices still waiting: {node.store.notice_counts()}")


PHONES = [("13812345601", "13812345602"), ("13812345603", "13812345604"),
          ("13812345605", REFUSED)]


def test_the_gateway_fails_then_recovers_every_notice_arrives_once(
        node: Node, tmp_path: Path, gateway: tuple[Gateway, str]) -> None:
    server, url = gateway
    server.failing, server.hang_s = 7, 1.5  # a hang past the 0.5 s timeout, then seven 503s
    cases(node, PHONES)
    with capture_logs() as logs:
        drain(node, notifier(node, tmp_path, url))
    rows = {r.notice_id: r for r in node.store.notices()}
    assert len(rows) == 6
    sent = {k: r for k, r in rows.items() if r.status == "sent"}
    assert len(sent) == 5
    assert set(server.deliveries) == set(sent)  # none lost...
    assert set(server.deliveries.values()) == {1}  # ...and none delivered twice
    assert {k: r.gateway_id for k, r in sent.items()} == {k: server.delivered[k] for k in sent}
    assert {r.delivery for r in sent.values()} == {"queued"}
    assert sum(server.posts.values()) >= 6 + 7  # the failures were retried
    assert max(r.attempts for r in sent.values()) > 1

    refused = next(r for r in rows.values() if r.status == "gave_up")
    answers = [code for key, code in server.codes if key == refused.notice_id]
    assert answers[-1] == 400
    assert answers.count(400) == 1
    assert refused.attempts == len(answers)
    assert refused.last_error == "gateway refused it: HTTP 400: invalid number 139****0000"
    assert [a["subject"] for a in node.store.alarms() if a["kind"] == "notice_gave_up"] == \
        [refused.notice_id]

    first = server.requests[-1]
    assert first["headers"]["authorization"] == TOKEN
    assert first["headers"]["idempotency-key"] == first["body"]["idempotency_key"]
    assert first["body"]["template_id"] == "fengqiao.accepted"
    assert first["body"]["params"]["node"] == "状元村调委会"
    assert first["body"]["params"]["date"] == "2026年3月2日"

    events = [e["event"] for e in logs]
    assert "notice.retry" in events
    assert "notice.gave_up" in events
    assert any("timed out" in str(e.get("error")) for e in logs)
    said = json.dumps(logs, ensure_ascii=False, default=str)
    for phone in (p for pair in PHONES for p in pair):
        assert phone not in said


def test_a_crash_after_the_gateway_took_a_notice_sends_it_again_with_the_same_key(
        node: Node, tmp_path: Path, gateway: tuple[Gateway, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    server, url = gateway
    cases(node, PHONES[:1])
    crashing = notifier(node, tmp_path, url)

    def lost(*_args: Any) -> None:
        raise RuntimeError("power cut before the sent-mark committed")

    with monkeypatch.context() as patch:
        patch.setattr(node.store, "finish", lost)
        with pytest.raises(RuntimeError):
            crashing.step()
    assert len(server.deliveries) == 2  # the gateway took both...
    assert node.store.notice_counts() == {"pending": 2}  # ...and the file does not know
    restarted = notifier(node, tmp_path, url)
    assert restarted.resume() == 2
    drain(node, restarted)
    assert set(server.posts.values()) == {2}  # each sent again, with its key...
    assert set(server.deliveries.values()) == {1}  # ...which the gateway delivered once
    rows = node.store.notices()
    assert {r.status for r in rows} == {"sent"}
    assert {r.gateway_id for r in rows} == set(server.delivered.values())
