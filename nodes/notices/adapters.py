"""How a notice leaves the node: a JSONL file beside the database (`log`, the default: the
delivery record of an offline station, read and passed on by its staff), or an HTTP SMS gateway
(`http_sms`: a government SMS platform or a carrier's gateway).

An adapter's `send` returns what the gateway said (`Sent`), or raises `Retry` (not taken now:
5xx, a timeout, no connection, a full disk) or `Refused` (never: a 4xx with its reason). Neither
the phone nor anything the gateway says that looks like one reaches an error's text, which goes
to the app's log and the notices table.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nodes.notices import settings

DIGITS = re.compile(r"\d[\d\s-]{5,}\d")  # a run of digits that could be a phone or ID number
ANSWER_BYTES = 64 * 1024  # read at most this much of a gateway's answer
RETRY_CODES = frozenset({408, 425, 429})  # 4xx that mean "later", not "never"


class Retry(Exception):
    """The notice was not taken now: try again later. The text names no phone."""


class Refused(Exception):
    """The gateway will never take this notice (a 4xx): give it up with the reason."""


@dataclass(frozen=True)
class Outgoing:
    """One notice as it is sent: the text in the node's language, the template's id at the
    gateway and its parameters in words, and the phone (None: an alert to the staff)."""

    notice_id: str
    at: str
    case_id: str | None
    kind: str
    recipient: str
    template_id: str
    params: Mapping[str, str]
    text: str
    phone: str | None


@dataclass(frozen=True)
class Sent:
    gateway_id: str | None
    delivery: str


class Adapter(Protocol):
    def send(self, out: Outgoing) -> Sent: ...

    def flush(self) -> None:
        """Make what was sent since the last flush durable; Retry if that failed."""


def mask_phone(phone: str) -> str:
    """138****5678: enough for staff to tell two numbers apart, not to call one."""
    digits = phone.replace("-", "").replace(" ", "")
    if len(digits) <= 4:
        return "*" * len(digits)
    head = digits[:3] if len(digits) == 11 and digits.startswith("1") else ""  # a mobile
    return head + "*" * (len(digits) - len(head) - 4) + digits[-4:]


def masked(text: str) -> str:
    """`text` with every long run of digits masked (a gateway may echo the number it refused)."""
    return DIGITS.sub(lambda m: mask_phone(m.group(0)), text)


class FileAdapter:
    """Appends one JSON line per notice to `path` (0600): the notice id, time, case, kind,
    recipient, template, the text, and the phone masked. A notice whose id is already among the
    file's last lines (written just before a crash lost its sent-mark) is not written again."""

    def __init__(self, path: Path, tail_bytes: int = settings.FILE_TAIL_BYTES) -> None:
        self.path, self.tail_bytes = path, tail_bytes
        self._written: set[str] | None = None
        self._dirty = False

    def _seen(self) -> set[str]:
        if self._written is None:
            self._written = set()
            try:
                with self.path.open("rb") as f:
                    f.seek(max(0, f.seek(0, os.SEEK_END) - self.tail_bytes))
                    for line in f.read().splitlines():
                        try:
                            self._written.add(str(json.loads(line)["notice_id"]))
                        except (ValueError, KeyError, TypeError):
                            continue  # the first, cut line; or one a crash cut short
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise Retry(f"notices file unreadable: {exc.strerror}") from None
        return self._written

    def send(self, out: Outgoing) -> Sent:
        if out.notice_id in self._seen():
            return Sent(None, "written before")
        line = json.dumps({
            "notice_id": out.notice_id, "at": out.at, "case_id": out.case_id, "kind": out.kind,
            "recipient": out.recipient, "template": out.template_id, "text": out.text,
            "phone": mask_phone(out.phone) if out.phone else None}, ensure_ascii=False)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode("utf-8"))
            finally:
                os.close(fd)
        except OSError as exc:
            raise Retry(f"notices file not written: {exc.strerror}") from None
        self._seen().add(out.notice_id)
        self._dirty = True
        return Sent(None, "written")

    def flush(self) -> None:
        if not self._dirty:
            return
        try:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise Retry(f"notices file not synced: {exc.strerror}") from None
        self._dirty = False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A gateway that answers with a redirect is refused, never followed (urllib would repeat a
    POST as a GET without its body)."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


class HttpSmsAdapter:
    """POSTs {template_id, params, phone, idempotency_key} as JSON to the gateway (also the
    `Idempotency-Key` header), with `auth_header: auth` if the secrets file has `sms_auth`.
    2xx: sent, the answer's `message_id` (or `id`) and `status` kept. 5xx, 408, 425, 429, a
    timeout or no connection: Retry. Any other answer: Refused with the gateway's reason. No
    proxy from the environment: the gateway is reached directly."""

    def __init__(self, url: str, timeout_s: float, *, auth_header: str = "Authorization",
                 auth: str | None = None) -> None:
        self.url, self.timeout_s = url, timeout_s
        self.auth_header, self.auth = auth_header, auth
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def send(self, out: Outgoing) -> Sent:
        if out.phone is None:
            raise Refused("no phone number to send to")
        body = json.dumps({"template_id": out.template_id, "params": dict(out.params),
                           "phone": out.phone, "idempotency_key": out.notice_id},
                          ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Idempotency-Key": out.notice_id}
        if self.auth:
            headers[self.auth_header] = self.auth
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only (config)
        try:
            with self._opener.open(request, timeout=self.timeout_s) as answer:
                return _sent(answer.read(ANSWER_BYTES))
        except urllib.error.HTTPError as exc:
            reason = _reason(exc)
            if exc.code >= 500 or exc.code in RETRY_CODES:
                raise Retry(f"gateway answered HTTP {exc.code}{reason}") from None
            raise Refused(f"gateway refused it: HTTP {exc.code}{reason}") from None
        except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as exc:
            cause = getattr(exc, "reason", None) or exc
            raise Retry(masked(f"gateway not reached: {cause}")[:200]) from None

    def flush(self) -> None:
        return None


def _sent(raw: bytes) -> Sent:
    """What a 2xx answer says: the gateway's message id and status, if it says them."""
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        return Sent(None, "accepted")
    if not isinstance(data, dict):
        return Sent(None, "accepted")
    found = data.get("message_id", data.get("id"))
    status = data.get("status")
    return Sent(str(found)[:100] if found is not None else None,
                masked(str(status))[:100] if status else "accepted")


def _reason(exc: urllib.error.HTTPError) -> str:
    """The gateway's own words on a refusal (its JSON `message` or `error`, else the start of
    the body), digits masked."""
    try:
        raw = exc.read(ANSWER_BYTES)
    except OSError:
        return ""
    try:
        data = json.loads(raw)
        said = data.get("message") or data.get("error") if isinstance(data, dict) else None
    except ValueError:
        said = None
    text = str(said) if said else raw.decode("utf-8", "replace")
    text = " ".join(text.split())[:160]
    return f": {masked(text)}" if text else ""
