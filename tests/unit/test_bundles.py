"""Bundle framing (protocol 1.3) and which outbox rows travel together, no broker (issue 5).

What must hold: a bundle is split back into exactly the envelopes packed into it; a message whose
framing is wrong is refused with a reason (so it is quarantined whole); and the planner keeps every
row exactly once, never mixes destinations, keeps each destination's rows in outbox order, and
respects its size limits.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodes.messaging import bundling
from nodes.records import OutboxRow
from protocol.bundle import BUNDLE_HEADER, MAX_BUNDLE_PARTS, pack, unpack, weight
from protocol.envelope import DecodeError


def test_pack_then_unpack_gives_back_the_envelopes() -> None:
    bodies = [b'{"a": 1}', b'{"b": "\\n"}', b"{}"]
    assert unpack(pack(bodies), {BUNDLE_HEADER: 3}) == bodies
    assert unpack(b'{"a": 1}', {}) is None  # no header: a single envelope
    assert weight({BUNDLE_HEADER: 3}) == 3
    assert weight({}) == 1


@pytest.mark.parametrize(("declared", "reason"), [
    (2, "declares 2 parts but holds 3"),
    (0, "1 to 500 are accepted"),
    (MAX_BUNDLE_PARTS + 1, "1 to 500 are accepted"),
    ("3", "is not a whole number"),
    (True, "is not a whole number"),
    (3.0, "is not a whole number"),
])
def test_wrong_framing_is_refused_with_a_reason(declared: object, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        unpack(b"{}\n{}\n{}", {BUNDLE_HEADER: declared})
    assert weight({BUNDLE_HEADER: declared}) >= 1  # sizing a batch never fails


def test_pack_refuses_what_it_cannot_frame() -> None:
    with pytest.raises(ValueError, match="raw newline"):
        pack([b'{"a":\n1}'])
    with pytest.raises(ValueError, match="1 to 500"):
        pack([])


def row(i: int, dest: int, size: int = 10) -> OutboxRow:
    return OutboxRow(message_id=f"m{i}", case_id=f"c{i}", seq=1, exchange=f"x{dest}",
                     routing_key="k", schema_name="lifecycle_report", body=b"{" + b"0" * size + b"}",
                     created_at="", id=i)


@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 60)), max_size=120),
       st.integers(1, 7), st.integers(20, 200))
def test_plan_keeps_every_row_once_in_order_per_destination(
        spec: list[tuple[int, int]], max_rows: int, max_bytes: int) -> None:
    rows = [row(i, dest, size) for i, (dest, size) in enumerate(spec)]
    bundles = bundling.plan(rows, max_rows=max_rows, max_bytes=max_bytes)
    assert sorted(r.id or 0 for b in bundles for r in b) == [r.id for r in rows]
    assert [b[0].id for b in bundles] == sorted(b[0].id or 0 for b in bundles)
    for bundle in bundles:
        assert len({(r.exchange, r.routing_key) for r in bundle}) == 1
        assert len(bundle) <= max_rows
        assert len(bundle) == 1 or sum(len(r.body) + 1 for r in bundle) <= max_bytes
    for dest in range(3):
        mine = [r.id for b in bundles for r in b if r.exchange == f"x{dest}"]
        assert mine == sorted(mine)


def test_a_backlog_for_two_destinations_makes_two_bundles() -> None:
    rows = [row(i, i % 3 == 2) for i in range(30)]  # report, report, dossier, ...
    bundles = bundling.plan(rows)
    assert [len(b) for b in bundles] == [20, 10]
    assert bundling.schema_of(bundles[0]) == "lifecycle_report"
    odd = [*rows[:2], OutboxRow("n", "c", 1, "x0", "k", "lifecycle_report", b"{\n}", "", 99)]
    assert [len(b) for b in bundling.plan(odd)] == [2, 1]  # an unframeable row goes alone


HEADER_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(),
                          st.text(max_size=5), st.binary(max_size=5), st.lists(st.integers()))


@given(st.binary(max_size=2_000), HEADER_VALUES)
def test_unpack_of_anything_gives_parts_none_or_a_reason(body: bytes, declared: object) -> None:
    """Hostile framing never crashes a consumer: only DecodeError (quarantine) comes out."""
    try:
        parts = unpack(body, {BUNDLE_HEADER: declared})
    except DecodeError as exc:
        assert str(exc)  # noqa: PT017 - a property over many generated inputs, not one raise
        return
    if declared is None:
        assert parts is None
    else:
        assert parts is not None
        assert b"\n".join(parts) == body
        assert len(parts) == declared
