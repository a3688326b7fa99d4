"""Migrations from m016 on, registered after `nodes.store.schema`'s (m001-m015), whose module had
reached its size; `nodes.store.core` applies `migrations` from here, so every one is known."""

from __future__ import annotations

from sqlite_utils import Database

from nodes.store.schema import migrations

__all__ = ["migrations"]

# The red-flag cases: raised here, or brought by a register event (a dossier, a report). The
# query in `SqliteStore.red_flag_case_ids` repeats this condition word for word, so SQLite
# answers it from the partial index instead of reading every event (issue 17: today's page).
RED_FLAG_EVENTS = ("action = 'red_flag' OR (action = 'register' "
                   "AND json_extract(data, '$.red_flag'))")


@migrations()
def m016_page_indexes(db: Database) -> None:
    """Indexes for the today page: red-flag events, and when the outbox last sent."""
    db.execute(f"CREATE INDEX case_events_red_flag ON case_events(case_id) "
               f"WHERE {RED_FLAG_EVENTS}")
    db.execute("CREATE INDEX outbox_sent_at ON outbox(sent_at)")


@migrations()
def m017_supervision(db: Database) -> None:
    """督办 orders as a node sees them (issue 18, `nodes.supervision`): the ones it issued, the
    ones it holds and must answer, and the ones it passed on down toward the case; the reason
    and the answer sealed with the node's data key. The old `orders` table (m002: orders as
    2.1 received them, with no id and nobody able to issue one) is left as it was."""
    db.execute(
        """CREATE TABLE supervision (
            order_id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            part TEXT NOT NULL CHECK (part IN ('issued', 'held', 'passed')),
            issuing_node TEXT NOT NULL,
            issuing_name TEXT NOT NULL DEFAULT '',
            target_node TEXT NOT NULL,
            level TEXT NOT NULL,
            reason TEXT NOT NULL,
            respond_by TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            issued_by TEXT,
            raised_from TEXT,
            recorded_at TEXT NOT NULL,
            answered_at TEXT,
            answer TEXT,
            answer_state TEXT,
            answering_node TEXT,
            answering_name TEXT,
            answered_by TEXT,
            automatic INTEGER NOT NULL DEFAULT 0,
            overdue_seen_at TEXT
        )"""
    )
    db.execute("CREATE INDEX supervision_case ON supervision(case_id)")
    db.execute("CREATE INDEX supervision_open ON supervision(part, answered_at, respond_by)")


@migrations()
def m018_deadline_alerts(db: Database) -> None:
    """The deadline sweep (issue 18, `nodes.deadline_sweep`): per case, the last overdue or
    due-soon state this node reported up (or its end), so each is sent once, even across a
    restart. `seq` is the case's seq when it was written: a transition reported after it ends it
    at the hubs by itself. No personal data: a clock's kind and its due date."""
    db.execute(
        """CREATE TABLE deadline_alerts (
            case_id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('overdue', 'due_soon', 'clear')),
            clock_kind TEXT,
            due TEXT,
            message_id TEXT,
            at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX deadline_alerts_status ON deadline_alerts(status)")


@migrations()
def m019_notices(db: Database) -> None:
    """Notices to parties and alerts to staff (issue 18 item 6, `nodes.notices`): one row per
    (event, recipient, kind), written with the event that causes it; the notifier's attempts, its
    next try, and the gateway's message id and delivery status. No personal data: a party is
    named by its place in the case (`party:N`), its phone stays sealed in `parties`."""
    db.execute(
        """CREATE TABLE notices (
            id INTEGER PRIMARY KEY,
            notice_id TEXT NOT NULL UNIQUE,
            event TEXT NOT NULL,
            case_id TEXT,
            kind TEXT NOT NULL,
            recipient TEXT NOT NULL,
            template TEXT NOT NULL,
            params TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'failed', 'gave_up')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            sending_since TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            sent_at TEXT,
            gateway_id TEXT,
            delivery TEXT,
            last_error TEXT,
            UNIQUE (event, recipient, kind)
        )"""
    )
    db.execute("CREATE INDEX notices_waiting ON notices(next_attempt_at) "
               "WHERE status IN ('pending', 'failed')")
    db.execute("CREATE INDEX notices_status ON notices(status, id)")
