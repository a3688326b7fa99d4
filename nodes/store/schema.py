"""Schema of a node's SQLite file, as sqlite-utils migrations (applied in order, each once).

Personal data lives in `parties` (sealed with the node's key since m004) and in the bodies of
dossiers in `outbox` and `held` and of everything in `quarantine` (sealed whole, the quarantine's
since m006, and since m008 only its first bytes when it is large); `case_events` is append-only
(triggers refuse UPDATE and DELETE) and hash-chained (m003), and `cases` is a projection rebuilt
from it in the same transaction as each event.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

from nodes.store import due_index
from nodes.store.chain import CHAINED_COLUMNS, GENESIS, link_hash

migrations = Migrations("fengqiao.node")


@migrations()
def m001_core(db: Database) -> None:
    db.execute(
        """CREATE TABLE cases (
            case_id TEXT PRIMARY KEY,
            origin_node TEXT NOT NULL,
            tier TEXT NOT NULL,
            state TEXT NOT NULL,
            dispute_type TEXT NOT NULL,
            source TEXT NOT NULL,
            grid_id TEXT,
            facts TEXT NOT NULL,
            people_involved INTEGER NOT NULL,
            escalated_from TEXT,
            last_seq INTEGER NOT NULL,
            target_due TEXT,
            opened_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX cases_state ON cases(state)")
    db.execute(
        """CREATE TABLE case_events (
            case_id TEXT NOT NULL REFERENCES cases(case_id),
            seq INTEGER NOT NULL,
            action TEXT NOT NULL,
            state_after TEXT NOT NULL,
            at TEXT NOT NULL,
            node_id TEXT NOT NULL,
            actor_role TEXT NOT NULL,
            reason TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (case_id, seq)
        )"""
    )
    for verb in ("UPDATE", "DELETE"):
        db.execute(
            f"""CREATE TRIGGER case_events_no_{verb.lower()} BEFORE {verb} ON case_events
                BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END"""
        )
    db.execute(
        """CREATE TABLE parties (
            id INTEGER PRIMARY KEY,
            case_id TEXT NOT NULL REFERENCES cases(case_id),
            role TEXT NOT NULL,
            name TEXT NOT NULL,
            id_number TEXT,
            phone TEXT,
            address TEXT,
            party_hash TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX parties_case ON parties(case_id)")
    db.execute(
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id TEXT NOT NULL UNIQUE,
            case_id TEXT,
            seq INTEGER NOT NULL,
            exchange TEXT NOT NULL,
            routing_key TEXT NOT NULL,
            schema_name TEXT NOT NULL,
            body BLOB NOT NULL,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute("CREATE INDEX outbox_unsent ON outbox(id) WHERE sent_at IS NULL")
    db.execute(
        """CREATE TABLE inbox (
            message_id TEXT PRIMARY KEY,
            sender TEXT NOT NULL,
            case_id TEXT,
            seq INTEGER NOT NULL,
            schema_name TEXT NOT NULL,
            received_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE quarantine (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            received_at TEXT NOT NULL,
            reason TEXT NOT NULL,
            routing_key TEXT,
            user_id TEXT,
            body BLOB NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE case_numbers (
            year INTEGER PRIMARY KEY,
            last INTEGER NOT NULL
        )"""
    )


@migrations()
def m002_orders(db: Database) -> None:
    """Supervision orders (督办) received from above, one row each."""
    db.execute(
        """CREATE TABLE orders (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            case_id TEXT,
            issuing_node TEXT NOT NULL,
            level TEXT NOT NULL,
            reason TEXT NOT NULL,
            respond_by TEXT NOT NULL,
            issued_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX inbox_stream ON inbox(sender, case_id, schema_name, seq)")


NO_UPDATE_TRIGGER = """CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
    BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END"""


@migrations()
def m003_event_chain(db: Database) -> None:
    """Hash-chain the event log and backfill existing rows in insertion (rowid) order.

    The backfill has to update rows, so the append-only trigger is dropped for the length of this
    transaction and put back before it commits.
    """
    db.execute("ALTER TABLE case_events ADD COLUMN prev_hash TEXT")
    db.execute("ALTER TABLE case_events ADD COLUMN hash TEXT")
    db.execute(
        """CREATE TABLE event_chain (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            length INTEGER NOT NULL,
            head TEXT NOT NULL
        )"""
    )
    db.execute("DROP TRIGGER case_events_no_update")
    cursor = db.execute(f"SELECT rowid, {', '.join(CHAINED_COLUMNS)} FROM case_events ORDER BY rowid")  # noqa: S608
    names = [d[0] for d in cursor.description]
    prev, length = GENESIS, 0
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        digest = link_hash(prev, row)
        db.execute("UPDATE case_events SET prev_hash = ?, hash = ? WHERE rowid = ?",
                   [prev, digest, row["rowid"]])
        prev, length = digest, length + 1
    db.execute(NO_UPDATE_TRIGGER)
    db.execute("INSERT INTO event_chain (id, length, head) VALUES (1, ?, ?)", [length, prev])


@migrations()
def m004_parties_sealed(db: Database) -> None:
    """Mark which party rows are sealed. Rows from before are 0 and get sealed, in place, the first
    time the node opens the file with its key (`nodes.store.personal.seal_plaintext`)."""
    db.execute("ALTER TABLE parties ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0")


@migrations()
def m005_held(db: Database) -> None:
    """Ordered messages that arrived before their predecessor (Envelope.prev_seq): acked and kept
    here, sealed like the outbox when they carry a dossier, until the predecessor is applied."""
    db.execute(
        """CREATE TABLE held (
            message_id TEXT PRIMARY KEY,
            sender TEXT NOT NULL,
            case_id TEXT NOT NULL,
            schema_name TEXT NOT NULL,
            seq INTEGER NOT NULL,
            prev_seq INTEGER NOT NULL,
            body BLOB NOT NULL,
            held_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX held_stream ON held(sender, case_id, schema_name, prev_seq)")


@migrations()
def m006_quarantine_sealed(db: Database) -> None:
    """Mark which quarantined bodies are sealed (a refused dossier carries the parties). Rows from
    before are 0 and get sealed the first time the node opens the file with its key
    (`nodes.store.personal.seal_plaintext`)."""
    db.execute("ALTER TABLE quarantine ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0")


@migrations()
def m007_alarms(db: Database) -> None:
    """Conditions an operator must see (a bound reached, a stream stuck, a binding missing): one
    row per kind and subject, counted while it repeats, cleared when the condition ends."""
    db.execute(
        """CREATE TABLE alarms (
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            detail TEXT NOT NULL,
            raised_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            count INTEGER NOT NULL,
            cleared_at TEXT,
            PRIMARY KEY (kind, subject)
        )"""
    )


@migrations()
def m008_bounds(db: Database) -> None:
    """Bounds on quarantine and held (issue 15). A quarantined body over the limit is kept as its
    first bytes: `length` and `sha256` describe the whole body as it arrived, `truncated` says the
    stored body is only its prefix (rows from before have NULL length and hash: their body is
    whole). `counters` keeps what the bounds evicted, across restarts. The index lets the cap and
    the age sweep count and scan quarantine without reading its bodies."""
    db.execute("ALTER TABLE quarantine ADD COLUMN length INTEGER")
    db.execute("ALTER TABLE quarantine ADD COLUMN sha256 TEXT")
    db.execute("ALTER TABLE quarantine ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX quarantine_received ON quarantine(received_at)")
    db.execute(
        """CREATE TABLE counters (
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )


@migrations()
def m009_deferred(db: Database) -> None:
    """Escalations a hub set aside because their child sent more than its hourly limit
    (`nodes.store.deferred`): sealed, in arrival order (`id`), applied later oldest first.
    `total` is the running sum of `length`, so the table's size is read from its two ends."""
    db.execute(
        """CREATE TABLE deferred (
            id INTEGER PRIMARY KEY,
            message_id TEXT NOT NULL UNIQUE,
            sender TEXT NOT NULL,
            routing_key TEXT NOT NULL,
            user_id TEXT,
            body BLOB NOT NULL,
            length INTEGER NOT NULL,
            total INTEGER NOT NULL,
            attempts INTEGER NOT NULL,
            deferred_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX deferred_sender ON deferred(sender)")


@migrations()
def m010_actor_user(db: Database) -> None:
    """The named person who recorded each event (issue 16: a user with a role, not just a role).
    Rows from before have NULL and hash as they always did (`nodes.store.chain`); adding a
    column is not an UPDATE, so the append-only triggers stay in place."""
    db.execute("ALTER TABLE case_events ADD COLUMN actor_user TEXT")


@migrations()
def m011_party_versions(db: Database) -> None:
    """Corrected party details (`nodes.domain.corrections`): a new sealed row that `replaces` the
    party's previous row, written by the correction event `corrected_seq`; the row it replaces
    stays as it was. Rows from before, and every party as first recorded, have NULL in both."""
    db.execute("ALTER TABLE parties ADD COLUMN replaces INTEGER REFERENCES parties(id)")
    db.execute("ALTER TABLE parties ADD COLUMN corrected_seq INTEGER")


@migrations()
def m012_web_users(db: Database) -> None:
    """The web app's accounts (issue 17, `nodes.store.users`): a name, roles, an Argon2id hash
    (PHC string), a count of failed logins since the last good one and when the account is
    locked until; and `access_log`, one row each time a person opened a party's ID number, phone
    or address (个人信息保护法): who, in what role, when, which case. Never the data itself."""
    db.execute(
        """CREATE TABLE users (
            name TEXT PRIMARY KEY,
            roles TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE access_log (
            id INTEGER PRIMARY KEY,
            user_name TEXT NOT NULL,
            role TEXT NOT NULL,
            case_id TEXT NOT NULL,
            what TEXT NOT NULL,
            at TEXT NOT NULL
        )"""
    )
    for verb in ("UPDATE", "DELETE"):
        db.execute(
            f"""CREATE TRIGGER access_log_no_{verb.lower()} BEFORE {verb} ON access_log
                BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END"""
        )


@migrations()
def m013_deferred_raw(db: Database) -> None:
    """Deferred messages are kept as they arrived, checked only when applied (issue 15): the
    headers the consumer reads, as JSON. NULL in rows from before: one envelope, checked then."""
    db.execute("ALTER TABLE deferred ADD COLUMN headers TEXT")


@migrations()
def m014_due_dates(db: Database) -> None:
    """Each case's next due date in `cases`, backfilled from its events (issue 17)."""
    due_index.add_columns(db)


@migrations()
def m015_last_login(db: Database) -> None:
    """When each web account last logged in (the accounts page); NULL: never since."""
    db.execute("ALTER TABLE users ADD COLUMN last_login_at TEXT")
