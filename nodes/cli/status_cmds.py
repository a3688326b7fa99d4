"""`fengqiao node status`: what an operator must see of a node at a glance: its open alarms, and
what its quarantine and held tables hold and what their bounds evicted (issue 15).

Alarms carry no personal data (subjects are node ids, case ids, kinds and table names), so this
command opens the node's file without its data key, and no broker connection: it works while the
broker is down, and beside a running `node run`.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from nodes.alarms import AlarmKind
from nodes.cli.context import Ctx, bilingual
from nodes.cli.parser import group, leaf
from nodes.cli.table import render
from nodes.config import load_config
from nodes.i18n import N_, _, t
from nodes.labels import tier_label
from nodes.messaging.probe import PROBES_PASSED
from nodes.store.bounds import HELD_EVICTED, QUARANTINE_EVICTED
from nodes.store.sqlite_store import SqliteStore

K = AlarmKind
ALARM_LABELS: dict[str, str] = {
    K.BINDING_MISSING: N_("a binding of this node's queue is missing: messages for it are "
                          "returned to their senders (run deploy apply again)"),
    K.UNROUTABLE: N_("the broker returned a message it could not route"),
    K.QUARANTINE_FULL: N_("quarantined messages deleted at the cap or age limit"),
    K.HELD_FULL: N_("held messages moved to quarantine: ordered messages their sender will "
                    "not send again"),
    K.HELD_WAITING: N_("a held stream is waiting for its predecessor"),
    K.ESCALATION_RATE: N_("a child sent more escalations per hour than allowed"),
    K.OVERSIZED: N_("a message over the size limit arrived"),
    K.FUTURE_TIME: N_("a message dated too far in the future arrived"),
    K.STORE_INTEGRITY: N_("the database failed its check: writes refused"),
    K.NUMBERING: N_("case numbering would go backwards"),
    K.BROKER_AUTH: N_("the broker refused this node's login: check the broker password in the "
                      "secrets file"),
}
HEAD = (N_("alarm"), N_("subject"), N_("count"), N_("since"))


def register(subparsers: Any) -> None:
    nodes = group(subparsers, "node", _("node"))
    p = leaf(nodes, "status", _("open alarms, and what quarantine and held hold and evicted"),
             json=True)
    p.set_defaults(handler=status)


def status(args: argparse.Namespace, ctx: Ctx) -> int:
    if not ctx.config_path.is_file():
        raise bilingual("config_missing", path=ctx.config_path)
    cfg = load_config(ctx.config_path)
    ctx.use_config_lang(cfg.lang)
    if not cfg.database.is_file():  # never create an empty file by looking
        raise bilingual("db_missing", path=cfg.database)
    store = SqliteStore(cfg.database)
    try:
        data = {"node_id": cfg.node_id, "tier": cfg.tier.value, **status_json(store)}
    finally:
        store.close()
    if args.json:
        ctx.emit_json(data)
    else:
        ctx.say(render_status(data, ctx.lang))
    return 0


def status_json(store: SqliteStore) -> dict[str, Any]:
    counters = store.counters()
    alarms = store.alarms(open_only=True)
    missing = any(a["kind"] == AlarmKind.BINDING_MISSING for a in alarms)
    return {
        # Not ready: the broker does not route to this node's queue (its binding probe came
        # back), or no round of probes has gone through yet (the node never ran, or not yet).
        "ready": counters.get(PROBES_PASSED, 0) > 0 and not missing,
        "binding_missing": missing,
        "quarantine": {"rows": store.quarantine_count(),
                       "evicted": counters.get(QUARANTINE_EVICTED, 0)},
        "held": {"rows": store.held_count(), "moved_to_quarantine": counters.get(HELD_EVICTED, 0)},
        # A hub's escalations from children over their hourly limit, waiting their turn.
        "deferred": {"rows": store.deferred_size()[0]},
        "alarms": [{k: a[k] for k in ("kind", "subject", "count", "raised_at", "last_at",
                                      "detail")} for a in alarms],
    }


def _when(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).isoformat(sep=" ", timespec="seconds")
    except ValueError:
        return stamp


def render_status(data: dict[str, Any], lang: str | None = None) -> str:
    lines = [t(N_("node {node_id} ({tier})"), lang, node_id=data["node_id"],
               tier=tier_label(data["tier"], lang)),
             t(N_("ready: the broker routes to this node's queue"), lang) if data["ready"] else
             t(N_("NOT READY: a binding of this node's queue is missing"), lang)
             if data["binding_missing"] else
             t(N_("NOT READY: the node has not yet checked that the broker routes to its queue "
                  "(it does at start)"), lang),
             t(N_("quarantine: {rows} messages; {evicted} deleted by its bounds in all"), lang,
               **data["quarantine"]),
             t(N_("held: {rows} messages; {moved_to_quarantine} moved to quarantine by its bounds "
                  "in all"), lang, **data["held"]),
             t(N_("deferred: {rows} messages of children over their hourly limit wait their "
                  "turn"), lang, **data["deferred"])]
    alarms = data["alarms"]
    if not alarms:
        lines.append(t(N_("no open alarms"), lang))
        return "\n".join(lines)
    lines.append(t(N_("open alarms: {n}"), lang, n=len(alarms)))
    rows = [[t(ALARM_LABELS[a["kind"]], lang) if a["kind"] in ALARM_LABELS else a["kind"],
             a["subject"], str(a["count"]), _when(a["raised_at"])] for a in alarms]
    lines.append(render([t(h, lang) for h in HEAD], rows))
    return "\n".join(lines)
