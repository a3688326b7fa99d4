"""督办 orders in a node's file (m017): plain functions over a store's connection, as
`nodes.store.users` does for accounts. The reason and the answer are free text that may name
people, so they are sealed with the node's data key (`personal.no_key` without one).

A row is one order as this node sees it (`part`): `issued` here, `held` here (this node must
answer), or `passed` on down toward the case. The caller (`nodes.supervision`) writes a row and
the message it causes in one transaction (`store.atomic()`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from nodes.crypto import no_key
from nodes.store.core import StoreCore

ISSUED, HELD, PASSED = "issued", "held", "passed"
_GIVEN = ("order_id, case_id, part, issuing_node, issuing_name, target_node, level, reason, "
          "respond_by, issued_at, issued_by, raised_from, recorded_at")  # written by `add`
_COLUMNS = (f"{_GIVEN}, answered_at, answer, answer_state, answering_node, answering_name, "
            "answered_by, automatic, overdue_seen_at")


@dataclass(frozen=True)
class OrderRow:
    order_id: str
    case_id: str
    part: str
    issuing_node: str
    issuing_name: str
    target_node: str
    level: str
    reason: str  # opened
    respond_by: date
    issued_at: str
    issued_by: str | None
    raised_from: str | None
    recorded_at: str
    answered_at: str | None
    answer: str | None  # opened
    answer_state: str | None
    answering_node: str | None
    answering_name: str | None
    answered_by: str | None
    automatic: bool
    overdue_seen_at: str | None

    def overdue(self, today: date) -> bool:
        """Unanswered past its answer date: late at both ends (the issuer's and the holder's)."""
        return self.answered_at is None and self.respond_by < today


def _context(order_id: str, column: str) -> str:
    return f"supervision:{order_id}:{column}"


def _seal(store: StoreCore, order_id: str, column: str, text: str) -> str:
    if store.cipher is None:
        raise no_key()
    return store.cipher.seal(text, _context(order_id, column))


def _open(store: StoreCore, order_id: str, column: str, token: str | None) -> str | None:
    if token is None:
        return None
    if store.cipher is None:
        raise no_key()
    return store.cipher.open(token, _context(order_id, column))


def _row(store: StoreCore, r: tuple[Any, ...]) -> OrderRow:
    values = dict(zip(_COLUMNS.split(", "), r, strict=True))
    values["reason"] = _open(store, r[0], "reason", values["reason"]) or ""
    values["answer"] = _open(store, r[0], "answer", values["answer"])
    values["respond_by"] = date.fromisoformat(values["respond_by"])
    values["automatic"] = bool(values["automatic"])
    return OrderRow(**values)


def add(store: StoreCore, *, order_id: str, case_id: str, part: str, issuing_node: str,
        issuing_name: str, target_node: str, level: str, reason: str, respond_by: date,
        issued_at: datetime, recorded_at: datetime, issued_by: str | None = None,
        raised_from: str | None = None) -> bool:
    """One order as this node sees it; False (nothing written) if it is already here."""
    if order(store, order_id) is not None:
        return False
    store._write(
        f"INSERT INTO supervision ({_GIVEN}) VALUES ({', '.join('?' * 13)})",  # noqa: S608
        [order_id, case_id, part, issuing_node, issuing_name, target_node, level,
         _seal(store, order_id, "reason", reason), respond_by.isoformat(), issued_at.isoformat(),
         issued_by, raised_from or None, recorded_at.isoformat()])
    return True


def record_answer(store: StoreCore, order_id: str, *, answered_at: datetime, text: str,
                  state: str, node: str, name: str, user: str | None, automatic: bool) -> bool:
    """The answer on this node's row of the order; False if there is no such row or it has an
    answer already (an answer is given once)."""
    cur = store._write(
        "UPDATE supervision SET answered_at = ?, answer = ?, answer_state = ?, "
        "answering_node = ?, answering_name = ?, answered_by = ?, automatic = ? "
        "WHERE order_id = ? AND answered_at IS NULL",
        [answered_at.isoformat(), _seal(store, order_id, "answer", text), state, node, name,
         user, int(automatic), order_id])
    return cur.rowcount == 1


def mark_overdue_seen(store: StoreCore, order_id: str, at: datetime) -> None:
    store._write("UPDATE supervision SET overdue_seen_at = ? WHERE order_id = ? "
                 "AND overdue_seen_at IS NULL", [at.isoformat(), order_id])


def order(store: StoreCore, order_id: str) -> OrderRow | None:
    r = store._one(f"SELECT {_COLUMNS} FROM supervision WHERE order_id = ?",  # noqa: S608
                   [order_id])
    return None if r is None else _row(store, r)


def orders(store: StoreCore, *, part: str | None = None, case_id: str | None = None,
           open_only: bool = False) -> list[OrderRow]:
    """Orders newest first, narrowed by part, case, or to those not answered yet."""
    where, args = [], []
    if part is not None:
        where.append("part = ?")
        args.append(part)
    if case_id is not None:
        where.append("case_id = ?")
        args.append(case_id)
    if open_only:
        where.append("answered_at IS NULL")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return [_row(store, r) for r in store._all(
        f"SELECT {_COLUMNS} FROM supervision {clause} ORDER BY issued_at DESC, order_id DESC",  # noqa: S608
        args)]


def issued_count(store: StoreCore, node_id: str, year: int) -> int:
    """How many orders this node has issued in `year`: the next one's number follows."""
    row = store._one("SELECT COUNT(*) FROM supervision WHERE part = ? AND order_id LIKE ?",
                     [ISSUED, f"{node_id}-{year}-D%"])
    return int(row[0]) if row else 0


def tally(store: StoreCore, part: str, today: date) -> tuple[int, int, int]:
    """How many orders of `part` this node has: all, not answered yet, and of those past their
    answer date (the web app's navigation and today page; nothing opened)."""
    row = store._one(
        "SELECT COUNT(*), COALESCE(SUM(answered_at IS NULL), 0), "
        "COALESCE(SUM(answered_at IS NULL AND respond_by < ?), 0) FROM supervision WHERE part = ?",
        [today.isoformat(), part])
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)
