"""What a failed connect to RabbitMQ means (issue 16 item 8): a refused login or a broker away.

Both raise in `AmqpTransport.connect`, and both used to read "cannot reach broker", so a wrong
password looked like an outage for as long as nobody read the broker's own log. RabbitMQ answers a
bad login with connection.close 403 ACCESS_REFUSED (py-amqp asks for it with the
`authentication_failure_close` capability) and a user without access to the virtual host with
530 NOT_ALLOWED; py-amqp raises these as `AccessRefused` and `NotAllowed`, with the code in
`reply_code`, and kombu may wrap them. The codes are AMQP's, so they are read, not the classes.
"""

from __future__ import annotations

from nodes.messaging.port import BrokerAuthError, TransportError

MAX_REASON = 300
ACCESS_REFUSED, NOT_ALLOWED = 403, 530  # AMQP 0-9-1 reply codes


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (kombu re-raises py-amqp's errors), a few levels deep."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 6:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def refused_login(exc: BaseException, user: str | None = None) -> str | None:
    """One line saying why the broker refused the login of `user`, or None if it did not."""
    who = f"user {user}: " if user else ""
    for cause in _causes(exc):
        code = getattr(cause, "reply_code", None)
        text = str(getattr(cause, "reply_text", "") or cause)
        if code == ACCESS_REFUSED:
            return _one_line(f"{who}wrong password or unknown user ({text})")
        if code == NOT_ALLOWED and "vhost" in text:
            return _one_line(f"{who}no access to the virtual host ({text})")
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_REASON]


def connect_error(exc: BaseException, user: str | None = None) -> TransportError:
    """The error a failed connect raises: `BrokerAuthError` for a refused login (logged as that,
    not as an outage), else a `TransportError` naming only the error's class."""
    reason = refused_login(exc, user)
    if reason is not None:
        return BrokerAuthError(reason)
    return TransportError(f"cannot reach broker: {exc.__class__.__name__}")
