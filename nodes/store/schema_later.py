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
