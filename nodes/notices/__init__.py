"""Notices to parties and alerts to staff (issue 18 item 6): 受理告知, 交办/转办告知, 办结告知,
回访 reminders, and the staff's alerts (a new arrival, a supervision order received, a clock due
soon).

- `rows`: the notices a committed event causes, written by `CaseService.commit` in the same
  transaction as the event and its outbox rows, one row per (event, recipient, kind): a rolled
  back command leaves none, and the same event written twice still has one.
- `checks`: the notices that come from a periodic look (orders held here, clocks due soon,
  follow-up visits), keyed the same way, so a second look adds nothing.
- `notifier`: the service's thread that sends what is due through an adapter (`adapters`: a JSONL
  file, the default, or an HTTP SMS gateway), retrying with backoff (`settings`) and giving up
  with an alarm. Party phones are opened from `parties` only there, at send time; a row holds the
  party's number in the case, never the phone.

Exactly once, and the one window left: a notice is claimed (`sending_since`) and its attempt
counted before the send, and marked sent after it, each in its own transaction. A crash after
the gateway accepted a notice but before the mark committed leaves it claimed and unsent: it goes
again after the restart, with the same idempotency key (the notice id). A gateway that honours the
key delivers it once; the file adapter looks for the id in its file's last lines before writing.
"""
