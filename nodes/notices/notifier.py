"""The notifier: a thread of the running service (`NodeRuntime`) that sends the notices due.

Each round takes up to BATCH notices whose time has come, claims them (one transaction), sends
each through its adapter (parties' notices through `[notices] adapter`, staff alerts always to
the node's notices file), makes the file durable, and records how each went (one transaction):
sent with the gateway's id and status; not taken, tried again after an exponential backoff
(`RetryPolicy`, the constants of `nodes.notices.settings`); refused, or out of attempts, given up
with its reason and the alarm `notice_gave_up`. A party's phone is opened from `parties` here,
for the send, and goes nowhere else: not into the table, not into a log line.

Never twice: a notice is claimed before its send, and the claim outlives a crash. A notifier that
starts finds the claims a dead one left (`in_flight`) and sends those notices again with the same
idempotency key (the notice id), which the gateway, or the file adapter, uses to take each once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from nodes.alarms import AlarmKind, raise_alarm
from nodes.clock import Clock
from nodes.notices import settings
from nodes.notices.adapters import (
    Adapter,
    FileAdapter,
    HttpSmsAdapter,
    Outgoing,
    Refused,
    Retry,
    masked,
)
from nodes.notices.checks import CheckSetting, check
from nodes.notices.model import Finished, Status, StoredNotice, party_place, stamp
from nodes.notices.templates import gateway_template, render, shown
from nodes.store.errors import StoreError
from nodes.store.sqlite_store import SqliteStore

if TYPE_CHECKING:
    from nodes.node import Node

log = structlog.get_logger("fengqiao.notices")
FILE_NAME = "notices.jsonl"  # beside the node's database


@dataclass(frozen=True)
class RetryPolicy:
    first_s: float = settings.FIRST_DELAY_S
    max_s: float = settings.MAX_DELAY_S
    max_attempts: int = settings.MAX_ATTEMPTS

    def delay(self, attempt: int) -> float:
        """The wait after the `attempt`-th send failed: first_s, doubling, at most max_s."""
        return min(self.first_s * 2.0 ** max(0, attempt - 1), self.max_s)


@dataclass(frozen=True)
class Texts:
    """How notices read: the node's language, the operator's texts and gateway template ids."""

    lang: str = "zh"
    texts: Mapping[str, str] | None = None
    gateway_ids: Mapping[str, str] | None = None


class Notifier:
    def __init__(self, store: SqliteStore, clock: Clock, *, parties: Adapter, staff: Adapter,
                 setting: CheckSetting, texts: Texts = Texts(),
                 policy: RetryPolicy = RetryPolicy()) -> None:
        self.store, self.clock, self.setting = store, clock, setting
        self.parties, self.staff, self.texts, self.policy = parties, staff, texts, policy

    def resume(self) -> int:
        """At start: the claims a dead notifier left are dropped, so their notices go again
        now (same idempotency key); returns how many."""
        left = self.store.in_flight()
        if left:
            log.warning("notices.resend_after_crash", count=len(left),
                        notice_ids=[n.notice_id for n in left[:20]])
            self.store.release([n.id for n in left], uncount=False)
        return len(left)

    def check(self) -> int:
        """The periodic look (`nodes.notices.checks`); returns the notices it added."""
        added = check(self.store, self.clock.now(), self.setting)
        if added:
            log.info("notices.found", count=added)
        return added

    def step(self, stop: threading.Event | None = None) -> int:
        """Send one batch of the notices due; returns how many were handled."""
        now = self.clock.now()
        stale = now - timedelta(seconds=settings.CLAIM_STALE_S)
        due = self.store.due_notices(now, stale, settings.BATCH)
        taken = self.store.claim([n.id for n in due], now, stale) if due else set()
        done: list[Finished] = []
        tried: list[tuple[StoredNotice, Adapter]] = []
        for notice in (n for n in due if n.id in taken):
            if stop is not None and stop.is_set():
                break
            adapter = self.staff if party_place(notice.recipient) is None else self.parties
            done.append(self._send(notice, adapter, now))
            tried.append((notice, adapter))
        done = self._flush(done, tried, now)
        self.store.release([i for i in taken if i not in {f.id for f in done}], uncount=True)
        if done:
            self.store.finish(done, self.clock.now())
            self._report(done, {n.id: n for n, _a in tried}, now)
        return len(done)

    def _outgoing(self, notice: StoredNotice, now: datetime) -> Outgoing:
        """The notice as sent: rendered, with the party's phone opened (Refused if none)."""
        phone = None
        place = party_place(notice.recipient)
        if place is not None:
            found = self.store.parties(notice.case_id or "")
            phone = found[place - 1].phone if 0 < place <= len(found) else None
            if not phone:
                raise Refused("the party has no phone number now")
        lang = self.texts.lang
        return Outgoing(
            notice_id=notice.notice_id, at=stamp(now), case_id=notice.case_id,
            kind=notice.kind, recipient=notice.recipient,
            template_id=gateway_template(notice.template, self.texts.gateway_ids),
            params=shown(notice.params, lang),
            text=render(notice.template, notice.params, lang, self.texts.texts), phone=phone)

    def _send(self, notice: StoredNotice, adapter: Adapter, now: datetime) -> Finished:
        attempt = notice.attempts + 1
        try:
            sent = adapter.send(self._outgoing(notice, now))
        except Refused as exc:
            return Finished(notice.id, Status.GAVE_UP, masked(str(exc)))
        except Retry as exc:
            return self._failed(notice, attempt, masked(str(exc)), now)
        return Finished(notice.id, Status.SENT, sent.delivery, sent.gateway_id)

    def _failed(self, notice: StoredNotice, attempt: int, error: str,
                now: datetime) -> Finished:
        if attempt >= self.policy.max_attempts:
            return Finished(notice.id, Status.GAVE_UP,
                            f"not taken after {attempt} attempts; the last: {error}")
        retry_at = now + timedelta(seconds=self.policy.delay(attempt))
        return Finished(notice.id, Status.FAILED, error, retry_at=retry_at)

    def _flush(self, done: list[Finished], tried: list[tuple[StoredNotice, Adapter]],
               now: datetime) -> list[Finished]:
        """Make each adapter's sends durable; the ones a failed flush leaves unsure fail (a
        retry finds them written, or writes them)."""
        out = list(done)
        for adapter in {id(a): a for _n, a in tried}.values():
            try:
                adapter.flush()
            except Retry as exc:
                for i, (notice, used) in enumerate(tried):
                    if used is adapter and out[i].status == Status.SENT:
                        out[i] = self._failed(notice, notice.attempts + 1, str(exc), now)
        return out

    def _report(self, done: list[Finished], notices: Mapping[int, StoredNotice],
                now: datetime) -> None:
        """One log line per notice (ids and reasons, never a phone); an alarm per one given up."""
        for f in done:
            n = notices[f.id]
            fields = {"notice_id": n.notice_id, "case_id": n.case_id, "kind": n.kind,
                      "recipient": n.recipient, "attempt": n.attempts + 1}
            if f.status == Status.SENT:
                log.info("notice.sent", gateway_id=f.gateway_id, delivery=f.detail, **fields)
            elif f.status == Status.FAILED:
                assert f.retry_at is not None  # noqa: S101 - a failure says when
                log.warning("notice.retry", error=f.detail, **fields,
                            retry_in_s=round((f.retry_at - now).total_seconds(), 1))
            else:
                log.warning("notice.gave_up", reason=f.detail, **fields)
                raise_alarm(self.store, AlarmKind.NOTICE_GAVE_UP, n.notice_id,
                            f"{n.kind} notice on case {n.case_id or '-'} to {n.recipient} given "
                            f"up: {f.detail}", now)

    def run(self, stop: threading.Event) -> None:
        """Until `stop`: the periodic look at start and every CHECK_EVERY_S, and the notices
        due, a batch at a time, resting POLL_S when none is due."""
        self.resume()
        next_check = 0.0
        while not stop.is_set():
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + settings.CHECK_EVERY_S
                try:
                    self.check()
                except StoreError as exc:  # busy or full: the next look does it
                    log.warning("notices.check_failed", error=f"{exc.__class__.__name__}: {exc}")
            if self.step(stop) < settings.BATCH:
                stop.wait(settings.POLL_S)


def notifier_for(node: Node) -> Notifier:
    """The node's notifier as its config says: the adapter of `[notices]` for the parties, the
    notices file beside the database for the staff (and for the parties with `log`)."""
    config = node.config
    file = FileAdapter(config.database.parent / FILE_NAME)
    parties: Adapter = file
    if config.notices.adapter == "http_sms" and config.notices.url is not None:
        parties = HttpSmsAdapter(config.notices.url, config.notices.timeout_s,
                                 auth_header=config.notices.auth_header, auth=config.sms_auth)
    setting = CheckSetting(config.node_id, config.name, node.service.rules, config.due_soon_days)
    texts = Texts(config.lang, config.notices.texts, config.notices.gateway_ids)
    return Notifier(node.store, node.clock, parties=parties, staff=file, setting=setting,
                    texts=texts)
