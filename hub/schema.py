"""Tables only hubs keep: the subtree's lifecycle reports and the stations' last heartbeats."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

hub_migrations = Migrations("fengqiao.hub")


@hub_migrations()
def h001_flow(db: Database) -> None:
    db.execute(
        """CREATE TABLE reports (
            message_id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            origin_node TEXT NOT NULL,
            node_id TEXT NOT NULL,
            tier TEXT NOT NULL,
            event TEXT NOT NULL,
            state_from TEXT,
            state_to TEXT NOT NULL,
            at TEXT NOT NULL,
            dispute_type TEXT NOT NULL,
            escalated_from TEXT,
            sent_at_child TEXT
        )"""
    )
    db.execute("CREATE INDEX reports_tier_event ON reports(tier, event)")
    db.execute("CREATE INDEX reports_case ON reports(case_id, node_id)")
    db.execute(
        """CREATE TABLE heartbeats (
            node_id TEXT PRIMARY KEY,
            tier TEXT NOT NULL,
            outbox_depth INTEGER NOT NULL,
            last_sent_at TEXT,
            at TEXT NOT NULL
        )"""
    )


@hub_migrations()
def h002_report_events(db: Database) -> None:
    """Red-flag cases are listed from the reports by event, whatever the tier."""
    db.execute("CREATE INDEX reports_event ON reports(event, case_id)")


@hub_migrations()
def h003_station_health(db: Database) -> None:
    """Issue 16 item 8: a station's name and the age of its backlog, from its heartbeats."""
    db.execute("ALTER TABLE heartbeats ADD COLUMN name TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE heartbeats ADD COLUMN oldest_unsent_s INTEGER")


@hub_migrations()
def h004_deadlines(db: Database) -> None:
    """Issue 18 item 1: the deadline sweep's reports name a clock and its due date, and the
    subtree's overdue and due-soon cases are kept per case and node, as the newest report tells
    (`HubStore.deadlines_reported`)."""
    db.execute("ALTER TABLE reports ADD COLUMN clock_kind TEXT")
    db.execute("ALTER TABLE reports ADD COLUMN due TEXT")
    db.execute(
        """CREATE TABLE deadlines (
            case_id TEXT NOT NULL,
            node_id TEXT NOT NULL,
            tier TEXT NOT NULL,
            status TEXT NOT NULL,
            clock_kind TEXT,
            due TEXT NOT NULL,
            state TEXT NOT NULL,
            dispute_type TEXT NOT NULL,
            reported_at TEXT NOT NULL,
            PRIMARY KEY (case_id, node_id)
        )"""
    )
    db.execute("CREATE INDEX deadlines_due ON deadlines(due)")


@hub_migrations()
def h005_listed_orders(db: Database) -> None:
    """Listed supervision orders (挂牌督办) issued in the subtree, as their issuers reported them
    (`nodes.supervision`): every tier above the issuer lists them until they are answered."""
    db.execute(
        """CREATE TABLE listed_orders (
            order_id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            issuing_node TEXT NOT NULL,
            tier TEXT NOT NULL,
            due TEXT,
            listed_at TEXT NOT NULL,
            ended_at TEXT
        )"""
    )


@hub_migrations()
def h006_report_risk(db: Database) -> None:
    """The risk colour each report carried (protocol 2.2), and the subtree overdue list's."""
    db.execute("ALTER TABLE reports ADD COLUMN risk TEXT")
    db.execute("ALTER TABLE deadlines ADD COLUMN risk TEXT")
