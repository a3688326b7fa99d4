"""The recording fast paths (issue 5) give the same file as the slow ones, whoever else writes.

`SqliteStore` remembers the chain head it last wrote and `CaseService` keeps the case it last
committed; both are hints that must be checked against the file, never trusted: another
connection may append events, a savepoint or a transaction may be rolled back, a command may
fail half-way. Each test below makes the hint stale and checks the chain and the case still hold.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from nodes.domain import commands as cmd
from nodes.domain.case import Actor, Case, DomainError, Rules
from nodes.service import CaseService
from nodes.store.audit import verify_chain
from nodes.store.sqlite_store import SqliteStore
from tests.unit.test_store import CIPHER, open_case, service_for


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "node.db", cipher=CIPHER)
    yield s
    s.close()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[SqliteStore, SqliteStore]]:
    """Two connections on one file, as a station's mediator and its consumer thread have."""
    first = SqliteStore(tmp_path / "node.db", cipher=CIPHER)
    second = SqliteStore(tmp_path / "node.db", cipher=CIPHER)
    yield first, second
    first.close()
    second.close()


def _intact(store: SqliteStore) -> None:
    conn = sqlite3.connect(store.path)
    try:
        report = verify_chain(conn)
    finally:
        conn.close()
    assert report.intact, report.broken


def _statements(store: SqliteStore, run: Callable[[], object]) -> list[str]:
    seen: list[str] = []
    store._db.conn.set_trace_callback(seen.append)
    try:
        run()
    finally:
        store._db.conn.set_trace_callback(None)
    return seen


def test_chain_stays_intact_when_two_connections_interleave(
    pair: tuple[SqliteStore, SqliteStore]
) -> None:
    a, b = (service_for(s) for s in pair)
    for _ in range(3):  # each side's remembered head is stale every time it writes
        open_case(a)
        open_case(b)
    _intact(pair[0])
    length = pair[0]._db.execute("SELECT length FROM event_chain").fetchone()[0]
    assert length == pair[0]._db.execute("SELECT count(*) FROM case_events").fetchone()[0] == 6


def test_chain_stays_intact_after_a_rolled_back_savepoint(store: SqliteStore) -> None:
    service = service_for(store)
    open_case(service)
    with store.atomic():
        with pytest.raises(RuntimeError), store.atomic():  # noqa: PT012 - the undo is the point
            open_case(service)  # writes and moves the remembered head, then is undone
            raise RuntimeError("undo")
        open_case(service)
    _intact(store)
    assert store._db.execute("SELECT count(*) FROM cases").fetchone()[0] == 2


def test_kept_case_skips_reading_it_back(store: SqliteStore) -> None:
    service = service_for(store)
    case_id = open_case(service)
    sql = _statements(store, lambda: service.act(case_id, cmd.consent))
    assert not any("FROM parties" in s or s.startswith("SELECT seq, action") for s in sql)


def test_kept_case_is_reloaded_after_another_connection_acted(
    pair: tuple[SqliteStore, SqliteStore]
) -> None:
    mine, theirs = service_for(pair[0]), service_for(pair[1])
    case_id = open_case(mine)
    theirs.act(case_id, cmd.consent)  # the case in my hand is now one event behind
    case = mine.act(case_id, lambda c, a, t: cmd.accept(c, a, t, Rules()))
    assert (case.seq, case.state) == (3, "ACCEPTED")
    _intact(pair[0])


def test_kept_case_is_dropped_when_a_command_fails_half_way(store: SqliteStore) -> None:
    service = service_for(store)
    case_id = open_case(service)

    def consent_then_refuse(c: Case, a: Actor, t: datetime) -> None:
        cmd.consent(c, a, t)  # recorded in memory ...
        raise DomainError("不行", "refused")  # ... then the whole command is refused

    with pytest.raises(DomainError):
        service.act(case_id, consent_then_refuse)
    case = service.act(case_id, cmd.consent)
    assert case.seq == 2
    assert [e.action.value for e in case.events][-1] == "consent"
    _intact(store)


def test_kept_case_is_reloaded_after_an_outer_rollback(store: SqliteStore) -> None:
    service: CaseService = service_for(store)
    case_id = open_case(service)
    with pytest.raises(RuntimeError), store.atomic():  # noqa: PT012 - the undo is the point
        service.act(case_id, cmd.consent)  # committed to a savepoint only, then undone
        raise RuntimeError("undo")
    case = service.act(case_id, cmd.consent)
    assert case.seq == 2
    _intact(store)
