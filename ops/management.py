"""RabbitMQ's management HTTP API, as `fengqiao deploy apply` uses it: import a definitions
document, then read every object back and compare, because RabbitMQ's import silently keeps an
existing queue or exchange whose arguments differ (stdlib urllib: no new dependency).

Credentials come from the URL and never appear in an error; every call has a timeout.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from dataclasses import dataclass
from typing import Any

from protocol.text import N_, Translatable

DEFAULT_TIMEOUT_S = 30.0


class ManagementError(Translatable):
    """The management API refused or could not be reached: one sentence, rendered where shown."""


class Management:
    """A minimal client of RabbitMQ's management HTTP API: Basic auth, JSON, a timeout per call.

    Credentials come from the URL and are never put into an error message."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or not parts.username:
            raise ManagementError("mgmt_url", N_(
                "the management URL must look like http://user:password@host:15672"))
        self.user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        self.where = f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        self.base = f"{parts.scheme}://{self.where}{parts.path.rstrip('/')}"
        self.auth = "Basic " + b64encode(f"{self.user}:{password}".encode()).decode()
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None, missing_ok: bool = False) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310
        request.add_header("Authorization", self.auth)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                return None
            raise self._refusal(method, path, exc) from None
        except (urllib.error.URLError, OSError) as exc:  # refused, DNS, TLS, timeout
            reason = getattr(exc, "reason", None) or exc
            raise ManagementError("mgmt_unreachable", N_(
                "cannot reach the management API at {where} within {timeout} s ({reason})"),
                where=self.where, timeout=f"{self.timeout:g}",
                reason=reason.__class__.__name__ if isinstance(reason, BaseException)
                else str(reason)) from None
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            raise ManagementError("mgmt_not_json", N_(
                "{method} {path} at {where} did not answer JSON: is this the management API?"),
                method=method, path=path, where=self.where) from None

    def _refusal(self, method: str, path: str, exc: urllib.error.HTTPError) -> ManagementError:
        if exc.code == 401:
            return ManagementError("mgmt_401", N_(
                "the management API at {where} refused user {user} (wrong password, or not "
                "allowed to use the management API)"), where=self.where, user=repr(self.user))
        try:
            detail = json.loads(exc.read().decode("utf-8")).get("reason", "")
        except (ValueError, OSError, AttributeError):
            detail = ""
        if exc.code == 403:
            return ManagementError("mgmt_403", N_(
                "the management API at {where} refused {method} {path} for user {user}: it needs "
                "the administrator tag ({detail})"), where=self.where, method=method, path=path,
                user=repr(self.user), detail=detail or "forbidden")
        if exc.code == 404 and path == "/api/overview":
            return ManagementError("mgmt_404", N_(
                "no RabbitMQ management API at {base} (HTTP 404 on /api/overview)"),
                base=self.base)
        return ManagementError("mgmt_http", N_("{method} {path} at {where} failed with HTTP "
                                               "{status} ({detail})"),
                               method=method, path=path, where=self.where, status=exc.code,
                               detail=detail or exc.reason)


@dataclass(frozen=True)
class Applied:
    version: str
    created_vhost: bool
    users: int
    permissions: int
    topic_permissions: int
    queues: int


def apply_definitions(api: Management, document: dict[str, Any], vhost: str) -> Applied:
    """Import `document` and check that the broker now holds exactly what it says.

    Idempotent: importing again changes nothing but the salt of password hashes. Creating the
    vhost through the API also grants the acting admin full permissions on it; that grant is
    nobody's intent (an admin account that can read node queues and publish), so it is revoked
    when this call created the vhost. Users are only sent when the document has them; otherwise
    every user named in its permissions must already exist."""
    overview = api.call("GET", "/api/overview")
    vq = urllib.parse.quote(vhost, safe="")
    created = api.call("GET", f"/api/vhosts/{vq}", missing_ok=True) is None
    if "users" not in document:
        existing = {u["name"] for u in api.call("GET", "/api/users")}
        missing = sorted({p["user"] for p in document.get("permissions", [])} - existing)
        if missing:
            raise ManagementError("mgmt_user_missing", N_(
                "broker user {user} does not exist ({count} users are missing); apply with "
                "--secrets FILE to create the node users"), user=missing[0], count=len(missing))
    api.call("POST", "/api/definitions", document)
    node_users = {u["user"] for u in document.get("permissions", [])}
    if created and api.user not in node_users:
        api.call("DELETE", f"/api/permissions/{vq}/{urllib.parse.quote(api.user, safe='')}",
                 missing_ok=True)
    verify(api, document, vhost)
    return Applied(str(overview.get("rabbitmq_version", "?")), created,
                   len(document.get("users", [])), len(document.get("permissions", [])),
                   len(document.get("topic_permissions", [])), len(document["queues"]))


KEPT = N_("after the import, {what} {name} has {field} {found}, not {wanted}: RabbitMQ keeps an "
          "existing object as it is (delete it, losing its messages, or fix the configs)")
DIFFERS = N_("after the import, {what} {name} has {field} {found}, not {wanted}")


def verify(api: Management, document: dict[str, Any], vhost: str) -> None:
    """Read back what the import should have made; the first difference is the error."""
    vq = urllib.parse.quote(vhost, safe="")
    plan: list[tuple[str, str, str, tuple[str, ...], tuple[str, ...], str]] = [
        # (what, document key, API path, identity fields, compared fields, hint)
        ("exchange", "exchanges", f"/api/exchanges/{vq}", ("name",),
         ("type", "durable", "arguments"), KEPT),
        ("queue", "queues", f"/api/queues/{vq}?columns=name,durable,arguments", ("name",),
         ("durable", "arguments"), KEPT),
        ("binding", "bindings", f"/api/bindings/{vq}", ("source", "destination", "routing_key"),
         (), DIFFERS),
        ("permissions of", "permissions", f"/api/vhosts/{vq}/permissions", ("user",),
         ("configure", "write", "read"), DIFFERS),
        ("topic permissions of", "topic_permissions", f"/api/vhosts/{vq}/topic-permissions",
         ("user", "exchange"), ("write", "read"), DIFFERS),
        ("user", "users", "/api/users", ("name",), ("password_hash", "tags"), DIFFERS),
        ("policy", "policies", f"/api/policies/{vq}", ("name",),
         ("pattern", "apply-to", "priority", "definition"), DIFFERS),
    ]
    for what, key, path, identity, fields, hint in plan:
        wanted = document.get(key, [])
        if not wanted:
            continue
        found = {tuple(item[k] for k in identity): item for item in api.call("GET", path)}
        for item in wanted:
            name = " / ".join(str(item[k]) for k in identity)
            there = found.get(tuple(item[k] for k in identity))
            if there is None:
                raise ManagementError("mgmt_missing_after", N_(
                    "after the import, {what} {name} is missing in vhost {vhost}"),
                    what=what, name=name, vhost=vhost)
            for field in fields:
                if there.get(field) != item[field]:
                    raise ManagementError("mgmt_differs_after", hint,
                        what=what, name=name, field=field, found=repr(there.get(field)),
                        wanted=repr(item[field]))


# --------------------------------------------------------------------------- commands
